/**
 * Applies one classified webhook event to the store. This is the only write path
 * for calls and prospects: the live webhook and `audit replay` both call it, so a
 * replayed audit log rebuilds exactly what the webhook built. It owns the dedupe
 * rule, the out-of-order merge of call snapshots and the call → contact link.
 *
 * Dedupe: an event is identified by its envelope `id` (else its body's SHA-256).
 * The same id with the same body is a duplicate; the same id with a different
 * body is not (Symbo or a proxy reused an id): it is applied under a key that
 * adds its body hash, and flagged `id_conflict`. A snapshot whose timestamp lay
 * far in the future is flagged `future_timestamp`. Flags are kept with the event
 * (the call's history shows them) and returned to the caller (to count them).
 */
import { Buffer } from "node:buffer";
import { findContactByPhone } from "../contacts/contact_store.ts";
import { recordCallChange } from "../outbound/outbox.ts";
import type { SqlArg, SqlExecutor, SqlRow } from "../store/sql.ts";
import type { WriteTransactionRunner } from "../store/write_transaction.ts";
import { type ClassifiedEvent, idString, isJsonObject } from "./call_event.ts";
import { isRawJson, parseJsonExact } from "./exact_json.ts";
import {
  mergeSnapshots,
  type Snapshot,
  type SnapshotOrder,
  snapshotOrderOf,
} from "./snapshot_order.ts";

/** What the caller knows about the request that carried the event. */
export interface ApplyContext {
  /** Receipt time (from the clock live; from the audit line on replay). */
  readonly receivedAt: Date;
  /** The audit line's sequence number. */
  readonly auditSeq: number;
  /** The exact body (kept in the store only when no audit line holds it; see `auditInstance`). */
  readonly bodyText: string;
  /**
   * The instance id of the audit folder whose line `auditSeq` holds this body.
   * When set (the applier always sets it) the store keeps no copy of the body:
   * history reads it back from that line. Unset, the body is stored in the row.
   */
  readonly auditInstance?: string;
  /** Lowercase hex SHA-256 of the body bytes: the dedupe key of a body without an `id`. */
  readonly bodySha256: string;
}

/**
 * Something noteworthy about an applied event, kept in its history:
 * `id_conflict` — its envelope id was already used by a different body;
 * `future_timestamp` — a timestamp lay far in the future and was ordered at receipt.
 */
export type EventFlag = "id_conflict" | "future_timestamp";

/** Every event flag, for metrics that declare their series up front. */
export const EVENT_FLAGS: readonly EventFlag[] = ["id_conflict", "future_timestamp"];

/** What applying did; `status` is what the webhook answers. */
export type ApplyOutcome = {
  status: "applied" | "duplicate" | "ignored";
  callId?: string;
  prospectId?: string;
  /** Flags raised by this event (absent when none). */
  flags?: readonly EventFlag[];
};

const NEXT_CHANGE_SEQ = "(SELECT COALESCE(MAX(change_seq), 0) + 1 FROM calls)";

const INSERT_EVENT_SQL = `INSERT INTO events
  (event_key, event_id, event_type, object, call_id, prospect_id, audit_seq, received_at,
   outcome, body, body_sha256, flags, body_bytes, audit_instance)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (event_key) DO NOTHING`;

// Rows written before migration 3 have no body_sha256: their body decides.
const SAME_BODY_SQL = `SELECT COALESCE(body_sha256 = ?, body = ?) AS same
  FROM events WHERE event_key = ?`;

const GET_CALL_SQL = `SELECT contact_external_id, prospect_id, user_id, disposition,
  order_updated_ms, order_created_ms, order_received_ms, order_seq, data, first_seen_at,
  last_event_at FROM calls WHERE id = ?`;

const CALL_COLUMNS = [
  "contact_external_id",
  "prospect_id",
  "user_id",
  "direction",
  "state",
  "disposition",
  "from_number",
  "to_number",
  "started_at",
  "order_updated_ms",
  "order_created_ms",
  "order_received_ms",
  "order_seq",
  "data",
  "first_seen_at",
  "last_event_at",
] as const;

// change_seq is bumped on every applied call event: the row or at least its
// history changed, and a change feed reading `change_seq > ?` must see both.
const UPSERT_CALL_SQL = `INSERT INTO calls (id, ${CALL_COLUMNS.join(", ")}, change_seq)
  VALUES (?, ${CALL_COLUMNS.map(() => "?").join(", ")}, ${NEXT_CHANGE_SEQ})
  ON CONFLICT (id) DO UPDATE SET ${
  [...CALL_COLUMNS, "change_seq"].map((c) => `${c} = excluded.${c}`).join(", ")
} RETURNING change_seq`;

/** The columns some index of `calls` other than its change index holds. */
const INDEXED_CALL_COLUMNS = [
  "contact_external_id",
  "user_id",
  "first_seen_at",
  "disposition",
] as const satisfies readonly (typeof CALL_COLUMNS[number])[];

// An update that changes no indexed column but the change index sets only the
// others: SQLite then rewrites no other index entry (the usual update of a
// call — a state, a note, a recording — writes its row and one index entry).
const LIGHT_CALL_COLUMNS = CALL_COLUMNS.filter((column) =>
  !(INDEXED_CALL_COLUMNS as readonly string[]).includes(column)
);
const UPDATE_CALL_LIGHT_SQL = `UPDATE calls SET ${
  LIGHT_CALL_COLUMNS.map((c) => `${c} = ?`).join(", ")
}, change_seq = ${NEXT_CHANGE_SEQ} WHERE id = ? RETURNING change_seq`;

const GET_PROSPECT_SQL = "SELECT data, updated_at FROM prospects WHERE id = ?";
const GET_PROSPECT_EXTERNAL_ID_SQL = "SELECT external_id FROM prospects WHERE id = ?";
const UPSERT_PROSPECT_SQL = `INSERT INTO prospects (id, external_id, data, updated_at)
  VALUES (?, ?, ?, ?)
  ON CONFLICT (id) DO UPDATE SET external_id = excluded.external_id, data = excluded.data,
    updated_at = excluded.updated_at`;
const UNLINKED_CALLS_OF_PROSPECT_SQL =
  "SELECT id FROM calls WHERE prospect_id = ? AND contact_external_id IS NULL ORDER BY id";
const LINK_CALL_SQL =
  `UPDATE calls SET contact_external_id = ?, change_seq = ${NEXT_CHANGE_SEQ} WHERE id = ?
  RETURNING change_seq`;

/**
 * Applies one event: records it in `events` (deduplicated by the envelope `id`,
 * else by the body's SHA-256), then upserts the call or prospect it carries.
 * A duplicate changes nothing. Ignored events are recorded too.
 *
 * Not atomic by itself: pass an open transaction, or use
 * {@link applyEventInTransaction}, or an event could be recorded without its
 * effect (and a replay would then skip it as a duplicate).
 */
export async function applyEvent(
  db: SqlExecutor,
  event: ClassifiedEvent,
  ctx: ApplyContext,
): Promise<ApplyOutcome> {
  const receivedMs = ctx.receivedAt.getTime();
  const callId = event.kind === "call" ? event.callId : null;
  const prospectId = event.kind === "call"
    ? prospectIdOf(event.data)
    : event.kind === "prospect"
    ? event.prospectId
    : null;
  const ids = {
    ...(callId !== null ? { callId } : {}),
    ...(prospectId !== null ? { prospectId } : {}),
  };
  const order = event.kind === "call"
    ? snapshotOrderOf(event.data, event.createdAtRaw, receivedMs, ctx.auditSeq)
    : null;
  const flags: EventFlag[] = order?.futureClamped ? ["future_timestamp"] : [];
  const object = event.kind === "ignored" ? null : stringOrNull(event.envelope.object);
  // One copy of each body: the audit line's. The column is NOT NULL (migration 1),
  // and an empty body never reaches here (refused before the audit), so "" means
  // "read it from the audit line" without rebuilding the table.
  const storedBody = ctx.auditInstance === undefined ? ctx.bodyText : "";
  const bodyBytes = Buffer.byteLength(ctx.bodyText, "utf8");
  const record = (eventKey: string) =>
    db.run(INSERT_EVENT_SQL, [
      eventKey,
      event.eventId,
      event.eventType,
      object,
      callId,
      prospectId,
      ctx.auditSeq,
      receivedMs,
      event.kind === "ignored" ? "ignored" : "applied",
      storedBody,
      ctx.bodySha256,
      flags.length > 0 ? JSON.stringify(flags) : null,
      bodyBytes,
      ctx.auditInstance ?? null,
    ]);

  if (event.eventId === null) {
    const { changes } = await record(`sha256:${ctx.bodySha256}`);
    if (changes === 0) return { status: "duplicate", ...ids };
  } else {
    const idKey = `id:${event.eventId}`;
    const { changes } = await record(idKey);
    if (changes === 0) {
      const existing = await db.first(SAME_BODY_SQL, [ctx.bodySha256, ctx.bodyText, idKey]);
      if (existing && Number(existing.same) === 1) return { status: "duplicate", ...ids };
      // A different body under a used id: a new event, kept under its own key (a
      // re-delivery of this body then is a duplicate of that key).
      flags.push("id_conflict");
      const conflict = await record(`${idKey}#sha256:${ctx.bodySha256}`);
      if (conflict.changes === 0) return { status: "duplicate", ...ids };
    }
  }
  const flagged = flags.length > 0 ? { flags } : {};
  if (event.kind === "ignored") return { status: "ignored", ...flagged };
  // Every change of a call is announced to the outbound endpoints in this same
  // transaction (DESIGN §11): its revision is the call's change_seq.
  if (event.kind === "call" && order !== null) {
    const change = await applyCall(db, event, order);
    await recordCallChange(db, { callId: event.callId, ...change, at: receivedMs });
  } else if (event.kind === "prospect") {
    for (const linked of await applyProspect(db, event, ctx)) {
      await recordCallChange(db, { ...linked, created: false, at: receivedMs });
    }
  }
  return { status: "applied", ...ids, ...flagged };
}

/**
 * Applies one event in its own write transaction: committed when it succeeds,
 * rolled back (and the error rethrown) when anything fails.
 */
export function applyEventInTransaction(
  write: WriteTransactionRunner,
  event: ClassifiedEvent,
  ctx: ApplyContext,
): Promise<ApplyOutcome> {
  return write((db) => applyEvent(db, event, ctx));
}

type CallEvent = Extract<ClassifiedEvent, { kind: "call" }>;
type ProspectEvent = Extract<ClassifiedEvent, { kind: "prospect" }>;

async function applyCall(
  db: SqlExecutor,
  event: CallEvent,
  order: SnapshotOrder,
): Promise<{ created: boolean; revision: number }> {
  const receivedMs = order.receivedMs;
  const incoming: Snapshot = { order, data: event.data };
  const row = await db.first(GET_CALL_SQL, [event.callId]);
  const stored = row ? storedCall(row, event.callId) : null;

  let snapshot: Snapshot = incoming;
  let userId = event.userId;
  if (stored) {
    const merged = mergeSnapshots(stored.snapshot, incoming);
    snapshot = merged;
    userId = merged.incomingIsNewer ? event.userId ?? stored.userId : stored.userId ?? event.userId;
  }
  const data = snapshot.data;
  const contactExternalId = (await resolveContact(db, data)) ?? stored?.contactExternalId ?? null;
  const values: Record<typeof CALL_COLUMNS[number], SqlArg> = {
    contact_external_id: contactExternalId,
    prospect_id: prospectIdOf(data) ?? stored?.prospectId ?? null,
    user_id: userId,
    direction: stringOrNull(data.direction),
    state: stringOrNull(data.state),
    disposition: stringOrNull(data.call_disposition),
    from_number: stringOrNull(data.from),
    to_number: stringOrNull(data.to),
    started_at: stringOrNull(data.dialed_at) ?? stringOrNull(data.created_at),
    order_updated_ms: snapshot.order.updatedMs,
    order_created_ms: snapshot.order.createdMs,
    order_received_ms: snapshot.order.receivedMs,
    order_seq: snapshot.order.seq,
    data: JSON.stringify(data),
    first_seen_at: Math.min(stored?.firstSeenAt ?? receivedMs, receivedMs),
    last_event_at: Math.max(stored?.lastEventAt ?? receivedMs, receivedMs),
  };
  const light = stored !== null &&
    INDEXED_CALL_COLUMNS.every((column) => values[column] === stored.indexed[column]);
  const upserted = light
    ? await db.first(UPDATE_CALL_LIGHT_SQL, [
      ...LIGHT_CALL_COLUMNS.map((c) => values[c]),
      event.callId,
    ])
    : await db.first(UPSERT_CALL_SQL, [event.callId, ...CALL_COLUMNS.map((c) => values[c])]);
  return { created: stored === null, revision: Number(upserted?.change_seq ?? 0) };
}

interface StoredCall {
  snapshot: Snapshot;
  /** The stored values of the indexed columns, as the driver read them. */
  indexed: Record<typeof INDEXED_CALL_COLUMNS[number], SqlArg>;
  contactExternalId: string | null;
  prospectId: string | null;
  userId: string | null;
  firstSeenAt: number;
  lastEventAt: number;
}

function storedCall(row: SqlRow, callId: string): StoredCall {
  return {
    snapshot: {
      order: {
        updatedMs: nullableInteger(row.order_updated_ms),
        createdMs: nullableInteger(row.order_created_ms),
        receivedMs: nullableInteger(row.order_received_ms) ?? 0,
        seq: nullableInteger(row.order_seq) ?? 0,
      },
      data: storedObject(row.data, `calls.data of call ${callId}`),
    },
    indexed: {
      contact_external_id: stringOrNull(row.contact_external_id),
      user_id: stringOrNull(row.user_id),
      first_seen_at: nullableInteger(row.first_seen_at),
      disposition: stringOrNull(row.disposition),
    },
    contactExternalId: stringOrNull(row.contact_external_id),
    prospectId: stringOrNull(row.prospect_id),
    userId: stringOrNull(row.user_id),
    firstSeenAt: nullableInteger(row.first_seen_at) ?? 0,
    lastEventAt: nullableInteger(row.last_event_at) ?? 0,
  };
}

/**
 * The contact a call belongs to: `data.prospect.external_id`; else the external
 * id Symbo gave this prospect in a prospect event; else the contact owning the
 * prospect's number (the lookup's own rule, so the call lands on the contact the
 * rep saw). Null when none applies.
 */
async function resolveContact(
  db: SqlExecutor,
  data: Record<string, unknown>,
): Promise<string | null> {
  const prospect = isJsonObject(data.prospect) ? data.prospect : {};
  const externalId = idString(prospect.external_id);
  if (externalId !== null) return externalId;
  const prospectId = idString(prospect.id);
  if (prospectId !== null) {
    const row = await db.first(GET_PROSPECT_EXTERNAL_ID_SQL, [prospectId]);
    const known = row ? idString(row.external_id) : null;
    if (known !== null) return known;
  }
  const number = prospectNumber(data);
  if (number === null) return null;
  const contact = await findContactByPhone(db, number);
  return contact ? contact.external_id : null;
}

/**
 * The prospect's side of the call, in E.164: `to` for outbound, `from` for
 * inbound, `to` when the direction is unknown. Symbo sends E.164; a number
 * without a leading `+` is not guessed at (no region is known here).
 */
export function prospectNumber(data: Record<string, unknown>): string | null {
  const direction = typeof data.direction === "string" ? data.direction.toLowerCase() : "";
  const raw = direction === "inbound" ? data.from : data.to;
  if (typeof raw !== "string") return null;
  const trimmed = raw.trim();
  if (!trimmed.startsWith("+")) return null;
  const digits = trimmed.slice(1).replace(/\D/g, "");
  return digits.length >= 1 && digits.length <= 15 ? `+${digits}` : null;
}

/** Applies a prospect event; returns the calls it linked to their contact (each a change). */
async function applyProspect(
  db: SqlExecutor,
  event: ProspectEvent,
  ctx: ApplyContext,
): Promise<{ callId: string; revision: number }[]> {
  const receivedMs = ctx.receivedAt.getTime();
  const row = await db.first(GET_PROSPECT_SQL, [event.prospectId]);
  let data = event.data;
  let updatedAt = receivedMs;
  if (row) {
    // Prospects keep no order columns: their own updated_at decides when both
    // parse, else the later arrival (the stored row's updated_at) loses.
    const storedData = storedObject(row.data, `prospects.data of prospect ${event.prospectId}`);
    const storedAt = nullableInteger(row.updated_at) ?? 0;
    const merged = mergeSnapshots(
      { order: snapshotOrderOf(storedData, null, storedAt, 0), data: storedData },
      { order: snapshotOrderOf(event.data, null, receivedMs, 0), data: event.data },
    );
    data = merged.data;
    updatedAt = Math.max(storedAt, receivedMs);
  }
  const externalId = idString(data.external_id);
  await db.run(UPSERT_PROSPECT_SQL, [
    event.prospectId,
    externalId,
    JSON.stringify(data),
    updatedAt,
  ]);
  if (externalId === null) return [];
  // Calls that arrived before Symbo told us who this prospect is get linked now.
  const unlinked = await db.all(UNLINKED_CALLS_OF_PROSPECT_SQL, [event.prospectId]);
  const linked: { callId: string; revision: number }[] = [];
  for (const call of unlinked) {
    const callId = stringOrNull(call.id);
    const row = await db.first(LINK_CALL_SQL, [externalId, callId]);
    if (callId !== null && row) linked.push({ callId, revision: Number(row.change_seq) });
  }
  return linked;
}

function prospectIdOf(data: Record<string, unknown>): string | null {
  return isJsonObject(data.prospect) ? idString(data.prospect.id) : null;
}

/** A string kept as sent, a number stringified (an exact integer as its digits); anything else null. */
function stringOrNull(value: unknown): string | null {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (isRawJson(value)) return value.rawJSON;
  return null;
}

function nullableInteger(value: unknown): number | null {
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "number") return value;
  return null;
}

/** Parses a JSON object this service stored; a corrupt row is an error, never silently emptied. */
function storedObject(text: unknown, what: string): Record<string, unknown> {
  if (typeof text === "string") {
    try {
      const value = parseJsonExact(text);
      if (isJsonObject(value)) return value;
    } catch {
      // Reported below.
    }
  }
  throw new Error(`The stored ${what} is not a JSON object; restore it with \`audit replay\`.`);
}
