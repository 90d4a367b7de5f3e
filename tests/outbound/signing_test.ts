import { Webhook } from "standardwebhooks";
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { generateSecret, signatureHeader } from "../../src/outbound/signing.ts";

Deno.test("a signature verifies with the Standard Webhooks reference library", () => {
  const secret = generateSecret();
  assertMatch(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  const timestamp = Math.floor(Date.now() / 1000);
  const body = '{"type":"call.updated","data":{"id":"c-1"}}';
  const signature = signatureHeader([secret], "msg_1", timestamp, body);
  const headers = {
    "webhook-id": "msg_1",
    "webhook-timestamp": String(timestamp),
    "webhook-signature": signature,
  };
  assertEquals(new Webhook(secret).verify(body, headers), JSON.parse(body));
  let tampered = false;
  try {
    new Webhook(secret).verify(body.replace("c-1", "c-2"), headers);
  } catch {
    tampered = true;
  }
  assert(tampered, "a changed body must not verify");
});

Deno.test("during a rotation both secrets sign, space-separated, and either verifies", () => {
  const [current, previous] = [generateSecret(), generateSecret()];
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = signatureHeader([current, previous], "msg_2", timestamp, "{}");
  assertEquals(signature.split(" ").length, 2);
  const headers = {
    "webhook-id": "msg_2",
    "webhook-timestamp": String(timestamp),
    "webhook-signature": signature,
  };
  for (const secret of [current, previous]) new Webhook(secret).verify("{}", headers);
});
