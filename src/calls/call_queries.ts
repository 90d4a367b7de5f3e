/**
 * Read side of calls: one call with its event history, as the admin API and
 * the operator see it. Stored JSON is parsed back into objects (exactly: big
 * integers keep their digits). The call's data comes whole; the history comes
 * a page at a time, newest page first (a call can gather tens of thousands of
 * events; reading them all took 30 s), each page bounded in rows, in bytes of
 * event metadata ({@link HISTORY_META_BYTES}) and in bytes of bodies: an event
 * body larger than {@link EVENT_BODY_INLINE_BYTES}, or past
 * {@link HISTORY_BODY_BYTES} in all, or beyond the page's newest
 * {@link HISTORY_BODY_COUNT} events, is left out (`body: null`,
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
  /** True when the body is left out of this page of history, too large or past its budget (`body` is then null). */
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

/**
 * A call and one page of the events that touched it: the newest events (or
 * those before the page's cursor), in arrival order within the page.
 */
export interface CallWithHistory {
  call: CallRecord;
  events: CallEventRecord[];
  /** How many events the call has in all. */
  events_total: number;
  /** Pass as `events_cursor` for the page of older events; null when this page holds the oldest. */
  events_next_cursor: string | null;
}

/** Which page of a call's history to read. */
export interface HistoryPage {
  /** The most events the page holds. */
  readonly limit: number;
  /** A cursor from a previous page (`events_next_cursor`); null for the newest events. */
  readonly cursor: string | null;
}

/** A history cursor that could not be read. */
export class HistoryCursorError extends Error {
  override name = "HistoryCursorError";
}

/** An event body larger than this is left out of a call's history. */
export const EVENT_BODY_INLINE_BYTES = 64 * 1024;
/** The most bytes of event bodies one page of a call's history holds. */
export const HISTORY_BODY_BYTES = 4 * 1024 * 1024;
/**
 * The most bodies one page of history reads (each one from the audit log
 * costs a few small reads); older events of a larger page come without.
 */
export const HISTORY_BODY_COUNT = 200;
/** The events of one page, when none is asked for. */
export const HISTORY_DEFAULT_EVENTS = 100;
/**
 * A page stops once the metadata of its events (ids, types, flags: client
 * controlled, unbounded in length) reaches this many bytes; it holds at least one event.
 */
export const HISTORY_META_BYTES = 1024 * 1024;

/** The columns of a call row except `data` (readers of large calls choose how to read it). */
export const CALL_SCALAR_COLUMNS = `id, contact_external_id, prospect_id, user_id, direction,
  state, disposition, from_number, to_number, started_at, order_updated_ms, order_created_ms,
  order_received_ms, order_seq, first_seen_at, last_event_at, change_seq`;

/** The columns of a call row, data included. */
export const CALL_COLUMNS = `${CALL_SCALAR_COLUMNS}, data`;

const GET_CALL_SQL = `SELECT ${CALL_COLUMNS} FROM calls WHERE id = ?`;

// A page's positions and sizes, newest first; the events themselves are read
// once the page is chosen, and their bodies within a byte budget.
const HISTORY_KEYS_SQL = (after: boolean) =>
  `SELECT rowid AS event_rowid, received_at, COALESCE(audit_seq, -1) AS seq_key,
  octet_length(event_key) + COALESCE(octet_length(event_id), 0) +
    COALESCE(octet_length(event_type), 0) + COALESCE(octet_length(flags), 0) AS meta_bytes
  FROM events WHERE call_id = ?${
    after
      ? ` AND received_at <= ? AND (received_at < ? OR COALESCE(audit_seq, -1) < ?
          OR (COALESCE(audit_seq, -1) = ? AND rowid < ?))`
      : ""
  }
  ORDER BY received_at DESC, seq_key DESC, event_rowid DESC LIMIT ?`;

const HISTORY_EVENTS_SQL = (count: number) =>
  `SELECT rowid AS event_rowid, event_key, event_id, event_type,
  received_at, audit_seq, outcome, flags, body_sha256, audit_instance,
  COALESCE(body_bytes, octet_length(body)) AS body_bytes
  FROM events WHERE rowid IN (${Array(count).fill("?").join(", ")})`;

const HISTORY_TOTAL_SQL = `SELECT count(*) AS n FROM events WHERE call_id = ?`;

const BODIES_CHUNK = 64;

const EVENT_BODY_SQL = `SELECT body, audit_seq, audit_instance, body_sha256
  FROM events WHERE call_id = ? AND event_key = ?`;

/**
 * The call with this id and one page of its event history, or null when no
 * such call is stored. The page holds the newest `page.limit` events (before
 * `page.cursor`), within {@link HISTORY_META_BYTES}, listed in arrival order
 * (receipt time, then audit sequence); bodies go to the newest events first,
 * within {@link HISTORY_BODY_BYTES} and {@link HISTORY_BODY_COUNT}. Bodies
 * kept in the audit log are read through `bodies` (without it they come as
 * unavailable).
 *
 * @throws {HistoryCursorError} when `page.cursor` is not one this server handed out.
 */
export async function getCallWithHistory(
  client: Client | Transaction,
  callId: string,
  bodies?: AuditBodySource,
  page: HistoryPage = { limit: HISTORY_DEFAULT_EVENTS, cursor: null },
): Promise<CallWithHistory | null> {
  const start = page.cursor === null ? null : decodeHistoryCursor(page.cursor);
  const db = clientExecutor(client);
  const row = await db.first(GET_CALL_SQL, [callId]);
  if (!row) return null;
  const keys = await db.all(
    HISTORY_KEYS_SQL(start !== null),
    start === null
      ? [callId, page.limit + 1]
      : [callId, start[0], start[0], start[1], start[1], start[2], page.limit + 1],
  );
  // The page: up to the limit, and up to the metadata budget (at least one event).
  let metaBytes = 0;
  let taken = 0;
  for (const key of keys) {
    if (taken === page.limit || (taken > 0 && metaBytes >= HISTORY_META_BYTES)) break;
    metaBytes += num(key.meta_bytes) ?? 0;
    taken++;
  }
  const chosen = keys.slice(0, taken);
  const byRowid = new Map<number, SqlRow>();
  for (let i = 0; i < chosen.length; i += BODIES_CHUNK) {
    const chunk = chosen.slice(i, i + BODIES_CHUNK).map((key) => num(key.event_rowid) ?? -1);
    for (const event of await db.all(HISTORY_EVENTS_SQL(chunk.length), chunk)) {
      byRowid.set(num(event.event_rowid) ?? -1, event);
    }
  }
  // Newest first, as chosen (an event deleted meanwhile is skipped).
  const rows: SqlRow[] = [];
  for (const key of chosen) {
    const event = byRowid.get(num(key.event_rowid) ?? -1);
    if (event) rows.push(event);
  }
  const oldest = chosen.at(-1);
  const nextCursor = keys.length > taken && oldest
    ? encodeHistoryCursor([
      num(oldest.received_at) ?? 0,
      num(oldest.seq_key) ?? -1,
      num(oldest.event_rowid) ?? 0,
    ])
    : null;
  const total = num((await db.first(HISTORY_TOTAL_SQL, [callId]))?.n) ?? rows.length;
  // Which bodies fit, newest first: each small enough, and all together within the budget.
  let budget = HISTORY_BODY_BYTES;
  const inStore: number[] = [];
  const inAudit: SqlRow[] = [];
  for (const event of rows.slice(0, HISTORY_BODY_COUNT)) {
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
    events: rows.reverse().map((event) => eventRecord(event, found)),
    events_total: total,
    events_next_cursor: nextCursor,
  };
}

function encodeHistoryCursor(parts: readonly number[]): string {
  return btoa(JSON.stringify(parts)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function decodeHistoryCursor(cursor: string): [number, number, number] {
  try {
    const parts: unknown = JSON.parse(atob(cursor.replaceAll("-", "+").replaceAll("_", "/")));
    if (
      Array.isArray(parts) && parts.length === 3 &&
      parts.every((part) => typeof part === "number" && Number.isSafeInteger(part))
    ) {
      return [parts[0], parts[1], parts[2]];
    }
  } catch {
    // fall through
  }
  throw new HistoryCursorError("The events cursor is not one this server handed out.");
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
