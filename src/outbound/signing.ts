/**
 * Standard Webhooks signing (standardwebhooks.com): secrets are `whsec_` +
 * base64 of random bytes; a message is signed as
 * `v1,` + base64(HMAC-SHA256(secret bytes, "<id>.<timestamp>.<body>")), with
 * one such signature per active secret, space-separated, during a rotation.
 */
import { Buffer } from "node:buffer";
import { createHmac } from "node:crypto";

const PREFIX = "whsec_";
const SECRET_BYTES = 32;

/** A new endpoint secret: `whsec_` + base64 of 32 random bytes. */
export function generateSecret(): string {
  return PREFIX + Buffer.from(crypto.getRandomValues(new Uint8Array(SECRET_BYTES))).toString(
    "base64",
  );
}

/** The key bytes of a `whsec_` secret (a secret without the prefix is read as base64 too). */
export function secretBytes(secret: string): Uint8Array<ArrayBuffer> {
  const text = secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret;
  return new Uint8Array(Buffer.from(text, "base64"));
}

/**
 * The `webhook-signature` header value for one delivery attempt: a `v1,…`
 * signature per secret (current first), separated by spaces. Computed with
 * node:crypto's HMAC, synchronously: WebCrypto's `sign` took ~0.25 ms an
 * attempt here (a key import and a round trip off the thread), node's ~5 µs.
 */
export function signatureHeader(
  secrets: readonly string[],
  messageId: string,
  timestampSeconds: number,
  body: string,
): string {
  const content = `${messageId}.${timestampSeconds}.${body}`;
  return secrets.map((secret) =>
    `v1,${createHmac("sha256", keyOf(secret)).update(content, "utf8").digest("base64")}`
  ).join(" ");
}

const keys = new Map<string, Uint8Array>();

/** The key bytes of a secret, decoded once (endpoints are few). */
function keyOf(secret: string): Uint8Array {
  let key = keys.get(secret);
  if (!key) {
    if (keys.size >= 256) keys.clear();
    key = secretBytes(secret);
    keys.set(secret, key);
  }
  return key;
}
