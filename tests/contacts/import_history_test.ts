/**
 * Specification of the import history (issue 21): job summaries kept in the
 * store, newest first, bounded; a job left running by a dead process is
 * marked interrupted at start.
 */
import assert from "node:assert/strict";
import {
  getImportHistoryJob,
  historyCopy,
  type ImportJobView,
  interruptedJob,
  listImportHistory,
  markInterruptedImports,
  saveImportJob,
} from "../../src/contacts/import_history.ts";
import { openStore, type Store } from "../../src/store/open_store.ts";

function job(id: string, startedAt: string, changes: Partial<ImportJobView> = {}): ImportJobView {
  return {
    id,
    fileName: `${id}.csv`,
    dryRun: true,
    state: "succeeded",
    bytesTotal: 10,
    bytesRead: 10,
    rowsRead: 1,
    startedAt,
    finishedAt: startedAt,
    summary: null,
    error: null,
    hasRejects: false,
    options: {
      region: "GB",
      encoding: null,
      idFrom: null,
      prune: true,
      forcePrune: false,
      strict: false,
      userMap: { Ref: "external_id" },
    },
    fromJob: null,
    uploadKeptUntil: "2026-12-01T04:00:00.000Z",
    pruneCheck: null,
    headerRow: ["Ref"],
    ...changes,
  };
}

async function withStore(fn: (store: Store) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "import_history_test_" });
  const store = await openStore({ url: `file:${dir}/crm.db` });
  try {
    await fn(store);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the import history keeps a job's options and state, newest first, bounded", async () => {
  await withStore(async (store) => {
    for (let i = 0; i < 5; i++) {
      await saveImportJob(store.write, job(`j${i}`, `2026-12-01T0${i}:00:00.000Z`), 3);
    }
    const list = await listImportHistory(store.reader);
    assert.deepEqual(list.map((j) => j.id), ["j4", "j3", "j2"]);
    const one = await getImportHistoryJob(store.reader, "j3");
    assert.deepEqual(one?.options, job("x", "").options);
    // An upload never survives a restart: the history never says it is kept.
    assert.equal(one?.uploadKeptUntil, null);
    assert.equal(await getImportHistoryJob(store.reader, "j0"), undefined);
  });
});

Deno.test("saving a job again updates it (running, then finished)", async () => {
  await withStore(async (store) => {
    await saveImportJob(store.write, job("r", "2026-12-01T01:00:00.000Z", { state: "running" }));
    await saveImportJob(store.write, job("r", "2026-12-01T01:00:00.000Z", { rowsRead: 7 }));
    const list = await listImportHistory(store.reader);
    assert.deepEqual(list.map((j) => [j.id, j.state, j.rowsRead]), [["r", "succeeded", 7]]);
  });
});

Deno.test("a job left running by a dead process is interrupted at start; finished ones are not", async () => {
  await withStore(async (store) => {
    await saveImportJob(store.write, job("run", "2026-12-01T01:00:00.000Z", { state: "running" }));
    await saveImportJob(store.write, job("done", "2026-12-01T00:00:00.000Z"));
    const at = new Date("2026-12-01T02:00:00.000Z");
    assert.equal(await markInterruptedImports(store.write, at), 1);
    const run = await getImportHistoryJob(store.reader, "run");
    assert.equal(run?.state, "interrupted");
    assert.equal(run?.error?.code, "interrupted");
    assert.equal(run?.finishedAt, at.toISOString());
    assert.equal((await getImportHistoryJob(store.reader, "done"))?.state, "succeeded");
    assert.equal(interruptedJob(job("x", ""), at).state, "succeeded");
  });
});

Deno.test("the history keeps the first 20 rejected rows of a summary and every warning", () => {
  const summary = {
    file: "f",
    rows: 30,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    rejected: 30,
    pruned: 0,
    warningCount: 30,
    warnings: Array.from({ length: 30 }, (_, i) => ({ line: i + 2, message: "w" })),
    rejects: Array.from({ length: 30 }, (_, i) => ({ line: i + 2, reason: "r", record: ["a"] })),
    sharedNumbers: [],
    sharedNumberCount: 0,
    duplicateIdsInFile: 0,
    extraNumbers: 0,
    derivedAccountIds: 0,
    idSource: { kind: "column" as const, header: "id" },
    encoding: "utf-8",
    encodingSource: "detected" as const,
    mapping: [],
    dryRun: true,
    headerRow: ["id"],
    committed: false,
    headers: { names: ["id"], matched: {}, unknown: [], ignored: [], excluded: [] },
    elapsedMs: 1,
  };
  const copy = historyCopy(job("s", "2026-12-01T00:00:00.000Z", { summary }));
  assert.equal(copy.summary?.rejects.length, 20);
  assert.equal(copy.summary?.warnings.length, 30);
});
