import { Buffer } from "node:buffer";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { type CompactionStep, compressClosedDays } from "../../src/audit/audit_compaction.ts";
import { openAuditLog } from "../../src/audit/audit_log.ts";
import { readAuditRecords } from "../../src/audit/audit_reader.ts";
import { formatVerifyReport, verifyAuditLog } from "../../src/audit/audit_verify.ts";
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { namesIn, writeAuditDays } from "../helpers/audit_days.ts";

const D1 = "2026-11-27";
const D2 = "2026-11-28";
const D3 = "2026-11-29";
const NOON_D3 = new Date(`${D3}T12:00:00Z`);

async function seqs(dir: string): Promise<number[]> {
  const out: number[] = [];
  for await (const { record } of readAuditRecords(dir)) out.push(record.seq);
  return out;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

Deno.test("closed days are gzip'd with the same bytes; today's file stays plain", async () => {
  const dir = await writeAuditDays([D1, D2, D3], 5);
  const before = await Deno.readFile(join(dir, `${D1}.jsonl`));
  const report = await compressClosedDays({ dir, now: NOON_D3 });
  assertEquals(report.compressed.map((c) => c.day), [D1, D2]);
  assertEquals(report.skipped, []);
  assertEquals(await namesIn(dir), [`${D1}.jsonl.gz`, `${D2}.jsonl.gz`, `${D3}.jsonl`]);
  assertEquals(gunzipSync(await Deno.readFile(join(dir, `${D1}.jsonl.gz`))), Buffer.from(before));
  assertEquals((await Deno.stat(join(dir, `${D1}.jsonl.gz`))).mode! & 0o777, 0o600);
  // A second run finds nothing left to do.
  assertEquals((await compressClosedDays({ dir, now: NOON_D3 })).compressed, []);
});

Deno.test("verify and the reader walk compressed and plain days in order", async () => {
  const dir = await writeAuditDays([D1, D2, D3], 5);
  await compressClosedDays({ dir, now: NOON_D3 });
  const report = await verifyAuditLog(dir);
  assert.equal(report.ok, true, formatVerifyReport(report));
  assertEquals([report.files, report.lines, report.lastSeq], [3, 15, 15]);
  assertEquals(await seqs(dir), range(1, 15));
});

Deno.test("verify names a line edited inside a compressed day", async () => {
  const dir = await writeAuditDays([D1, D2], 3);
  const path = join(dir, `${D1}.jsonl`);
  const text = await Deno.readTextFile(path);
  await compressClosedDays({ dir, now: NOON_D3 });
  const tampered = text.replace("hello 1", "hello X");
  await Deno.writeFile(
    join(dir, `${D1}.jsonl.gz`),
    new Uint8Array(
      await new Response(
        new Blob([tampered]).stream().pipeThrough(new CompressionStream("gzip")),
      ).arrayBuffer(),
    ),
  );
  const report = await verifyAuditLog(dir);
  assert.equal(report.ok, false);
  assertEquals([report.firstProblem?.file, report.firstProblem?.line], [`${D1}.jsonl.gz`, 2]);
});

Deno.test("the writer continues the chain from a compressed newest day", async () => {
  const dir = await writeAuditDays([D1, D2], 4);
  await compressClosedDays({ dir, now: NOON_D3 });
  assertEquals(await namesIn(dir), [`${D1}.jsonl.gz`, `${D2}.jsonl.gz`]);
  const log = await openAuditLog({ dir, clock: () => NOON_D3 });
  const record = await log.append({
    receivedAt: NOON_D3,
    eventType: "call.created",
    eventId: "evt_next",
    callId: "call_next",
    userId: null,
    signature: "ab".repeat(32),
    body: new TextEncoder().encode('{"id":"evt_next"}'),
  });
  await log.close();
  assert.equal(record.seq, 9);
  const report = await verifyAuditLog(dir);
  assert.equal(report.ok, true, formatVerifyReport(report));
  assert.equal(report.lastSeq, 9);
});

Deno.test("a day is compressed only once it has been over for the grace period", async () => {
  const dir = await writeAuditDays([D1, D2], 2);
  const justAfterMidnight = new Date(`${D2}T00:01:00Z`);
  assertEquals((await compressClosedDays({ dir, now: justAfterMidnight })).compressed, []);
  const later = new Date(`${D2}T00:06:00Z`);
  assertEquals((await compressClosedDays({ dir, now: later })).compressed.map((c) => c.day), [D1]);
});

Deno.test("a crash at any step of compression leaves a readable log, finished by the next run", async (t) => {
  for (const step of ["temp-written", "renamed", "plain-removed"] as const) {
    await t.step(`crash after ${step}`, async () => {
      const dir = await writeAuditDays([D1, D2, D3], 3);
      const crash = (at: CompactionStep, day: string) => {
        if (at === step && day === D1) throw new Error("simulated crash");
      };
      const crashed = await compressClosedDays({ dir, now: NOON_D3, afterStep: crash });
      assertEquals(crashed.skipped.map((s) => s.day), [D1]);
      let report = await verifyAuditLog(dir);
      assert.equal(report.ok, true, formatVerifyReport(report));
      assertEquals(await seqs(dir), range(1, 9));

      await compressClosedDays({ dir, now: NOON_D3 });
      assertEquals(await namesIn(dir), [`${D1}.jsonl.gz`, `${D2}.jsonl.gz`, `${D3}.jsonl`]);
      report = await verifyAuditLog(dir);
      assert.equal(report.ok, true, formatVerifyReport(report));
      assertEquals(await seqs(dir), range(1, 9));
    });
  }

  await t.step("a half-written temp file and a damaged .gz beside its plain file", async () => {
    const dir = await writeAuditDays([D1, D2, D3], 3);
    await Deno.writeFile(join(dir, `${D1}.jsonl.gz.tmp`), new Uint8Array([0x1f, 0x8b, 1, 2]));
    await Deno.writeFile(join(dir, `${D2}.jsonl.gz`), new Uint8Array([0x1f, 0x8b, 8, 0, 9]));
    // The readers take the plain file while both forms exist.
    assert.equal((await verifyAuditLog(dir)).ok, true);
    const report = await compressClosedDays({ dir, now: NOON_D3 });
    assertEquals(report.compressed.map((c) => c.day), [D1, D2]);
    assertEquals(await namesIn(dir), [`${D1}.jsonl.gz`, `${D2}.jsonl.gz`, `${D3}.jsonl`]);
    assertEquals(await seqs(dir), range(1, 9));
  });
});

Deno.test("a torn closed day and a symlinked day are left as they are", async () => {
  const dir = await writeAuditDays([D1, D2, D3], 2);
  await Deno.writeTextFile(join(dir, `${D2}.jsonl`), '{"seq":5,"rec', { append: true });
  const elsewhere = await Deno.makeTempDir();
  await Deno.rename(join(dir, `${D1}.jsonl`), join(elsewhere, "real.jsonl"));
  await Deno.symlink(join(elsewhere, "real.jsonl"), join(dir, `${D1}.jsonl`));
  const warnings: string[] = [];
  const report = await compressClosedDays({
    dir,
    now: NOON_D3,
    onWarning: (message) => warnings.push(message),
  });
  assertEquals(report.compressed, []);
  assertEquals(report.skipped.map((s) => s.day), [D2]);
  assertMatch(warnings.join("\n"), /no trailing newline/);
  assertEquals(await namesIn(dir), [`${D1}.jsonl`, `${D2}.jsonl`, `${D3}.jsonl`]);
  assert.equal((await Deno.lstat(join(dir, `${D1}.jsonl`))).isSymlink, true);
});

Deno.test("a reader that listed a plain day before it was compressed reads the .gz", async () => {
  const dir = await writeAuditDays([D1, D2], 3);
  const lines = readAuditRecords(dir);
  const first = await lines.next();
  assertEquals(first.value?.record.seq, 1);
  // D2 is listed as plain but compressed before the reader reaches it.
  await compressClosedDays({ dir, now: NOON_D3 });
  const rest: number[] = [];
  for await (const { record } of lines) rest.push(record.seq);
  assertEquals(rest, range(2, 6));
});

Deno.test("compression never writes through a link planted at its temp name", async () => {
  const dir = await writeAuditDays([D1, D2], 2);
  const outside = join(await Deno.makeTempDir(), "victim.txt");
  await Deno.writeTextFile(outside, "untouched");
  await Deno.symlink(outside, join(dir, `${D1}.jsonl.gz.tmp`));
  const report = await compressClosedDays({ dir, now: NOON_D3 });
  assertEquals(report.compressed.map((c) => c.day), [D1, D2]);
  assertEquals(await Deno.readTextFile(outside), "untouched");
  assertEquals(await namesIn(dir), [`${D1}.jsonl.gz`, `${D2}.jsonl.gz`]);
});
