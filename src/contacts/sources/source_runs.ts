/**
 * Sources in the store: the one place that knows `source_state` (schedule
 * slot, lease, what the last good fetch saw) and `source_runs` (one row per
 * run). Every function takes the executor first.
 */
import type { SqlExecutor, SqlRow } from "../../store/sql.ts";
import type { ImportCounts } from "../import_contacts.ts";

/** How a run ended (or `running`). */
export type RunOutcome =
  | "running"
  | "imported"
  | "unchanged"
  | "refused"
  | "failed"
  | "skipped"
  | "interrupted";

/** Every outcome, for metric labels and schemas. */
export const RUN_OUTCOMES: readonly RunOutcome[] = [
  "running",
  "imported",
  "unchanged",
  "refused",
  "failed",
  "skipped",
  "interrupted",
];

/** What started a run. */
export type RunTrigger = "schedule" | "manual" | "recovery";

/** One run as stored (JSON-ready). */
export interface SourceRun {
  readonly id: number;
  readonly source: string;
  readonly trigger: RunTrigger;
  readonly instance: string;
  readonly started_at: string;
  readonly finished_at: string | null;
  readonly outcome: RunOutcome;
  /** A drop-folder file's name, or the URL's path. */
  readonly file: string | null;
  readonly content_sha256: string | null;
  readonly bytes: number | null;
  readonly counts: ImportCounts | null;
  readonly message: string | null;
}

/** A source's state as stored. */
export interface SourceState {
  readonly source: string;
  readonly nextDueMs: number;
  readonly leaseHolder: string | null;
  readonly leaseUntilMs: number;
  readonly etag: string | null;
  readonly lastModified: string | null;
  readonly contentSha256: string | null;
  readonly lastSuccessMs: number | null;
  readonly consecutiveFailures: number;
}

/** Runs kept per source; older ones are deleted as new ones start. */
export const RUNS_KEPT = 500;

const STATE_COLUMNS = `source, next_due_ms, lease_holder, lease_until_ms, etag, last_modified,
  content_sha256, last_success_ms, consecutive_failures`;
const RUN_COLUMNS = `id, source, trigger, instance, started_ms, finished_ms, outcome, file,
  content_sha256, bytes, rows, inserted, updated, unchanged, rejected, pruned, message`;

/**
 * Takes the source's lease when it is free (or expired) and, for a scheduled
 * run, when its slot is due; a scheduled claim moves the slot to `nextDueMs`.
 * One UPDATE, so two instances never both win. Returns true when this holder won.
 */
export async function claimSource(
  db: SqlExecutor,
  claim: {
    readonly source: string;
    readonly holder: string;
    readonly nowMs: number;
    readonly leaseMs: number;
    /** Null for a manual run (the schedule is left alone, the slot need not be due). */
    readonly nextDueMs: number | null;
  },
): Promise<boolean> {
  await db.run("INSERT INTO source_state (source) VALUES (?) ON CONFLICT (source) DO NOTHING", [
    claim.source,
  ]);
  const { changes } = await db.run(
    `UPDATE source_state SET lease_holder = ?, lease_until_ms = ?,
       next_due_ms = COALESCE(?, next_due_ms)
     WHERE source = ? AND lease_until_ms < ? AND (? IS NULL OR next_due_ms <= ?)`,
    [
      claim.holder,
      claim.nowMs + claim.leaseMs,
      claim.nextDueMs,
      claim.source,
      claim.nowMs,
      claim.nextDueMs,
      claim.nowMs,
    ],
  );
  return changes > 0;
}

/** Extends the lease while a long run goes on. */
export async function renewLease(
  db: SqlExecutor,
  source: string,
  holder: string,
  untilMs: number,
): Promise<void> {
  await db.run(
    "UPDATE source_state SET lease_until_ms = ? WHERE source = ? AND lease_holder = ?",
    [untilMs, source, holder],
  );
}

/** Gives the lease back. */
export async function releaseLease(db: SqlExecutor, source: string, holder: string): Promise<void> {
  await db.run(
    "UPDATE source_state SET lease_until_ms = 0, lease_holder = NULL WHERE source = ? AND lease_holder = ?",
    [source, holder],
  );
}

/** Every source's state. */
export async function sourceStates(db: SqlExecutor): Promise<Map<string, SourceState>> {
  const rows = await db.all(`SELECT ${STATE_COLUMNS} FROM source_state`);
  return new Map(rows.map((row) => [String(row.source), stateFromRow(row)]));
}

/** Records a new run (outcome `running`); returns its id. Old runs past {@link RUNS_KEPT} go. */
export async function startRun(
  db: SqlExecutor,
  run: {
    readonly source: string;
    readonly trigger: RunTrigger;
    readonly instance: string;
    readonly nowMs: number;
    readonly file?: string | null;
  },
): Promise<number> {
  const row = await db.first(
    `INSERT INTO source_runs (source, trigger, instance, started_ms, outcome, file)
     VALUES (?, ?, ?, ?, 'running', ?) RETURNING id`,
    [run.source, run.trigger, run.instance, run.nowMs, run.file ?? null],
  );
  const id = Number(row?.id);
  await db.run(
    "DELETE FROM source_runs WHERE source = ? AND id <= ?",
    [run.source, id - RUNS_KEPT],
  );
  return id;
}

/** Marks the source's runs still `running` as `interrupted` (their holder died; the caller holds the lease now). */
export async function interruptStaleRuns(
  db: SqlExecutor,
  source: string,
  nowMs: number,
): Promise<number> {
  const { changes } = await db.run(
    `UPDATE source_runs SET outcome = 'interrupted', finished_ms = ?,
       message = 'the instance running it stopped before it finished'
     WHERE source = ? AND outcome = 'running'`,
    [nowMs, source],
  );
  return changes;
}

/** What a finished run records. */
export interface RunEnd {
  readonly outcome: Exclude<RunOutcome, "running">;
  readonly nowMs: number;
  readonly file?: string | null;
  readonly contentSha256?: string | null;
  readonly bytes?: number | null;
  readonly counts?: ImportCounts | null;
  readonly message?: string | null;
  /** What the fetch saw, kept when the run succeeded (next run's conditional request). */
  readonly validators?: {
    readonly etag: string | null;
    readonly lastModified: string | null;
    readonly contentSha256: string | null;
  };
}

/**
 * Finishes a run and updates the source's success/failure record: imported
 * and unchanged are successes, refused and failed count as failures, skipped
 * and interrupted neither.
 */
export async function finishRun(db: SqlExecutor, id: number, end: RunEnd): Promise<void> {
  const c = end.counts ?? null;
  await db.run(
    `UPDATE source_runs SET outcome = ?, finished_ms = ?, file = COALESCE(?, file),
       content_sha256 = ?, bytes = ?, rows = ?, inserted = ?, updated = ?, unchanged = ?,
       rejected = ?, pruned = ?, message = ?
     WHERE id = ?`,
    [
      end.outcome,
      end.nowMs,
      end.file ?? null,
      end.contentSha256 ?? null,
      end.bytes ?? null,
      c?.rows ?? null,
      c?.inserted ?? null,
      c?.updated ?? null,
      c?.unchanged ?? null,
      c?.rejected ?? null,
      c?.pruned ?? null,
      end.message === undefined || end.message === null ? null : end.message.slice(0, 2000),
      id,
    ],
  );
  const source = String(
    (await db.first("SELECT source FROM source_runs WHERE id = ?", [id]))?.source ?? "",
  );
  if (end.outcome === "imported" || end.outcome === "unchanged") {
    await db.run(
      `UPDATE source_state SET last_success_ms = ?, consecutive_failures = 0 WHERE source = ?`,
      [end.nowMs, source],
    );
    if (end.validators) {
      await db.run(
        `UPDATE source_state SET etag = ?, last_modified = ?, content_sha256 = ? WHERE source = ?`,
        [end.validators.etag, end.validators.lastModified, end.validators.contentSha256, source],
      );
    }
  } else if (end.outcome === "refused" || end.outcome === "failed") {
    await db.run(
      "UPDATE source_state SET consecutive_failures = consecutive_failures + 1 WHERE source = ?",
      [source],
    );
  }
}

/** A source's newest runs first (at most `limit`), optionally before run id `before`. */
export async function listRuns(
  db: SqlExecutor,
  source: string,
  limit: number,
  before?: number,
): Promise<SourceRun[]> {
  const rows = await db.all(
    `SELECT ${RUN_COLUMNS} FROM source_runs WHERE source = ? AND id < ? ORDER BY id DESC LIMIT ?`,
    [source, before ?? Number.MAX_SAFE_INTEGER, limit],
  );
  return rows.map(runFromRow);
}

/** The newest run of each source. */
export async function lastRuns(db: SqlExecutor): Promise<Map<string, SourceRun>> {
  const rows = await db.all(
    `SELECT ${RUN_COLUMNS} FROM source_runs
     WHERE id IN (SELECT MAX(id) FROM source_runs GROUP BY source)`,
  );
  return new Map(rows.map((row) => [String(row.source), runFromRow(row)]));
}

/** The run that claimed a drop-folder file (by the name it has in `processing/`). */
export async function runOfClaimedFile(
  db: SqlExecutor,
  id: number,
): Promise<SourceRun | undefined> {
  const row = await db.first(`SELECT ${RUN_COLUMNS} FROM source_runs WHERE id = ?`, [id]);
  return row ? runFromRow(row) : undefined;
}

function stateFromRow(row: SqlRow): SourceState {
  return {
    source: String(row.source),
    nextDueMs: Number(row.next_due_ms),
    leaseHolder: nullableText(row.lease_holder),
    leaseUntilMs: Number(row.lease_until_ms),
    etag: nullableText(row.etag),
    lastModified: nullableText(row.last_modified),
    contentSha256: nullableText(row.content_sha256),
    lastSuccessMs: row.last_success_ms === null ? null : Number(row.last_success_ms),
    consecutiveFailures: Number(row.consecutive_failures),
  };
}

function runFromRow(row: SqlRow): SourceRun {
  const counted = row.rows !== null && row.rows !== undefined;
  return {
    id: Number(row.id),
    source: String(row.source),
    trigger: String(row.trigger) as RunTrigger,
    instance: String(row.instance),
    started_at: new Date(Number(row.started_ms)).toISOString(),
    finished_at: row.finished_ms === null ? null : new Date(Number(row.finished_ms)).toISOString(),
    outcome: String(row.outcome) as RunOutcome,
    file: nullableText(row.file),
    content_sha256: nullableText(row.content_sha256),
    bytes: row.bytes === null ? null : Number(row.bytes),
    counts: counted
      ? {
        rows: Number(row.rows),
        inserted: Number(row.inserted),
        updated: Number(row.updated),
        unchanged: Number(row.unchanged),
        rejected: Number(row.rejected),
        pruned: Number(row.pruned),
      }
      : null,
    message: nullableText(row.message),
  };
}

function nullableText(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}
