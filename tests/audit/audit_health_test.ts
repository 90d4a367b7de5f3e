/**
 * Audit health (issue 13.10): the real outcome of appending is what readiness
 * reports, a file deleted or replaced under the running log is noticed and
 * reopened (never written into a deleted file), links are refused, and the
 * readiness message shows no path.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type AuditFileHandle,
  type AuditFs,
  denoAuditFs,
  openAuditLog,
} from "../../src/audit/audit_log.ts";
import { checkAuditReadiness, redactPaths } from "../../src/audit/audit_readiness.ts";
import { readAuditRecords } from "../../src/audit/audit_reader.ts";
import { type AuditEntryInput, prepareEntry } from "../../src/audit/audit_record.ts";
import { verifyAuditLog } from "../../src/audit/audit_verify.ts";

const encoder = new TextEncoder();

function entry(body: string): AuditEntryInput {
  return {
    receivedAt: new Date("2024-05-01T12:00:00.000Z"),
    eventType: "call.updated",
    eventId: null,
    callId: "call_1",
    userId: null,
    signature: "ab".repeat(32),
    body: encoder.encode(body),
  };
}

const clock = () => new Date("2024-05-01T12:00:00Z");

/** Deno's file system, except that writes fail like a full disk while `full` is set. */
function fullDiskFs(state: { full: boolean }, dir: string): AuditFs {
  const base = denoAuditFs();
  return {
    ...base,
    open: async (path, options) => {
      const file = await base.open(path, options);
      if (!options.append) return file;
      const handle: AuditFileHandle = {
        read: (buffer) => file.read(buffer),
        seek: (offset, whence) => file.seek(offset, whence),
        write: (data) => {
          if (!state.full) return file.write(data);
          const error = new Error(
            `No space left on device (os error 28): write '${join(dir, "2024-05-01.jsonl")}'`,
          );
          return Promise.reject(Object.assign(error, { code: "ENOSPC" }));
        },
        syncData: () => file.syncData(),
        truncate: (length) => file.truncate(length),
        stat: () => file.stat(),
        close: () => file.close(),
      };
      return handle;
    },
  };
}

Deno.test("a full disk makes readiness say the audit is failing, without a path, until a write succeeds", async () => {
  const dir = await Deno.makeTempDir();
  const state = { full: false };
  const log = await openAuditLog({ dir, clock, fs: fullDiskFs(state, dir) });
  await log.append(entry("{}"));
  assert.equal(log.failure, null);
  await checkAuditReadiness(log, dir);

  state.full = true;
  await assert.rejects(log.append(entry('{"a":1}')));
  assert.match(log.failure ?? "", /could not be written: Error \(ENOSPC\)/);
  // The probe file alone would pass: an empty file needs no free block.
  await assert.rejects(checkAuditReadiness(log, dir, () => Promise.resolve()), (error: Error) => {
    assert.match(error.message, /^failing: /);
    assert.doesNotMatch(error.message, /\//, "no path shown to anonymous clients");
    return true;
  });

  state.full = false;
  await log.append(entry('{"b":2}'));
  assert.equal(log.failure, null);
  await checkAuditReadiness(log, dir);
  await log.close();
  assert.equal((await verifyAuditLog(dir)).lines, 2);
});

Deno.test("a probe failure is reported with its paths replaced", async () => {
  const failing = () =>
    Promise.reject(new Error("Permission denied: open '/srv/crm/audit/.readyz-1'"));
  await assert.rejects(checkAuditReadiness({ failure: null }, "/srv/crm/audit", failing), (
    error: Error,
  ) => {
    assert.equal(
      error.message,
      "failing: the audit folder is not writable (Error: Permission denied: open '<path>')",
    );
    return true;
  });
  assert.equal(redactPaths("path=/a/b c /d"), "path=<path> c <path>");
});

Deno.test("an audit file deleted under the running log is noticed and reopened, never written into", async () => {
  const dir = await Deno.makeTempDir();
  const warnings: string[] = [];
  const log = await openAuditLog({ dir, clock, onWarning: (m) => warnings.push(m) });
  await log.append(entry("{}"));
  await Deno.remove(join(dir, "2024-05-01.jsonl"));
  const next = await log.append(entry('{"after":"delete"}'));
  await log.close();
  assert.match(warnings[0] ?? "", /2024-05-01\.jsonl was deleted while the service was running/);
  const records = [];
  for await (const { record } of readAuditRecords(dir)) records.push(record);
  assert.deepEqual(records.map((r) => r.seq), [next.seq]);
  // The gap is not hidden: verify names it.
  const report = await verifyAuditLog(dir);
  assert.equal(report.ok, false);
  assert.match(report.firstProblem?.problem ?? "", /starts at seq 2, not 1/);
});

Deno.test("an audit file replaced by a symbolic link is never written through", async () => {
  const dir = await Deno.makeTempDir();
  const elsewhere = await Deno.makeTempDir();
  const warnings: string[] = [];
  const log = await openAuditLog({ dir, clock, onWarning: (m) => warnings.push(m) });
  await log.append(entry("{}"));
  const path = join(dir, "2024-05-01.jsonl");
  await Deno.rename(path, join(elsewhere, "moved.jsonl"));
  await Deno.symlink(join(elsewhere, "moved.jsonl"), path);
  await assert.rejects(log.append(entry('{"x":1}')), /symbolic link/);
  assert.match(warnings[0] ?? "", /was replaced by a symbolic link/);
  assert.notEqual(log.failure, null);
  await log.close();
  const moved = await Deno.readTextFile(join(elsewhere, "moved.jsonl"));
  assert.equal(moved.split("\n").filter(Boolean).length, 1, "nothing written through the link");
  await assert.rejects(openAuditLog({ dir, clock }), /is a symbolic link/);
});

Deno.test("a body is kept as text when that is compact, as base64 when escaping would bloat it", () => {
  const json = prepareEntry(entry('{"note":"line\\nbreak","name":"Zoë"}'));
  assert.equal(json.body, '{"note":"line\\nbreak","name":"Zoë"}');
  const control = prepareEntry(entry("\u0001".repeat(3000)));
  assert.equal(control.body, undefined);
  assert.equal(control.body_base64?.length, 4000);
  const text = "line one\nline two\n".repeat(100);
  assert.equal(prepareEntry(entry(text)).body, text, "newlines escape to 2 bytes: still text");
});
