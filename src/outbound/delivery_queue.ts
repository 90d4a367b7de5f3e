/**
 * The sender's side of the outbox: claiming due messages and recording how
 * their attempts went. Both run inside a write transaction (the caller's), so
 * several instances on one store never deliver a message concurrently: a
 * claim is a lease (owner, expiry) taken in the transaction, and a crashed
 * sender's lease simply expires.
 *
 * A claim honours the order per call: a message is not taken while another
 * message of the same endpoint and call is in flight, and an older message
 * left behind by a crash is superseded by the newer one taken.
 */
import { getCallSummary } from "../calls/call_list.ts";
import type { SqlExecutor, SqlRow } from "../store/sql.ts";
import { activeSecrets } from "./endpoints.ts";
import { nextAttemptDelayMs, type RetryPolicy } from "./retry_schedule.ts";

/** A message taken for delivery, with what sending it needs. */
export interface ClaimedMessage {
  readonly id: string;
  readonly endpointId: string;
  readonly url: string;
  readonly type: string;
  readonly subject: string;
  readonly revision: number;
  /** Attempts made before this one. */
  readonly attempts: number;
  /** The secrets that sign it (current first). */
  readonly secrets: string[];
  /** The JSON body (built now, from the call's current state). */
  readonly body: string;
  readonly createdAt: number;
}

/** Options of a claim. */
export interface ClaimOptions {
  readonly owner: string;
  readonly now: number;
  readonly leaseMs: number;
  /** Messages that may be taken in all. */
  readonly total: number;
  /** Messages that may be taken for an endpoint (its free slots). */
  readonly freeFor: (endpointId: string) => number;
  /**
   * Which endpoint is served first (turn number, taken modulo the endpoints):
   * rotating it keeps endpoints with a backlog from starving the others.
   */
  readonly turn?: number;
}

const ENDPOINTS_SQL = `SELECT id, url, secret, previous_secret, previous_secret_until
  FROM outbound_endpoints WHERE enabled = 1 ORDER BY id`;

// Due, not leased, not waiting behind a message of the same call in flight,
// and not older than another one of the same call that waits.
const DUE_SQL = `SELECT m.id, m.subject, m.call_id, m.type, m.revision, m.payload, m.attempts,
  m.created_at FROM outbound_messages AS m
  WHERE m.endpoint_id = ? AND m.status = 'pending' AND m.next_attempt_at <= ?
    AND (m.lease_until IS NULL OR m.lease_until < ?)
    AND NOT EXISTS (SELECT 1 FROM outbound_messages AS o
      WHERE o.endpoint_id = m.endpoint_id AND o.subject = m.subject AND o.status = 'pending'
        AND o.id != m.id AND (o.lease_until >= ? OR o.revision > m.revision))
  ORDER BY m.next_attempt_at LIMIT ?`;

const LEASE_SQL = "UPDATE outbound_messages SET lease_owner = ?, lease_until = ? WHERE id = ?";
const SUPERSEDE_OLDER_SQL = `UPDATE outbound_messages SET status = 'superseded',
  updated_at = ?1, next_attempt_at = ?1, lease_owner = NULL, lease_until = NULL
  WHERE endpoint_id = ?2 AND subject = ?3 AND status = 'pending' AND revision < ?4 AND id != ?5
    AND (lease_until IS NULL OR lease_until < ?1)`;

/** Takes due messages (leases them) and builds their bodies. Run it in a write transaction. */
export async function claimDue(db: SqlExecutor, options: ClaimOptions): Promise<ClaimedMessage[]> {
  const claimed: ClaimedMessage[] = [];
  const { now } = options;
  const endpoints = await db.all(ENDPOINTS_SQL);
  const first = endpoints.length === 0 ? 0 : (options.turn ?? 0) % endpoints.length;
  for (const endpoint of [...endpoints.slice(first), ...endpoints.slice(0, first)]) {
    const endpointId = String(endpoint.id);
    const free = Math.min(options.freeFor(endpointId), options.total - claimed.length);
    if (free <= 0) continue;
    const rows = await db.all(DUE_SQL, [endpointId, now, now, now, free]);
    const secrets = activeSecrets({
      secret: String(endpoint.secret),
      previousSecret: endpoint.previous_secret === null ? null : String(endpoint.previous_secret),
      previousSecretUntil: endpoint.previous_secret_until === null
        ? null
        : Number(endpoint.previous_secret_until),
    }, now);
    for (const row of rows) {
      const id = String(row.id);
      const subject = String(row.subject);
      const revision = Number(row.revision);
      const body = await messageBody(db, row);
      await db.run(SUPERSEDE_OLDER_SQL, [now, endpointId, subject, revision, id]);
      if (body === null) {
        // The call is gone (never, in practice): nothing left to announce.
        await db.run(
          `UPDATE outbound_messages SET status = 'superseded', updated_at = ?,
            next_attempt_at = ? WHERE id = ?`,
          [now, now, id],
        );
        continue;
      }
      await db.run(LEASE_SQL, [options.owner, now + options.leaseMs, id]);
      claimed.push({
        id,
        endpointId,
        url: String(endpoint.url),
        type: String(row.type),
        subject,
        revision,
        attempts: Number(row.attempts),
        secrets,
        body,
        createdAt: Number(row.created_at),
      });
    }
  }
  return claimed;
}

/** The body of a message: `{type, timestamp, data}`, `data` the call as the feed shows it. */
async function messageBody(db: SqlExecutor, row: SqlRow): Promise<string | null> {
  const timestamp = new Date(Number(row.created_at)).toISOString();
  if (typeof row.payload === "string") {
    return `{"type":${JSON.stringify(row.type)},"timestamp":"${timestamp}","data":${row.payload}}`;
  }
  if (row.call_id === null) return null;
  const call = await getCallSummary(db, String(row.call_id));
  if (call === null) return null;
  return JSON.stringify({
    type: row.type,
    timestamp,
    data: { ...call, revision: call.change_seq },
  });
}

/** Releases the leases a previous process of this instance held (it crashed or was killed). */
export async function releaseLeases(
  db: SqlExecutor,
  ownerPrefix: string,
  owner: string,
): Promise<void> {
  await db.run(
    `UPDATE outbound_messages SET lease_owner = NULL, lease_until = NULL
      WHERE status = 'pending' AND lease_owner LIKE ? AND lease_owner != ?`,
    [`${ownerPrefix.replaceAll("%", "")}%`, owner],
  );
}

/** How one attempt went. */
export type AttemptOutcome =
  | "delivered"
  | "http_error"
  | "timeout"
  | "connection_error"
  | "refused";

/** Every attempt outcome (metrics declare their series up front). */
export const ATTEMPT_OUTCOMES: readonly AttemptOutcome[] = [
  "delivered",
  "http_error",
  "timeout",
  "connection_error",
  "refused",
];

/** One finished attempt. */
export interface AttemptResult {
  readonly message: ClaimedMessage;
  readonly outcome: AttemptOutcome;
  readonly at: number;
  readonly latencyMs: number;
  readonly statusCode: number | null;
  /** The first KiB of the answer's body. */
  readonly response: string | null;
  readonly error: string | null;
  /** `Retry-After` of the answer, in ms. */
  readonly retryAfterMs: number | null;
}

/** Options of {@link recordAttempts}. */
export interface RecordOptions {
  readonly owner: string;
  readonly now: number;
  readonly retry: RetryPolicy;
  /** An endpoint failing every attempt this long is disabled. */
  readonly disableAfterMs: number;
  readonly random?: () => number;
}

/** What recording attempts changed beyond the messages. */
export interface RecordSummary {
  /** Endpoints disabled now (failing for too long), with the reason. */
  readonly disabled: { id: string; reason: string }[];
  /** Messages that used up their schedule now. */
  readonly failed: string[];
}

/** Records finished attempts and moves their messages on. Run it in a write transaction. */
export async function recordAttempts(
  db: SqlExecutor,
  results: readonly AttemptResult[],
  options: RecordOptions,
): Promise<RecordSummary> {
  const summary: RecordSummary = { disabled: [], failed: [] };
  const failingEndpoints = new Set<string>();
  const succeeded = new Map<string, number>();
  for (const result of results) {
    const { message } = result;
    await db.run(
      `INSERT INTO outbound_attempts (message_id, endpoint_id, at, outcome, status_code,
        latency_ms, response, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        message.id,
        message.endpointId,
        result.at,
        result.outcome,
        result.statusCode,
        Math.round(result.latencyMs),
        result.response,
        result.error,
      ],
    );
    const row = await db.first(
      "SELECT status, lease_owner, attempts FROM outbound_messages WHERE id = ?",
      [message.id],
    );
    // Gone (endpoint deleted), or taken over after the lease expired: only the attempt is kept.
    const ours = row !== undefined && row.status === "pending" && row.lease_owner === options.owner;
    const attempts = Number(row?.attempts ?? message.attempts) + 1;
    if (result.outcome === "delivered") {
      if (ours) {
        await db.run(
          `UPDATE outbound_messages SET status = 'delivered', attempts = ?, lease_owner = NULL,
            lease_until = NULL, updated_at = ?, next_attempt_at = ?, last_error = NULL
            WHERE id = ?`,
          [attempts, options.now, options.now, message.id],
        );
      }
      succeeded.set(
        message.endpointId,
        Math.max(succeeded.get(message.endpointId) ?? 0, result.at),
      );
      continue;
    }
    const error = result.error ?? `HTTP ${result.statusCode}`;
    await db.run(
      `UPDATE outbound_endpoints SET failing_since = COALESCE(failing_since, ?), last_error = ?,
        last_error_at = ? WHERE id = ?`,
      [result.at, error, result.at, message.endpointId],
    );
    failingEndpoints.add(message.endpointId);
    if (!ours) continue;
    const newer = await db.first(
      `SELECT id, type FROM outbound_messages WHERE endpoint_id = ? AND subject = ?
        AND status = 'pending' AND id != ? ORDER BY revision DESC LIMIT 1`,
      [message.endpointId, message.subject, message.id],
    );
    if (newer) {
      // A newer change waits: it replaces this one (and announces the call as
      // created if this one was to), at this one's place in the schedule.
      await db.run(
        `UPDATE outbound_messages SET status = 'superseded', attempts = ?, lease_owner = NULL,
          lease_until = NULL, updated_at = ?, next_attempt_at = ?, last_error = ? WHERE id = ?`,
        [attempts, options.now, options.now, error, message.id],
      );
      const delay = nextAttemptDelayMs(
        attempts,
        options.retry,
        result.retryAfterMs,
        options.random,
      );
      await db.run(
        `UPDATE outbound_messages SET attempts = MAX(attempts, ?), next_attempt_at = MAX(next_attempt_at, ?),
          type = CASE WHEN ? = 'call.created' THEN 'call.created' ELSE type END WHERE id = ?`,
        [
          Math.min(attempts, options.retry.scheduleSeconds.length),
          options.now + (delay ?? 0),
          message.type,
          String(newer.id),
        ],
      );
      continue;
    }
    const delay = nextAttemptDelayMs(attempts, options.retry, result.retryAfterMs, options.random);
    if (delay === null) {
      await db.run(
        `UPDATE outbound_messages SET status = 'failed', attempts = ?, lease_owner = NULL,
          lease_until = NULL, updated_at = ?, next_attempt_at = ?, last_error = ? WHERE id = ?`,
        [attempts, options.now, options.now, error, message.id],
      );
      summary.failed.push(message.id);
    } else {
      await db.run(
        `UPDATE outbound_messages SET attempts = ?, next_attempt_at = ?, lease_owner = NULL,
          lease_until = NULL, updated_at = ?, last_error = ? WHERE id = ?`,
        [attempts, options.now + delay, options.now, error, message.id],
      );
    }
  }
  // One update per endpoint and batch: a success ends its failure streak.
  for (const [endpointId, at] of succeeded) {
    await db.run(
      "UPDATE outbound_endpoints SET last_success_at = ?, failing_since = NULL WHERE id = ?",
      [at, endpointId],
    );
    failingEndpoints.delete(endpointId);
  }
  for (const endpointId of failingEndpoints) {
    const row = await db.first(
      "SELECT enabled, failing_since FROM outbound_endpoints WHERE id = ?",
      [endpointId],
    );
    const since = row?.failing_since === null || row === undefined
      ? null
      : Number(row.failing_since);
    if (
      row && Number(row.enabled) === 1 && since !== null &&
      options.now - since >= options.disableAfterMs
    ) {
      const reason = `every attempt failed since ${new Date(since).toISOString()}`;
      await db.run(
        "UPDATE outbound_endpoints SET enabled = 0, disabled_reason = ?, updated_at = ? WHERE id = ?",
        [reason, options.now, endpointId],
      );
      summary.disabled.push({ id: endpointId, reason });
    }
  }
  return summary;
}

/**
 * Deletes finished messages and attempts older than `before` (epoch ms), an
 * endpoint at a time along its indexes; returns how many messages.
 */
export async function sweepOutbound(db: SqlExecutor, before: number): Promise<number> {
  let deleted = 0;
  for (const endpoint of await db.all("SELECT id FROM outbound_endpoints")) {
    const id = String(endpoint.id);
    await db.run("DELETE FROM outbound_attempts WHERE endpoint_id = ? AND at < ?", [id, before]);
    for (const status of ["delivered", "failed", "superseded"]) {
      const { changes } = await db.run(
        `DELETE FROM outbound_messages WHERE endpoint_id = ? AND status = ?
          AND next_attempt_at < ?`,
        [id, status, before],
      );
      deleted += changes;
    }
  }
  return deleted;
}
