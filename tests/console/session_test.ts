/** Console sessions: signed, expiring, revocable cookies; CSRF tokens; the owner-only key. */
import { assert, assertEquals } from "../helpers/assert.ts";
import {
  cookieHeader,
  createSessionSigner,
  ensureSessionKey,
  SESSION_KEY_FILE,
} from "../../src/console/session.ts";
import { createLoginLimiter } from "../../src/console/login_limiter.ts";
import {
  fileRevocations,
  memoryRevocations,
  REVOKED_SESSIONS_FILE,
} from "../../src/console/session_revocations.ts";

const KEY = new Uint8Array(32).fill(7);
const HOUR = 3_600_000;

Deno.test("a session cookie verifies until it expires, and carries a stable CSRF token", async () => {
  const signer = await createSessionSigner(KEY, HOUR);
  const { cookie, session } = await signer.create(1_000);
  const verified = await signer.verify(cookie, 2_000);
  assertEquals(verified?.csrf, session.csrf);
  assertEquals(await signer.verify(cookie, 1_000 + HOUR), null);
});

Deno.test("a tampered or foreign cookie is refused", async () => {
  const signer = await createSessionSigner(KEY, HOUR);
  const other = await createSessionSigner(new Uint8Array(32).fill(8), HOUR);
  const { cookie } = await signer.create(1_000);
  const [v, expiry, nonce, mac] = cookie.split(".");
  assertEquals(await signer.verify(`${v}.${Number(expiry) + 1}.${nonce}.${mac}`, 2_000), null);
  assertEquals(await other.verify(cookie, 2_000), null);
  assertEquals(await signer.verify("garbage", 2_000), null);
  assertEquals(await signer.verify(undefined, 2_000), null);
});

Deno.test("a revoked session is refused", async () => {
  const signer = await createSessionSigner(KEY, HOUR);
  const { cookie, session } = await signer.create(Date.now());
  await signer.revoke(session, Date.now());
  assertEquals(await signer.verify(cookie, Date.now()), null);
});

Deno.test("a logout kept in the data folder is refused by a signer made after a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-revoked-" });
  try {
    const before = await createSessionSigner(KEY, HOUR, fileRevocations(dir));
    const kept = await before.create(1_000);
    const ended = await before.create(1_000);
    await before.revoke(ended.session, 2_000);
    assertEquals((await Deno.stat(`${dir}/${REVOKED_SESSIONS_FILE}`)).mode! & 0o777, 0o600);

    const after = await createSessionSigner(KEY, HOUR, fileRevocations(dir));
    assertEquals(await after.verify(ended.cookie, 3_000), null, "the logout holds");
    assertEquals((await after.verify(kept.cookie, 3_000))?.nonce, kept.session.nonce);

    // An instance sharing the folder sees a logout made by another one.
    await after.revoke(kept.session, 4_000);
    assertEquals(await before.verify(kept.cookie, 5_000), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("two logouts at once both hold", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-revoked-" });
  try {
    const signer = await createSessionSigner(KEY, HOUR, fileRevocations(dir));
    const sessions = await Promise.all([signer.create(1_000), signer.create(1_000)]);
    await Promise.all(sessions.map(({ session }) => signer.revoke(session, 2_000)));
    const restarted = await createSessionSigner(KEY, HOUR, fileRevocations(dir));
    for (const { cookie } of sessions) assertEquals(await restarted.verify(cookie, 3_000), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("revocations forget cookies that have expired anyway", async () => {
  const revocations = memoryRevocations();
  const signer = await createSessionSigner(KEY, HOUR, revocations);
  const first = await signer.create(1_000);
  await signer.revoke(first.session, 2_000);
  const second = await signer.create(1_000 + HOUR);
  await signer.revoke(second.session, 2_000 + HOUR);
  assertEquals([...(await revocations.load()).keys()], [second.session.nonce]);
});

Deno.test("the login form's token must match its own nonce cookie", async () => {
  const signer = await createSessionSigner(KEY, HOUR);
  const a = await signer.loginChallenge();
  const b = await signer.loginChallenge();
  assert(await signer.checkLogin(a.cookie, a.csrf));
  assertEquals(await signer.checkLogin(a.cookie, b.csrf), false);
  assertEquals(await signer.checkLogin(undefined, a.csrf), false);
  assertEquals(await signer.checkLogin(a.cookie, undefined), false);
});

Deno.test("the session key is made once, owner-only, and read back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-session-" });
  try {
    const first = await ensureSessionKey(`${dir}/data`);
    assertEquals(first.length, 32);
    assertEquals((await Deno.stat(`${dir}/data/${SESSION_KEY_FILE}`)).mode! & 0o777, 0o600);
    assertEquals(await ensureSessionKey(`${dir}/data`), first);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cookies are HttpOnly, SameSite=Strict, and Secure only under TLS", () => {
  const plain = cookieHeader("a", "b", { maxAgeSeconds: 60, secure: false });
  assertEquals(plain, "a=b; Path=/console; Max-Age=60; HttpOnly; SameSite=Strict");
  assert(cookieHeader("a", "b", { maxAgeSeconds: 60, secure: true }).endsWith("; Secure"));
});

Deno.test("the fifth fast wrong login is refused until the window passes", () => {
  const limiter = createLoginLimiter({ maxFailures: 4, windowMs: 60_000 });
  for (let i = 0; i < 4; i++) {
    assertEquals(limiter.retryAfterMs("10.0.0.1", 1000 + i), 0);
    limiter.fail("10.0.0.1", 1000 + i);
  }
  assert(limiter.retryAfterMs("10.0.0.1", 1010) > 0, "the fifth try waits");
  assertEquals(limiter.retryAfterMs("10.0.0.2", 1010), 0, "another client is not affected");
  assertEquals(limiter.retryAfterMs("10.0.0.1", 61_001), 0, "the window passed");
});

Deno.test("the limiter tracks a bounded number of clients", () => {
  const limiter = createLoginLimiter({ maxFailures: 1, windowMs: 60_000, maxClients: 2 });
  limiter.fail("a", 1);
  limiter.fail("b", 1);
  limiter.fail("c", 1);
  assertEquals(limiter.retryAfterMs("a", 2), 0, "the oldest client was forgotten");
  assert(limiter.retryAfterMs("c", 2) > 0);
});

Deno.test("wrong tokens from many addresses are capped in all, not only per address", () => {
  const limiter = createLoginLimiter({ maxFailures: 4, maxGlobalFailures: 20, windowMs: 60_000 });
  let refused = 0;
  for (let address = 0; address < 50; address++) {
    for (let attempt = 0; attempt < 4; attempt++) {
      const client = `10.0.${address}.1`;
      if (limiter.retryAfterMs(client, 1000) > 0) refused++;
      else limiter.fail(client, 1000);
    }
  }
  assertEquals(refused, 200 - 20, "only 20 wrong tokens are checked in a minute");
  assert(limiter.retryAfterMs("10.9.9.9", 1000) > 0, "a new address waits too");
  assertEquals(limiter.retryAfterMs("10.9.9.9", 61_001), 0, "until the window passes");
});
