/** The source runner in-process: one import at a time, and the lease in the store. */
import { assertEquals, assertMatch } from "../../helpers/assert.ts";
import { eventually } from "../../helpers/eventually.ts";
import type { ImportJobs } from "../../../src/contacts/import_jobs.ts";
import { SourceConfigSchema } from "../../../src/contacts/sources/source_config.ts";
import { SourceRunner } from "../../../src/contacts/sources/source_runner.ts";
import { claimSource, listRuns, releaseLease } from "../../../src/contacts/sources/source_runs.ts";
import { openStore, type Store } from "../../../src/store/open_store.ts";

async function withStore(fn: (store: Store, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-runner-" });
  const store = await openStore({ url: `file:${dir}/crm.db` });
  try {
    await fn(store, dir);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Import jobs that are always busy (another import holds the slot). */
const busyJobs: ImportJobs = {
  submit: () => Promise.reject(new Error("not expected")),
  submitFile: () => Promise.reject(new Error("not expected")),
  spool: () => Promise.reject(new Error("not expected")),
  rerun: () => Promise.reject(new Error("not expected")),
  busy: () => true,
  get: () => undefined,
  list: () => [],
  rejectsCsv: () => undefined,
  waitFor: () => Promise.resolve(undefined),
};

Deno.test("a run that finds an import running waits (bounded), then is recorded skipped: import_running", async () => {
  await withStore(async (store, dir) => {
    const runner = new SourceRunner({
      store,
      jobs: busyJobs,
      sources: [SourceConfigSchema.parse({
        name: "crm",
        url: "https://crm.example.com/export.csv",
        every: "1d",
        wait_for_import_seconds: 0,
      })],
      spoolDir: `${dir}/spool`,
      maxBytes: 1024 * 1024,
      instance: "test",
      http: () =>
        Promise.resolve({
          status: 200,
          headers: new Headers(),
          body: new Blob(["external_id,first_name\n1,Ann\n"]).stream(),
        }),
    });
    const started = await runner.runNow("crm");
    if (typeof started !== "object") throw new Error(`expected a run, got ${started}`);
    await eventually("the run ends", 10_000, async () => {
      const [run] = await listRuns(store.reader, "crm", 1);
      return run !== undefined && run.outcome !== "running";
    });
    const [run] = await listRuns(store.reader, "crm", 1);
    assertEquals(run?.outcome, "skipped");
    assertMatch(run?.message ?? "", /^import_running:/);
    assertEquals((await runner.statuses())[0]?.consecutive_failures, 0, "a skip is no failure");
    await runner.stop();
  });
});

Deno.test("the lease: one holder per slot; a manual run needs the lease free; an expired lease is taken", async () => {
  await withStore(async (store) => {
    const claim = (holder: string, nowMs: number, nextDueMs: number | null) =>
      store.write((db) =>
        claimSource(db, { source: "s", holder, nowMs, leaseMs: 1000, nextDueMs })
      );
    assertEquals(await claim("a", 100, 5000), true);
    assertEquals(await claim("b", 100, 5000), false, "the same slot");
    assertEquals(await claim("b", 200, null), false, "run now while a runs it");
    await store.write((db) => releaseLease(db, "s", "a"));
    assertEquals(await claim("b", 300, 5000), false, "the next slot is not due yet");
    assertEquals(await claim("b", 300, null), true, "run now once it is free");
    assertEquals(await claim("a", 1200, null), false, "b's lease holds until 1300");
    assertEquals(await claim("a", 5000, 9000), true, "taken once expired and due (b died)");
  });
});
