import { assertEquals } from "../helpers/assert.ts";
import { aContact } from "../helpers/builders.ts";
import { startServerProcess } from "../helpers/server_process.ts";
import { saveContact } from "../../src/contacts/contact_store.ts";
import { openStore } from "../../src/store/open_store.ts";
import { driverExecutor } from "../../src/store/sql.ts";
import { signBody } from "../../src/symbo/signature.ts";

const TOKEN = "lookup-token-0123456789abcdef0123456789";
const SECRET = "webhook secret for tests";

async function seededServer() {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-lookup-" });
  const store = await openStore({ url: `file:${dir}/crm.db` });
  if (!store.driver) throw new Error("expected a local store");
  const db = driverExecutor(store.driver);
  await saveContact(
    db,
    aContact({
      external_id: "12345",
      first_name: "Sally",
      last_name: "Sample",
      work_phone: "+18005551212",
      mobile_phone: "+18005551213",
      address_country: "US",
      account_external_id: "9876",
      account_name: "Sample Company",
    }),
    1000,
  );
  await saveContact(
    db,
    aContact({ external_id: "old", first_name: "Old", home_phone: "+442079460958" }),
    1000,
  );
  await saveContact(
    db,
    aContact({ external_id: "new", first_name: "New", other_phone: "+442079460958" }),
    2000,
  );
  store.close();
  return await startServerProcess({
    dir,
    config: {
      database: { url: `file:${dir}/crm.db` },
      audit: { dir: `${dir}/audit` },
      data_dir: dir,
      symbo: { lookup_tokens: [TOKEN], webhook_secrets: [SECRET] },
      log: { level: "warning" },
    },
  });
}

Deno.test("lookup over HTTP against the real server", async (t) => {
  const server = await seededServer();
  try {
    const get = (query: string, headers: Record<string, string> = {}) =>
      fetch(`${server.url}/symbo/lookup?${query}`, { headers });

    await t.step("answers the guide's body for a known E.164 number", async () => {
      const response = await get(`number=%2B18005551212&token=${TOKEN}`);
      assertEquals(response.status, 200);
      assertEquals(response.headers.get("content-type"), "application/json; charset=utf-8");
      const body = await response.json();
      assertEquals(body.external_id, "12345");
      assertEquals(body.work_phone, "+18005551212");
      assertEquals(body.linkedin_url, "");
      assertEquals(body.account, {
        external_id: "9876",
        name: "Sample Company",
        website_url: "",
        industry: "",
      });
    });

    await t.step("accepts every shape the number arrives in", async () => {
      for (
        const number of [
          "%2B18005551213",
          "+18005551213", // the + decodes to a space
          "18005551213",
          "(800)%20555-1213",
          "800.555.1213",
          "1-800-555-1213",
        ]
      ) {
        const response = await get(`number=${number}&token=${TOKEN}`);
        assertEquals(response.status, 200, number);
        assertEquals((await response.json()).external_id, "12345", number);
      }
    });

    await t.step("the most recently updated contact wins a shared number", async () => {
      const response = await get(`number=%2B442079460958`, { authorization: `Bearer ${TOKEN}` });
      assertEquals((await response.json()).external_id, "new");
      // The same number with the national trunk 0 kept after the country code.
      const trunk = await get(`number=%2B4402079460958`, { authorization: `Bearer ${TOKEN}` });
      assertEquals((await trunk.json()).external_id, "new");
    });

    await t.step("answers 404 not_found for an unknown number", async () => {
      const response = await get(`number=%2B19998887777&token=${TOKEN}`);
      assertEquals(response.status, 404);
      assertEquals(await response.json(), {
        error: "not_found",
        message: "No contact has this number.",
      });
    });

    await t.step("answers 400 with no usable number", async () => {
      for (const query of ["", "number=", "number=hello"]) {
        const response = await get(`${query}&token=${TOKEN}`);
        assertEquals(response.status, 400, query);
        assertEquals(typeof (await response.json()).error, "string");
      }
    });

    await t.step("answers 401 without a token or with a wrong one", async () => {
      for (
        const query of [
          "number=%2B18005551212",
          "number=%2B18005551212&token=wrong-token-123456789",
        ]
      ) {
        const response = await get(query);
        assertEquals(response.status, 401);
        assertEquals((await response.json()).error, "unauthorized");
      }
    });

    await t.step("accepts a signature of the empty body instead of a token", async () => {
      const signature = await signBody(SECRET, "");
      const ok = await get("number=%2B18005551212", { "x-hmac-signature": signature });
      assertEquals(ok.status, 200);
      await ok.body?.cancel();
      const bad = await get("number=%2B18005551212", { "x-hmac-signature": "0".repeat(64) });
      assertEquals(bad.status, 401);
      await bad.body?.cancel();
    });

    await t.step("GET /symbo/webhook answers exactly like /symbo/lookup", async () => {
      const a = await get(`number=%2B18005551212&token=${TOKEN}`);
      const b = await fetch(`${server.url}/symbo/webhook?number=%2B18005551212&token=${TOKEN}`);
      assertEquals(b.status, a.status);
      assertEquals(await b.text(), await a.text());
    });
  } finally {
    assertEquals(await server.stop(), 0);
  }
});

Deno.test("with no configuration the server generates a lookup token and points at its file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-defaults-" });
  const first = await startServerProcess({ dir, config: { log: { level: "warning" } } });
  let token = "";
  try {
    // stderr is a pipe here, not a terminal: the banner names the file, never the token.
    const pointer = () =>
      first.output.some((line) => line.includes("Read it from data/lookup_token"));
    for (let i = 0; i < 100 && !pointer(); i++) await new Promise((r) => setTimeout(r, 20));
    assertEquals(pointer(), true);
    token = (await Deno.readTextFile(`${dir}/data/lookup_token`)).trim();
    assertEquals(token.length >= 24, true);
    assertEquals(first.output.some((line) => line.includes(token)), false);
    const response = await fetch(`${first.url}/symbo/lookup?number=%2B18005551212&token=${token}`);
    assertEquals(response.status, 404);
    await response.body?.cancel();
    const webhook = await fetch(`${first.url}/symbo/webhook`, { method: "POST", body: "{}" });
    assertEquals(webhook.status, 503);
    assertEquals((await webhook.json()).error, "webhook_not_configured");
  } finally {
    await first.stop();
  }
  const stat = await Deno.stat(`${dir}/data/lookup_token`);
  assertEquals((stat.mode ?? 0) & 0o777, 0o600);
  assertEquals((await Deno.stat(`${dir}/data/crm.db`)).isFile, true);
  const second = await startServerProcess({ dir, config: { log: { level: "warning" } } });
  try {
    assertEquals(second.output.some((line) => line.includes(token)), false);
    const response = await fetch(`${second.url}/symbo/lookup?number=%2B18005551212&token=${token}`);
    assertEquals(response.status, 404);
    await response.body?.cancel();
  } finally {
    await second.stop();
  }
});
