import { assertEquals } from "../helpers/assert.ts";
import { bearerToken, constantTimeEqual, matchesAny } from "../../src/http/constant_time.ts";

Deno.test("constantTimeEqual is true only for the same text", () => {
  const secret = "lookup-token-0123456789abcdef";
  assertEquals(constantTimeEqual(secret, secret), true);
  assertEquals(constantTimeEqual(secret.replace("0", "1"), secret), false);
  assertEquals(constantTimeEqual(secret.slice(0, -1), secret), false);
  assertEquals(constantTimeEqual(secret + "x", secret), false);
  assertEquals(constantTimeEqual(secret + secret, secret), false);
  assertEquals(constantTimeEqual("", secret), false);
  assertEquals(constantTimeEqual("a", ""), false);
});

Deno.test("matchesAny compares against every secret", () => {
  assertEquals(matchesAny("b".repeat(24), ["a".repeat(24), "b".repeat(24)]), true);
  assertEquals(matchesAny("c".repeat(24), ["a".repeat(24), "b".repeat(24)]), false);
  assertEquals(matchesAny("a".repeat(24), []), false);
});

Deno.test("bearerToken reads Authorization: Bearer, nothing else", () => {
  assertEquals(bearerToken("Bearer abc"), "abc");
  assertEquals(bearerToken("bearer   abc  "), "abc");
  assertEquals(bearerToken("Basic abc"), null);
  assertEquals(bearerToken(null), null);
});
