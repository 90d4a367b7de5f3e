/** `contacts.sources` in the configuration, and schedules. */
import { assertEquals, assertMatch } from "../../helpers/assert.ts";
import { ConfigError, loadConfig } from "../../../src/config/config.ts";
import { createSchedule, parseEvery } from "../../../src/contacts/sources/schedule.ts";

async function load(contacts: unknown, env: Record<string, string> = {}) {
  return await loadConfig({
    path: "c.json",
    env,
    readTextFile: () => Promise.resolve(JSON.stringify({ contacts })),
  });
}

async function problems(contacts: unknown, env: Record<string, string> = {}): Promise<string> {
  try {
    await load(contacts, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

Deno.test("a source's header takes ${NAME} from the environment", async () => {
  const { config } = await load({
    sources: [{
      name: "crm",
      url: "https://crm.example.com/export.csv",
      headers: { Authorization: "Bearer ${CRM_EXPORT_TOKEN}" },
      every: "15m",
    }],
  }, { CRM_EXPORT_TOKEN: "tok" });
  assertEquals(config.contacts.sources[0]?.headers, { Authorization: "Bearer tok" });
  assertEquals(config.contacts.sources[0]?.prune, false);
  assertEquals(config.contacts.max_prune_fraction, 0.2);
});

Deno.test("source problems are reported with their key path and the fix", async (t) => {
  await t.step("an unset variable", async () => {
    assertMatch(
      await problems({
        sources: [{
          name: "crm",
          url: "https://crm.example.com/e.csv",
          headers: { Authorization: "Bearer ${CRM_EXPORT_TOKEN}" },
          every: "15m",
        }],
      }),
      /contacts\.sources\.0\.headers\.Authorization: \$\{CRM_EXPORT_TOKEN\} is not set/,
    );
  });
  await t.step("both url and dir, no schedule", async () => {
    const message = await problems({
      sources: [{ name: "x", url: "https://a.example/e.csv", dir: "/tmp/x" }],
    });
    assertMatch(message, /either url .* or dir/);
    assertMatch(message, /either every/);
  });
  await t.step("plain http without allow_private_networks; a bad cron", async () => {
    const message = await problems({
      sources: [{ name: "x", url: "http://a.example/e.csv", cron: "every day" }],
    });
    assertMatch(message, /contacts\.sources\.0\.url: must be https/);
    assertMatch(message, /contacts\.sources\.0\.cron: not a cron expression/);
  });
  await t.step("a name used twice", async () => {
    assertMatch(
      await problems({
        sources: [
          { name: "a", dir: "/tmp/a", every: "1h" },
          { name: "a", dir: "/tmp/b", every: "1h" },
        ],
      }),
      /contacts\.sources\.1\.name: a is used twice/,
    );
  });
});

Deno.test("schedules: every is aligned to the epoch; cron comes from croner", () => {
  assertEquals(parseEvery("15m"), 900_000);
  assertEquals(parseEvery("15 minutes"), null);
  const every = createSchedule({ every: "15m" });
  assertEquals(
    every.next(new Date("2026-12-03T10:07:00Z")).toISOString(),
    "2026-12-03T10:15:00.000Z",
  );
  assertEquals(
    every.next(new Date("2026-12-03T10:15:00Z")).toISOString(),
    "2026-12-03T10:30:00.000Z",
  );
  const cron = createSchedule({ cron: "0 6 * * 1-5" });
  assertEquals(
    cron.next(new Date("2026-12-04T07:00:00Z")).toISOString(),
    "2026-12-07T06:00:00.000Z",
  );
  assertEquals(cron.periodMs(new Date("2026-12-01T07:00:00Z")), 86_400_000);
});

Deno.test("a source's map is checked at start like --map", async () => {
  assertMatch(
    await problems({
      sources: [{ name: "m", dir: "/tmp/m", every: "1h", map: { "Cust No": "customer_number" } }],
    }),
    /contacts\.sources\.0\.map: .*customer_number/,
  );
});
