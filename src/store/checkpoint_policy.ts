/**
 * When the checkpointer gives the WAL file's space back (pure: the worker
 * feeds it what SQLite answered and the time). Every tick runs a RESTART
 * checkpoint, which copies the frames written since the last one and lets the
 * next commit write from the WAL's start; once the store has been quiet for `quietMs` with every
 * frame copied, one TRUNCATE empties the WAL file (else it stays at its
 * largest size until the next restart).
 */

/** What `PRAGMA wal_checkpoint` answered. */
export interface CheckpointResult {
  /** 1 when it could not complete (a writer or reader was in the way). */
  readonly busy: number;
  /** Frames in the WAL (-1 when the store is not in WAL mode). */
  readonly log: number;
  /** Frames copied back into the database file. */
  readonly checkpointed: number;
}

/** What the checkpointer remembers between ticks. */
export interface CheckpointState {
  /** The WAL's frame count at the last tick. */
  readonly lastLog: number;
  /** When the WAL last grew (epoch ms). */
  readonly lastGrowthAt: number;
}

/** The state before the first tick. */
export function initialCheckpointState(now: number): CheckpointState {
  return { lastLog: 0, lastGrowthAt: now };
}

/**
 * After a checkpoint answered `result` at `now`: whether to TRUNCATE
 * the WAL now (it holds frames, all copied, and did not grow for `quietMs`),
 * and the new state.
 */
export function shouldTruncate(
  quietMs: number,
  state: CheckpointState,
  result: CheckpointResult,
  now: number,
): { truncate: boolean; state: CheckpointState } {
  const grew = result.log !== state.lastLog;
  const next = { lastLog: result.log, lastGrowthAt: grew ? now : state.lastGrowthAt };
  const allCopied = result.busy === 0 && result.log > 0 && result.checkpointed === result.log;
  return { truncate: allCopied && !grew && now - next.lastGrowthAt >= quietMs, state: next };
}
