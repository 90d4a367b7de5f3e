/**
 * Read side of outbound deliveries, shared by the admin API, the console,
 * metrics and `/readyz`: messages with their attempts (bounded pages),
 * endpoint health, and the backlog. Every reader is bounded (STYLE 16).
 */
import type { SqlExecutor, SqlRow } from "../store/sql.ts";
import { MESSAGE_STATUSES, type MessageStatus } from "./outbox.ts";

/** One delivery attempt. */
export interface AttemptRecord {
  readonly at: string;
  readonly outcome: string;
  readonly status_code: number | null;
  readonly latency_ms: number;
  /** The first KiB of the answer's body. */
  readonly response: string | null;
  readonly error: string | null;
}

/** One message and its latest attempts. */
export interface MessageRecord {
  readonly id: string;
  readonly endpoint_id: string;
  readonly type: string;
  readonly call_id: string | null;
  readonly revision: number;
  readonly status: MessageStatus;
  readonly created_at: string;
  readonly updated_at: string;
  readonly next_attempt_at: string | null;
  readonly attempts: number;
  readonly last_error: string | null;
  /** True while a sender holds it. */
  readonly in_flight: boolean;
  /** The latest attempts, newest first (at most {@link ATTEMPTS_SHOWN}). */
  readonly attempt_log: AttemptRecord[];
}

/** A page of messages and the cursor of the next (null at the end). */
export interface MessagePage {
  readonly messages: MessageRecord[];
  readonly next_cursor: string | null;
}

/** Attempts shown per message. */
export const ATTEMPTS_SHOWN = 20;

const MESSAGE_COLUMNS = `id, endpoint_id, type, call_id, revision, status, created_at,
  updated_at, next_attempt_at, attempts, last_error, lease_until`;

/**
 * Messages of an endpoint, latest first (by when due, or when finished), optionally of one status;
 * `cursor` continues a previous page.
 */
export async function listMessages(
  db: SqlExecutor,
  endpointId: string,
  options: { status?: MessageStatus; limit: number; cursor?: string | null; now: number },
): Promise<MessagePage> {
  const where = ["endpoint_id = ?"];
  const args: (string | number)[] = [endpointId];
  if (options.status !== undefined) {
    where.push("status = ?");
    args.push(options.status);
  }
  // next_attempt_at: when a pending message is due, when a finished one
  // finished (the one index that also serves claims and retention).
  const after = options.cursor ? decodeCursor(options.cursor) : null;
  if (after) {
    where.push("(next_attempt_at < ? OR (next_attempt_at = ? AND id < ?))");
    args.push(after.updatedAt, after.updatedAt, after.id);
  }
  const rows = await db.all(
    `SELECT ${MESSAGE_COLUMNS} FROM outbound_messages WHERE ${where.join(" AND ")}
      ORDER BY next_attempt_at DESC, id DESC LIMIT ?`,
    [...args, options.limit + 1],
  );
  const page = rows.slice(0, options.limit);
  const messages = await Promise.all(page.map((row) => messageOf(db, row, options.now)));
  const last = page.at(-1);
  return {
    messages,
    next_cursor: rows.length > options.limit && last
      ? btoa(JSON.stringify([Number(last.next_attempt_at), String(last.id)]))
      : null,
  };
}

/** One message with its attempts, or null. */
export async function getMessage(
  db: SqlExecutor,
  id: string,
  now: number,
): Promise<MessageRecord | null> {
  const row = await db.first(`SELECT ${MESSAGE_COLUMNS} FROM outbound_messages WHERE id = ?`, [id]);
  return row ? await messageOf(db, row, now) : null;
}

async function messageOf(db: SqlExecutor, row: SqlRow, now: number): Promise<MessageRecord> {
  const attempts = await db.all(
    `SELECT at, outcome, status_code, latency_ms, response, error FROM outbound_attempts
      WHERE message_id = ? ORDER BY at DESC, id DESC LIMIT ?`,
    [String(row.id), ATTEMPTS_SHOWN],
  );
  const status = MESSAGE_STATUSES.find((item) => item === row.status) ?? "pending";
  return {
    id: String(row.id),
    endpoint_id: String(row.endpoint_id),
    type: String(row.type),
    call_id: row.call_id === null ? null : String(row.call_id),
    revision: Number(row.revision),
    status,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    next_attempt_at: status === "pending" ? iso(row.next_attempt_at) : null,
    attempts: Number(row.attempts),
    last_error: row.last_error === null ? null : String(row.last_error),
    in_flight: status === "pending" && Number(row.lease_until ?? 0) >= now,
    attempt_log: attempts.map((attempt) => ({
      at: iso(attempt.at),
      outcome: String(attempt.outcome),
      status_code: attempt.status_code === null ? null : Number(attempt.status_code),
      latency_ms: Number(attempt.latency_ms),
      response: attempt.response === null ? null : String(attempt.response),
      error: attempt.error === null ? null : String(attempt.error),
    })),
  };
}

/** An endpoint's health, as the console shows it. */
export interface EndpointHealth {
  readonly pending: number;
  /** Age in seconds of the oldest pending message (0 when none). */
  readonly oldest_pending_seconds: number;
  /** Attempts in the last 24 hours, and how many delivered. */
  readonly attempts_24h: number;
  readonly delivered_24h: number;
  /** delivered ÷ attempts over 24 hours; null when no attempt was made. */
  readonly success_rate_24h: number | null;
}

/** Health of one endpoint (two indexed reads). */
export async function endpointHealth(
  db: SqlExecutor,
  endpointId: string,
  now: number,
): Promise<EndpointHealth> {
  const pending = await db.first(
    `SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbound_messages
      WHERE endpoint_id = ? AND status = 'pending'`,
    [endpointId],
  );
  const attempts = await db.first(
    `SELECT COUNT(*) AS n, COALESCE(SUM(outcome = 'delivered'), 0) AS ok FROM outbound_attempts
      WHERE endpoint_id = ? AND at >= ?`,
    [endpointId, now - 86_400_000],
  );
  const n = Number(attempts?.n ?? 0);
  const ok = Number(attempts?.ok ?? 0);
  const oldest = pending?.oldest === null || pending?.oldest === undefined
    ? null
    : Number(pending.oldest);
  return {
    pending: Number(pending?.n ?? 0),
    oldest_pending_seconds: oldest === null ? 0 : Math.max(0, (now - oldest) / 1000),
    attempts_24h: n,
    delivered_24h: ok,
    success_rate_24h: n === 0 ? null : ok / n,
  };
}

/**
 * The whole backlog: pending messages and the age of the oldest (metrics,
 * `/readyz`); a change still waiting to be fanned out into messages counts
 * for the age.
 */
export async function outboundBacklog(
  db: SqlExecutor,
  now: number,
): Promise<{ pending: number; oldest_pending_seconds: number; endpoints_disabled: number }> {
  const row = await db.first(
    `SELECT COUNT(*) AS n, MIN(m.created_at) AS oldest FROM outbound_endpoints AS e
      JOIN outbound_messages AS m ON m.endpoint_id = e.id AND m.status = 'pending'`,
  );
  const disabled = await db.first(
    "SELECT COUNT(*) AS n FROM outbound_endpoints WHERE enabled = 0",
  );
  // The first entry is the oldest (appended in apply order): no scan.
  const change = await db.first("SELECT at AS oldest FROM outbox_entries ORDER BY seq LIMIT 1");
  const oldest = [row?.oldest, change?.oldest]
    .filter((at) => at !== null && at !== undefined)
    .map(Number)
    .reduce<number | null>((min, at) => min === null ? at : Math.min(min, at), null);
  return {
    pending: Number(row?.n ?? 0),
    oldest_pending_seconds: oldest === null ? 0 : Math.max(0, (now - oldest) / 1000),
    endpoints_disabled: Number(disabled?.n ?? 0),
  };
}

function decodeCursor(cursor: string): { updatedAt: number; id: string } | null {
  try {
    const value: unknown = JSON.parse(atob(cursor));
    if (Array.isArray(value) && typeof value[0] === "number" && typeof value[1] === "string") {
      return { updatedAt: value[0], id: value[1] };
    }
  } catch {
    // answered as no cursor below
  }
  throw new CursorError("The cursor is not one this API handed out.");
}

/** A cursor that could not be read. */
export class CursorError extends Error {
  override name = "CursorError";
}

function iso(value: unknown): string {
  return new Date(Number(value)).toISOString();
}
