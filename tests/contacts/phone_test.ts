import { assertEquals } from "../helpers/assert.ts";
import { lookupCandidates, normalizePhone, toRegion } from "../../src/contacts/phone.ts";

Deno.test("normalizePhone turns common written forms into E.164", async (t) => {
  const cases: [string, string | undefined, string, string | null][] = [
    ["+1 (800) 555-1212", "US", "+18005551212", null],
    ["800.555.1212", "US", "+18005551212", null],
    ["1-800-555-1212", "US", "+18005551212", null],
    ["(800) 555-1212 x12", "US", "+18005551212", "12"],
    ["800-555-1212 ext. 12", "US", "+18005551212", "12"],
    ["800-555-1212 #4", "US", "+18005551212", "4"],
    ["020 7946 0958", "GB", "+442079460958", null],
    ["+44 (0)20 7946 0958", "US", "+442079460958", null],
    ["0044 20 7946 0958", "GB", "+442079460958", null],
    ["011 44 20 7946 0958", "US", "+442079460958", null],
    ["06 12 34 56 78", "FR", "+33612345678", null],
    ["030 1234567", "DE", "+49301234567", null],
  ];
  for (const [raw, region, e164, extension] of cases) {
    await t.step(`${raw} (${region})`, () => {
      assertEquals(normalizePhone(raw, toRegion(region)), { e164, extension });
    });
  }
});

Deno.test("normalizePhone rejects text that is not a possible number", () => {
  for (const raw of ["", "   ", "abc", "12", "+1", "x".repeat(100)]) {
    assertEquals(normalizePhone(raw, "US"), null, raw);
  }
});

Deno.test("lookupCandidates reads a + that the query string decoded to a space", () => {
  assertEquals(lookupCandidates(" 18005551212", "US"), ["+18005551212"]);
  assertEquals(lookupCandidates(" 442079460958", "US"), ["+442079460958"]);
});

Deno.test("lookupCandidates probes the raw E.164 first, then the parser's form", () => {
  assertEquals(lookupCandidates("+18005551212", "US"), ["+18005551212"]);
  assertEquals(lookupCandidates("+4402079460958", "US"), ["+4402079460958", "+442079460958"]);
  assertEquals(lookupCandidates("(800) 555-1212", "US"), ["+18005551212"]);
  assertEquals(lookupCandidates("8005551212", "US"), ["+18005551212"]);
  assertEquals(lookupCandidates("not a number", "US"), []);
});

Deno.test("toRegion accepts known codes in any case and rejects others", () => {
  assertEquals(toRegion("gb"), "GB");
  assertEquals(toRegion(" us "), "US");
  assertEquals(toRegion("XX"), undefined);
  assertEquals(toRegion(""), undefined);
  assertEquals(toRegion(undefined), undefined);
});

Deno.test("dropping punctuation before parsing never changes libphonenumber's answer", async () => {
  const { parsePhoneNumberFromString } = await import("libphonenumber-js");
  const { withoutPunctuation } = await import("../../src/contacts/phone.ts");
  const shapes = [
    (a: string, b: string, c: string) => `(${a}) ${b}-${c}`,
    (a: string, b: string, c: string) => `+1 ${a}-${b}-${c}`,
    (a: string, b: string, c: string) => `${a}.${b}.${c}`,
    (a: string, b: string, c: string) => `1-${a}-${b}-${c}`,
    (a: string, b: string, c: string) => `+44 (0)${a.slice(1)} ${b}${c}`,
    (a: string, b: string, c: string) => `0${a} ${b} ${c}`,
    (a: string, b: string, c: string) => `00 49 ${a} ${b}${c}`,
    (a: string, b: string, c: string) => `011 33 ${a.slice(0, 1)} ${b} ${c}`,
    (a: string, b: string, c: string) => `${a} ${b} ${c} x12`,
    (a: string, b: string, c: string) => `+${a}${b}${c}`,
    (a: string, b: string, c: string) => `(${a})${b}${c}`,
    (a: string, b: string, c: string) => `${a}--${b}..${c}`,
    (a: string) => `${a}`,
  ];
  let seed = 7;
  const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  const digits = (n: number) => Array.from({ length: n }, () => String(random(10))).join("");
  let compared = 0;
  for (let i = 0; i < 4000; i++) {
    const shape = shapes[i % shapes.length]!;
    const text = shape(String(200 + random(800)), digits(3), digits(4));
    for (const region of ["US", "GB", "DE", "FR"] as const) {
      const a = parsePhoneNumberFromString(text, region);
      const b = parsePhoneNumberFromString(withoutPunctuation(text), region);
      const key = (p: typeof a) => p && p.isPossible() ? `${p.number};${p.ext ?? ""}` : null;
      assertEquals(key(b), key(a), `${text} (${region})`);
      compared++;
    }
  }
  assertEquals(compared, 16000);
});
