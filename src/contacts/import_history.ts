/**
 * Import history (issue 21): every import job's summary (state, counts,
 * options, times, warnings) kept in the store, so the console's list of
 * imports survives a restart. Bounded: the newest {@link IMPORT_HISTORY_KEEP}
 * jobs, each with at most {@link HISTORY_REJECTS_KEPT} rejected rows (the
 * rows themselves are in the job's rejects file while the process runs). A
 * job still `running` when the process died is marked `interrupted` at start.
 */
import type { SqlExecutor } from "../store/sql.ts";
import type { WriteTransactionRunner } from "../store/write_transaction.ts";
import type { z } from "zod";
import { type DeepReadonly, ImportJobBody } from "../http/api_responses.ts";

/**
 * A job as the history (and the console's pages) read it: the API's job
 * shape, which a live job also has.
 */
export type ImportJobView = DeepReadonly<z.output<typeof ImportJobBody>>;

/** How many jobs the history keeps. */
export const IMPORT_HISTORY_KEEP = 100;
/** Rejected rows kept in a stored summary (the page shows 20; the full list is a download). */
export const HISTORY_REJECTS_KEPT = 20;

/** What a job that was running when the process stopped says after the restart. */
export const INTERRUPTED_MESSAGE =
  "The server stopped while this import ran. An import commits all at once, so it changed " +
  "nothing unless the stop came as it committed; upload the file again to be sure.";

/** The job as the history keeps it: rejected rows cut, no kept upload (uploads do not survive a restart). */
export function historyCopy(job: ImportJobView): ImportJobView {
  return {
    ...job,
    uploadKeptUntil: null,
    summary: job.summary
      ? { ...job.summary, rejects: job.summary.rejects.slice(0, HISTORY_REJECTS_KEPT) }
      : null,
  };
}

/** A job found `running` in the history at start: it was interrupted at `at`. */
export function interruptedJob(job: ImportJobView, at: Date): ImportJobView {
  if (job.state !== "running") return job;
  return {
    ...job,
    state: "interrupted",
    finishedAt: at.toISOString(),
    hasRejects: false,
    error: { code: "interrupted", message: INTERRUPTED_MESSAGE },
  };
}

/** Saves (or updates) a job, then drops the oldest past `keep`. */
export async function saveImportJob(
  write: WriteTransactionRunner,
  job: ImportJobView,
  keep = IMPORT_HISTORY_KEEP,
): Promise<void> {
  const copy = historyCopy(job);
  await write(async (db) => {
    await db.run(
      `INSERT INTO import_history (id, started_at, state, job) VALUES (?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET state = excluded.state, job = excluded.job`,
      [copy.id, copy.startedAt, copy.state, JSON.stringify(copy)],
    );
    await db.run(
      `DELETE FROM import_history WHERE id NOT IN
         (SELECT id FROM import_history ORDER BY started_at DESC, id DESC LIMIT ?)`,
      [keep],
    );
  });
}

/** The newest `limit` jobs, newest first (rows that no longer parse are skipped). */
export async function listImportHistory(
  db: SqlExecutor,
  limit = IMPORT_HISTORY_KEEP,
): Promise<ImportJobView[]> {
  const rows = await db.all(
    "SELECT job FROM import_history ORDER BY started_at DESC, id DESC LIMIT ?",
    [Math.max(0, Math.min(limit, IMPORT_HISTORY_KEEP))],
  );
  return rows.map((row) => parseJob(row.job)).filter((job): job is ImportJobView => job !== null);
}

/** One job of the history, if kept. */
export async function getImportHistoryJob(
  db: SqlExecutor,
  id: string,
): Promise<ImportJobView | undefined> {
  const row = await db.first("SELECT job FROM import_history WHERE id = ?", [id]);
  return row ? parseJob(row.job) ?? undefined : undefined;
}

/** Marks every job the history has as `running` interrupted (call once, at start). Returns how many. */
export async function markInterruptedImports(
  write: WriteTransactionRunner,
  at: Date,
): Promise<number> {
  return await write(async (db) => {
    const rows = await db.all("SELECT job FROM import_history WHERE state = 'running'");
    let marked = 0;
    for (const row of rows) {
      const job = parseJob(row.job);
      if (!job) continue;
      const interrupted = interruptedJob(job, at);
      await db.run("UPDATE import_history SET state = ?, job = ? WHERE id = ?", [
        interrupted.state,
        JSON.stringify(interrupted),
        interrupted.id,
      ]);
      marked++;
    }
    return marked;
  });
}

function parseJob(text: unknown): ImportJobView | null {
  if (typeof text !== "string") return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = ImportJobBody.safeParse(value);
  return parsed.success ? parsed.data : null;
}
