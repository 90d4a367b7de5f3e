/**
 * Rejected webhooks, for the console's delivery health (issue 21): each
 * refusal's time, reason, size and source address (never its body: an
 * unverified body is not ours to keep). Recorded in memory on the request
 * path (a flood costs no store write per request), written by a background
 * flusher, and bounded twice: at most `maxPending` wait in memory (the rest
 * are only counted, by the hourly counters) and the table keeps the newest
 * `maxRows`.
 */
import type { Logger } from "../log/logging.ts";
import type { SqlExecutor } from "../store/sql.ts";
import { periodicFlush } from "./periodic_flush.ts";
import type { WriteTransactionRunner } from "../store/write_transaction.ts";

/** Why a webhook was refused, as the operator reads it. */
export type RejectionReason = "signature" | "invalid" | "too_large" | "busy";

/** Every reason, in the order the console shows them. */
export const REJECTION_REASONS: readonly RejectionReason[] = [
  "signature",
  "invalid",
  "too_large",
  "busy",
];

/** The reason in words. */
export const REJECTION_REASON_LABELS: Readonly<Record<RejectionReason, string>> = {
  signature: "Signature missing or wrong",
  invalid: "Not a valid event",
  too_large: "Body too large",
  busy: "Server busy or unavailable",
};

/** One rejected webhook. */
export interface WebhookRejection {
  /** Epoch ms. */
  readonly at: number;
  readonly reason: RejectionReason;
  /** The body's size when known (read, or declared by Content-Length). */
  readonly bytes: number | null;
  /** Who sent it (the client address, through a trusted proxy when configured). */
  readonly source: string | null;
}

/** What the recorder needs. */
export interface WebhookRejectionsDeps {
  readonly write: WriteTransactionRunner;
  /** Rows kept in the store (default 1,000). */
  readonly maxRows?: number;
  /** Rejections held in memory between flushes (default 200). */
  readonly maxPending?: number;
  readonly flushIntervalMs?: number;
  readonly log?: Logger;
}

/** The in-memory side: `record()` on the request path, `start()`/`stop()` by the server. */
export interface WebhookRejections {
  record(rejection: WebhookRejection): void;
  flush(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

const MAX_SOURCE_CHARS = 100;

/** Builds the recorder (nothing runs until `start()`). */
export function createWebhookRejections(deps: WebhookRejectionsDeps): WebhookRejections {
  const maxRows = deps.maxRows ?? 1000;
  const maxPending = deps.maxPending ?? 200;
  let pending: WebhookRejection[] = [];

  const flusher = periodicFlush(async () => {
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    try {
      await deps.write(async (db) => {
        for (const r of batch) {
          await db.run(
            "INSERT INTO webhook_rejections (at, reason, bytes, source) VALUES (?, ?, ?, ?)",
            [r.at, r.reason, r.bytes, r.source],
          );
        }
        await db.run(
          `DELETE FROM webhook_rejections WHERE id <=
             (SELECT id FROM webhook_rejections ORDER BY id DESC LIMIT 1 OFFSET ?)`,
          [maxRows],
        );
      });
    } catch (error) {
      pending = [...batch, ...pending].slice(-maxPending);
      deps.log?.warn("Could not write the rejected webhooks yet, will retry: {error}", {
        error: String(error),
      });
    }
  }, deps.flushIntervalMs ?? 5_000);

  return {
    record(rejection) {
      // The newest are the ones worth showing: the oldest pending one makes room.
      if (pending.length >= maxPending) pending.shift();
      pending.push({
        ...rejection,
        source: rejection.source === null ? null : rejection.source.slice(0, MAX_SOURCE_CHARS),
      });
    },
    ...flusher,
  };
}

/** The newest rejections first, `limit` at most, older than the row id `before` when given. */
export async function recentRejections(
  db: SqlExecutor,
  limit: number,
  before: number | null = null,
): Promise<{ rows: Array<WebhookRejection & { id: number }>; total: number }> {
  const rows = await db.all(
    before === null
      ? "SELECT id, at, reason, bytes, source FROM webhook_rejections ORDER BY id DESC LIMIT ?"
      : "SELECT id, at, reason, bytes, source FROM webhook_rejections WHERE id < ? ORDER BY id DESC LIMIT ?",
    before === null ? [limit] : [before, limit],
  );
  const total = Number((await db.all("SELECT COUNT(*) AS n FROM webhook_rejections"))[0]?.n ?? 0);
  return {
    rows: rows.map((row) => ({
      id: Number(row.id),
      at: Number(row.at),
      reason: toReason(String(row.reason)),
      bytes: row.bytes === null ? null : Number(row.bytes),
      source: row.source === null ? null : String(row.source),
    })),
    total,
  };
}

function toReason(value: string): RejectionReason {
  return (REJECTION_REASONS as readonly string[]).includes(value)
    ? value as RejectionReason
    : "invalid";
}
