/**
 * Specification of import jobs: an upload is spooled owner-only, imported in
 * the background, reported with progress and outcome, bounded in size and
 * idleness, one at a time, and its rejected rows are served as CSV.
 */
import assert from "node:assert/strict";
import { countContacts } from "../../src/contacts/contact_store.ts";
import {
  createImportJobs,
  type ImportJob,
  type ImportJobs,
  ImportSubmitError,
  type OwnedImportJobs,
} from "../../src/contacts/import_jobs.ts";
import { openStore, type Store } from "../../src/store/open_store.ts";

async function withJobs(
  fn: (jobs: OwnedImportJobs, store: Store, tempDir: string) => Promise<void>,
  overrides: { maxBytes?: number; idleMs?: number; uploadTimeoutMs?: number } = {},
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "import_jobs_test_" });
  const tempDir = `${dir}/spool`;
  await Deno.mkdir(tempDir, { mode: 0o700 });
  const store = await openStore({ url: "file:" + dir + "/crm.db" });
  const jobs = createImportJobs({
    store,
    defaultRegion: "US",
    maxBytes: overrides.maxBytes ?? 1 << 20,
    tempDir,
    idleMs: overrides.idleMs ?? 10_000,
    uploadTimeoutMs: overrides.uploadTimeoutMs,
    clock: () => new Date("2026-12-01T03:00:00Z"),
  });
  try {
    await fn(jobs, store, tempDir);
  } finally {
    await jobs.close();
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function streamOf(text: string): ReadableStream<Uint8Array> {
  return new Blob([text]).stream();
}

const CSV = "external_id,first_name,work_phone\r\nc1,Ann,+1 415 555 0134\r\n" +
  "c2,,+1 415 555 0135\r\nc3,Cy,+1 415 555 0136\r\n";

async function finished(jobs: ImportJobs, job: ImportJob): Promise<ImportJob> {
  const latest = await jobs.waitFor(job.id, 30_000);
  assert.ok(latest);
  assert.notEqual(latest.state, "running");
  return latest;
}

Deno.test("a submitted import runs as a job and reports its outcome and rejects", async () => {
  await withJobs(async (jobs, store, tempDir) => {
    const job = await jobs.submit(streamOf(CSV), { fileName: "people.csv", dryRun: false });
    assert.match(job.id, /^[A-Za-z0-9_-]{16}$/);
    assert.equal(job.fileName, "people.csv");
    assert.equal(job.bytesTotal, new TextEncoder().encode(CSV).byteLength);
    assert.equal(job.startedAt, "2026-12-01T03:00:00.000Z");
    const done = await finished(jobs, job);
    assert.equal(done.state, "succeeded");
    assert.equal(done.bytesRead, done.bytesTotal);
    assert.equal(done.rowsRead, 3);
    assert.equal(done.error, null);
    assert.equal(done.summary?.inserted, 2);
    assert.equal(done.summary?.rejected, 1);
    assert.equal(done.hasRejects, true);
    assert.equal(await countContacts(store.reader), 2);
    assert.deepEqual(jobs.list().map((j) => j.id), [job.id]);

    const rejects = jobs.rejectsCsv(job.id);
    assert.ok(rejects);
    const bytes = await new Response(rejects).arrayBuffer();
    const text = new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes);
    assert.equal(
      text,
      "\ufeffline,reason,external_id,first_name,work_phone\r\n" +
        "3,first_name is empty,c2,,'+1 415 555 0135\r\n",
    );
    // It holds contact data: owner-only, like the spooled upload (gone by now).
    const files = [...Deno.readDirSync(tempDir)].map((entry) => entry.name);
    assert.deepEqual(files, [`import-${job.id}-rejects.csv`]);
    if (Deno.build.os !== "windows") {
      assert.equal((Deno.statSync(`${tempDir}/${files[0]}`).mode ?? 0) & 0o777, 0o600);
    }
  });
});

Deno.test("a dry-run job changes nothing and has no rejects file when none were rejected", async () => {
  await withJobs(async (jobs, store) => {
    const csv = "external_id,first_name\r\nc1,Ann\r\n";
    const done = await finished(
      jobs,
      await jobs.submit(streamOf(csv), { fileName: "x", dryRun: true }),
    );
    assert.equal(done.state, "succeeded");
    assert.equal(done.summary?.dryRun, true);
    assert.equal(done.summary?.inserted, 1);
    assert.equal(done.hasRejects, false);
    assert.equal(jobs.rejectsCsv(done.id), undefined);
    assert.equal(await countContacts(store.reader), 0);
  });
});

Deno.test("a failed import is a failed job whose error names the problem", async () => {
  await withJobs(async (jobs, store) => {
    const job = await jobs.submit(streamOf('external_id,first_name\r\n1,"open\r\n'), {
      fileName: "bad.csv",
      dryRun: false,
    });
    const done = await finished(jobs, job);
    assert.equal(done.state, "failed");
    assert.equal(done.error?.code, "import_failed");
    assert.match(done.error?.message ?? "", /^bad\.csv, line 2: a quoted field/);
    assert.equal(await countContacts(store.reader), 0);
  });
});

Deno.test("--strict: the failed job keeps the summary and the rejected rows", async () => {
  await withJobs(async (jobs, store) => {
    const done = await finished(
      jobs,
      await jobs.submit(streamOf(CSV), { fileName: "s.csv", dryRun: false, strict: true }),
    );
    assert.equal(done.state, "failed");
    assert.equal(done.summary?.rejected, 1);
    assert.equal(done.hasRejects, true);
    assert.equal(await countContacts(store.reader), 0);
  });
});

Deno.test("an upload larger than the limit is refused and leaves no spool file", async () => {
  await withJobs(async (jobs, _store, tempDir) => {
    const big = "external_id,first_name\r\n" + "x,y\r\n".repeat(2000);
    await assert.rejects(
      jobs.submit(streamOf(big), { fileName: "big.csv", dryRun: false }),
      (error: unknown) => error instanceof ImportSubmitError && error.code === "too_large",
    );
    assert.deepEqual([...Deno.readDirSync(tempDir)], []);
    assert.deepEqual(jobs.list(), []);
  }, { maxBytes: 4096 });
});

Deno.test("an upload that stalls is given up without starting a job", async () => {
  await withJobs(async (jobs, _store, tempDir) => {
    let cancelled = false;
    const stalled = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("external_id,first_name\r\nc1,Ann\r\n"));
      },
      cancel() {
        cancelled = true;
      },
    });
    await assert.rejects(
      jobs.submit(stalled, { fileName: "slow.csv", dryRun: false }),
      (error: unknown) => error instanceof ImportSubmitError && error.code === "stalled",
    );
    assert.equal(cancelled, true);
    assert.deepEqual([...Deno.readDirSync(tempDir)], []);
    assert.deepEqual(jobs.list(), []);
  }, { idleMs: 200 });
});

Deno.test("one import at a time: a second submission while one runs is refused as busy", async () => {
  await withJobs(async (jobs) => {
    const rows = Array.from({ length: 20_000 }, (_, i) => `c${i},N${i},+1415555${i % 10000}`);
    const csv = "external_id,first_name,work_phone\r\n" + rows.join("\r\n") + "\r\n";
    const first = await jobs.submit(streamOf(csv), { fileName: "one.csv", dryRun: false });
    const second = jobs.submit(streamOf(CSV), { fileName: "two.csv", dryRun: false });
    if (jobs.get(first.id)?.state === "running") {
      await assert.rejects(
        second,
        (error: unknown) =>
          error instanceof ImportSubmitError && error.code === "busy" &&
          error.message.includes(`/api/imports/${first.id}`),
      );
    } else {
      // The first finished before the second arrived: then the second runs.
      assert.equal((await second).state, "running");
    }
    assert.equal((await finished(jobs, first)).state, "succeeded");
  });
});

Deno.test("bad options are refused before anything is spooled", async () => {
  await withJobs(async (jobs) => {
    for (const options of [{ region: "XX" }, { encoding: "no-such-encoding" }]) {
      await assert.rejects(
        jobs.submit(streamOf(CSV), { fileName: "o.csv", dryRun: false, ...options }),
        (error: unknown) => error instanceof ImportSubmitError && error.code === "bad_option",
      );
    }
    assert.equal(jobs.get("nope"), undefined);
    assert.equal(await jobs.waitFor("nope", 10), undefined);
  });
});

Deno.test("an upload that keeps trickling is given up at its overall deadline", async () => {
  await withJobs(async (jobs, _store, tempDir) => {
    let timer: ReturnType<typeof setInterval> | undefined;
    const trickle = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("external_id,first_name\r\n"));
        timer = setInterval(() => controller.enqueue(new TextEncoder().encode("a,b\n")), 20);
      },
      cancel() {
        clearInterval(timer);
      },
    });
    await assert.rejects(
      jobs.submit(trickle, { fileName: "slow.csv", dryRun: false }),
      (error: unknown) =>
        error instanceof ImportSubmitError && error.code === "stalled" &&
        error.message.includes("longer than 300 ms"),
    );
    clearInterval(timer);
    assert.deepEqual([...Deno.readDirSync(tempDir)], []);
    // The slot is free again.
    assert.equal(
      (await jobs.submit(streamOf(CSV), { fileName: "n.csv", dryRun: true })).state,
      "running",
    );
  }, { idleMs: 10_000, uploadTimeoutMs: 300 });
});

Deno.test("an upload whose client went away is client_closed, and the slot is free", async () => {
  await withJobs(async (jobs, _store, tempDir) => {
    const broken = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.error(new TypeError("connection closed before message completed"));
      },
    });
    await assert.rejects(
      jobs.submit(broken, { fileName: "gone.csv", dryRun: false }),
      (error: unknown) => error instanceof ImportSubmitError && error.code === "client_closed",
    );
    assert.deepEqual([...Deno.readDirSync(tempDir)], []);
    assert.equal(
      (await jobs.submit(streamOf(CSV), { fileName: "n.csv", dryRun: true })).state,
      "running",
    );
  });
});

Deno.test("a spooled upload holds the slot until it is started or discarded", async () => {
  await withJobs(async (jobs, _store, tempDir) => {
    const upload = await jobs.spool(streamOf(CSV));
    assert.equal(upload.size, new TextEncoder().encode(CSV).byteLength);
    await assert.rejects(
      jobs.submit(streamOf(CSV), { fileName: "two.csv", dryRun: false }),
      (error: unknown) => error instanceof ImportSubmitError && error.code === "busy",
    );
    await upload.discard();
    assert.deepEqual([...Deno.readDirSync(tempDir)], []);
    const second = await jobs.spool(streamOf(CSV));
    await assert.rejects(
      second.start({ fileName: "x.csv", dryRun: false, region: "XX" }),
      (error: unknown) => error instanceof ImportSubmitError && error.code === "bad_option",
    );
    const third = await jobs.spool(streamOf(CSV));
    const job = await third.start({ fileName: "three.csv", dryRun: false });
    assert.equal((await finished(jobs, job)).state, "succeeded");
  });
});
