/**
 * Read side of calls: one call with its event history, as the admin API and
 * the operator see it. Stored JSON is parsed back into objects (exactly: big
 * integers keep their digits). The call's data comes whole; the history is
 * bounded in bytes: an event body larger than {@link EVENT_BODY_INLINE_BYTES},
 * or past {@link HISTORY_BODY_BYTES} in all, is left out (`body: null`,
 * `body_omitted: true`) and read alone with {@link getCallEventBody}.
 *
 * Bodies of events applied from the audit log are not in the store (one copy
 * of each body: the audit line's); they are read back through an
 * {@link AuditBodySource}. A body that cannot be (its day removed by
 * retention, or held by another instance's audit folder) comes as `body: null`
 * with `body_unavailable` saying why.
 */
import type { Client, Transaction } from "@libsql/client";
import {
  type AuditBodySource,
  bodyElsewhere,
  type BodyLookup,
  type BodyMissingCode,
} from "../audit/audit_line_lookup.ts";
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
  /** The size of the body as received, in bytes. */
  body_bytes: number;
  /** True when the body is too large for the history and left out (`body` is then null). */
  body_omitted: boolean;
  /** What was noteworthy about the event (`id_conflict`, `future_timestamp`); empty when nothing. */
  flags: string[];
  /** The body as received, parsed (the raw text when it is somehow not JSON). */
  body: unknown;
  /** Why the body is null though not omitted for size (its audit line is gone or elsewhere); else null. */
  body_unavailable: string | null;
}

/** An event body that exists but cannot be read here; `code` says why. */
export class EventBodyUnavailableError extends Error {
  override name = "EventBodyUnavailableError";
  /** `removed`, `elsewhere`, `mismatch` or `unreadable` (see {@link BodyMissingCode}). */
  readonly code: BodyMissingCode;

  /** Creates the error from the lookup's reason. */
  constructor(code: BodyMissingCode, reason: string) {
    super(reason);
    this.code = code;
  }
}

/** A call and every event that touched it. */
export interface CallWithHistory {
  call: CallRecord;
  events: CallEventRecord[];
}

/** An event body larger than this is left out of a call's history. */
export const EVENT_BODY_INLINE_BYTES = 64 * 1024;
/** The most bytes of event bodies one call's history holds. */
export const HISTORY_BODY_BYTES = 4 * 1024 * 1024;

/** The columns of a call row except `data` (readers of large calls choose how to read it). */
export const CALL_SCALAR_COLUMNS = `id, contact_external_id, prospect_id, user_id, direction,
  state, disposition, from_number, to_number, started_at, order_updated_ms, order_created_ms,
  order_received_ms, order_seq, first_seen_at, last_event_at, change_seq`;

/** The columns of a call row, data included. */
export const CALL_COLUMNS = `${CALL_SCALAR_COLUMNS}, data`;

const GET_CALL_SQL = `SELECT ${CALL_COLUMNS} FROM calls WHERE id = ?`;

// The history without its bodies; those are read below, within a byte budget.
const CALL_EVENTS_SQL = `SELECT rowid AS event_rowid, event_key, event_id, event_type,
  received_at, audit_seq, outcome, flags, body_sha256, audit_instance,
  COALESCE(body_bytes, octet_length(body)) AS body_bytes
  FROM events WHERE call_id = ? ORDER BY received_at, audit_seq, event_key`;

const BODIES_CHUNK = 64;

const EVENT_BODY_SQL = `SELECT body, audit_seq, audit_instance, body_sha256
  FROM events WHERE call_id = ? AND event_key = ?`;

/**
 * The call with this id and its event history in arrival order (receipt time,
 * then audit sequence), or null when no such call is stored. Bodies kept in
 * the audit log are read through `bodies` (without it they come as
 * unavailable).
 */
export async function getCallWithHistory(
  client: Client | Transaction,
  callId: string,
  bodies?: AuditBodySource,
): Promise<CallWithHistory | null> {
  const db = clientExecutor(client);
  const row = await db.first(GET_CALL_SQL, [callId]);
  if (!row) return null;
  const rows = await db.all(CALL_EVENTS_SQL, [callId]);
  // Which bodies fit: each small enough, and all together within the budget.
  let budget = HISTORY_BODY_BYTES;
  const inStore: number[] = [];
  const inAudit: SqlRow[] = [];
  for (const event of rows) {
    const bytes = num(event.body_bytes) ?? 0;
    if (bytes <= EVENT_BODY_INLINE_BYTES && bytes <= budget) {
      if (str(event.audit_instance) === null) inStore.push(num(event.event_rowid) ?? -1);
      else inAudit.push(event);
      budget -= bytes;
    }
  }
  const found = new Map<number, BodyLookup>();
  for (let i = 0; i < inStore.length; i += BODIES_CHUNK) {
    const chunk = inStore.slice(i, i + BODIES_CHUNK);
    const stored = await db.all(
      `SELECT rowid AS event_rowid, body FROM events WHERE rowid IN (${
        chunk.map(() => "?").join(", ")
      })`,
      chunk,
    );
    for (const event of stored) {
      found.set(num(event.event_rowid) ?? -1, { found: true, body: str(event.body) ?? "" });
    }
  }
  for (const [rowid, lookup] of await auditBodies(inAudit, bodies)) found.set(rowid, lookup);
  return {
    call: callRecord(row),
    events: rows.map((event) => eventRecord(event, found)),
  };
}

/** Reads the bodies of `rows` (events kept in the audit log), keyed by rowid. */
async function auditBodies(
  rows: readonly SqlRow[],
  source: AuditBodySource | undefined,
): Promise<Map<number, BodyLookup>> {
  const results = new Map<number, BodyLookup>();
  const here: { rowid: number; seq: number; sha256: string }[] = [];
  for (const row of rows) {
    const rowid = num(row.event_rowid) ?? -1;
    const seq = num(row.audit_seq) ?? 0;
    const instance = str(row.audit_instance) ?? "";
    if (source === undefined) {
      results.set(rowid, {
        found: false,
        code: "unreadable",
        reason: "the body is in the audit log, and no audit folder was given to read it from",
      });
    } else if (instance !== source.instance) {
      results.set(rowid, bodyElsewhere(seq, instance));
    } else {
      here.push({ rowid, seq, sha256: str(row.body_sha256) ?? "" });
    }
  }
  if (source !== undefined && here.length > 0) {
    const read = await source.read(here);
    for (const { rowid, seq } of here) {
      results.set(rowid, read.get(seq) ?? bodyElsewhere(seq, source.instance));
    }
  }
  return results;
}

/**
 * The exact body of one event of a call (the text Symbo signed), or null when
 * the call has no such event. For bodies left out of the history. Throws an
 * {@link EventBodyUnavailableError} when the body is in an audit line that is
 * gone or not in this instance's audit folder (`bodies`).
 */
export async function getCallEventBody(
  client: Client | Transaction,
  callId: string,
  eventKey: string,
  bodies?: AuditBodySource,
): Promise<string | null> {
  const row = await clientExecutor(client).first(EVENT_BODY_SQL, [callId, eventKey]);
  if (!row) return null;
  if (str(row.audit_instance) === null) return str(row.body);
  const lookup = (await auditBodies([{ ...row, event_rowid: 0 }], bodies)).get(0);
  if (lookup?.found) return lookup.body;
  throw new EventBodyUnavailableError(
    lookup?.code ?? "unreadable",
    lookup?.reason ?? "the body could not be read",
  );
}

/** Reads a call row (selected with `CALL_COLUMNS`; without `data`, the data is `{}`). */
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

function eventRecord(row: SqlRow, bodies: ReadonlyMap<number, BodyLookup>): CallEventRecord {
  const lookup = bodies.get(num(row.event_rowid) ?? -1);
  return {
    event_key: str(row.event_key) ?? "",
    event_id: str(row.event_id),
    event_type: str(row.event_type),
    received_at: new Date(num(row.received_at) ?? 0).toISOString(),
    audit_seq: num(row.audit_seq),
    outcome: str(row.outcome) ?? "",
    body_bytes: num(row.body_bytes) ?? 0,
    body_omitted: lookup === undefined,
    flags: flagList(row.flags),
    body: lookup?.found ? parseJson(lookup.body) : null,
    body_unavailable: lookup !== undefined && !lookup.found ? lookup.reason : null,
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
