/**
 * The outbox (DESIGN §11): the messages waiting to be sent. Each change of a
 * call records an outbox entry per matching endpoint in the same transaction
 * that stores it (`outbox_entries`: appended, no index, so the webhook's path
 * stays cheap), so a change that was not stored is never sent and a crash
 * never loses one; the sender turns entries into messages in its own
 * transactions, off the webhook's path.
 *
 * One open message per endpoint and subject (a call): a newer change of the
 * call replaces the message still waiting for it — in place while it was
 * never tried, else by a new message (new `webhook-id`, same place in the
 * retry schedule) while the tried one is marked `superseded`. A message in
 * flight is never touched; the change waits behind it as its own message.
 * So a receiver sees a call's revisions only increase, and after an outage
 * each changed call once, with its final state.
 *
 * A message made for a change has an id derived from (endpoint, call,
 * revision): replaying the audit log into an empty store makes the same
 * messages with the same ids, and replaying it again makes none.
 */
import type { SqlExecutor, SqlRow } from "../store/sql.ts";
import type { WriteTransactionRunner } from "../store/write_transaction.ts";
import type { OutboundEventType } from "./endpoints.ts";

/** A change of a call, as the applier tells it. */
export interface CallChange {
  readonly callId: string;
  /** True when this change created the call. */
  readonly created: boolean;
  /** The call's revision after the change (grows with every change). */
  readonly revision: number;
  /** When it was applied (epoch ms). */
  readonly at: number;
}

/** The status of a message. */
export type MessageStatus = "pending" | "delivered" | "failed" | "superseded";

/** Every message status, for filters. */
export const MESSAGE_STATUSES: readonly MessageStatus[] = [
  "pending",
  "delivered",
  "failed",
  "superseded",
];

const ENABLED_ENDPOINTS_SQL = "SELECT id, types FROM outbound_endpoints WHERE enabled = 1";
const OPEN_MESSAGES_SQL = `SELECT id, type, attempts, lease_owner, lease_until, next_attempt_at
  FROM outbound_messages WHERE endpoint_id = ? AND subject = ? AND status = 'pending'`;
const INSERT_MESSAGE_SQL = `INSERT INTO outbound_messages (id, endpoint_id, subject, call_id,
  type, revision, payload, status, created_at, updated_at, next_attempt_at, attempts)
  VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`;
const COALESCE_SQL = `UPDATE outbound_messages SET revision = ?, payload = ?, updated_at = ?
  WHERE id = ?`;
const SUPERSEDE_SQL = `UPDATE outbound_messages SET status = 'superseded', updated_at = ?1,
  next_attempt_at = ?1, lease_owner = NULL, lease_until = NULL WHERE id = ?2`;

const APPEND_ENTRY_SQL = `INSERT INTO outbox_entries (endpoint_id, call_id, type, revision, at)
  VALUES (?, ?, ?, ?, ?)`;
const WAITING_ENTRIES_SQL = `SELECT seq, endpoint_id, call_id, type, revision, at
  FROM outbox_entries ORDER BY seq LIMIT ?`;
const DROP_ENTRIES_SQL = "DELETE FROM outbox_entries WHERE seq <= ?";
const ENABLED_ENDPOINT_IDS_SQL = "SELECT id FROM outbound_endpoints WHERE enabled = 1";

/**
 * Records the outbox entries for one change of a call, inside the transaction
 * that stored it: one per enabled endpoint that takes its type, appended to
 * `outbox_entries` (always on the table's last page, no index: the webhook's
 * path stays cheap). {@link fanOutEntries} turns them into messages. Returns
 * how many endpoints it recorded an entry for.
 */
export async function recordCallChange(db: SqlExecutor, change: CallChange): Promise<number> {
  const endpoints = await db.all(ENABLED_ENDPOINTS_SQL);
  if (endpoints.length === 0) return 0;
  const type: OutboundEventType = change.created ? "call.created" : "call.updated";
  let recorded = 0;
  for (const endpoint of endpoints) {
    const types = String(endpoint.types);
    // Either call type subscribes to the call: a change is announced as what it is when
    // the endpoint takes that, else as the type it takes.
    const takes = types.includes(`"${type}"`)
      ? type
      : types.includes('"call.updated"')
      ? "call.updated"
      : types.includes('"call.created"')
      ? "call.created"
      : null;
    if (takes === null) continue;
    await db.run(APPEND_ENTRY_SQL, [
      String(endpoint.id),
      change.callId,
      takes,
      change.revision,
      change.at,
    ]);
    recorded++;
  }
  return recorded;
}

/** Entries fanned out per transaction by default. */
export const FAN_OUT_PAGE = 500;

/**
 * Turns up to `limit` outbox entries, oldest first, into messages, each
 * coalesced with what waits for its endpoint and call exactly as if it had
 * been queued when it was recorded (the same ids, the same coalescing), then
 * drops them. An entry of an endpoint disabled or deleted since is dropped
 * unsent (a replay sends the current state once it is enabled again). Call
 * it in a write transaction (the sender's turn; the end of `audit replay`).
 * Returns how many entries it took: fewer than `limit` means none wait now.
 */
export async function fanOutEntries(db: SqlExecutor, limit = FAN_OUT_PAGE): Promise<number> {
  const entries = await db.all(WAITING_ENTRIES_SQL, [limit]);
  const last = entries.at(-1);
  if (last === undefined) return 0;
  const enabled = new Set((await db.all(ENABLED_ENDPOINT_IDS_SQL)).map((row) => String(row.id)));
  for (const entry of entries) {
    const endpointId = String(entry.endpoint_id);
    if (!enabled.has(endpointId)) continue;
    const revision = Number(entry.revision);
    await enqueue(db, {
      endpointId,
      subject: `call:${String(entry.call_id)}`,
      callId: String(entry.call_id),
      type: String(entry.type) === "call.created" ? "call.created" : "call.updated",
      revision,
      payload: null,
      at: Number(entry.at),
      // Always looked for, even for a change that created the call: a replay
      // of the endpoint may have queued the call since the entry was recorded.
      id: messageId(endpointId, String(revision)),
    });
  }
  await db.run(DROP_ENTRIES_SQL, [Number(last.seq)]);
  return entries.length;
}

/** A number dialed for the first time that no contact has. */
export interface FirstDial {
  /** E.164 (or as dialed, when it does not parse). */
  readonly number: string;
  /** When it was first looked up (epoch ms). */
  readonly firstSeenAt: number;
  /** When it was recorded (epoch ms). */
  readonly at: number;
}

/**
 * Records an `unknown_number.first_dialed` message for every enabled endpoint
 * that asked for it, inside the transaction that recorded the number. Symbo's
 * lookup does not say who dialed, so `rep` is null; the call that follows
 * names its `user_id`.
 */
export async function recordFirstDial(db: SqlExecutor, dial: FirstDial): Promise<number> {
  const endpoints = (await db.all(ENABLED_ENDPOINTS_SQL))
    .filter((row) => String(row.types).includes('"unknown_number.first_dialed"'));
  const subject = `number:${dial.number}`;
  const payload = JSON.stringify({
    number: dial.number,
    first_seen_at: new Date(dial.firstSeenAt).toISOString(),
    rep: null,
  });
  for (const endpoint of endpoints) {
    const endpointId = String(endpoint.id);
    await enqueue(db, {
      id: messageId(endpointId, `n${dial.number}`),
      endpointId,
      subject,
      callId: null,
      type: "unknown_number.first_dialed",
      revision: dial.firstSeenAt,
      payload,
      at: dial.at,
    });
  }
  return endpoints.length;
}

/** One message to queue. */
interface NewMessage {
  readonly id: string;
  readonly endpointId: string;
  readonly subject: string;
  readonly callId: string | null;
  readonly type: OutboundEventType;
  readonly revision: number;
  readonly payload: string | null;
  readonly at: number;
}

/** Queues a message for its endpoint and subject, coalesced with the one waiting (if any). */
async function enqueue(db: SqlExecutor, message: NewMessage): Promise<"coalesced" | "queued"> {
  const open = await db.all(OPEN_MESSAGES_SQL, [message.endpointId, message.subject]);
  let carried: SqlRow | null = null;
  let created = false;
  for (const row of open) {
    if (Number(row.lease_until ?? 0) >= message.at) continue; // in flight: untouched
    created ||= row.type === "call.created";
    if (Number(row.attempts) === 0 && row.lease_owner === null) {
      await db.run(COALESCE_SQL, [message.revision, message.payload, message.at, row.id as string]);
      return "coalesced";
    }
    await db.run(SUPERSEDE_SQL, [message.at, row.id as string]);
    carried = row;
  }
  // A call the endpoint never received is still announced as created.
  const type = created && message.type === "call.updated" ? "call.created" : message.type;
  await db.run(INSERT_MESSAGE_SQL, [
    message.id,
    message.endpointId,
    message.subject,
    message.callId,
    type,
    message.revision,
    message.payload,
    message.at,
    message.at,
    carried ? Number(carried.next_attempt_at) : message.at,
    carried ? Number(carried.attempts) : 0,
  ]);
  return "queued";
}

/**
 * A message id derived from what it announces, so it is the same when an
 * audit replay makes the message again: the endpoint and what is unique per
 * endpoint — a call change's revision (`change_seq` is unique across calls),
 * plus what made it (a replay's time, a dialed number). No hashing: ids are
 * made on the webhook's path, and a SHA-256 through node:crypto cost ~20 µs.
 */
export function messageId(endpointId: string, key: string): string {
  return `msg_${endpointId.replace(/^ep_/, "")}_${key.replace(/[^A-Za-z0-9_-]/g, "")}`;
}

/** Why a resend was refused. */
export class ResendError extends Error {
  override name = "ResendError";
  constructor(readonly code: "in_flight" | "superseded", message: string) {
    super(message);
  }
}

/**
 * Sends a message again (same `webhook-id`, a fresh retry schedule): null when
 * there is no such message. Refused while it is in flight, or when a newer
 * message of the same call waits (that one carries the newer state).
 */
export function resendMessage(
  write: WriteTransactionRunner,
  id: string,
  now: number,
): Promise<{ id: string; status: "pending" } | null> {
  return write(async (db) => {
    const row = await db.first(
      "SELECT endpoint_id, subject, status, lease_until FROM outbound_messages WHERE id = ?",
      [id],
    );
    if (!row) return null;
    if (Number(row.lease_until ?? 0) >= now) {
      throw new ResendError("in_flight", "The message is being sent right now.");
    }
    const newer = await db.first(
      `SELECT id FROM outbound_messages WHERE endpoint_id = ? AND subject = ?
        AND status = 'pending' AND id != ?`,
      [row.endpoint_id as string, row.subject as string, id],
    );
    if (newer) {
      throw new ResendError(
        "superseded",
        `A newer change of this call waits to be sent as message ${String(newer.id)}.`,
      );
    }
    await db.run(
      `UPDATE outbound_messages SET status = 'pending', attempts = 0, next_attempt_at = ?,
        lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE id = ?`,
      [now, now, id],
    );
    return { id, status: "pending" as const };
  });
}

/** Calls read per transaction by a replay. */
const REPLAY_PAGE = 200;

/**
 * Replays an endpoint from a time: queues the current state of every call
 * changed since `since` (epoch ms), coalesced like any change, in pages of
 * {@link REPLAY_PAGE} calls a transaction. How a new endpoint backfills.
 * Returns how many calls were queued; null when there is no such endpoint.
 */
export async function replayEndpoint(
  write: WriteTransactionRunner,
  endpointId: string,
  since: number,
  now: number,
): Promise<number | null> {
  let cursor = 0;
  let queued = 0;
  for (;;) {
    const page = await write(async (db) => {
      const endpoint = await db.first("SELECT types FROM outbound_endpoints WHERE id = ?", [
        endpointId,
      ]);
      if (!endpoint) return null;
      const rows = await db.all(
        `SELECT id, change_seq FROM calls WHERE change_seq > ? AND last_event_at >= ?
          ORDER BY change_seq LIMIT ?`,
        [cursor, since, REPLAY_PAGE],
      );
      for (const row of rows) {
        const callId = String(row.id);
        const subject = `call:${callId}`;
        const revision = Number(row.change_seq);
        const delivered = await db.first(
          `SELECT 1 FROM outbound_messages WHERE endpoint_id = ? AND subject = ?
            AND status = 'delivered' LIMIT 1`,
          [endpointId, subject],
        );
        await enqueue(db, {
          id: messageId(endpointId, `${revision}_r${now}`),
          endpointId,
          subject,
          callId,
          type: delivered ? "call.updated" : "call.created",
          revision,
          payload: null,
          at: now,
        });
      }
      return rows;
    });
    if (page === null) return cursor === 0 ? null : queued;
    queued += page.length;
    const last = page.at(-1);
    if (!last || page.length < REPLAY_PAGE) return queued;
    cursor = Number(last.change_seq);
  }
}
