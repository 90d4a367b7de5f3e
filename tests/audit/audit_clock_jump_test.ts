/**
 * A wall clock that jumps forward (issue 20, item 8) neither opens a
 * far-future day file nor makes retention or compaction act on the day the
 * log is writing: `steadyClock` ignores a step while the service runs, the
 * writer opens no day far past the newest, and retention never removes the
 * newest day holding lines.
 */
import { join } from "node:path";
import { MAX_DAYS_AHEAD, steadyClock } from "../../src/audit/audit_clock.ts";
import { compressClosedDays } from "../../src/audit/audit_compaction.ts";
import { openAuditLog } from "../../src/audit/audit_log.ts";
import { applyRetention } from "../../src/audit/audit_retention.ts";
import { formatVerifyReport, verifyAuditLog } from "../../src/audit/audit_verify.ts";
import { importSigningKeys } from "../../src/symbo/signature.ts";
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { namesIn, writeAuditDays } from "../helpers/audit_days.ts";
import { callEventBody, postSigned } from "../helpers/events.ts";
import { eventually } from "../helpers/eventually.ts";
import { startServerProcess } from "../helpers/server_process.ts";

const DAYS = ["2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23"];
const JUMPED = new Date("2099-01-01T12:00:00Z");
const KEY = (await importSigningKeys(["a webhook secret for tests"]))[0] ?? null;
const SECRET = "webhook secret for tests";

const entry = (receivedAt: Date) => ({
  receivedAt,
  eventType: "call.updated",
  eventId: "evt_after_jump",
  callId: "call_after_jump",
  userId: "user_1",
  signature: "cd".repeat(32),
  body: new TextEncoder().encode('{"id":"evt_after_jump"}'),
});

async function verified(dir: string): Promise<number> {
  const report = await verifyAuditLog(dir);
  assert.equal(report.ok, true, formatVerifyReport(report));
  return report.lastSeq;
}

Deno.test("the writer opens no day file far past the newest one: a jumped clock's lines go on in the newest day", async () => {
  const dir = await writeAuditDays(DAYS, 2);
  const warnings: string[] = [];
  const log = await openAuditLog({ dir, clock: () => JUMPED, onWarning: (m) => warnings.push(m) });
  await log.append(entry(JUMPED));
  await log.append(entry(JUMPED));
  await log.close();
  assertEquals(await namesIn(dir), DAYS.map((day) => `${day}.jsonl`));
  assertEquals(warnings.length, 1, warnings.join("\n"));
  assertMatch(warnings[0] ?? "", /the clock reads 2099-01-01, more than 7 days after the newest/);
  assertEquals(await verified(dir), 10);
});

Deno.test("a day up to the allowance past the newest is opened (downtime), one more is not", async () => {
  const dir = await writeAuditDays(["2026-11-20"], 1);
  const within = new Date(Date.parse("2026-11-20T12:00:00Z") + MAX_DAYS_AHEAD * 86_400_000);
  const log = await openAuditLog({ dir, clock: () => within, onWarning: () => {} });
  await log.append(entry(within));
  await log.close();
  assertEquals(await namesIn(dir), ["2026-11-20.jsonl", "2026-11-27.jsonl"]);
});

Deno.test("when the newest day is compressed, a jumped clock's lines start the next day, not a plain file beside it", async () => {
  const dir = await writeAuditDays(DAYS, 2);
  await compressClosedDays({ dir, now: new Date("2026-11-24T12:00:00Z") });
  const log = await openAuditLog({ dir, clock: () => JUMPED, onWarning: () => {} });
  await log.append(entry(JUMPED));
  await log.close();
  assertEquals(await namesIn(dir), [
    ...DAYS.map((day) => `${day}.jsonl.gz`),
    "2026-11-24.jsonl",
  ]);
  assertEquals(await verified(dir), 9);
});

Deno.test("while running, a forward step of the wall clock is not followed", () => {
  let wall = new Date("2026-11-23T23:00:00Z");
  let mono = 1_000;
  const steps: string[] = [];
  const clock = steadyClock(() => wall, {
    monotonicMs: () => mono,
    onStep: (message) => steps.push(message),
  });
  mono += 60_000;
  wall = new Date(wall.getTime() + 60_000);
  assertEquals(clock().toISOString(), "2026-11-23T23:01:00.000Z");
  wall = JUMPED; // the step
  mono += 1_000;
  assertEquals(clock().toISOString(), "2026-11-23T23:01:01.000Z");
  assertEquals(clock().toISOString(), "2026-11-23T23:01:01.000Z");
  assertEquals(steps.length, 1);
  assertMatch(steps[0] ?? "", /jumped \d+ s ahead/);
  // Real time goes on: midnight still comes.
  mono += 3_600_000;
  assertEquals(clock().toISOString(), "2026-11-24T00:01:01.000Z");
  // A step back is followed (the writer never returns to an older file).
  wall = new Date("2026-11-23T10:00:00Z");
  assertEquals(clock().toISOString(), "2026-11-23T10:00:00.000Z");
});

Deno.test("a step of under an hour (an NTP correction, a host resumed from suspend) is followed", () => {
  let wall = new Date("2026-11-23T12:00:00Z");
  const steps: string[] = [];
  const clock = steadyClock(() => wall, { monotonicMs: () => 0, onStep: (m) => steps.push(m) });
  wall = new Date("2026-11-23T12:50:00Z");
  assertEquals(clock().toISOString(), "2026-11-23T12:50:00.000Z");
  wall = new Date("2026-11-23T13:10:00Z");
  assertEquals(clock().toISOString(), "2026-11-23T12:00:00.000Z");
  assertEquals(steps.length, 1);
});

Deno.test("retention under a jumped clock keeps the newest day holding lines and ages days from it", async (t) => {
  for (const farFutureFile of [false, true]) {
    await t.step(farFutureFile ? "with an empty far-future file" : "with none", async () => {
      const dir = await writeAuditDays(DAYS, 5);
      // What the writer of before left: an empty 2099 file, newer than today's.
      if (farFutureFile) await Deno.writeFile(join(dir, "2099-01-01.jsonl"), new Uint8Array());
      const report = await applyRetention({
        dir,
        keepDays: 3,
        archiveDir: null,
        now: JUMPED,
        appliedThrough: () => Promise.resolve({ file: "", seq: 20 }),
        signingKey: KEY,
      });
      assertEquals(report.removed, ["2026-11-20"]);
      const names = await namesIn(dir);
      assert.ok(names.includes("2026-11-23.jsonl"), names.join(", "));
      assert.ok(names.includes("2026-11-21.jsonl"), names.join(", "));
    });
  }
});

Deno.test("compaction under a jumped clock leaves the day the writer still appends to plain", async () => {
  const dir = await writeAuditDays(DAYS.slice(2), 2);
  const warnings: string[] = [];
  const report = await compressClosedDays({ dir, now: JUMPED, onWarning: (m) => warnings.push(m) });
  assertEquals(report.compressed.map((c) => c.day), ["2026-11-22"]);
  assertEquals(report.skipped.map((s) => s.day), ["2026-11-23"]);
  assertMatch(warnings.join("\n"), /2026-11-23\.jsonl left uncompressed: the writer still appends/);
  assertEquals(await namesIn(dir), ["2026-11-22.jsonl.gz", "2026-11-23.jsonl"]);
});

Deno.test("serve opens no day file far past the newest audit day: the webhook's line goes to the newest, with a warning", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-clock-jump-" });
  const audit = join(dir, "audit");
  // The server's clock is 30 days past the newest audit day, as after a jump forward.
  const day = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
  const oldDays = [day(31), day(30)];
  await writeAuditDays(oldDays, 2, audit, SECRET);
  const server = await startServerProcess({
    dir,
    config: {
      database: { url: `file:${dir}/crm.db` },
      audit: { dir: audit, compress: true, keep_days: 3 },
      data_dir: dir,
      symbo: { webhook_secrets: [SECRET], lookup_tokens: ["lookup-token-0123456789abcdef"] },
    },
  });
  try {
    const response = await postSigned(server.url, SECRET, callEventBody({ callId: "after-jump" }));
    assertEquals(response.status, 200);
    await response.body?.cancel();
    await eventually(
      "the writer's warning",
      10_000,
      () => Promise.resolve(/not opening a day file that far ahead/.test(server.output.join("\n"))),
    );
    await eventually(
      "the older day compressed",
      10_000,
      async () => (await namesIn(audit)).includes(`${oldDays[0]}.jsonl.gz`),
    );
  } finally {
    await server.stop();
  }
  const names = (await namesIn(audit)).filter((name) => /^\d{4}-\d{2}-\d{2}\.jsonl/.test(name));
  // The newest day got the line and stayed plain; the older one was compressed; none was removed.
  assertEquals(names, [`${oldDays[0]}.jsonl.gz`, `${oldDays[1]}.jsonl`]);
  assertEquals(await verified(audit), 5);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("when the clock is right after a long downtime, the empty day file the warning names lets the writer go on there", async () => {
  const dir = await writeAuditDays(DAYS, 2);
  const warnings: string[] = [];
  const first = await openAuditLog({
    dir,
    clock: () => JUMPED,
    onWarning: (m) => warnings.push(m),
  });
  await first.append(entry(JUMPED));
  await first.close();
  const named = /create an empty (\S+) \(mode 0600\)/.exec(warnings.join("\n"))?.[1];
  assertEquals(named, join(dir, "2099-01-01.jsonl"));
  await Deno.writeFile(named ?? "", new Uint8Array(), { mode: 0o600 });
  const second = await openAuditLog({ dir, clock: () => JUMPED, onWarning: () => {} });
  await second.append(entry(JUMPED));
  await second.close();
  assertEquals((await Deno.readTextFile(named ?? "")).split("\n").length, 2);
  assertEquals(await verified(dir), 10);
});
