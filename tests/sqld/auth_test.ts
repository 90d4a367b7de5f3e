/**
 * sqld with JWT auth (an Ed25519 public key in `SQLD_AUTH_JWT_KEY`; the test
 * makes the key pair and signs EdDSA tokens itself). A good token, from the
 * config or `DATABASE_AUTH_TOKEN`, serves in remote and replica mode. A bad,
 * expired or missing token stops `serve` at start (exit 1) with a message that
 * names the setting to fix and never echoes the token: a server that cannot
 * reach its database should not start, rather than pass liveness and then fail
 * every request.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { callEventBody, postSigned } from "../helpers/events.ts";
import { startServerProcess, startTaskFlags } from "../helpers/server_process.ts";
import {
  crmConfig,
  generateJwtKeys,
  lookup,
  SECRET,
  startSqld,
  writeConfig,
} from "../helpers/sqld.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const now = () => Math.floor(Date.now() / 1000);

/** Runs `serve` as `deno task start` would; a server that starts after all is killed after 20 s. */
async function serve(configPath: string, cwd: string) {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...(await startTaskFlags()), MAIN, "serve", "--config", configPath],
    cwd,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(20_000),
  }).output();
  return { code, stderr: new TextDecoder().decode(stderr) };
}

Deno.test("sqld with JWT auth: good tokens serve, bad ones stop the start with a clear message", async (t) => {
  const keys = await generateJwtKeys();
  const sqld = await startSqld({ env: { SQLD_AUTH_JWT_KEY: keys.publicKey } });
  const token = await keys.sign();
  try {
    await t.step("a good token from DATABASE_AUTH_TOKEN: remote mode serves", async () => {
      const dir = await Deno.makeTempDir({ prefix: "symbo-crm-auth-good-" });
      const server = await startServerProcess({
        dir,
        config: crmConfig(dir, { url: sqld.url }),
        env: { DATABASE_AUTH_TOKEN: token },
      });
      try {
        assertEquals((await lookup(server.url, "+15550009999")).status, 404);
        const response = await postSigned(
          server.url,
          SECRET,
          callEventBody({ callId: "call-auth-1" }),
        );
        assertEquals(await response.json(), { status: "applied" });
        assertEquals((await fetch(`${server.url}/readyz`)).status, 200);
      } finally {
        assertEquals(await server.stop(), 0);
      }
    });

    await t.step("a good token in the config: replica mode syncs and serves", async () => {
      const dir = await Deno.makeTempDir({ prefix: "symbo-crm-auth-replica-" });
      const server = await startServerProcess({
        dir,
        config: crmConfig(dir, {
          url: `file:${dir}/replica.db`,
          sync_url: sqld.url,
          auth_token: token,
          sync_interval_seconds: 0.2,
        }),
      });
      try {
        const response = await postSigned(
          server.url,
          SECRET,
          callEventBody({ callId: "call-auth-2" }),
        );
        assertEquals(await response.json(), { status: "applied" });
        assertEquals((await lookup(server.url, "+15550009999")).status, 404);
      } finally {
        assertEquals(await server.stop(), 0);
      }
    });

    const otherKeys = await generateJwtKeys();
    const badTokens: [string, string | undefined, RegExp][] = [
      ["signed by another key", await otherKeys.sign(), /refused database\.auth_token/],
      // sqld allows 60 s of clock skew, so "expired" means an hour ago.
      [
        "expired",
        await keys.sign({ a: "rw", iat: now() - 7200, exp: now() - 3600 }),
        /refused database\.auth_token/,
      ],
      ["missing", undefined, /requires a token.*database\.auth_token/],
    ];
    for (const [name, bad, message] of badTokens) {
      await t.step(`a ${name} token: serve exits 1 and says which setting to fix`, async () => {
        const dir = await Deno.makeTempDir({ prefix: "symbo-crm-auth-bad-" });
        const database = bad === undefined ? { url: sqld.url } : { url: sqld.url, auth_token: bad };
        const configPath = await writeConfig(dir, crmConfig(dir, database));
        const started = performance.now();
        const result = await serve(configPath, dir);
        assertEquals(result.code, 1, result.stderr);
        assert(performance.now() - started < 15_000);
        assertMatch(result.stderr, /Cannot open the store at http:\/\/127\.0\.0\.1:\d+/);
        assertMatch(result.stderr, message);
        assert(!result.stderr.includes("listening on"), result.stderr);
        if (bad !== undefined) assert(!result.stderr.includes(bad), "the token was echoed");
      });
    }
  } finally {
    await sqld.stop();
  }
});
