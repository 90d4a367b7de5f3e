/**
 * `audit replay`: applies the whole audit log, from its first line, with the
 * same applier the server runs (the same checks: chain, body hash, signature;
 * the same apply code), so a store rebuilt from the log equals the live one.
 * Idempotent: events already in the store are counted as duplicates. The
 * outbox entries it records become messages at the end. Stops at
 * the first line that does not verify, having applied everything before it.
 */
import { Applier, type ApplierLog, AuditChainError, type LineOutcome } from "./applier.ts";
import { FAN_OUT_PAGE, fanOutEntries } from "../outbound/outbox.ts";
import type { SqlExecutor } from "../store/sql.ts";
import type { WriteTransactionRunner } from "../store/write_transaction.ts";
import type { SigningKey } from "../symbo/signature.ts";

/** What a replay did, per line outcome. */
export type ReplaySummary = Record<LineOutcome, number> & { lines: number };

/** What {@link replayAuditLog} needs. */
export interface ReplayDeps {
  readonly write: WriteTransactionRunner;
  readonly reader: SqlExecutor;
  readonly auditDir: string;
  readonly instance: string;
  readonly verifyKeys: readonly SigningKey[];
  readonly log: ApplierLog;
  readonly maxBatch?: number;
  /** Called after each applied line with the running summary and the line's seq. */
  readonly onProgress?: (summary: Readonly<ReplaySummary>, seq: number) => void;
}

export { AuditChainError };

/**
 * Replays the log into the store. Throws an {@link AuditChainError} naming the
 * first line that does not verify (everything before it is applied), or the
 * store's error.
 */
export async function replayAuditLog(deps: ReplayDeps): Promise<ReplaySummary> {
  const summary: ReplaySummary = {
    lines: 0,
    applied: 0,
    duplicate: 0,
    ignored: 0,
    invalid: 0,
    failed: 0,
  };
  const applier = new Applier({
    write: deps.write,
    reader: deps.reader,
    auditDir: deps.auditDir,
    instance: deps.instance,
    verifyKeys: deps.verifyKeys,
    log: deps.log,
    maxBatch: deps.maxBatch ?? 256,
    fromStart: true,
    onLine: (outcome, record) => {
      summary.lines++;
      summary[outcome]++;
      deps.onProgress?.(summary, record.seq);
    },
  });
  await applier.runToEnd();
  // The outbox entries it recorded become their messages now, as the server's sender
  // would make them: a rebuilt store holds the same outbox as the live one.
  while (await deps.write((db) => fanOutEntries(db, FAN_OUT_PAGE)) === FAN_OUT_PAGE);
  return summary;
}
