/**
 * Specification of a dry run's kept upload (issue 21): a dry run keeps its
 * spooled file so that Apply imports exactly those bytes with the dry run's
 * options; the kept files are bounded in count, bytes and age, removed on
 * apply and on expiry; a re-run can change the column mapping.
 */
import assert from "node:assert/strict";
import { countContacts } from "../../src/contacts/contact_store.ts";
import {
  createImportJobs,
  type ImportJob,
  ImportSubmitError,
  type OwnedImportJobs,
  pruneCheckOf,
} from "../../src/contacts/import_jobs.ts";
import { openStore, type Store } from "../../src/store/open_store.ts";
import { eventually } from "../helpers/eventually.ts";

const CSV =
  "Record Ref,First Name,Work Phone\r\nk-1,Kim,0161 496 0000\r\nk-2,Kai,0161 496 0001\r\n";

interface Env {
  jobs: OwnedImportJobs;
  store: Store;
  spool: string;
  advance(ms: number): void;
}

async function withJobs(
  fn: (env: Env) => Promise<void>,
  options: { keptUploads?: number; keptUploadBytes?: number; keptUploadMs?: number } = {},
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "import_kept_upload_test_" });
  const spool = `${dir}/spool`;
  await Deno.mkdir(spool, { mode: 0o700 });
  const store = await openStore({ url: "file:" + dir + "/crm.db" });
  let now = Date.parse("2026-12-01T03:00:00Z");
  const jobs = createImportJobs({
    store,
    defaultRegion: "US",
    maxBytes: 1 << 20,
    tempDir: spool,
    clock: () => new Date(now),
    ...options,
  });
  try {
    await fn({ jobs, store, spool, advance: (ms) => now += ms });
  } finally {
    await jobs.close();
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function body(text: string): ReadableStream<Uint8Array> {
  return new Blob([text]).stream();
}

async function finished(jobs: OwnedImportJobs, job: ImportJob): Promise<ImportJob> {
  const done = await jobs.waitFor(job.id, 20_000);
  assert.ok(done && done.state !== "running", "the job finished");
  return done;
}

/** Files are removed in the background: waits (bounded) until `count` are left. */
async function spooledCount(spool: string, count: number): Promise<void> {
  await eventually(
    `${count} kept upload(s)`,
    5_000,
    () => Promise.resolve(spooled(spool).length === count),
  );
}

function spooled(spool: string): string[] {
  return [...Deno.readDirSync(spool)].map((entry) => entry.name).filter((name) =>
    name.startsWith("import-spool-")
  );
}

Deno.test("a dry run keeps its upload and Apply imports the same bytes with the same options", async () => {
  await withJobs(async ({ jobs, store, spool }) => {
    const dry = await finished(
      jobs,
      await jobs.submit(body(CSV), {
        fileName: "gb.csv",
        dryRun: true,
        region: "GB",
        idFrom: "Record Ref",
      }),
    );
    assert.equal(dry.state, "succeeded");
    assert.notEqual(dry.uploadKeptUntil, null);
    assert.equal(spooled(spool).length, 1);
    assert.deepEqual(dry.options, {
      region: "GB",
      encoding: null,
      idFrom: "Record Ref",
      prune: false,
      forcePrune: false,
      strict: false,
      userMap: null,
    });

    const applied = await finished(jobs, await jobs.rerun(dry.id, { dryRun: false }));
    assert.equal(applied.state, "succeeded", JSON.stringify(applied.error));
    assert.equal(applied.dryRun, false);
    assert.equal(applied.fromJob, dry.id);
    assert.equal(applied.fileName, "gb.csv");
    assert.equal(applied.bytesTotal, dry.bytesTotal);
    assert.deepEqual(applied.options, dry.options);
    assert.equal(applied.summary?.inserted, 2);
    assert.equal(await countContacts(store.reader), 2);
    // The region came along: the national numbers are British.
    const row = await store.reader.first("SELECT e164 FROM contact_phones LIMIT 1");
    assert.match(String(row?.e164), /^\+44/);
    // Applied: the upload is gone, from disk and from the dry run.
    await spooledCount(spool, 0);
    assert.equal(jobs.get(dry.id)?.uploadKeptUntil, null);
    await assert.rejects(
      jobs.rerun(dry.id, { dryRun: false }),
      (error) => error instanceof ImportSubmitError && error.code === "upload_gone",
    );
  });
});

Deno.test("a kept upload expires: the file is removed and Apply says it is gone", async () => {
  await withJobs(async ({ jobs, spool, advance }) => {
    const dry = await finished(
      jobs,
      await jobs.submit(body(CSV), { fileName: "a.csv", dryRun: true, idFrom: "Record Ref" }),
    );
    assert.equal(spooled(spool).length, 1);
    advance(10 * 60_000 + 1);
    await assert.rejects(
      jobs.rerun(dry.id, { dryRun: false }),
      (error) =>
        error instanceof ImportSubmitError && error.code === "upload_gone" &&
        /no longer kept.*Upload the file again/.test(error.message),
    );
    await spooledCount(spool, 0);
    assert.equal(jobs.get(dry.id)?.uploadKeptUntil, null);
  }, { keptUploadMs: 10 * 60_000 });
});

Deno.test("kept uploads are bounded in count and bytes: the oldest go first", async (t) => {
  await t.step("count", async () => {
    await withJobs(async ({ jobs, spool }) => {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const job = await jobs.submit(body(CSV), {
          fileName: `f${i}.csv`,
          dryRun: true,
          idFrom: "Record Ref",
        });
        ids.push((await finished(jobs, job)).id);
      }
      await spooledCount(spool, 2);
      assert.equal(jobs.get(ids[0] ?? "")?.uploadKeptUntil, null);
      assert.notEqual(jobs.get(ids[2] ?? "")?.uploadKeptUntil, null);
    }, { keptUploads: 2 });
  });
  await t.step("bytes", async () => {
    await withJobs(async ({ jobs, spool }) => {
      for (let i = 0; i < 2; i++) {
        await finished(
          jobs,
          await jobs.submit(body(CSV), { fileName: "b.csv", dryRun: true, idFrom: "Record Ref" }),
        );
      }
      await spooledCount(spool, 1);
    }, { keptUploadBytes: CSV.length + 10 });
  });
});

Deno.test("a re-run with a new column mapping is a dry run of the same upload, which it keeps", async () => {
  await withJobs(async ({ jobs, spool }) => {
    const dry = await finished(
      jobs,
      await jobs.submit(body(CSV), { fileName: "m.csv", dryRun: true }),
    );
    assert.equal(dry.summary?.idSource.kind, "derived");
    const rerun = await finished(
      jobs,
      await jobs.rerun(dry.id, { dryRun: true, userMap: { "Record Ref": "external_id" } }),
    );
    assert.equal(rerun.dryRun, true);
    assert.equal(rerun.summary?.idSource.kind, "column");
    assert.deepEqual(rerun.options.userMap, { "Record Ref": "external_id" });
    assert.equal(rerun.fromJob, dry.id);
    assert.notEqual(rerun.uploadKeptUntil, null);
    assert.equal(spooled(spool).length, 1);
    // Applying the re-run keeps its mapping.
    const applied = await finished(jobs, await jobs.rerun(rerun.id, { dryRun: false }));
    assert.deepEqual(applied.options.userMap, { "Record Ref": "external_id" });
    assert.equal(applied.summary?.idSource.kind, "column");
  });
});

Deno.test("a dry run with prune says what it would delete and whether that is past the guard", () => {
  assert.deepEqual(pruneCheckOf(3, 10, 0.2), {
    storedBefore: 10,
    wouldDelete: 3,
    maxFraction: 0.2,
    exceedsGuard: true,
  });
  assert.equal(pruneCheckOf(2, 10, 0.2).exceedsGuard, false);
  assert.equal(pruneCheckOf(0, 0, 0.2).exceedsGuard, false);
  assert.equal(pruneCheckOf(5, 10, 0.9).exceedsGuard, false);
});

Deno.test("a dry run failed by a missing column keeps its upload and header, and a mapping fixes it", async () => {
  await withJobs(async ({ jobs }) => {
    const csv = "Ref,Given,Work Phone\r\nq-1,Quinn,+1 415 555 0101\r\n";
    const dry = await finished(
      jobs,
      await jobs.submit(body(csv), { fileName: "q.csv", dryRun: true }),
    );
    assert.equal(dry.state, "failed");
    assert.match(dry.error?.message ?? "", /missing required column first_name/);
    assert.deepEqual(dry.headerRow, ["Ref", "Given", "Work Phone"]);
    assert.notEqual(dry.uploadKeptUntil, null);
    const fixed = await finished(
      jobs,
      await jobs.rerun(dry.id, {
        dryRun: true,
        userMap: { Ref: "external_id", Given: "first_name" },
      }),
    );
    assert.equal(fixed.state, "succeeded", JSON.stringify(fixed.error));
    assert.equal(fixed.summary?.inserted, 1);
  });
});
