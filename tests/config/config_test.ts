import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { ConfigError, loadConfig } from "../../src/config/config.ts";

const noFile = { exists: () => Promise.resolve(false) };
const fileWith = (text: string) => ({
  path: "test.json",
  readTextFile: () => Promise.resolve(text),
});

async function loadError(options: Parameters<typeof loadConfig>[0]): Promise<ConfigError> {
  try {
    await loadConfig(options);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

Deno.test("with no file and no environment the embedded defaults apply", async () => {
  const { config, source } = await loadConfig({ env: {}, ...noFile });
  assertEquals(source.file, null);
  assertEquals(config.server, {
    hostname: "0.0.0.0",
    port: 8787,
    trust_proxy: false,
    request_timeout_ms: 30000,
    shutdown_timeout_ms: 10000,
  });
  assertEquals(config.database.url, "file:data/crm.db");
  assertEquals(config.audit.dir, "data/audit");
  assertEquals(config.symbo.webhook_secrets, []);
  assertEquals(config.contacts.default_region, "US");
});

Deno.test("every problem is reported at once with its key path", async () => {
  const error = await loadError({
    env: {},
    ...fileWith(JSON.stringify({
      server: { port: "eighty" },
      symbo: { lookup_tokens: ["short"], webhook_secrets: [""] },
      contacts: { default_region: "XX" },
      databse: {},
    })),
  });
  const text = error.problems.join("\n");
  assertMatch(text, /server\.port: /);
  assertMatch(text, /symbo\.lookup_tokens\.0: a lookup token must be at least 16 characters/);
  assertMatch(text, /symbo\.webhook_secrets\.0: a webhook secret cannot be empty/);
  assertMatch(text, /contacts\.default_region: expected a two-letter country code/);
  assertMatch(text, /databse/);
  assertMatch(error.message, /test\.json/);
});

Deno.test("a file that is not JSON is named with the parser's complaint", async () => {
  const error = await loadError({ env: {}, ...fileWith("{ nope") });
  assertMatch(error.message, /test\.json/);
  assertMatch(error.message, /not valid JSON/);
});

Deno.test("environment variables override the file and are split on commas", async () => {
  const { config, source } = await loadConfig({
    env: {
      PORT: "9999",
      DATABASE_URL: "file:/tmp/other.db",
      SYMBO_WEBHOOK_SECRETS: "one, two",
      SYMBO_LOOKUP_TOKENS: "abcdefghijklmnopqrstuvwx",
      ADMIN_TOKENS: "0123456789abcdef0123,fedcba9876543210fedc",
    },
    ...fileWith(JSON.stringify({ server: { port: 1234, hostname: "127.0.0.1" } })),
  });
  assertEquals(config.server.port, 9999);
  assertEquals(config.server.hostname, "127.0.0.1");
  assertEquals(config.database.url, "file:/tmp/other.db");
  assertEquals(config.symbo.webhook_secrets, ["one", "two"]);
  assertEquals(config.admin.tokens.length, 2);
  assert(source.envOverrides.includes("PORT"));
});

Deno.test("a bad environment value names the variable", async () => {
  const error = await loadError({ env: { PORT: "http" }, ...noFile });
  assertMatch(error.problems.join("\n"), /server\.port \(from PORT\)/);
});

Deno.test("SYMBO_CRM_CONFIG names the file when --config is absent", async () => {
  let read = "";
  await loadConfig({
    env: { SYMBO_CRM_CONFIG: "/etc/symbo-crm.json" },
    readTextFile: (path) => {
      read = path;
      return Promise.resolve("{}");
    },
  });
  assertEquals(read, "/etc/symbo-crm.json");
});
