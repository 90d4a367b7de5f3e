import { assertEquals } from "../helpers/assert.ts";
import {
  importSigningKeys,
  parseSignatureHeader,
  signBody,
  verifySignature,
} from "../../src/symbo/signature.ts";

const encoder = new TextEncoder();
// GitHub's published webhook test vector.
const VECTOR_SECRET = "It's a Secret to Everybody";
const VECTOR_BODY = "Hello, World!";
const VECTOR_SIGNATURE = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

Deno.test("signBody matches the published HMAC-SHA256 known-answer vector", async () => {
  assertEquals(await signBody(VECTOR_SECRET, VECTOR_BODY), VECTOR_SIGNATURE);
});

Deno.test("verifySignature accepts the vector in lower case, upper case and sha256= form", async () => {
  const keys = await importSigningKeys([VECTOR_SECRET]);
  const body = encoder.encode(VECTOR_BODY);
  for (
    const header of [VECTOR_SIGNATURE, VECTOR_SIGNATURE.toUpperCase(), `sha256=${VECTOR_SIGNATURE}`]
  ) {
    assertEquals(await verifySignature(keys, body, header), true, header);
  }
});

Deno.test("verifySignature rejects a tampered body, a wrong secret and malformed hex", async () => {
  const keys = await importSigningKeys([VECTOR_SECRET]);
  assertEquals(
    await verifySignature(keys, encoder.encode("Hello, World?"), VECTOR_SIGNATURE),
    false,
  );
  const wrong = await importSigningKeys(["another secret"]);
  assertEquals(await verifySignature(wrong, encoder.encode(VECTOR_BODY), VECTOR_SIGNATURE), false);
  for (
    const header of [
      null,
      "",
      VECTOR_SIGNATURE.slice(1),
      VECTOR_SIGNATURE + "0",
      "zz" + VECTOR_SIGNATURE.slice(2),
    ]
  ) {
    assertEquals(
      await verifySignature(keys, encoder.encode(VECTOR_BODY), header),
      false,
      String(header),
    );
  }
});

Deno.test("verifySignature accepts a signature under any active secret (rotation)", async () => {
  const keys = await importSigningKeys(["old secret", VECTOR_SECRET]);
  assertEquals(await verifySignature(keys, encoder.encode(VECTOR_BODY), VECTOR_SIGNATURE), true);
  const oldSignature = await signBody("old secret", VECTOR_BODY);
  assertEquals(await verifySignature(keys, encoder.encode(VECTOR_BODY), oldSignature), true);
});

Deno.test("parseSignatureHeader is strict about length and alphabet", () => {
  assertEquals(parseSignatureHeader("ab".repeat(32))?.length, 32);
  assertEquals(parseSignatureHeader("  " + "AB".repeat(32) + " ")?.length, 32);
  assertEquals(parseSignatureHeader("ab".repeat(31)), null);
  assertEquals(parseSignatureHeader("g".repeat(64)), null);
  assertEquals(parseSignatureHeader("0x" + "ab".repeat(31)), null);
});

Deno.test("the node:crypto path and the WebCrypto path agree on valid, tampered and rotated signatures", async () => {
  const keys = await importSigningKeys(["retired secret", VECTOR_SECRET]);
  const webCryptoOnly = keys.map(({ key, emptyBodySignature }) => ({ key, emptyBodySignature }));
  assertEquals(keys.every((k) => k.hmac !== undefined), true);
  const body = encoder.encode(VECTOR_BODY);
  const cases: [Uint8Array<ArrayBuffer>, string, boolean][] = [
    [body, VECTOR_SIGNATURE, true],
    [encoder.encode("Hello, World?"), VECTOR_SIGNATURE, false],
    [body, await signBody("retired secret", VECTOR_BODY), true],
    [body, await signBody("never configured", VECTOR_BODY), false],
    [new Uint8Array(), keys[1]?.emptyBodySignature ?? "", true],
  ];
  for (const [bytes, header, expected] of cases) {
    assertEquals(await verifySignature(keys, bytes, header), expected, header);
    assertEquals(await verifySignature(webCryptoOnly, bytes, header), expected, header);
  }
});
