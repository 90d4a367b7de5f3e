/**
 * `queryParams` answers what `new URL(url).searchParams.get(name)` answers,
 * for the lookup's usual URLs and for any query made of awkward pieces.
 */
import { assertEquals } from "../helpers/assert.ts";
import { queryParams } from "../../src/http/query_param.ts";
import { Prng } from "../../bench/prng.ts";

const BASE = "http://127.0.0.1:8080/symbo/lookup";

function expected(url: string, name: string): string | null {
  return new URL(url).searchParams.get(name);
}

Deno.test("queryParams reads the lookup's parameters as URLSearchParams does", () => {
  const cases = [
    `${BASE}?number=%2B18005551212&token=abc`,
    `${BASE}?number=+18005551212&token=abc`,
    `${BASE}?token=abc&number=(800)%20555-1212`,
    `${BASE}?number=1&number=2`,
    `${BASE}?number=&token`,
    `${BASE}?token=a%3Db&&number==x`,
    `${BASE}?numbers=1&number`,
    `${BASE}?nu%6Dber=7`,
    `${BASE}?number=%E2%82%AC`,
    `${BASE}?number=%FF`,
    `${BASE}?number=%`,
    `${BASE}?number=%zz1`,
    `${BASE}?number=caf%C3%A9&token=%F0%9F%98%80`,
    `${BASE}?number=a#number=b`,
    `${BASE}?number=1 2`,
    `${BASE}?number="<x>"`,
    `${BASE}?number=é`,
    `${BASE}`,
    `${BASE}?`,
  ];
  for (const url of cases) {
    const names = ["number", "token", "missing"];
    assertEquals(queryParams(url, names), names.map((name) => expected(url, name)), url);
  }
});

Deno.test("queryParams agrees with URLSearchParams on 20,000 random queries", () => {
  const pieces = [
    "number",
    "token",
    "n",
    "=",
    "&",
    "+",
    "%",
    "%2B",
    "%2b",
    "%20",
    "%3D",
    "%26",
    "%C3%A9",
    "%C3",
    "%FF",
    "%E2%82%AC",
    "%6Eumber",
    "1",
    "800",
    "a",
    "Z",
    "-",
    ".",
    "_",
    "~",
    " ",
    "é",
    "#",
    "?",
    "/",
  ];
  const random = new Prng(12);
  for (let i = 0; i < 20_000; i++) {
    let query = "";
    const length = Math.floor(random.next() * 12);
    for (let j = 0; j < length; j++) query += pieces[Math.floor(random.next() * pieces.length)];
    const url = `${BASE}?${query}`;
    for (const names of [["number", "token", "n"], ["token", "number"], ["n"]]) {
      assertEquals(
        queryParams(url, names),
        names.map((name) => expected(url, name)),
        `${names} of ${JSON.stringify(url)}`,
      );
    }
  }
});
