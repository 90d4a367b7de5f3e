import assert from "node:assert/strict";
import { join } from "node:path";
import { openAuditLog } from "../../src/audit/audit_log.ts";
import { AuditReadError, readAuditRecords } from "../../src/audit/audit_reader.ts";
import {
  AuditRecordError,
  computeRecordHash,
  parseRecordLine,
  serializeRecord,
  sha256Hex,
} from "../../src/audit/audit_record.ts";
import {
  type AuditVerifyReport,
  formatVerifyReport,
  verifyAuditLog,
} from "../../src/audit/audit_verify.ts";
import { importSigningKeys, signBody } from "../../src/symbo/signature.ts";

const encoder = new TextEncoder();

/** Writes `count` lines per day through the real writer; returns the directory. */
async function writeLog(days: readonly string[], count: number): Promise<string> {
  const dir = await Deno.makeTempDir();
  let now = new Date(`${days[0]}T12:00:00Z`);
  const log = await openAuditLog({ dir, clock: () => now });
  let n = 0;
  for (const day of days) {
    now = new Date(`${day}T12:00:00Z`);
    for (let i = 0; i < count; i++) {
      n++;
      await log.append({
        receivedAt: now,
        eventType: "call.updated",
        eventId: `evt_${n}`,
        callId: `call_${n}`,
        userId: "user_1",
        signature: "cd".repeat(32),
        body: encoder.encode(`{"id":"evt_${n}","note":"hello ${n}"}`),
      });
    }
  }
  await log.close();
  return dir;
}

async function readLines(path: string): Promise<string[]> {
  const text = await Deno.readTextFile(path);
  return text.split("\n").slice(0, -1);
}

async function writeLines(path: string, lines: readonly string[]): Promise<void> {
  await Deno.writeTextFile(path, lines.map((line) => `${line}\n`).join(""));
}

/** Rewrites line `lineNumber` (1-based) of a file through `edit`. */
async function editLine(
  path: string,
  lineNumber: number,
  edit: (fields: Record<string, unknown>) => void,
): Promise<void> {
  const lines = await readLines(path);
  const fields: Record<string, unknown> = JSON.parse(lines[lineNumber - 1] ?? "");
  edit(fields);
  lines[lineNumber - 1] = JSON.stringify(fields);
  await writeLines(path, lines);
}

function assertProblem(
  report: AuditVerifyReport,
  file: string,
  line: number,
  pattern: RegExp,
): void {
  assert.equal(report.ok, false);
  assert.equal(report.firstProblem?.file, file);
  assert.equal(report.firstProblem?.line, line);
  assert.match(report.firstProblem?.problem ?? "", pattern);
}

const DAY1 = "2024-05-01.jsonl";

Deno.test("verify passes an empty log directory with 0 lines", async () => {
  const dir = await Deno.makeTempDir();
  const report = await verifyAuditLog(dir);
  assert.deepEqual(report, {
    ok: true,
    files: 0,
    lines: 0,
    lastSeq: 0,
    firstProblem: null,
    warnings: [],
  });
});

Deno.test("verify refuses a missing directory with a message naming it", async () => {
  const dir = join(await Deno.makeTempDir(), "nope");
  await assert.rejects(verifyAuditLog(dir), /audit directory .*nope does not exist/);
});

Deno.test("verify passes an untouched log across several files", async () => {
  const dir = await writeLog(["2024-05-01", "2024-05-02", "2024-05-03"], 4);
  const report = await verifyAuditLog(dir);
  assert.deepEqual(report, {
    ok: true,
    files: 3,
    lines: 12,
    lastSeq: 12,
    firstProblem: null,
    warnings: [],
  });
});

Deno.test("verify names the line whose body was edited", async () => {
  const dir = await writeLog(["2024-05-01"], 5);
  await editLine(join(dir, DAY1), 3, (fields) => {
    fields.body = '{"id":"evt_3","note":"a different note"}';
  });
  const report = await verifyAuditLog(dir);
  assertProblem(report, DAY1, 3, /body_sha256 does not match the body/);
  assert.equal(report.lines, 2);
  assert.equal(report.lastSeq, 2);
});

Deno.test("verify names the line whose body and body_sha256 were both edited", async () => {
  const dir = await writeLog(["2024-05-01"], 5);
  await editLine(join(dir, DAY1), 4, (fields) => {
    fields.body = '{"id":"evt_4","note":"forged"}';
    fields.body_sha256 = sha256Hex('{"id":"evt_4","note":"forged"}');
  });
  assertProblem(await verifyAuditLog(dir), DAY1, 4, /hash does not match the line's content/);
});

Deno.test("verify names the line whose hash field was edited", async () => {
  const dir = await writeLog(["2024-05-01"], 5);
  await editLine(join(dir, DAY1), 2, (fields) => {
    fields.hash = "f".repeat(64);
  });
  assertProblem(await verifyAuditLog(dir), DAY1, 2, /hash does not match the line's content/);
});

Deno.test("verify names the line after one that was edited and re-hashed", async () => {
  const dir = await writeLog(["2024-05-01"], 5);
  await editLine(join(dir, DAY1), 2, (fields) => {
    const record = parseRecordLine(JSON.stringify(fields));
    const forged = { ...record, user_id: "someone_else" };
    fields.user_id = forged.user_id;
    fields.hash = computeRecordHash(forged.prev, forged);
  });
  assertProblem(await verifyAuditLog(dir), DAY1, 3, /prev does not match the previous line's hash/);
});

Deno.test("verify names the line where a deleted line is missing", async () => {
  const dir = await writeLog(["2024-05-01"], 5);
  const lines = await readLines(join(dir, DAY1));
  lines.splice(2, 1);
  await writeLines(join(dir, DAY1), lines);
  assertProblem(
    await verifyAuditLog(dir),
    DAY1,
    3,
    /^seq 4 follows seq 2: a line is missing or out of order$/,
  );
});

Deno.test("verify names the first of two swapped lines", async () => {
  const dir = await writeLog(["2024-05-01"], 5);
  const lines = await readLines(join(dir, DAY1));
  const [second, third] = [lines[1] ?? "", lines[2] ?? ""];
  lines[1] = third;
  lines[2] = second;
  await writeLines(join(dir, DAY1), lines);
  assertProblem(await verifyAuditLog(dir), DAY1, 2, /^seq 3 follows seq 1/);
});

Deno.test("verify names the first line of the file after a deleted middle file", async () => {
  const dir = await writeLog(["2024-05-01", "2024-05-02", "2024-05-03"], 3);
  await Deno.remove(join(dir, "2024-05-02.jsonl"));
  const report = await verifyAuditLog(dir);
  assertProblem(report, "2024-05-03.jsonl", 1, /^seq 7 follows seq 3/);
  assert.equal(report.files, 2);
});

Deno.test("verify notices when the beginning of the log is missing", async () => {
  const dir = await writeLog(["2024-05-01", "2024-05-02"], 2);
  await Deno.remove(join(dir, DAY1));
  assertProblem(await verifyAuditLog(dir), "2024-05-02.jsonl", 1, /starts at seq 3, not 1/);
});

Deno.test("verify names a line that was only reformatted", async () => {
  const dir = await writeLog(["2024-05-01"], 3);
  const lines = await readLines(join(dir, DAY1));
  lines[1] = (lines[1] ?? "").replace('"seq":2,', '"seq": 2,');
  await writeLines(join(dir, DAY1), lines);
  assertProblem(await verifyAuditLog(dir), DAY1, 2, /not byte-for-byte what the writer wrote/);
});

Deno.test("verify names a line that is not a record, with the field at fault", async () => {
  const dir = await writeLog(["2024-05-01"], 3);
  await editLine(join(dir, DAY1), 2, (fields) => {
    fields.seq = "2";
  });
  assertProblem(await verifyAuditLog(dir), DAY1, 2, /field "seq" must be a positive integer/);
});

Deno.test("verify reports a torn last line as a warning, not a failure", async () => {
  const dir = await writeLog(["2024-05-01", "2024-05-02"], 2);
  await Deno.writeFile(join(dir, "2024-05-02.jsonl"), encoder.encode('{"seq":5,"recei'), {
    append: true,
  });
  const report = await verifyAuditLog(dir);
  assert.equal(report.ok, true);
  assert.equal(report.lines, 4);
  assert.equal(report.lastSeq, 4);
  assert.equal(report.warnings.length, 1);
  assert.equal(report.warnings[0]?.file, "2024-05-02.jsonl");
  assert.equal(report.warnings[0]?.line, 3);
  assert.match(report.warnings[0]?.problem ?? "", /no trailing newline/);
});

Deno.test("verify fails on a line without newline that more lines follow", async () => {
  const dir = await writeLog(["2024-05-01", "2024-05-02"], 2);
  const path = join(dir, DAY1);
  const text = await Deno.readTextFile(path);
  await Deno.writeTextFile(path, text.slice(0, -1));
  assertProblem(await verifyAuditLog(dir), DAY1, 2, /no trailing newline but more lines follow/);
});

Deno.test("formatVerifyReport says OK with counts, or FAILED with file, line and reason", async () => {
  const good = await writeLog(["2024-05-01"], 2);
  assert.equal(
    formatVerifyReport(await verifyAuditLog(good)),
    "audit log OK: 2 lines in 1 file, last seq 2, hash chain intact",
  );
  const bad = await writeLog(["2024-05-01"], 3);
  const lines = await readLines(join(bad, DAY1));
  lines.splice(1, 1);
  await writeLines(join(bad, DAY1), lines);
  assert.equal(
    formatVerifyReport(await verifyAuditLog(bad)),
    "audit log FAILED at 2024-05-01.jsonl line 2: seq 3 follows seq 1: a line is missing or " +
      "out of order\n1 line before it verified (last good seq 1); lines after it were not checked.",
  );
});

Deno.test("parseRecordLine names the field that is wrong", async (t) => {
  const dir = await writeLog(["2024-05-01"], 1);
  const [line] = await readLines(join(dir, DAY1));
  const valid: Record<string, unknown> = JSON.parse(line ?? "");
  const cases: [string, (fields: Record<string, unknown>) => void, string | null][] = [
    ["a string seq", (f) => (f.seq = "1"), "seq"],
    ["a zero seq", (f) => (f.seq = 0), "seq"],
    ["a received_at that is no time", (f) => (f.received_at = "yesterday"), "received_at"],
    ["a numeric event_type", (f) => (f.event_type = 5), "event_type"],
    ["a missing signature", (f) => delete f.signature, "signature"],
    ["an uppercase body_sha256", (f) => (f.body_sha256 = "A".repeat(64)), "body_sha256"],
    ["both body forms", (f) => (f.body_base64 = "AA=="), "body"],
    ["no body at all", (f) => delete f.body, "body"],
    ["a short prev", (f) => (f.prev = "00"), "prev"],
    ["a missing hash", (f) => delete f.hash, "hash"],
    ["an unknown field", (f) => (f.extra = true), "extra"],
  ];
  for (const [name, edit, field] of cases) {
    await t.step(`rejects ${name}`, () => {
      const fields = structuredClone(valid);
      edit(fields);
      assert.throws(
        () => parseRecordLine(JSON.stringify(fields)),
        (error: unknown) =>
          error instanceof AuditRecordError && error.field === field &&
          error.message.includes(field ?? ""),
      );
    });
  }
  await t.step("rejects malformed base64 in body_base64", () => {
    const { body: _body, ...rest } = valid;
    assert.throws(
      () => parseRecordLine(JSON.stringify({ ...rest, body_base64: "not base64!" })),
      /field "body_base64" must be standard padded base64/,
    );
  });
  await t.step("rejects a line that is not JSON", () => {
    assert.throws(() => parseRecordLine("{nope"), /line is not valid JSON/);
  });
  await t.step("accepts the line as written and serializes it back byte-exact", () => {
    assert.equal(serializeRecord(parseRecordLine(line ?? "")), line);
  });
});

Deno.test("readAuditRecords throws naming the file and line of a bad line", async () => {
  const dir = await writeLog(["2024-05-01", "2024-05-02"], 2);
  const path = join(dir, "2024-05-02.jsonl");
  const lines = await readLines(path);
  lines[1] = "not json";
  await writeLines(path, lines);
  const seen: number[] = [];
  await assert.rejects(
    async () => {
      for await (const { record } of readAuditRecords(dir)) seen.push(record.seq);
    },
    (error: unknown) =>
      error instanceof AuditReadError &&
      error.message.startsWith("audit file 2024-05-02.jsonl line 2: line is not valid JSON"),
  );
  assert.deepEqual(seen, [1, 2, 3]);
});

Deno.test("readAuditRecords skips a torn last line with a warning", async () => {
  const dir = await writeLog(["2024-05-01"], 2);
  await Deno.writeFile(join(dir, DAY1), encoder.encode('{"seq":3'), { append: true });
  const warnings: string[] = [];
  const seqs: number[] = [];
  for await (
    const { record } of readAuditRecords(dir, { onWarning: (m) => warnings.push(m) })
  ) {
    seqs.push(record.seq);
  }
  assert.deepEqual(seqs, [1, 2]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? "", /^audit file 2024-05-01\.jsonl line 3: .*skipped$/);
});

Deno.test("with secrets given, a line verifies under a retired secret, and fails under none", async () => {
  const dir = await Deno.makeTempDir();
  const log = await openAuditLog({ dir, clock: () => new Date("2024-05-01T12:00:00Z") });
  for (const secret of ["current secret", "retired secret"]) {
    const body = `{"id":"evt_${secret}"}`;
    await log.append({
      receivedAt: new Date("2024-05-01T12:00:00Z"),
      eventType: "call.updated",
      eventId: `evt_${secret}`,
      callId: null,
      userId: null,
      signature: await signBody(secret, body),
      body: encoder.encode(body),
    });
  }
  await log.close();
  const both = await importSigningKeys(["current secret", "retired secret"]);
  assert.equal((await verifyAuditLog(dir, { keys: both })).ok, true);
  const currentOnly = await importSigningKeys(["current secret"]);
  const report = await verifyAuditLog(dir, { keys: currentOnly });
  assert.equal(report.ok, false);
  assert.equal(report.firstProblem?.line, 2);
  assert.match(report.firstProblem?.problem ?? "", /X-Hmac-Signature does not verify/);
});

Deno.test("a log that ends before the store's anchor fails, naming both seqs", async () => {
  const dir = await writeLog(["2024-05-01"], 3);
  const line3 = (await Deno.readTextFile(join(dir, "2024-05-01.jsonl"))).split("\n")[2] ?? "";
  const anchor = { seq: 5, hash: parseRecordLine(line3).hash };
  const report = await verifyAuditLog(dir, { anchor });
  assert.equal(report.ok, false);
  assert.match(report.firstProblem?.problem ?? "", /ends at seq 3 but the store recorded seq 5/);
  assert.match(formatVerifyReport(report), /^audit log FAILED: the log ends at seq 3/);
  const exact = await verifyAuditLog(dir, { anchor: { seq: 3, hash: anchor.hash } });
  assert.equal(exact.ok, true);
  const other = await verifyAuditLog(dir, { anchor: { seq: 3, hash: "0".repeat(64) } });
  assert.match(other.firstProblem?.problem ?? "", /recorded seq 3 as applied with another hash/);
});
