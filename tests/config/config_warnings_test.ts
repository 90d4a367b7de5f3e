import { assertEquals, assertMatch } from "../helpers/assert.ts";
import { loadConfig } from "../../src/config/config.ts";
import { configWarnings } from "../../src/config/config_warnings.ts";

async function configWith(raw: Record<string, unknown>) {
  return (await loadConfig({
    path: "/etc/symbo-crm.json",
    env: {},
    readTextFile: () => Promise.resolve(JSON.stringify(raw)),
  })).config;
}

const source = { file: "/etc/symbo-crm.json", envOverrides: [] };

Deno.test("a webhook secret under 16 characters is accepted with a warning", async () => {
  const config = await configWith({ data_dir: "/srv/d", symbo: { webhook_secrets: ["short"] } });
  const warnings = await configWarnings(config, source, () => Promise.resolve(0o600));
  assertEquals(warnings.length, 1);
  assertMatch(warnings[0]!, /symbo\.webhook_secrets\.0 is only 5 characters/);
  assertEquals(
    await configWarnings(
      await configWith({ symbo: { webhook_secrets: ["a-secret-of-16-c"] } }),
      source,
      () => Promise.resolve(0o600),
    ),
    [],
  );
});

Deno.test("a config or token file readable by group or others is warned about", async () => {
  const config = await configWith({ data_dir: "/srv/d" });
  const modes: Record<string, number | null> = {
    "/etc/symbo-crm.json": 0o100644,
    "/srv/d/lookup_token": 0o100640,
  };
  const warnings = await configWarnings(
    config,
    source,
    (path) => Promise.resolve(modes[path] ?? null),
  );
  assertEquals(warnings.length, 2);
  assertMatch(warnings[0]!, /\/etc\/symbo-crm\.json .*readable by other users \(mode 644\)/);
  assertMatch(warnings[1]!, /\/srv\/d\/lookup_token .*mode 640.*chmod 600/);
  const none = await configWarnings(config, source, () => Promise.resolve(null));
  assertEquals(none, []);
});
