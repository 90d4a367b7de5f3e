/**
 * Console sessions without server-side state: a cookie holding an expiry and a
 * random nonce, signed with HMAC-SHA256 under a key kept owner-only in the data
 * folder (so sessions survive a restart and every instance sharing the folder
 * agrees). CSRF tokens are derived from the same key and the session's nonce;
 * the login form, which has no session yet, gets its own signed nonce cookie.
 * Logout revokes the nonce until the cookie would have expired, in
 * {@link SessionRevocations} (a file beside the key, so a logout survives a
 * restart as the key does).
 */
import { join } from "node:path";
import { constantTimeEqual } from "../http/constant_time.ts";
import { memoryRevocations, type SessionRevocations } from "./session_revocations.ts";

/** The session key's file name inside the data folder. */
export const SESSION_KEY_FILE = "console_session.key";
/** The session cookie's name. */
export const SESSION_COOKIE = "symbo_console";
/** The login form's pre-session cookie (carries the login CSRF nonce). */
export const LOGIN_COOKIE = "symbo_console_login";

/** A verified session. */
export interface Session {
  readonly nonce: string;
  /** Epoch ms. */
  readonly expiresAt: number;
  /** The token every form of this session carries. */
  readonly csrf: string;
}

/** Signs and checks console sessions. */
export interface SessionSigner {
  /** A new session cookie value and the session it stands for. */
  create(now: number): Promise<{ cookie: string; session: Session }>;
  /** The session a cookie value stands for, or null when forged, expired or revoked. */
  verify(cookie: string | undefined, now: number): Promise<Session | null>;
  /** Ends the session (until its expiry, after which the cookie is refused anyway), durably. */
  revoke(session: Session, now: number): Promise<void>;
  /** A login nonce cookie value and the CSRF token its form carries. */
  loginChallenge(): Promise<{ cookie: string; csrf: string }>;
  /** Whether the login form's token matches its nonce cookie. */
  checkLogin(cookie: string | undefined, csrf: string | undefined): Promise<boolean>;
}

/** Reads the session key from the data folder, or makes one (32 random bytes, 0600). */
export async function ensureSessionKey(dataDir: string): Promise<Uint8Array> {
  const path = join(dataDir, SESSION_KEY_FILE);
  try {
    const hex = (await Deno.readTextFile(path)).trim();
    if (/^[0-9a-f]{64}$/.test(hex)) {
      // A key copied around with looser permissions is tightened, not trusted blindly.
      await Deno.chmod(path, 0o600);
      return hexBytes(hex);
    }
    throw new Error(
      `${path} does not hold a console session key (64 hex digits); delete it to make a new one.`,
    );
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const key = crypto.getRandomValues(new Uint8Array(32));
  await Deno.writeTextFile(path, toHex(key) + "\n", { mode: 0o600, createNew: true });
  await Deno.chmod(path, 0o600);
  return key;
}

/**
 * Builds the signer over `key`; sessions last `ttlMs`; logouts are kept in
 * `revocations` (in memory when none is given).
 */
export async function createSessionSigner(
  key: Uint8Array,
  ttlMs: number,
  revocations: SessionRevocations = memoryRevocations(),
): Promise<SessionSigner> {
  const hmacKey = await crypto.subtle.importKey(
    "raw",
    key as Uint8Array<ArrayBuffer>,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = async (text: string) =>
    base64url(
      new Uint8Array(
        await crypto.subtle.sign("HMAC", hmacKey, new TextEncoder().encode(text)),
      ),
    );
  // At most this many revocations are kept (the oldest go first); pruned of
  // expired cookies whenever one is added, so they hold live sessions only.
  const MAX_REVOKED = 10_000;
  let revoking: Promise<void> = Promise.resolve();

  return {
    async create(now) {
      const nonce = randomToken();
      const expiresAt = now + ttlMs;
      const payload = `v1.${expiresAt}.${nonce}`;
      return {
        cookie: `${payload}.${await mac(payload)}`,
        session: { nonce, expiresAt, csrf: await mac(`csrf.${nonce}`) },
      };
    },
    async verify(cookie, now) {
      if (cookie === undefined) return null;
      const match = /^v1\.(\d{1,15})\.([A-Za-z0-9_-]{16,64})\.([A-Za-z0-9_-]{43})$/.exec(cookie);
      if (!match) return null;
      const [, expiry, nonce, signature] = match as unknown as [string, string, string, string];
      if (!constantTimeEqual(signature, await mac(`v1.${expiry}.${nonce}`))) return null;
      const expiresAt = Number(expiry);
      if (expiresAt <= now || (await revocations.load()).has(nonce)) return null;
      return { nonce, expiresAt, csrf: await mac(`csrf.${nonce}`) };
    },
    revoke(session, now) {
      // One at a time, each reading what the last one saved (two logouts at once both hold).
      const done = revoking.then(async () => {
        // Read again first: another instance sharing the folder may have added some.
        const revoked = new Map(
          [...await revocations.load()].filter(([, expiry]) => expiry > now),
        );
        while (revoked.size >= MAX_REVOKED) {
          const oldest = revoked.keys().next().value;
          if (oldest === undefined) break;
          revoked.delete(oldest);
        }
        revoked.set(session.nonce, session.expiresAt);
        await revocations.save(revoked);
      });
      revoking = done.catch(() => {});
      return done;
    },
    async loginChallenge() {
      const nonce = randomToken();
      return {
        cookie: `${nonce}.${await mac(`login.${nonce}`)}`,
        csrf: await mac(`csrf.${nonce}`),
      };
    },
    async checkLogin(cookie, csrf) {
      if (cookie === undefined || csrf === undefined) return false;
      const match = /^([A-Za-z0-9_-]{16,64})\.([A-Za-z0-9_-]{43})$/.exec(cookie);
      if (!match) return false;
      const [, nonce, signature] = match as unknown as [string, string, string];
      const validCookie = constantTimeEqual(signature, await mac(`login.${nonce}`));
      const validToken = constantTimeEqual(csrf, await mac(`csrf.${nonce}`));
      return validCookie && validToken;
    },
  };
}

/** A `Set-Cookie` value with the console's attributes. */
export function cookieHeader(
  name: string,
  value: string,
  options: { maxAgeSeconds: number; secure: boolean; path?: string },
): string {
  return [
    `${name}=${value}`,
    `Path=${options.path ?? "/console"}`,
    `Max-Age=${Math.max(0, Math.floor(options.maxAgeSeconds))}`,
    "HttpOnly",
    "SameSite=Strict",
    ...(options.secure ? ["Secure"] : []),
  ].join("; ");
}

/** One cookie's value from a request's `Cookie` header. */
export function readCookie(request: Request, name: string): string | undefined {
  const header = request.headers.get("cookie");
  if (header === null) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function randomToken(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(18)));
}

function base64url(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function hexBytes(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}
