/**
 * The console's cookies are `Secure` whenever the request came over HTTPS:
 * on the server's own TLS, or through a trusted proxy (`server.trust_proxy`)
 * whose `X-Forwarded-Proto` says `https`. The real server, real requests.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { selfSignedCert } from "../helpers/self_signed_cert.ts";
import { startServerProcess } from "../helpers/server_process.ts";

const ADMIN = "admin-token-0123456789abcdef0123456789";
const TOKEN = "lookup-token-0123456789abcdef0123456789";

function configFor(dir: string, server: Record<string, unknown>) {
  return {
    database: { url: `file:${dir}/crm.db` },
    audit: { dir: `${dir}/audit` },
    data_dir: dir,
    symbo: { lookup_tokens: [TOKEN] },
    admin: { tokens: [ADMIN] },
    log: { level: "warning" },
    server,
  };
}

/** Signs in as a browser would; answers the Set-Cookie values of each step. */
async function signIn(
  url: string,
  headers: Record<string, string>,
  client?: Deno.HttpClient,
): Promise<{ form: string[]; session: string[] }> {
  const page = await fetch(`${url}/console/login`, { headers, ...(client ? { client } : {}) });
  assertEquals(page.status, 200);
  const html = await page.text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  assert(csrf, "the login form carries a CSRF token");
  const form = page.headers.getSetCookie();
  const loginCookie = form[0]?.split(";")[0];
  assert(loginCookie, "the login form sets its nonce cookie");
  const login = await fetch(`${url}/console/login`, {
    method: "POST",
    redirect: "manual",
    headers: {
      ...headers,
      "content-type": "application/x-www-form-urlencoded",
      cookie: loginCookie,
    },
    body: new URLSearchParams({ csrf, token: ADMIN, next: "/console/" }),
    ...(client ? { client } : {}),
  });
  await login.body?.cancel();
  assertEquals(login.status, 303);
  return { form, session: login.headers.getSetCookie() };
}

const secure = (cookie: string) => cookie.split(";").map((part) => part.trim()).includes("Secure");

Deno.test("behind a trusted proxy, X-Forwarded-Proto: https makes the console's cookies Secure", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-cookie-" });
  const server = await startServerProcess({
    dir,
    config: configFor(dir, { trust_proxy: true }),
  });
  try {
    await t.step(
      "over HTTPS at the proxy: Secure on the form's and the session's cookies",
      async () => {
        const { form, session } = await signIn(server.url, { "x-forwarded-proto": "https" });
        assert(form.every(secure), form.join(" | "));
        const sessionCookie = session.find((c) => c.startsWith("symbo_console="));
        assert(sessionCookie && secure(sessionCookie), session.join(" | "));
        assert(session.every(secure), session.join(" | "));
      },
    );
    await t.step(
      "over plain HTTP at the proxy: not Secure (the browser would drop it)",
      async () => {
        const { form, session } = await signIn(server.url, { "x-forwarded-proto": "http" });
        assert(!form.some(secure) && !session.some(secure), [...form, ...session].join(" | "));
      },
    );
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("without trust_proxy, a client's X-Forwarded-Proto is ignored", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-cookie-" });
  const server = await startServerProcess({ dir, config: configFor(dir, {}) });
  try {
    const { form, session } = await signIn(server.url, { "x-forwarded-proto": "https" });
    assert(!form.some(secure) && !session.some(secure), [...form, ...session].join(" | "));
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("on the server's own TLS the console's cookies are Secure", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-cookie-tls-" });
  await selfSignedCert(dir);
  const server = await startServerProcess({
    dir,
    config: configFor(dir, { tls: { cert_file: `${dir}/cert.pem`, key_file: `${dir}/key.pem` } }),
  });
  const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(`${dir}/cert.pem`)] });
  try {
    const { form, session } = await signIn(server.url, {}, client);
    assert(form.every(secure) && session.every(secure), [...form, ...session].join(" | "));
  } finally {
    client.close();
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
