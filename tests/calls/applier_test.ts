/**
 * The applier on a real file store and a real audit log in a temp folder:
 * order, position, resuming, retired secrets, a store that fails for a while,
 * and the lag warning.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type AuditLog, openAuditLog } from "../../src/audit/audit_log.ts";
import type { AuditRecord } from "../../src/audit/audit_record.ts";
import { sha256Hex } from "../../src/audit/audit_record.ts";
import { Applier, type ApplierLog, readApplierPosition } from "../../src/calls/applier.ts";
import { readEvent } from "../../src/calls/call_event.ts";
import { openStore, type Store } from "../../src/store/open_store.ts";
import { StoreBusyError, type WriteTransactionRunner } from "../../src/store/write_transaction.ts";
import { importSigningKeys, signBody } from "../../src/symbo/signature.ts";
import { applyRetention } from "../../src/audit/audit_retention.ts";
import { writeAuditDays } from "../helpers/audit_days.ts";
import { callEventBody } from "../helpers/events.ts";
import { eventually } from "../helpers/eventually.ts";

const CURRENT = "the current webhook secret";
const RETIRED = "the secret before rotation";

interface Fixture {
  dir: string;
  store: Store;
  audit: AuditLog;
  logged: { level: string; message: string }[];
  log: ApplierLog;
}

async function fixture(): Promise<Fixture> {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-applier-" });
  const store = await openStore({ url: `file:${join(dir, "crm.db")}` });
  const audit = await openAuditLog({ dir: join(dir, "audit"), onWarning: () => {} });
  const logged: { level: string; message: string }[] = [];
  const push = (level: string) => (message: string) => logged.push({ level, message });
  return {
    dir,
    store,
    audit,
    logged,
    log: { info: push("info"), warn: push("warn"), error: push("error") },
  };
}

async function audited(audit: AuditLog, secret: string, body: string): Promise<AuditRecord> {
  const { summary } = readEvent(body);
  const bytes = new TextEncoder().encode(body);
  return await audit.append({
    receivedAt: new Date(),
    ...summary,
    signature: await signBody(secret, body),
    body: bytes,
    bodySha256: sha256Hex(bytes),
  });
}

async function callIds(store: Store): Promise<string[]> {
  const rows = await store.reader.all("SELECT id FROM calls ORDER BY id");
  return rows.map((row) => String(row.id));
}

async function applierFor(
  f: Fixture,
  overrides: Partial<ConstructorParameters<typeof Applier>[0]> = {},
) {
  return new Applier({
    write: f.store.write,
    reader: f.store.reader,
    auditDir: join(f.dir, "audit"),
    instance: "test-instance",
    verifyKeys: await importSigningKeys([CURRENT, RETIRED]),
    tip: () => f.audit.lastSeq,
    log: f.log,
    retryMs: { first: 10, max: 50 },
    ...overrides,
  });
}

Deno.test("offered lines are applied in order, answered with their outcome, position recorded", async () => {
  const f = await fixture();
  const applier = await applierFor(f);
  applier.start();
  try {
    const first = await audited(f.audit, CURRENT, callEventBody({ eventId: "e1", callId: "c1" }));
    applier.offer(first);
    assert.deepEqual(await applier.waitFor(first.seq, 5_000), {
      status: "applied",
      callId: "c1",
      prospectId: "prospect-c1",
    });
    const again = await audited(f.audit, CURRENT, callEventBody({ eventId: "e1", callId: "c1" }));
    applier.offer(again);
    assert.equal((await applier.waitFor(again.seq, 5_000)).status, "duplicate");
    const position = await readApplierPosition(f.store.reader, "test-instance");
    assert.equal(position?.seq, again.seq);
    assert.equal(position?.hash, again.hash);
    assert.equal(applier.status().lag_events, 0);
  } finally {
    await applier.stop();
    await f.audit.close();
    f.store.close();
  }
});

Deno.test("a new applier resumes from the recorded position, reading lines signed with a retired secret", async () => {
  const f = await fixture();
  try {
    for (let i = 1; i <= 3; i++) {
      await audited(f.audit, RETIRED, callEventBody({ eventId: `r${i}`, callId: `rc${i}` }));
    }
    // Nobody offered these (a crash between ack and apply): the files are read.
    const applier = await applierFor(f);
    applier.start();
    await applier.settled;
    await eventually("caught up", 5_000, () => Promise.resolve(applier.status().lag_events === 0));
    await applier.stop();
    assert.deepEqual(await callIds(f.store), ["rc1", "rc2", "rc3"]);
    assert.equal((await readApplierPosition(f.store.reader, "test-instance"))?.seq, 3);
  } finally {
    await f.audit.close();
    f.store.close();
  }
});

Deno.test("a line signed with no configured secret stops the applier there, naming it", async () => {
  const f = await fixture();
  const applier = await applierFor(f);
  try {
    await audited(f.audit, CURRENT, callEventBody({ eventId: "s1", callId: "sc1" }));
    await audited(
      f.audit,
      "a secret nobody configured",
      callEventBody({ eventId: "s2", callId: "sc2" }),
    );
    await audited(f.audit, CURRENT, callEventBody({ eventId: "s3", callId: "sc3" }));
    applier.start();
    await eventually("stopped", 5_000, () => Promise.resolve(applier.status().state === "stopped"));
    const status = applier.status();
    assert.match(status.problem ?? "", /line 2: the X-Hmac-Signature does not verify/);
    assert.equal(status.position?.seq, 1);
    assert.deepEqual(await callIds(f.store), ["sc1"]);
    assert.ok(f.logged.some((l) => l.level === "error" && /STOPPED/.test(l.message)));
    // A webhook waiting on a stopped applier is answered queued at once.
    assert.deepEqual(await applier.waitFor(3, 60_000), { status: "queued" });
  } finally {
    await applier.stop();
    await f.audit.close();
    f.store.close();
  }
});

Deno.test("a store that refuses writes for a while: lag grows, a warning is logged, then it catches up", async () => {
  const f = await fixture();
  let failures = 0;
  let refusing = true;
  const write: WriteTransactionRunner = (work) => {
    if (refusing) {
      failures++;
      return Promise.reject(new StoreBusyError("the import holds the write lock"));
    }
    return f.store.write(work);
  };
  let now = Date.now();
  const applier = await applierFor(f, { write, lagWarningSeconds: 30, clock: () => new Date(now) });
  applier.start();
  try {
    const records: AuditRecord[] = [];
    for (let i = 1; i <= 4; i++) {
      const record = await audited(
        f.audit,
        CURRENT,
        callEventBody({ eventId: `b${i}`, callId: `bc${i}` }),
      );
      applier.offer(record);
      records.push(record);
    }
    assert.deepEqual(await applier.waitFor(1, 50), { status: "queued" });
    await eventually("retried", 5_000, () => Promise.resolve(failures >= 3));
    now += 45_000;
    await eventually(
      "lag warned",
      5_000,
      () =>
        Promise.resolve(
          f.logged.some((l) => l.level === "warn" && /behind the audit log/.test(l.message)),
        ),
    );
    const lagging = applier.status();
    assert.equal(lagging.state, "waiting_for_store");
    assert.equal(lagging.lag_events, 4);
    assert.ok(lagging.lag_seconds > 40, `lag ${lagging.lag_seconds}`);
    // While it waits for the store, an answer does not wait too: `queued` at once.
    const asked = performance.now();
    assert.deepEqual(await applier.waitFor(2, 60_000), { status: "queued" });
    assert.ok(performance.now() - asked < 30_000, "answered without waiting out apply_wait_ms");

    refusing = false;
    await eventually("caught up", 5_000, () => Promise.resolve(applier.status().lag_events === 0));
    assert.deepEqual(await callIds(f.store), ["bc1", "bc2", "bc3", "bc4"]);
    assert.equal(applier.status().lag_seconds, 0);
  } finally {
    await applier.stop();
    await f.audit.close();
    f.store.close();
  }
});

Deno.test("catching up from the files in small batches while new lines are offered applies each line once", async () => {
  const f = await fixture();
  const outcomes: string[] = [];
  const applier = await applierFor(f, {
    maxBatch: 2,
    onLine: (outcome, record) => outcomes.push(`${record.seq}:${outcome}`),
  });
  try {
    for (let i = 1; i <= 5; i++) {
      await audited(f.audit, CURRENT, callEventBody({ eventId: `m${i}`, callId: `mc${i}` }));
    }
    applier.start();
    for (let i = 6; i <= 9; i++) {
      const record = await audited(
        f.audit,
        CURRENT,
        callEventBody({ eventId: `m${i}`, callId: `mc${i}` }),
      );
      applier.offer(record);
    }
    await eventually("caught up", 5_000, () => Promise.resolve(applier.status().lag_events === 0));
    assert.deepEqual(outcomes, Array.from({ length: 9 }, (_, i) => `${i + 1}:applied`));
    assert.equal((await readApplierPosition(f.store.reader, "test-instance"))?.seq, 9);
  } finally {
    await applier.stop();
    await f.audit.close();
    f.store.close();
  }
});

Deno.test("replay from the start after retention begins at the chain start retention recorded", async () => {
  const f = await fixture();
  const auditDir = join(f.dir, "audit");
  await f.audit.close();
  // Four days of five signed lines (seqs 1–20); retention then removes all but the last day.
  await writeAuditDays(
    ["2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23"],
    5,
    auditDir,
    CURRENT,
  );
  const report = await applyRetention({
    dir: auditDir,
    keepDays: 1,
    archiveDir: null,
    now: new Date("2026-11-24T12:00:00Z"),
    appliedThrough: () => Promise.resolve({ file: "", seq: 20 }),
    signingKey: (await importSigningKeys([CURRENT]))[0] ?? null,
  });
  assert.deepEqual(report.removed, ["2026-11-20", "2026-11-21", "2026-11-22"]);
  try {
    const replay = await applierFor(f, { fromStart: true, tip: () => 20 });
    await replay.runToEnd();
    assert.equal((await readApplierPosition(f.store.reader, "test-instance"))?.seq, 20);
  } finally {
    f.store.close();
  }
});

Deno.test("after retention removed the day holding its position, the applier resumes from the next line", async () => {
  const f = await fixture();
  const auditDir = join(f.dir, "audit");
  await f.audit.close();
  // Seqs 1–15 applied (the position is the last line of 2026-11-22), then a new day arrives.
  await writeAuditDays(["2026-11-20", "2026-11-21", "2026-11-22"], 5, auditDir, CURRENT);
  try {
    await (await applierFor(f, { tip: () => 15 })).runToEnd();
    assert.equal((await readApplierPosition(f.store.reader, "test-instance"))?.seq, 15);
    await writeAuditDays(["2026-11-23"], 5, auditDir, CURRENT);
    const report = await applyRetention({
      dir: auditDir,
      keepDays: 1,
      archiveDir: null,
      now: new Date("2026-11-24T12:00:00Z"),
      appliedThrough: () => Promise.resolve({ file: "", seq: 15 }),
      signingKey: (await importSigningKeys([CURRENT]))[0] ?? null,
    });
    assert.deepEqual(report.removed, ["2026-11-20", "2026-11-21", "2026-11-22"]);
    await (await applierFor(f, { tip: () => 20 })).runToEnd();
    assert.equal((await readApplierPosition(f.store.reader, "test-instance"))?.seq, 20);
  } finally {
    f.store.close();
  }
});

Deno.test("paced by time, a catch-up continues in batches sized to the target", async () => {
  const f = await fixture();
  let settled = 0;
  const settledAtEachWrite: number[] = [];
  // Every batch "takes" 6 ms, whatever its size, against a 3 ms target.
  let clockMs = 0;
  const applier = await applierFor(f, {
    write: (work) => {
      settledAtEachWrite.push(settled);
      return f.store.write(work);
    },
    maxBatch: 8,
    batchTargetMs: 3,
    nowMs: () => (clockMs += 6),
    onLine: () => settled++,
  });
  try {
    for (let i = 1; i <= 20; i++) {
      await audited(f.audit, CURRENT, callEventBody({ eventId: `p${i}`, callId: `pc${i}` }));
    }
    applier.start();
    await eventually("caught up", 5_000, () => Promise.resolve(settled === 20));
    const sizes = [...settledAtEachWrite, settled]
      .map((count, i, all) => (i === 0 ? count : count - all[i - 1]!))
      .filter((size) => size > 0);
    // 8 lines in 6 ms fit 4 in 3 ms; 4 fit 2; 2 fit 1; then one at a time.
    assert.deepEqual(sizes, [8, 4, 2, 1, 1, 1, 1, 1, 1]);
    assert.equal((await readApplierPosition(f.store.reader, "test-instance"))?.seq, 20);
  } finally {
    await applier.stop();
    await f.audit.close();
    f.store.close();
  }
});
