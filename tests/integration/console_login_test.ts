/**
 * The console's login against the real server (issue 20): a `next` holding
 * CR/LF or U+2028 leads to the overview instead of a 500 (item 15); wrong
 * tokens from many addresses are capped in all (item 18); a logout still
 * holds after a restart (item 6).
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { consolePage, postLogin, signIn } from "../helpers/console_session.ts";
import { startServerProcess } from "../helpers/server_process.ts";

const ADMIN = "admin-token-console-login-0123456789";

function configFor(dir: string) {
  return {
    data_dir: `${dir}/data`,
    database: { url: `file:${dir}/data/crm.db` },
    audit: { dir: `${dir}/data/audit` },
    admin: { tokens: [ADMIN] },
    // Each test client names its own address.
    server: { trust_proxy: true },
    log: { level: "error" },
  };
}

Deno.test("a login whose next holds CR/LF or U+2028 leads to the overview", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-login-next-" });
  const server = await startServerProcess({ dir, config: configFor(dir) });
  try {
    for (const next of ["/console/\r\nx-injected: 1", "/console/calls\u2028", "/console/\n"]) {
      const response = await postLogin(server.url, ADMIN, { next });
      await response.body?.cancel();
      assertEquals(response.status, 303, JSON.stringify(next));
      assertEquals(response.headers.get("location"), "/console/");
      assertEquals(response.headers.get("x-injected"), null);
    }
    const kept = await postLogin(server.url, ADMIN, { next: "/console/calls?user=rep-1" });
    await kept.body?.cancel();
    assertEquals(kept.headers.get("location"), "/console/calls?user=rep-1");
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("50 addresses × 4 wrong tokens: at most 20 are checked in a minute", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-login-cap-" });
  const server = await startServerProcess({ dir, config: configFor(dir) });
  try {
    const statuses: Record<number, number> = {};
    for (let address = 0; address < 50; address++) {
      for (let attempt = 0; attempt < 4; attempt++) {
        const response = await postLogin(server.url, `wrong-token-${attempt}`, {
          headers: { "x-forwarded-for": `198.51.100.${address}` },
        });
        await response.body?.cancel();
        statuses[response.status] = (statuses[response.status] ?? 0) + 1;
      }
    }
    assertEquals(statuses, { 401: 20, 429: 180 });
    const fresh = await postLogin(server.url, "wrong-token", {
      headers: { "x-forwarded-for": "203.0.113.7" },
    });
    assertEquals(fresh.status, 429, "a new address waits as well");
    assert(Number(fresh.headers.get("retry-after")) > 0);
    await fresh.body?.cancel();
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a logged-out session cookie is still refused after a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-logout-" });
  let server = await startServerProcess({ dir, config: configFor(dir) });
  try {
    const ended = await signIn(server.url, ADMIN);
    const kept = await signIn(server.url, ADMIN);
    assertEquals((await consolePage(server.url, ended, "/console/")).status, 200);
    const form = await consolePage(server.url, ended, "/console/");
    const csrf = /name="csrf" value="([^"]+)"/.exec(form.text)?.[1] ?? "";
    const logout = await fetch(`${server.url}/console/logout`, {
      method: "POST",
      redirect: "manual",
      headers: { cookie: ended, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ csrf }),
    });
    await logout.body?.cancel();
    assertEquals(logout.status, 303);
    assertEquals((await consolePage(server.url, ended, "/console/")).status, 303);

    await server.stop();
    server = await startServerProcess({ dir, config: configFor(dir) });
    const again = await consolePage(server.url, ended, "/console/");
    assertEquals(again.status, 303, "the logged-out cookie leads to the login");
    assertEquals((await consolePage(server.url, kept, "/console/")).status, 200);
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
