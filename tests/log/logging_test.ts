import { assertEquals } from "../helpers/assert.ts";
import { maskPhone } from "../../src/log/logging.ts";

Deno.test("maskPhone keeps only the last four digits", () => {
  assertEquals(maskPhone("+18005551212"), "***1212");
  assertEquals(maskPhone("(800) 555-1212 x5"), "***2125");
  assertEquals(maskPhone("123"), "***");
  assertEquals(maskPhone(""), "");
  assertEquals(maskPhone(null), "");
});
