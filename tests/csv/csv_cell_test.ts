import { assertEquals } from "../helpers/assert.ts";
import { csvCell, csvLine } from "../../src/csv/csv_cell.ts";

Deno.test("csv cells write objects and arrays as JSON text, never [object Object]", () => {
  assertEquals(csvCell({ a: 1, b: "x" }), '"{""a"":1,""b"":""x""}"');
  assertEquals(csvCell([1, 2]), '"[1,2]"');
  assertEquals(csvCell([]), "[]");
  assertEquals(csvCell(null), "");
  assertEquals(csvCell(undefined), "");
  assertEquals(csvCell(12), "12");
  assertEquals(csvCell(true), "true");
});

Deno.test("csv cells neutralize a formula sign at the very start", () => {
  for (const text of ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"]) {
    assertEquals(csvCell(text).replace(/^"/, "").startsWith("'"), true, JSON.stringify(text));
  }
  assertEquals(csvCell("plain"), "plain");
  assertEquals(csvCell("a=b"), "a=b");
});

Deno.test("csv cells neutralize a formula sign after leading blanks of any kind", async (t) => {
  const blanks = {
    "space": " ",
    "spaces": "   ",
    "NBSP": "\u00A0",
    "zero-width space": "\u200B",
    "ideographic space": "\u3000",
    "em space": "\u2003",
    "word joiner": "\u2060",
    "BOM": "\uFEFF",
    "newline": "\n",
  };
  for (const [name, blank] of Object.entries(blanks)) {
    await t.step(name, () => {
      for (const sign of ["=", "+", "-", "@"]) {
        const text = `${blank}${sign}HYPERLINK("http://evil")`;
        const cell = csvCell(text);
        const unquoted = cell.startsWith('"') ? cell.slice(1) : cell;
        assertEquals(unquoted.startsWith("'"), true, JSON.stringify(text));
      }
    });
  }
  await t.step("a tab or CR inside the leading blanks", () => {
    assertEquals(csvCell(" \tx"), `"' \tx"`);
    assertEquals(csvCell("\u00A0\rx"), `"'\u00A0\rx"`);
  });
  await t.step("blanks before ordinary text stay untouched", () => {
    assertEquals(csvCell("\u00A0hello"), '"\u00A0hello"');
    assertEquals(csvCell(" hello"), '" hello"');
  });
});

Deno.test("csv cells neutralize the full-width formula signs", () => {
  for (const sign of ["\uFF1D", "\uFF0B", "\uFF0D", "\uFF20"]) {
    assertEquals(csvCell(`${sign}1+1`), `'${sign}1+1`);
    assertEquals(csvCell(`\u200B${sign}1`), `'\u200B${sign}1`);
  }
});

Deno.test("csv cells neutralize formulas hidden in a JSON object's text only at its start", () => {
  // JSON text starts with { or [, never a trigger: nothing to neutralize.
  assertEquals(csvCell({ f: "=1" }), '"{""f"":""=1""}"');
  assertEquals(csvLine(["a", { b: 1 }, null]), 'a,"{""b"":1}",\r\n');
});
