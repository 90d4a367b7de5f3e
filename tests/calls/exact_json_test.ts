import { assertEquals } from "../helpers/assert.ts";
import { isRawJson, parseJsonExact } from "../../src/calls/exact_json.ts";

Deno.test("integers beyond 2^53 keep their exact digits, wherever they are", () => {
  const text = '{"id":9007199254740993,"n":[-123456789012345678901],"ok":1}';
  const parsed = parseJsonExact(text) as { id: unknown; n: unknown[]; ok: number };
  assertEquals(isRawJson(parsed.id), true);
  assertEquals(JSON.stringify(parsed), text);
});

Deno.test("text without a 16-digit run parses exactly like JSON.parse", () => {
  for (
    const text of [
      '{"id":9007199254740991,"to":"+15178626434","x":1.5e300,"y":-0.0}',
      '[1,2,3,"123456789012345 6"]',
      '"plain"',
    ]
  ) {
    assertEquals(parseJsonExact(text), JSON.parse(text), text);
  }
});

Deno.test("a 16-digit run inside a string does not change the value", () => {
  const text = '{"note":"order 1234567890123456789","n":12}';
  assertEquals(parseJsonExact(text), JSON.parse(text));
});
