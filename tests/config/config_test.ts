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
    max_body_bytes_in_flight: 32 * 1024 * 1024,
    body_stall_timeout_ms: 10000,
    body_min_bytes_per_second: 8192,
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
  assertMatch(text, /symbo\.lookup_tokens\.0: a lookup token must be at least 24 characters/);
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
      SYMBO_LOOKUP_TOKENS: "abcdefghijklmnopqrstuvwxyz012345",
      ADMIN_TOKENS: "0123456789abcdef0123456789abcdef,fedcba9876543210fedcba9876543210",
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

Deno.test("config.example.json's placeholders are refused as credentials", async () => {
  const path = new URL("../../config.example.json", import.meta.url).pathname;
  const error = await loadError({ path, env: {} });
  const text = error.problems.join("\n");
  assertMatch(text, /symbo\.webhook_secrets\.0: .*placeholder of config\.example\.json/);
  assertMatch(text, /symbo\.lookup_tokens\.0: .*placeholder of config\.example\.json/);
  assertMatch(text, /admin\.tokens\.0: .*placeholder of config\.example\.json/);
});

Deno.test("admin and lookup tokens under 24 characters or of one repeated character are refused", async () => {
  const error = await loadError({
    env: {},
    ...fileWith(JSON.stringify({
      symbo: { lookup_tokens: ["0123456789abcdef0123456"] },
      admin: { tokens: ["a".repeat(40), "replace-with-a-real-token-please-0123"] },
      metrics: { token: "x".repeat(30) },
    })),
  });
  const text = error.problems.join("\n");
  assertMatch(text, /symbo\.lookup_tokens\.0: a lookup token must be at least 24 characters/);
  assertMatch(text, /admin\.tokens\.0: an admin token is one character repeated/);
  assertMatch(text, /admin\.tokens\.1: .*placeholder/);
  assertMatch(text, /metrics\.token: the metrics token is one character repeated/);
  const { config } = await loadConfig({
    env: {},
    ...fileWith(JSON.stringify({ admin: { tokens: ["0123456789abcdef01234567"] } })),
  });
  assertEquals(config.admin.tokens.length, 1);
});

Deno.test("a body budget smaller than the largest webhook body is refused", async () => {
  const error = await loadError({
    env: {},
    ...fileWith(JSON.stringify({
      server: { max_body_bytes_in_flight: 2 * 1024 * 1024 },
      symbo: { max_body_bytes: 3 * 1024 * 1024 },
    })),
  });
  assertMatch(error.problems.join("\n"), /server\.max_body_bytes_in_flight: must be at least/);
});
