import { assertEquals, assertMatch } from "../helpers/assert.ts";
import { ConfigError, loadConfig } from "../../src/config/config.ts";

Deno.test("config.example.json is valid once its placeholders are replaced", async () => {
  const path = new URL("../../config.example.json", import.meta.url).pathname;
  const example = JSON.parse(await Deno.readTextFile(path));
  example.symbo.webhook_secrets = ["the-secret-symbo-issued-0123"];
  example.symbo.lookup_tokens = ["0123456789abcdef0123456789abcdef"];
  example.admin.tokens = ["fedcba9876543210fedcba9876543210"];
  const { config } = await loadConfig({
    path: "example.json",
    env: {},
    readTextFile: () => Promise.resolve(JSON.stringify(example)),
  });
  assertEquals(config.server.port, 8787);
  assertEquals(config.symbo.webhook_secrets.length, 1);
  assertEquals(config.metrics.public, false);
});

Deno.test("config.example.json as shipped does not start: its credentials are placeholders", async () => {
  const path = new URL("../../config.example.json", import.meta.url).pathname;
  let error: unknown;
  try {
    await loadConfig({ path, env: {} });
  } catch (caught) {
    error = caught;
  }
  if (!(error instanceof ConfigError)) throw new Error("expected a ConfigError");
  assertMatch(error.message, /placeholder/);
});
