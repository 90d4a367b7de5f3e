/**
 * Read side of calls: one call with its full event history, as the admin API
 * and the operator see it. Stored JSON is parsed back into objects.
 */
import type { Client, Transaction } from "@libsql/client";
import { clientExecutor, type SqlRow } from "../store/sql.ts";
import { isJsonObject } from "./call_event.ts";
import { parseJsonExact } from "./exact_json.ts";

/** A stored call: its columns, with `data` parsed back into an object. */
export interface CallRecord {
  id: string;
  contact_external_id: string | null;
  prospect_id: string | null;
  user_id: string | null;
  direction: string | null;
  state: string | null;
  disposition: string | null;
  from_number: string | null;
  to_number: string | null;
  /** Raw `dialed_at` (else `created_at`) as Symbo sent it. */
  started_at: string | null;
  order_updated_ms: number | null;
  order_created_ms: number | null;
  order_received_ms: number;
  order_seq: number;
  /** The merged call snapshot. */
  data: Record<string, unknown>;
  /** Epoch ms. */
  first_seen_at: number;
  /** Epoch ms. */
  last_event_at: number;
  change_seq: number;
}

/** One event of a call's history. */
export interface CallEventRecord {
  event_key: string;
  event_id: string | null;
  event_type: string | null;
  /** ISO 8601 receipt time. */
  received_at: string;
  audit_seq: number | null;
  outcome: string;
  /** What was noteworthy about the event (`id_conflict`, `future_timestamp`); empty when nothing. */
  flags: string[];
  /** The body as received, parsed (the raw text when it is somehow not JSON). */
  body: unknown;
}

/** A call and every event that touched it. */
export interface CallWithHistory {
  call: CallRecord;
  events: CallEventRecord[];
}

/** The columns of a call row, in `CallRecord` order. */
export const CALL_COLUMNS = `id, contact_external_id, prospect_id, user_id, direction, state,
  disposition, from_number, to_number, started_at, order_updated_ms, order_created_ms,
  order_received_ms, order_seq, data, first_seen_at, last_event_at, change_seq`;

const GET_CALL_SQL = `SELECT ${CALL_COLUMNS} FROM calls WHERE id = ?`;

const CALL_EVENTS_SQL = `SELECT event_key, event_id, event_type, received_at, audit_seq,
  outcome, flags, body FROM events WHERE call_id = ? ORDER BY received_at, audit_seq, event_key`;

/**
 * The call with this id and its event history in arrival order (receipt time,
 * then audit sequence), or null when no such call is stored.
 */
export async function getCallWithHistory(
  client: Client | Transaction,
  callId: string,
): Promise<CallWithHistory | null> {
  const db = clientExecutor(client);
  const row = await db.first(GET_CALL_SQL, [callId]);
  if (!row) return null;
  const events = await db.all(CALL_EVENTS_SQL, [callId]);
  return { call: callRecord(row), events: events.map(eventRecord) };
}

/** Reads a call row (selected with `CALL_COLUMNS`). */
export function callRecord(row: SqlRow): CallRecord {
  const data = parseJson(row.data);
  return {
    id: str(row.id) ?? "",
    contact_external_id: str(row.contact_external_id),
    prospect_id: str(row.prospect_id),
    user_id: str(row.user_id),
    direction: str(row.direction),
    state: str(row.state),
    disposition: str(row.disposition),
    from_number: str(row.from_number),
    to_number: str(row.to_number),
    started_at: str(row.started_at),
    order_updated_ms: num(row.order_updated_ms),
    order_created_ms: num(row.order_created_ms),
    order_received_ms: num(row.order_received_ms) ?? 0,
    order_seq: num(row.order_seq) ?? 0,
    data: isJsonObject(data) ? data : {},
    first_seen_at: num(row.first_seen_at) ?? 0,
    last_event_at: num(row.last_event_at) ?? 0,
    change_seq: num(row.change_seq) ?? 0,
  };
}

function eventRecord(row: SqlRow): CallEventRecord {
  return {
    event_key: str(row.event_key) ?? "",
    event_id: str(row.event_id),
    event_type: str(row.event_type),
    received_at: new Date(num(row.received_at) ?? 0).toISOString(),
    audit_seq: num(row.audit_seq),
    outcome: str(row.outcome) ?? "",
    flags: flagList(row.flags),
    body: parseJson(row.body),
  };
}

/** Parses stored JSON text exactly (big integers keep their digits); anything unparseable comes back as it was. */
function parseJson(value: unknown): unknown {
  if (typeof value !== "string") return value;
  try {
    return parseJsonExact(value);
  } catch {
    return value;
  }
}

/** The stored JSON array of flags; NULL (or anything unexpected) is none. */
function flagList(value: unknown): string[] {
  const parsed = parseJson(value);
  return Array.isArray(parsed) ? parsed.filter((flag) => typeof flag === "string") : [];
}

function str(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

function num(value: unknown): number | null {
  if (typeof value === "bigint") return Number(value);
  return typeof value === "number" ? value : null;
}
