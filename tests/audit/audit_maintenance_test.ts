import { AuditMaintenance } from "../../src/audit/audit_maintenance.ts";
import { verifyAuditLog } from "../../src/audit/audit_verify.ts";
import { CHAIN_START_FILE } from "../../src/audit/chain_start.ts";
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { namesIn, writeAuditDays } from "../helpers/audit_days.ts";
import { importSigningKeys } from "../../src/symbo/signature.ts";
const KEY = (await importSigningKeys(["a webhook secret for tests"]))[0] ?? null;

const NOW = new Date("2026-11-24T12:00:00Z");

function recorder() {
  const lines: string[] = [];
  return {
    lines,
    log: {
      info: (message: string) => lines.push(`info: ${message}`),
      warn: (message: string) => lines.push(`warn: ${message}`),
    },
  };
}

Deno.test("audit maintenance compresses, then retires what the applier has applied, and stops cleanly", async () => {
  const dir = await writeAuditDays(["2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23"], 3);
  const { lines, log } = recorder();
  const maintenance = new AuditMaintenance({
    dir,
    compress: true,
    keepDays: 2,
    archiveDir: null,
    appliedThrough: () => Promise.resolve({ file: "2026-11-23.jsonl.gz", seq: 12 }),
    signingKey: KEY,
    clock: () => NOW,
    log,
  });
  maintenance.start();
  await maintenance.runNow(); // joins the run start() began
  await maintenance.stop(); // the next run's timer is cancelled (the test would leak it otherwise)
  assertEquals(await namesIn(dir), [
    "2026-11-22.jsonl.gz",
    "2026-11-23.jsonl.gz",
    CHAIN_START_FILE,
  ]);
  const stats = maintenance.stats;
  assertEquals([stats.compressedDays, stats.removedDays, stats.lastRunOk], [4, 2, true]);
  assert.ok(stats.savedBytes > 0 && stats.removedBytes > 0);
  assertEquals(stats.lastRunAt, NOW);
  assertMatch(lines.join("\n"), /Audit retention: 2026-11-20, 2026-11-21 deleted\./);
  assert.equal((await verifyAuditLog(dir)).ok, true);
});

Deno.test("audit maintenance keeps every day when nothing is known applied, and says so", async () => {
  const dir = await writeAuditDays(["2026-11-20", "2026-11-21"], 2);
  const { lines, log } = recorder();
  const maintenance = new AuditMaintenance({
    dir,
    compress: false,
    keepDays: 1,
    archiveDir: null,
    appliedThrough: () => Promise.resolve(null),
    signingKey: KEY,
    clock: () => NOW,
    log,
  });
  await maintenance.runNow();
  await maintenance.stop();
  assertEquals(await namesIn(dir), ["2026-11-20.jsonl", "2026-11-21.jsonl"]);
  assertMatch(lines.join("\n"), /kept expired days: the applier has not applied any line yet/);
});

Deno.test("a failed run is reported in the stats and the log, not thrown", async () => {
  const { lines, log } = recorder();
  const maintenance = new AuditMaintenance({
    dir: "/nonexistent/audit",
    compress: true,
    keepDays: null,
    archiveDir: null,
    appliedThrough: () => Promise.resolve(null),
    signingKey: KEY,
    clock: () => NOW,
    log,
  });
  await maintenance.runNow();
  await maintenance.stop();
  assertEquals(maintenance.stats.lastRunOk, false);
  assertMatch(lines.join("\n"), /warn: Audit compression failed: .*nonexistent/);
});
