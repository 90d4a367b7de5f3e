import { assertEquals } from "../helpers/assert.ts";
import { loadConfig } from "../../src/config/config.ts";

Deno.test("config.example.json is a valid configuration", async () => {
  const path = new URL("../../config.example.json", import.meta.url).pathname;
  const { config } = await loadConfig({ path, env: {} });
  assertEquals(config.server.port, 8787);
  assertEquals(config.symbo.webhook_secrets.length, 1);
});
