import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type AuditFileHandle,
  type AuditFs,
  AuditLogError,
  denoAuditFs,
  openAuditLog,
} from "../../src/audit/audit_log.ts";
import { listAuditFiles, readAuditRecords } from "../../src/audit/audit_reader.ts";
import {
  type AuditEntryInput,
  type AuditRecord,
  GENESIS_HASH,
  parseRecordLine,
  recordBodyBytes,
} from "../../src/audit/audit_record.ts";
import { verifyAuditLog } from "../../src/audit/audit_verify.ts";

const encoder = new TextEncoder();

function entry(body: string | Uint8Array, overrides: Partial<AuditEntryInput> = {}) {
  return {
    receivedAt: new Date("2024-05-01T12:00:00.000Z"),
    eventType: "call.updated",
    eventId: "evt_1",
    callId: "call_1",
    userId: "user_1",
    signature: "ab".repeat(32),
    body: typeof body === "string" ? encoder.encode(body) : body,
    ...overrides,
  } satisfies AuditEntryInput;
}

async function modeOf(path: string): Promise<number> {
  const { mode } = await Deno.stat(path);
  assert.ok(mode !== null, "this platform reports file modes");
  return mode & 0o777;
}

function fixedClock(iso: string): () => Date {
  return () => new Date(iso);
}

async function readRecords(dir: string): Promise<AuditRecord[]> {
  const records: AuditRecord[] = [];
  for await (const { record } of readAuditRecords(dir)) records.push(record);
  return records;
}

/** What the probing file system counts, and the failures it injects. */
interface Probe {
  writes: number;
  syncs: number;
  /** Largest number of bytes one write accepts (to force partial writes). */
  maxWrite: number;
  failSync: boolean;
  failTruncate: boolean;
  /** fsyncs of the audit directory itself (opened read-only). */
  dirSyncs: number;
}

/** The real file system, with counters and injected failures on files opened for appending. */
function probeFs(probe: Probe): AuditFs {
  const base = denoAuditFs();
  return {
    ...base,
    open: async (path, options) => {
      const file = await base.open(path, options);
      if (options.read && !options.write && !options.append) {
        return {
          read: (buffer) => file.read(buffer),
          seek: (offset, whence) => file.seek(offset, whence),
          write: (data) => file.write(data),
          syncData: () => {
            probe.dirSyncs++;
            return file.syncData();
          },
          truncate: (length) => file.truncate(length),
          stat: () => file.stat(),
          close: () => file.close(),
        };
      }
      if (!options.append) return file;
      const probed: AuditFileHandle = {
        read: (buffer) => file.read(buffer),
        seek: (offset, whence) => file.seek(offset, whence),
        write: (data) => {
          probe.writes++;
          return file.write(data.subarray(0, probe.maxWrite));
        },
        syncData: () => {
          if (probe.failSync) return Promise.reject(new Error("injected EIO on fsync"));
          probe.syncs++;
          return file.syncData();
        },
        truncate: (length) => {
          if (probe.failTruncate) return Promise.reject(new Error("injected EIO on truncate"));
          return file.truncate(length);
        },
        stat: () => file.stat(),
        close: () => file.close(),
      };
      return probed;
    },
  };
}

function newProbe(): Probe {
  return {
    writes: 0,
    syncs: 0,
    maxWrite: Infinity,
    failSync: false,
    failTruncate: false,
    dirSyncs: 0,
  };
}

Deno.test("appended bodies read back byte-exact: unicode with newlines, BOM, empty, non-UTF-8", async () => {
  const dir = await Deno.makeTempDir();
  const log = await openAuditLog({ dir, clock: fixedClock("2024-05-01T12:00:00Z") });
  const bodies: Uint8Array[] = [
    encoder.encode('{"note":"line one\nline two\r\n","who":"Zoë 📞 \u2028 日本"}'),
    encoder.encode('\uFEFF{"bom":true}'),
    new Uint8Array(0),
    new Uint8Array([0xff, 0xfe, 0x00, 0x0a, 0x7b, 0xc3, 0x28, 0x0d]),
  ];
  const appended: AuditRecord[] = [];
  for (const body of bodies) appended.push(await log.append(entry(body)));
  await log.close();

  const records = await readRecords(dir);
  assert.equal(records.length, bodies.length);
  records.forEach((record, index) => {
    assert.deepEqual(recordBodyBytes(record), bodies[index]);
    assert.deepEqual(record, appended[index]);
  });
  assert.equal(records[0]?.body, '{"note":"line one\nline two\r\n","who":"Zoë 📞 \u2028 日本"}');
  assert.equal(records[1]?.body?.charCodeAt(0), 0xfeff);
  assert.equal(records[2]?.body, "");
  assert.equal(records[3]?.body, undefined);
  assert.equal(records[3]?.body_base64, "//4ACnvDKA0=");

  const text = await Deno.readTextFile(join(dir, "2024-05-01.jsonl"));
  assert.equal(text.split("\n").length, bodies.length + 1, "one line per append");
  assert.ok(text.endsWith("\n"));
  assert.equal((await verifyAuditLog(dir)).ok, true);
});

Deno.test("a record line has the snake_case keys in the documented order", async () => {
  const dir = await Deno.makeTempDir();
  const log = await openAuditLog({ dir, clock: fixedClock("2024-05-01T12:00:00Z") });
  const record = await log.append(entry("{}", { eventId: null }));
  await log.close();

  const line = (await Deno.readTextFile(join(dir, "2024-05-01.jsonl"))).trimEnd();
  const parsed: unknown = JSON.parse(line);
  assert.ok(typeof parsed === "object" && parsed !== null);
  assert.deepEqual(Object.keys(parsed), [
    "seq",
    "received_at",
    "event_type",
    "event_id",
    "call_id",
    "user_id",
    "signature",
    "body_sha256",
    "body",
    "prev",
    "hash",
  ]);
  assert.equal(record.seq, 1);
  assert.equal(record.prev, GENESIS_HASH);
  assert.equal(record.event_id, null);
  assert.equal(record.received_at, "2024-05-01T12:00:00.000Z");
  assert.equal(
    record.body_sha256,
    "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
  );
  assert.deepEqual(parseRecordLine(line), record);
});

Deno.test("200 concurrent appends give seq 1..200 on 200 lines, a valid chain and fewer fsyncs", async () => {
  const dir = await Deno.makeTempDir();
  const probe = newProbe();
  const log = await openAuditLog({
    dir,
    clock: fixedClock("2024-05-01T12:00:00Z"),
    fs: probeFs(probe),
  });
  const results = await Promise.all(
    Array.from({ length: 200 }, (_, i) => log.append(entry(`{"n":${i}}`, { eventId: `e${i}` }))),
  );
  await log.close();

  // Each append resolves with its own record, in call order.
  assert.deepEqual(results.map((r) => r.event_id), results.map((_, i) => `e${i}`));
  assert.deepEqual(results.map((r) => r.seq), results.map((_, i) => i + 1));
  const records = await readRecords(dir);
  assert.deepEqual(records.map((r) => r.seq), results.map((_, i) => i + 1));
  assert.deepEqual(records, results);
  assert.ok(probe.syncs < 200, `expected group commit, got ${probe.syncs} fsyncs for 200 lines`);
  assert.ok(probe.syncs >= 1);
  assert.equal(probe.writes, probe.syncs, "one write per batch");
  const report = await verifyAuditLog(dir);
  assert.equal(report.ok, true);
  assert.equal(report.lines, 200);
  assert.equal(report.lastSeq, 200);
});

Deno.test("appends that arrive while an fsync runs are committed together in the next batch", async () => {
  const dir = await Deno.makeTempDir();
  const probe = newProbe();
  const log = await openAuditLog({
    dir,
    clock: fixedClock("2024-05-01T12:00:00Z"),
    fs: probeFs(probe),
  });
  const first = log.append(entry("{}"));
  const rest = Array.from({ length: 10 }, () => log.append(entry("{}")));
  await Promise.all([first, ...rest]);
  await log.close();
  assert.equal(probe.syncs, 2, "the first append alone, then the ten that queued behind it");
});

Deno.test("partial writes are completed before the fsync", async () => {
  const dir = await Deno.makeTempDir();
  const probe = { ...newProbe(), maxWrite: 7 };
  const log = await openAuditLog({
    dir,
    clock: fixedClock("2024-05-01T12:00:00Z"),
    fs: probeFs(probe),
  });
  await Promise.all([log.append(entry('{"a":1}')), log.append(entry('{"b":2}'))]);
  await log.close();
  assert.ok(probe.writes > 2);
  const report = await verifyAuditLog(dir);
  assert.equal(report.ok, true);
  assert.equal(report.lines, 2);
});

Deno.test("a batch after UTC midnight goes to the next daily file and the chain continues", async () => {
  const dir = await Deno.makeTempDir();
  let now = new Date("2024-05-01T23:59:59.900Z");
  const probe = newProbe();
  const log = await openAuditLog({ dir, clock: () => now, fs: probeFs(probe) });
  const before = await log.append(entry("{}"));
  now = new Date("2024-05-02T00:00:00.100Z");
  const after = await log.append(entry("{}"));
  await log.append(entry("{}"));
  await log.close();

  assert.equal(probe.dirSyncs, 2, "each new file's directory entry is made durable once");
  assert.deepEqual(await listAuditFiles(dir), ["2024-05-01.jsonl", "2024-05-02.jsonl"]);
  assert.equal(after.seq, 2);
  assert.equal(after.prev, before.hash);
  const secondDay = parseRecordLine(
    (await Deno.readTextFile(join(dir, "2024-05-02.jsonl"))).split("\n")[0] ?? "",
  );
  assert.deepEqual(secondDay, after);
  const report = await verifyAuditLog(dir);
  assert.equal(report.ok, true);
  assert.equal(report.files, 2);
  assert.equal(report.lines, 3);
});

Deno.test("a clock stepping back across midnight keeps writing to the newest file", async () => {
  const dir = await Deno.makeTempDir();
  let now = new Date("2024-05-02T00:00:01Z");
  const log = await openAuditLog({ dir, clock: () => now });
  await log.append(entry("{}"));
  now = new Date("2024-05-01T23:59:59Z");
  await log.append(entry("{}"));
  await log.close();
  assert.deepEqual(await listAuditFiles(dir), ["2024-05-02.jsonl"]);
  assert.equal((await verifyAuditLog(dir)).ok, true);
});

Deno.test("reopening the log continues seq and the hash chain", async () => {
  const dir = await Deno.makeTempDir();
  const first = await openAuditLog({ dir, clock: fixedClock("2024-05-01T12:00:00Z") });
  await first.append(entry("{}"));
  await first.append(entry("{}"));
  const last = await first.append(entry("{}"));
  await first.close();

  const second = await openAuditLog({ dir, clock: fixedClock("2024-05-03T08:00:00Z") });
  const next = await second.append(entry("{}"));
  await second.close();

  assert.equal(next.seq, 4);
  assert.equal(next.prev, last.hash);
  const report = await verifyAuditLog(dir);
  assert.equal(report.ok, true);
  assert.equal(report.lastSeq, 4);
  assert.equal(report.files, 2);
});

Deno.test("reopening skips an empty newest file and continues from the previous one", async () => {
  const dir = await Deno.makeTempDir();
  const first = await openAuditLog({ dir, clock: fixedClock("2024-05-01T12:00:00Z") });
  const last = await first.append(entry("{}"));
  await first.close();
  await Deno.writeFile(join(dir, "2024-05-02.jsonl"), new Uint8Array(0), { mode: 0o600 });

  const second = await openAuditLog({ dir, clock: fixedClock("2024-05-02T12:00:00Z") });
  const next = await second.append(entry("{}"));
  await second.close();

  assert.equal(next.seq, 2);
  assert.equal(next.prev, last.hash);
  assert.equal((await verifyAuditLog(dir)).ok, true);
});

Deno.test("reopening finds the chain tip behind a long last line (tail read in chunks)", async () => {
  const dir = await Deno.makeTempDir();
  const first = await openAuditLog({ dir, clock: fixedClock("2024-05-01T12:00:00Z") });
  await first.append(entry("{}"));
  const big = await first.append(entry(`{"note":"${"x".repeat(300_000)}"}`));
  await first.close();

  const second = await openAuditLog({ dir, clock: fixedClock("2024-05-01T13:00:00Z") });
  const next = await second.append(entry("{}"));
  await second.close();
  assert.equal(next.seq, 3);
  assert.equal(next.prev, big.hash);
});

Deno.test("a torn last line is reported on open, moved aside, and appending after it verifies", async () => {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "2024-05-01.jsonl");
  const first = await openAuditLog({ dir, clock: fixedClock("2024-05-01T12:00:00Z") });
  await first.append(entry("{}"));
  await first.append(entry("{}"));
  const last = await first.append(entry("{}"));
  await first.close();
  const intact = await Deno.readFile(file);
  const fragment = encoder.encode('{"seq":4,"received_at":"2024-05-01T12:0');
  await Deno.writeFile(file, fragment, { append: true });

  const before = await verifyAuditLog(dir);
  assert.equal(before.ok, true, "a torn last line is not a failure");
  assert.equal(before.lines, 3);
  assert.equal(before.warnings.length, 1);
  assert.equal(before.warnings[0]?.file, "2024-05-01.jsonl");
  assert.equal(before.warnings[0]?.line, 4);

  const warnings: string[] = [];
  const second = await openAuditLog({
    dir,
    clock: fixedClock("2024-05-01T13:00:00Z"),
    onWarning: (message) => warnings.push(message),
  });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? "", /2024-05-01\.jsonl line 4 is torn/);
  assert.deepEqual(await Deno.readFile(file), intact, "the file is cut back to its last line");
  const saved = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.includes(".torn-"));
  assert.deepEqual(saved, ["2024-05-01.jsonl.torn-20240501T130000.000Z"]);
  const savedPath = join(dir, saved[0] ?? "");
  assert.deepEqual(await Deno.readFile(savedPath), fragment, "nothing is destroyed silently");
  assert.equal(await modeOf(savedPath), 0o600);

  const next = await second.append(entry("{}"));
  await second.close();
  assert.equal(next.seq, 4);
  assert.equal(next.prev, last.hash);
  const after = await verifyAuditLog(dir);
  assert.equal(after.ok, true);
  assert.equal(after.lines, 4);
  assert.deepEqual(after.warnings, []);
});

Deno.test("a newline-terminated last line that does not parse is damage, not a torn write: open refuses", async () => {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "2024-05-01.jsonl");
  const first = await openAuditLog({ dir, clock: fixedClock("2024-05-01T12:00:00Z") });
  await first.append(entry("{}"));
  await first.close();
  // An acknowledged line edited into invalid JSON must not be moved aside as "torn".
  await Deno.writeFile(file, encoder.encode("\0\0\0\0\n"), { append: true });

  const warnings: string[] = [];
  await assert.rejects(
    openAuditLog({
      dir,
      clock: fixedClock("2024-05-01T13:00:00Z"),
      onWarning: (message) => warnings.push(message),
    }),
    (error: unknown) =>
      error instanceof AuditLogError &&
      /2024-05-01\.jsonl is damaged: line 2 ends with a newline but does not parse/.test(
        error.message,
      ),
  );
  assert.deepEqual(warnings, []);
  const saved = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.includes(".torn-"));
  assert.deepEqual(saved, [], "nothing was moved aside");
});

Deno.test("a file holding only a torn fragment is emptied and the chain continues from the previous file", async () => {
  const dir = await Deno.makeTempDir();
  const first = await openAuditLog({ dir, clock: fixedClock("2024-05-01T12:00:00Z") });
  const last = await first.append(entry("{}"));
  await first.close();
  await Deno.writeFile(join(dir, "2024-05-02.jsonl"), encoder.encode('{"seq":2,"rec'), {
    mode: 0o600,
  });

  const warnings: string[] = [];
  const second = await openAuditLog({
    dir,
    clock: fixedClock("2024-05-02T12:00:00Z"),
    onWarning: (message) => warnings.push(message),
  });
  const next = await second.append(entry("{}"));
  await second.close();
  assert.match(warnings[0] ?? "", /2024-05-02\.jsonl line 1 is torn/);
  assert.match(warnings[0] ?? "", /continues from the previous file/);
  assert.equal(next.seq, 2);
  assert.equal(next.prev, last.hash);
  assert.equal((await verifyAuditLog(dir)).ok, true);
});

Deno.test("open refuses a file whose last two lines are damaged, naming the file", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(join(dir, "2024-05-01.jsonl"), encoder.encode("garbage\nmore garbage\n"));
  await assert.rejects(
    openAuditLog({ dir, clock: fixedClock("2024-05-01T12:00:00Z"), onWarning: () => {} }),
    (error: unknown) =>
      error instanceof AuditLogError && /2024-05-01\.jsonl is damaged/.test(error.message),
  );
});

Deno.test("a failed fsync rejects the whole batch and leaves the file verifying cleanly", async () => {
  const dir = await Deno.makeTempDir();
  const probe = newProbe();
  const log = await openAuditLog({
    dir,
    clock: fixedClock("2024-05-01T12:00:00Z"),
    fs: probeFs(probe),
  });
  await log.append(entry("{}"));
  const good = await log.append(entry("{}"));
  const sizeBefore = (await Deno.stat(join(dir, "2024-05-01.jsonl"))).size;

  probe.failSync = true;
  const failed = await Promise.allSettled(
    Array.from({ length: 5 }, () => log.append(entry('{"lost":true}'))),
  );
  assert.ok(failed.every((r) => r.status === "rejected"), "every append of the batch rejects");
  for (const result of failed) {
    if (result.status === "rejected") {
      assert.ok(result.reason instanceof AuditLogError);
      assert.match(result.reason.message, /injected EIO on fsync/);
    }
  }
  assert.equal(log.healthy, true);
  assert.equal((await Deno.stat(join(dir, "2024-05-01.jsonl"))).size, sizeBefore);

  probe.failSync = false;
  const next = await log.append(entry("{}"));
  await log.close();
  assert.equal(next.seq, 3, "a failed batch uses up no seq");
  assert.equal(next.prev, good.hash);
  const report = await verifyAuditLog(dir);
  assert.equal(report.ok, true);
  assert.equal(report.lines, 3);
});

Deno.test("when a failed batch cannot be cut back the log turns unhealthy and refuses appends", async () => {
  const dir = await Deno.makeTempDir();
  const probe = newProbe();
  const warnings: string[] = [];
  const log = await openAuditLog({
    dir,
    clock: fixedClock("2024-05-01T12:00:00Z"),
    fs: probeFs(probe),
    onWarning: (message) => warnings.push(message),
  });
  await log.append(entry("{}"));
  probe.failSync = true;
  probe.failTruncate = true;
  await assert.rejects(log.append(entry("{}")), AuditLogError);
  assert.equal(log.healthy, false);
  assert.match(warnings.join("\n"), /unusable until restarted/);

  probe.failSync = false;
  probe.failTruncate = false;
  await assert.rejects(log.append(entry("{}")), /unusable until the service is restarted/);
  await log.close();
});

Deno.test("audit files are created 0600 in a directory created 0700", async () => {
  const parent = await Deno.makeTempDir();
  const dir = join(parent, "data", "audit");
  const log = await openAuditLog({ dir, clock: fixedClock("2024-05-01T12:00:00Z") });
  await log.append(entry("{}"));
  await log.close();
  assert.equal(await modeOf(dir), 0o700);
  assert.equal(await modeOf(join(dir, "2024-05-01.jsonl")), 0o600);
});

Deno.test("close waits for queued appends, and an append after close rejects", async () => {
  const dir = await Deno.makeTempDir();
  const log = await openAuditLog({ dir, clock: fixedClock("2024-05-01T12:00:00Z") });
  const pending = Array.from({ length: 5 }, () => log.append(entry("{}")));
  await log.close();
  const settled = await Promise.allSettled(pending);
  assert.ok(settled.every((r) => r.status === "fulfilled"));
  assert.equal((await verifyAuditLog(dir)).lines, 5);
  await assert.rejects(log.append(entry("{}")), /closed/);
  await log.close();
});

Deno.test("an entry with an invalid receipt time is rejected without touching the chain", async () => {
  const dir = await Deno.makeTempDir();
  const log = await openAuditLog({ dir, clock: fixedClock("2024-05-01T12:00:00Z") });
  await assert.rejects(
    log.append(entry("{}", { receivedAt: new Date(Number.NaN) })),
    AuditLogError,
  );
  const record = await log.append(entry("{}"));
  await log.close();
  assert.equal(record.seq, 1);
});
