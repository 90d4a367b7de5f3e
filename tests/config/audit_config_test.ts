import { ConfigError, loadConfig } from "../../src/config/config.ts";
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";

function fromJson(value: unknown) {
  return loadConfig({
    path: "config.json",
    env: {},
    readTextFile: () => Promise.resolve(JSON.stringify(value)),
  });
}

Deno.test("the audit folder is compressed and kept forever by default", async () => {
  const { config } = await fromJson({});
  assertEquals(config.audit, {
    dir: "data/audit",
    compress: true,
    keep_days: null,
    archive_dir: null,
  });
});

Deno.test("audit retention settings are checked with their key paths", async () => {
  const { config } = await fromJson({ audit: { keep_days: 90, archive_dir: "/srv/archive" } });
  assertEquals([config.audit.keep_days, config.audit.archive_dir], [90, "/srv/archive"]);
  try {
    await fromJson({ audit: { keep_days: 0, archive_dir: "", compress: "yes" } });
    throw new Error("expected a ConfigError");
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    const text = error.problems.join("\n");
    assertMatch(text, /audit\.keep_days: keep at least 1 day \(null keeps every day\)/);
    assertMatch(text, /audit\.archive_dir:/);
    assertMatch(text, /audit\.compress:/);
  }
});
