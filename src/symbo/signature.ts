/**
 * Symbo's `X-Hmac-Signature`: hex HMAC-SHA256 of the exact request body bytes,
 * keyed with a webhook secret. Verified against every active secret, so
 * secrets can be rotated: with node:crypto's HMAC and a constant-time compare
 * (synchronous and native: the webhook's hottest step, several times cheaper
 * than a WebCrypto round trip per request), else with WebCrypto.
 */
import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from "node:crypto";

const encoder = new TextEncoder();

/** An active webhook secret, imported once at start. */
export interface SigningKey {
  readonly key: CryptoKey;
  /** The same secret for node:crypto's HMAC (absent: WebCrypto is used). */
  readonly hmac?: KeyObject;
  /** The lowercase hex signature of an empty body (for signed lookups). */
  readonly emptyBodySignature: string;
}

/** Imports the configured secrets once (at start, not per request). */
export async function importSigningKeys(secrets: readonly string[]): Promise<SigningKey[]> {
  return await Promise.all(secrets.map(async (secret) => {
    const key = await crypto.subtle.importKey(
      "raw",
      encoder.encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    const empty = new Uint8Array(await crypto.subtle.sign("HMAC", key, new Uint8Array()));
    return {
      key,
      hmac: createSecretKey(encoder.encode(secret)),
      emptyBodySignature: toHex(empty),
    };
  }));
}

/**
 * Parses a signature header strictly: exactly 64 hex digits (either case),
 * optionally prefixed `sha256=`, surrounding blanks ignored. Anything else is null.
 */
export function parseSignatureHeader(
  header: string | null | undefined,
): Uint8Array<ArrayBuffer> | null {
  if (!header) return null;
  let text = header.trim();
  if (text.toLowerCase().startsWith("sha256=")) text = text.slice("sha256=".length);
  if (!/^[0-9a-fA-F]{64}$/.test(text)) return null;
  const bytes = new Uint8Array(32);
  for (let i = 0; i < 32; i++) bytes[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/** True when `header` is a valid signature of `body` under any of `keys`. */
export async function verifySignature(
  keys: readonly SigningKey[],
  body: Uint8Array<ArrayBuffer>,
  header: string | null | undefined,
): Promise<boolean> {
  const signature = parseSignatureHeader(header);
  if (signature === null) return false;
  if (keys.every((k) => k.hmac !== undefined)) {
    // Every key is checked (no early exit), each compare in constant time.
    let valid = false;
    for (const k of keys) {
      const expected = createHmac("sha256", k.hmac as KeyObject).update(body).digest();
      if (timingSafeEqual(expected, signature)) valid = true;
    }
    return valid;
  }
  const results = await Promise.all(
    keys.map((k) => crypto.subtle.verify("HMAC", k.key, signature, body)),
  );
  return results.includes(true);
}

/** Computes the lowercase hex signature of `body` (for tests and tools). */
export async function signBody(
  secret: string,
  body: Uint8Array<ArrayBuffer> | string,
): Promise<string> {
  const [key] = await importSigningKeys([secret]);
  if (!key) throw new Error("unreachable: one secret gives one key");
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  return toHex(new Uint8Array(await crypto.subtle.sign("HMAC", key.key, bytes)));
}

/** Lowercase hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}
