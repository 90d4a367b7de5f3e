import { join } from "node:path";
import { assert } from "../helpers/assert.ts";
import { compressClosedDays } from "../../src/audit/audit_compaction.ts";
import { openAuditLog } from "../../src/audit/audit_log.ts";
import { AuditBodyReader, type BodyLookup } from "../../src/audit/audit_line_lookup.ts";
import type { AuditRecord } from "../../src/audit/audit_record.ts";

const encoder = new TextEncoder();

/** Writes `perDay` lines on each day through the real writer; returns the records in order. */
async function writeDays(dir: string, days: readonly string[], perDay: number) {
  let now = new Date(`${days[0]}T12:00:00Z`);
  const log = await openAuditLog({ dir, clock: () => now, onWarning: () => {} });
  const records: AuditRecord[] = [];
  try {
    for (const day of days) {
      now = new Date(`${day}T12:00:00Z`);
      for (let i = 0; i < perDay; i++) {
        const body = JSON.stringify({ id: `evt-${day}-${i}`, note: `body ${day} #${i} ✓` });
        records.push(
          await log.append({
            receivedAt: now,
            eventType: "call.updated",
            eventId: `evt-${day}-${i}`,
            callId: null,
            userId: null,
            signature: "cd".repeat(32),
            body: encoder.encode(body),
          }),
        );
      }
    }
  } finally {
    await log.close();
  }
  return records;
}

function bodyOf(lookup: BodyLookup | undefined): string {
  assert.ok(lookup?.found, `expected a body, got ${JSON.stringify(lookup)}`);
  return lookup.body;
}

Deno.test("bodies are found by seq across days, the same before and after the days are gzip'd", async () => {
  const dir = await Deno.makeTempDir();
  const records = await writeDays(dir, ["2024-03-01", "2024-03-02", "2024-03-03"], 4);
  const wanted = [records[0], records[5], records[6], records[11]].map((r) => ({
    seq: r?.seq ?? 0,
    sha256: r?.body_sha256 ?? "",
  }));
  const plain = await new AuditBodyReader(dir, "i1").read(wanted);
  const report = await compressClosedDays({ dir, now: new Date("2024-03-10T00:00:00Z") });
  assert.equal(report.compressed.length, 3);
  const gzipped = await new AuditBodyReader(dir, "i1").read(wanted);
  for (const { seq } of wanted) {
    const expected = records[seq - 1]?.body;
    assert.equal(bodyOf(plain.get(seq)), expected);
    assert.equal(bodyOf(gzipped.get(seq)), expected);
  }
});

Deno.test("a reader keeps finding lines after its day is compressed under it", async () => {
  const dir = await Deno.makeTempDir();
  const records = await writeDays(dir, ["2024-03-01", "2024-03-02"], 3);
  const reader = new AuditBodyReader(dir, "i1");
  const one = { seq: 2, sha256: records[1]?.body_sha256 ?? "" };
  assert.equal(bodyOf((await reader.read([one])).get(2)), records[1]?.body);
  await compressClosedDays({ dir, now: new Date("2024-03-10T00:00:00Z") });
  assert.equal(bodyOf((await reader.read([one])).get(2)), records[1]?.body);
});

Deno.test("a line whose day was removed answers removed, naming the seq and retention", async () => {
  const dir = await Deno.makeTempDir();
  const records = await writeDays(dir, ["2024-03-01", "2024-03-02"], 2);
  await Deno.remove(join(dir, "2024-03-01.jsonl"));
  const result = await new AuditBodyReader(dir, "i1").read([
    { seq: 1, sha256: records[0]?.body_sha256 ?? "" },
    { seq: 3, sha256: records[2]?.body_sha256 ?? "" },
  ]);
  const gone = result.get(1);
  assert.ok(gone !== undefined && !gone.found);
  assert.equal(gone.code, "removed");
  assert.match(gone.reason, /audit line seq 1 is no longer in the audit folder.*keep_days/);
  assert.equal(bodyOf(result.get(3)), records[2]?.body);
});

Deno.test("a seq past the end of the log, or a line holding another body, is not passed off as the body", async () => {
  const dir = await Deno.makeTempDir();
  const records = await writeDays(dir, ["2024-03-01"], 2);
  const result = await new AuditBodyReader(dir, "i1").read([
    { seq: 2, sha256: "0".repeat(64) },
    { seq: 9, sha256: records[0]?.body_sha256 ?? "" },
  ]);
  const other = result.get(2);
  assert.ok(other !== undefined && !other.found);
  assert.equal(other.code, "mismatch");
  assert.match(other.reason, /seq 2 holds a different body/);
  const missing = result.get(9);
  assert.ok(missing !== undefined && !missing.found);
  assert.equal(missing.code, "removed");
});

Deno.test("an audit folder that does not exist answers unreadable, not an exception", async () => {
  const dir = join(await Deno.makeTempDir(), "nowhere");
  const result = await new AuditBodyReader(dir, "i1").read([{ seq: 1, sha256: "a".repeat(64) }]);
  const lookup = result.get(1);
  assert.ok(lookup !== undefined && !lookup.found);
  assert.equal(lookup.code, "unreadable");
  assert.match(
    lookup.reason,
    /audit line seq 1 could not be read: audit directory .* does not exist/,
  );
});

Deno.test("in a large plain day every line is found by bisection: first, middle, last, and a long one", async () => {
  const dir = await Deno.makeTempDir();
  const now = new Date("2024-03-01T12:00:00Z");
  const log = await openAuditLog({ dir, clock: () => now, onWarning: () => {} });
  let records: AuditRecord[];
  try {
    // ~3 MB in one day, many times the bisection's 64 KiB chunk; line 700 is 200 KB on its own.
    records = await Promise.all(
      Array.from({ length: 1500 }, (_, i) => {
        const note = i === 699 ? "x".repeat(200_000) : `${"y".repeat(1500)} ${i}`;
        const body = JSON.stringify({ id: `evt-${i}`, note });
        return log.append({
          receivedAt: now,
          eventType: "call.updated",
          eventId: `evt-${i}`,
          callId: null,
          userId: null,
          signature: "cd".repeat(32),
          body: encoder.encode(body),
        });
      }),
    );
  } finally {
    await log.close();
  }
  const seqs = [1, 2, 699, 700, 701, 750, 1499, 1500];
  const result = await new AuditBodyReader(dir, "i1").read(
    seqs.map((seq) => ({ seq, sha256: records[seq - 1]?.body_sha256 ?? "" })),
  );
  for (const seq of seqs) assert.equal(bodyOf(result.get(seq)), records[seq - 1]?.body, `${seq}`);
  const past = await new AuditBodyReader(dir, "i1").read([{ seq: 1501, sha256: "a".repeat(64) }]);
  assert.equal(past.get(1501)?.found, false);
});
