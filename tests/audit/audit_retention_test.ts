import { join } from "node:path";
import { compressClosedDays } from "../../src/audit/audit_compaction.ts";
import { readAuditRecords } from "../../src/audit/audit_reader.ts";
import {
  type AppliedPosition,
  applyRetention,
  dayBefore,
} from "../../src/audit/audit_retention.ts";
import { formatVerifyReport, verifyAuditLog } from "../../src/audit/audit_verify.ts";
import { CHAIN_START_FILE, readChainStart } from "../../src/audit/chain_start.ts";
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { namesIn, writeAuditDays } from "../helpers/audit_days.ts";
import { importSigningKeys } from "../../src/symbo/signature.ts";
const KEY = (await importSigningKeys(["a webhook secret for tests"]))[0] ?? null;

const D1 = "2026-11-20";
const D2 = "2026-11-21";
const D3 = "2026-11-22";
const D4 = "2026-11-23";
const NOW = new Date("2026-11-24T12:00:00Z");

const applied = (position: AppliedPosition | null) => () => Promise.resolve(position);

/** Four days of five lines each: seqs 1–5, 6–10, 11–15, 16–20. */
function fourDays(): Promise<string> {
  return writeAuditDays([D1, D2, D3, D4], 5);
}

async function hashOfSeq(dir: string, seq: number): Promise<string> {
  for await (const { record } of readAuditRecords(dir)) if (record.seq === seq) return record.hash;
  throw new Error(`no seq ${seq}`);
}

Deno.test("dayBefore counts whole UTC days back from today", () => {
  assertEquals(dayBefore(new Date("2026-03-01T23:59:00Z"), 1), "2026-02-28");
  assertEquals(dayBefore(new Date("2026-11-24T00:00:00Z"), 30), "2026-10-25");
});

Deno.test("retention never removes a day holding lines the applier has not applied", async () => {
  const dir = await fourDays();
  const report = await applyRetention({
    dir,
    keepDays: 1,
    archiveDir: null,
    now: NOW,
    appliedThrough: applied({ file: `${D2}.jsonl`, seq: 8 }),
    signingKey: KEY,
  });
  assertEquals(report.removed, [D1]);
  assertMatch(report.heldBack ?? "", /2026-11-21 holds lines after the applied position \(seq 8\)/);
  assertEquals(await namesIn(dir), [
    `${D2}.jsonl`,
    `${D3}.jsonl`,
    `${D4}.jsonl`,
    CHAIN_START_FILE,
  ]);
  const first = [];
  for await (const { record } of readAuditRecords(dir)) first.push(record.seq);
  assertEquals(first[0], 6);
});

Deno.test("retention with nothing applied keeps every day", async () => {
  const dir = await fourDays();
  const report = await applyRetention({
    dir,
    keepDays: 1,
    archiveDir: null,
    now: NOW,
    appliedThrough: applied(null),
    signingKey: KEY,
  });
  assertEquals(report.removed, []);
  assertMatch(report.heldBack ?? "", /not applied any line/);
  assertEquals((await namesIn(dir)).length, 4);
});

Deno.test("retention keeps the newest day even when it has expired", async () => {
  const dir = await fourDays();
  const report = await applyRetention({
    dir,
    keepDays: 1,
    archiveDir: null,
    now: new Date("2026-12-30T12:00:00Z"),
    appliedThrough: applied({ file: `${D4}.jsonl`, seq: 20 }),
    signingKey: KEY,
  });
  assertEquals(report.removed, [D1, D2, D3]);
  assertEquals(await namesIn(dir), [`${D4}.jsonl`, CHAIN_START_FILE]);
});

Deno.test("verify passes after retention and fails when a kept day is removed", async (t) => {
  const setUp = async () => {
    const dir = await fourDays();
    await compressClosedDays({ dir, now: NOW });
    const report = await applyRetention({
      dir,
      keepDays: 3,
      archiveDir: null,
      now: NOW,
      appliedThrough: applied({ file: `${D4}.jsonl.gz`, seq: 20 }),
      signingKey: KEY,
    });
    assertEquals(report.removed, [D1]);
    return dir;
  };

  await t.step("the kept chain verifies from its recorded start", async () => {
    const dir = await setUp();
    const start = await readChainStart(dir);
    let firstPrev = "";
    for await (const { record } of readAuditRecords(dir)) {
      firstPrev = record.prev;
      break;
    }
    assertEquals([start?.day, start?.seq, start?.prev], [D2, 6, firstPrev]);
    const report = await verifyAuditLog(dir);
    assert.equal(report.ok, true, formatVerifyReport(report));
    assertEquals([report.files, report.lines, report.lastSeq], [3, 15, 20]);
    assert.equal((await Deno.stat(join(dir, CHAIN_START_FILE))).mode! & 0o777, 0o600);
  });

  await t.step("the first kept day removed", async () => {
    const dir = await setUp();
    await Deno.remove(join(dir, `${D2}.jsonl.gz`));
    const report = await verifyAuditLog(dir);
    assert.equal(report.ok, false);
    assertEquals(report.firstProblem?.file, `${D3}.jsonl.gz`);
    assertMatch(report.firstProblem?.problem ?? "", /starts at seq 11, not 1/);
  });

  await t.step("a kept day in the middle removed", async () => {
    const dir = await setUp();
    await Deno.remove(join(dir, `${D3}.jsonl.gz`));
    const report = await verifyAuditLog(dir);
    assert.equal(report.ok, false);
    assertEquals([report.firstProblem?.file, report.firstProblem?.line], [`${D4}.jsonl.gz`, 1]);
    assertMatch(report.firstProblem?.problem ?? "", /seq 16 follows seq 10/);
  });

  await t.step("every kept day removed", async () => {
    const dir = await setUp();
    for (const day of [`${D2}.jsonl.gz`, `${D3}.jsonl.gz`, `${D4}.jsonl.gz`]) {
      await Deno.remove(join(dir, day));
    }
    const report = await verifyAuditLog(dir);
    assert.equal(report.ok, false);
    assertEquals(report.firstProblem?.file, CHAIN_START_FILE);
    assertMatch(report.firstProblem?.problem ?? "", /starts at seq 6 .* no line is left/);
  });

  await t.step("the recorded start edited to skip the first kept day", async () => {
    const dir = await setUp();
    const start = await readChainStart(dir);
    const edited = { ...start, prev: await hashOfSeq(dir, 10) };
    await Deno.writeTextFile(join(dir, CHAIN_START_FILE), JSON.stringify(edited));
    const report = await verifyAuditLog(dir);
    assert.equal(report.ok, false);
    assertEquals([report.firstProblem?.file, report.firstProblem?.line], [`${D2}.jsonl.gz`, 1]);
  });
});

Deno.test("an archive folder receives the expired days, and the log still verifies", async () => {
  const dir = await fourDays();
  await compressClosedDays({ dir, now: NOW });
  const archiveDir = join(await Deno.makeTempDir(), "archive");
  const report = await applyRetention({
    dir,
    keepDays: 2,
    archiveDir,
    now: NOW,
    appliedThrough: applied({ file: `${D4}.jsonl`, seq: 20 }),
    signingKey: KEY,
  });
  assertEquals(report.removed, [D1, D2]);
  assert.ok(report.removedBytes > 0);
  assertEquals(await namesIn(archiveDir), [`${D1}.jsonl.gz`, `${D2}.jsonl.gz`]);
  assertEquals(await namesIn(dir), [`${D3}.jsonl.gz`, `${D4}.jsonl.gz`, CHAIN_START_FILE]);
  assertEquals((await Deno.stat(archiveDir)).mode! & 0o777, 0o700);
  const verified = await verifyAuditLog(dir);
  assert.equal(verified.ok, true, formatVerifyReport(verified));
  assertEquals([verified.lines, verified.lastSeq], [10, 20]);
  // The archive is a log of its own from the genesis: it verifies too.
  const archived = await verifyAuditLog(archiveDir);
  assert.equal(archived.ok, true, formatVerifyReport(archived));
  assertEquals(archived.lastSeq, 10);
});

Deno.test("retention refuses an archive folder that is the audit folder", async () => {
  const dir = await fourDays();
  await assertRejectsWith(
    () =>
      applyRetention({
        dir,
        keepDays: 1,
        archiveDir: `${dir}/.`,
        now: NOW,
        appliedThrough: applied({ file: `${D4}.jsonl`, seq: 20 }),
        signingKey: KEY,
      }),
    /archive_dir must not be audit.dir/,
  );
});

async function assertRejectsWith(fn: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await fn();
  } catch (error) {
    assertMatch(String(error), pattern);
    return;
  }
  throw new Error("expected a rejection");
}

Deno.test("retention decides on the seq alone when the applied position names no file", async () => {
  const dir = await fourDays();
  const report = await applyRetention({
    dir,
    keepDays: 1,
    archiveDir: null,
    now: NOW,
    appliedThrough: applied({ file: "", seq: 12 }),
    signingKey: KEY,
  });
  assertEquals(report.removed, [D1, D2]);
  assertMatch(
    report.heldBack ?? "",
    /2026-11-22 holds lines after the applied position \(seq 12\)/,
  );
});
