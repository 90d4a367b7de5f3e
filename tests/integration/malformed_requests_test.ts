import { assert, assertEquals } from "../helpers/assert.ts";
import { signBody } from "../../src/symbo/signature.ts";
import { startServerProcess } from "../helpers/server_process.ts";

const TOKEN = "lookup-token-0123456789abcdef0123456789";
const SECRET = "webhook secret for tests";
const ADMIN = "admin-token-0123456789abcdef0123456789";

interface Case {
  readonly name: string;
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: BodyInit;
  readonly sign?: boolean;
  readonly status: number;
}

const admin = { authorization: `Bearer ${ADMIN}` };
const invalidUtf8 = new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]);

const CASES: Case[] = [
  { name: "unknown route", path: "/nope", status: 404 },
  { name: "path traversal", path: "/symbo/../../etc/passwd", status: 404 },
  {
    name: "DELETE on lookup",
    method: "DELETE",
    path: `/symbo/lookup?number=1&token=${TOKEN}`,
    status: 405,
  },
  { name: "PUT on webhook", method: "PUT", path: "/symbo/webhook", body: "{}", status: 405 },
  { name: "POST on healthz", method: "POST", path: "/healthz", status: 405 },
  {
    name: "PUT on the import is not a contact named import",
    method: "PUT",
    path: "/api/contacts/import",
    headers: admin,
    body: "{}",
    status: 405,
  },
  { name: "lookup without a number", path: `/symbo/lookup?token=${TOKEN}`, status: 400 },
  {
    name: "lookup with SQL in the number",
    path: `/symbo/lookup?token=${TOKEN}&number=1'%20OR%20'1'='1`,
    status: 400,
  },
  {
    name: "lookup with invalid percent-encoding",
    path: `/symbo/lookup?token=${TOKEN}&number=%FF%FE`,
    status: 400,
  },
  {
    name: "lookup with a 10 kB number",
    path: `/symbo/lookup?token=${TOKEN}&number=${"9".repeat(10_000)}`,
    status: 400,
  },
  {
    name: "lookup with SQL in the token",
    path: "/symbo/lookup?number=%2B18005551212&token='%20OR%201=1--",
    status: 401,
  },
  {
    name: "webhook with an empty signature",
    method: "POST",
    path: "/symbo/webhook",
    headers: { "x-hmac-signature": "" },
    body: "{}",
    status: 401,
  },
  {
    name: "webhook signed but not JSON",
    method: "POST",
    path: "/symbo/webhook",
    body: "not json",
    sign: true,
    status: 400,
  },
  {
    name: "webhook signed, invalid UTF-8",
    method: "POST",
    path: "/symbo/webhook",
    body: invalidUtf8,
    sign: true,
    status: 400,
  },
  {
    name: "webhook signed, JSON array",
    method: "POST",
    path: "/symbo/webhook",
    body: "[1,2]",
    sign: true,
    status: 400,
  },
  {
    name: "webhook signed, call without data.id",
    method: "POST",
    path: "/symbo/webhook",
    body: JSON.stringify({ object: "Call", description: "call.created", data: { id: "" } }),
    sign: true,
    status: 400,
  },
  {
    name: "webhook signed, SQL as call id",
    method: "POST",
    path: "/symbo/webhook",
    body: JSON.stringify({
      object: "Call",
      description: "call.created",
      data: { id: 42, note: "'); DROP TABLE calls;--" },
    }),
    sign: true,
    status: 200,
  },
  { name: "admin without a token", path: "/api/contacts/1", status: 401 },
  {
    name: "admin with a wrong token",
    path: "/api/contacts/1",
    headers: { authorization: "Bearer wrong-token-wrong-token" },
    status: 401,
  },
  {
    name: "admin with a Basic header",
    path: "/api/contacts/1",
    headers: { authorization: "Basic YWRtaW46YWRtaW4=" },
    status: 401,
  },
  {
    name: "admin get with SQL in the id",
    path: "/api/contacts/'%3B%20DROP%20TABLE%20contacts%3B--",
    headers: admin,
    status: 404,
  },
  {
    name: "admin put with bad JSON",
    method: "PUT",
    path: "/api/contacts/c1",
    headers: admin,
    body: "{",
    status: 400,
  },
  {
    name: "admin put with a wrong type",
    method: "PUT",
    path: "/api/contacts/c1",
    headers: admin,
    body: JSON.stringify({ first_name: 5 }),
    status: 400,
  },
  {
    name: "admin put with an unknown field",
    method: "PUT",
    path: "/api/contacts/c1",
    headers: admin,
    body: JSON.stringify({ first_name: "A", evil: true }),
    status: 400,
  },
  {
    name: "admin put without first_name",
    method: "PUT",
    path: "/api/contacts/c1",
    headers: admin,
    body: JSON.stringify({ last_name: "B" }),
    status: 400,
  },
  {
    name: "admin put with a half account",
    method: "PUT",
    path: "/api/contacts/c1",
    headers: admin,
    body: JSON.stringify({ first_name: "A", account: { external_id: "", name: "X" } }),
    status: 400,
  },
  {
    name: "admin calls with a bad limit",
    path: "/api/calls?limit=-1",
    headers: admin,
    status: 400,
  },
  {
    name: "admin calls with a forged cursor",
    path: "/api/calls?cursor=bm9wZQ",
    headers: admin,
    status: 400,
  },
  {
    name: "admin calls with a bad time",
    path: "/api/calls?from=yesterday",
    headers: admin,
    status: 400,
  },
  {
    name: "admin calls with an unknown filter",
    path: "/api/calls?evil=1",
    headers: admin,
    status: 400,
  },
];

Deno.test("malformed requests get a JSON error and change nothing", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-malformed-" });
  const server = await startServerProcess({
    dir,
    config: {
      database: { url: `file:${dir}/crm.db` },
      audit: { dir: `${dir}/audit` },
      data_dir: dir,
      symbo: { lookup_tokens: [TOKEN], webhook_secrets: [SECRET] },
      admin: { tokens: [ADMIN] },
      log: { level: "error" },
    },
  });
  const count = async (path: string, key: string) =>
    ((await (await fetch(`${server.url}${path}`, { headers: admin })).json())[key] as unknown[])
      .length;
  try {
    for (const c of CASES) {
      await t.step(`${c.name} → ${c.status}`, async () => {
        const headers: Record<string, string> = { ...c.headers };
        if (c.sign) {
          const bytes = typeof c.body === "string" ? new TextEncoder().encode(c.body) : c.body;
          assert(bytes instanceof Uint8Array);
          headers["x-hmac-signature"] = await signBody(SECRET, new Uint8Array(bytes));
        }
        const response = await fetch(`${server.url}${c.path}`, {
          method: c.method ?? "GET",
          headers,
          body: c.body,
        });
        assertEquals(response.status, c.status);
        assertEquals(response.headers.get("content-type"), "application/json; charset=utf-8");
        assertEquals(response.headers.get("x-content-type-options"), "nosniff");
        const text = await response.text();
        const body = JSON.parse(text);
        if (c.status >= 400) {
          assertEquals(typeof body.error, "string");
          assertEquals(typeof body.message, "string");
        }
        assert(!/\bat .*\.ts:\d+|Error:|stack/i.test(text), text);
      });
    }

    await t.step("huge headers are refused and the server keeps serving", async () => {
      try {
        const response = await fetch(`${server.url}/healthz`, {
          headers: { "x-big": "a".repeat(256 * 1024) },
        });
        assert(response.status >= 400, String(response.status));
        await response.body?.cancel();
      } catch {
        // Closing the connection is an acceptable refusal too.
      }
      assertEquals((await fetch(`${server.url}/healthz`)).status, 200);
    });

    await t.step("nothing was stored by any of them (but the one valid call)", async () => {
      assertEquals(await count("/api/contacts?q=a", "contacts"), 0);
      assertEquals(await count("/api/calls", "calls"), 1);
    });
  } finally {
    await server.stop();
  }
});
