/**
 * Standard Webhooks signing (standardwebhooks.com): secrets are `whsec_` +
 * base64 of random bytes; a message is signed as
 * `v1,` + base64(HMAC-SHA256(secret bytes, "<id>.<timestamp>.<body>")), with
 * one such signature per active secret, space-separated, during a rotation.
 */
import { Buffer } from "node:buffer";

const PREFIX = "whsec_";
const SECRET_BYTES = 32;
const encoder = new TextEncoder();

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
 * signature per secret (current first), separated by spaces.
 */
export async function signatureHeader(
  secrets: readonly string[],
  messageId: string,
  timestampSeconds: number,
  body: string,
): Promise<string> {
  const content = encoder.encode(`${messageId}.${timestampSeconds}.${body}`);
  const signatures = await Promise.all(secrets.map(async (secret) => {
    const key = await crypto.subtle.importKey(
      "raw",
      secretBytes(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const mac = await crypto.subtle.sign("HMAC", key, content);
    return `v1,${Buffer.from(mac).toString("base64")}`;
  }));
  return signatures.join(" ");
}
