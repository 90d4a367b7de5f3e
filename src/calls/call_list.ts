/**
 * Listing calls for the company's own CRM: filtered pages with an opaque
 * cursor, and a change feed ordered by `change_seq`. Every write to a call takes
 * the next `change_seq` inside its write transaction, and libSQL runs write
 * transactions one at a time, so a reader never sees a later number before an
 * earlier one: `?since=<cursor>` never skips a change.
 *
 * Pages are bounded in bytes as well as rows, so that calls carrying megabytes
 * of text (a transcription, a note) cannot exhaust the heap: a call's top-level
 * data field larger than {@link FIELD_INLINE_BYTES} is left out of pages and
 * named in `omitted_fields` (the call itself, `GET /api/calls/:id`, has it); a
 * call's data in a page holds at most {@link CALL_SUMMARY_BYTES}; a page stops
 * once its calls' data reach {@link PAGE_BYTES} and hands out the cursor of
 * the next one. Rows are read {@link CHUNK_ROWS} at a time, and a large row's
 * data is cut down by SQLite before it reaches JavaScript.
 */
import type { SqlArg, SqlExecutor, SqlRow } from "../store/sql.ts";
import { CALL_SCALAR_COLUMNS, type CallRecord, callRecord } from "./call_queries.ts";
import { parseJsonExact } from "./exact_json.ts";

/** A data field whose JSON text is larger than this is left out of pages. */
export const FIELD_INLINE_BYTES = 64 * 1024;
/** The most bytes of data one call brings into a page. */
export const CALL_SUMMARY_BYTES = 256 * 1024;
/** A page stops once the data of its calls reaches this many bytes (it holds at least one call). */
export const PAGE_BYTES = 4 * 1024 * 1024;
/** Rows read from the store at a time while a page is filled. */
export const CHUNK_ROWS = 32;

// What a call row costs in a page besides its data (ids, numbers, timestamps).
const ROW_OVERHEAD_BYTES = 512;

/** Filters of the call list. */
export interface CallFilter {
  readonly contact?: string | undefined;
  readonly user?: string | undefined;
  readonly disposition?: string | undefined;
  /** Epoch ms, inclusive: the call was first seen at or after. */
  readonly from?: number | undefined;
  /** Epoch ms, exclusive. */
  readonly to?: number | undefined;
  /** `inbound` or `outbound` (the console's search). */
  readonly direction?: string | undefined;
  /** Words that must all appear in the note, case-insensitively (the console's search). */
  readonly noteWords?: readonly string[] | undefined;
  /** The call's own time (`dialed_at`, else `created_at`, as sent), ISO 8601, inclusive (the console's search). */
  readonly calledFrom?: string | undefined;
  /** The call's own time, ISO 8601, exclusive. */
  readonly calledTo?: string | undefined;
  /** An E.164 number the call was from or to (the console's search). */
  readonly number?: string | undefined;
}

/**
 * A call as pages show it: its data without the fields too large for a page,
 * which are named in `omitted_fields`; `url` fetches the whole call.
 */
export interface CallSummary extends CallRecord {
  readonly omitted_fields: string[];
  readonly url: string;
  /**
   * Present (true) only when the stored data is too large for a page and
   * cannot be cut down by the store (nested deeper than SQLite's JSON
   * functions read, stored before such events were refused): `data` is then
   * empty, and `url` serves the whole call.
   */
  readonly data_unreadable?: true;
}

/** One page of calls and the cursor of the next page (null at the end). */
export interface CallPage {
  readonly calls: CallSummary[];
  readonly next_cursor: string | null;
}

/** A cursor that could not be read. */
export class CursorError extends Error {
  override name = "CursorError";
}

function whereClause(filter: CallFilter): { sql: string[]; args: SqlArg[] } {
  const sql: string[] = [];
  const args: SqlArg[] = [];
  if (filter.contact !== undefined) {
    sql.push("contact_external_id = ?");
    args.push(filter.contact);
  }
  if (filter.user !== undefined) {
    sql.push("user_id = ?");
    args.push(filter.user);
  }
  if (filter.disposition !== undefined) {
    sql.push("disposition = ?");
    args.push(filter.disposition);
  }
  if (filter.from !== undefined) {
    sql.push("first_seen_at >= ?");
    args.push(filter.from);
  }
  if (filter.to !== undefined) {
    sql.push("first_seen_at < ?");
    args.push(filter.to);
  }
  if (filter.direction !== undefined) {
    sql.push("direction = ?");
    args.push(filter.direction);
  }
  if (filter.calledFrom !== undefined) {
    sql.push("started_at >= ?");
    args.push(filter.calledFrom);
  }
  if (filter.calledTo !== undefined) {
    sql.push("started_at < ?");
    args.push(filter.calledTo);
  }
  if (filter.number !== undefined) {
    sql.push("(from_number = ? OR to_number = ?)");
    args.push(filter.number, filter.number);
  }
  for (const word of filter.noteWords ?? []) {
    // json_valid first: a row SQLite cannot read (too deep) matches no word, and fails no page.
    sql.push(
      `lower(CASE WHEN json_valid(data) THEN data ->> '$.note' END) LIKE ? ESCAPE '\\'`,
    );
    args.push(`%${word.toLowerCase().replace(/[\\%_]/g, (c) => "\\" + c)}%`);
  }
  return { sql, args };
}

// Small data comes whole; larger data is cut down field by field (below).
const SUMMARY_COLUMNS = `${CALL_SCALAR_COLUMNS},
  CASE WHEN octet_length(data) <= ${FIELD_INLINE_BYTES} THEN data END AS data`;

// One row per top-level field of a large call's data: its size, and its JSON
// text when it is small enough for a page. SQLite does the cutting, so the large
// values never reach the JavaScript heap. The document is parsed once
// (json_each); each small value is written back as JSON from its type, except a
// real number or an integer beyond 64 bits, re-read as its exact text (`->`
// re-reads the document, but such fields are few).
const DATA_FIELDS_SQL = `SELECT j.key AS key, COALESCE(octet_length(j.value), 4) AS bytes,
  CASE WHEN COALESCE(octet_length(j.value), 4) <= ${FIELD_INLINE_BYTES} THEN
    CASE j.type
      WHEN 'text' THEN json_quote(j.value)
      WHEN 'integer' THEN
        CASE typeof(j.value) WHEN 'integer' THEN CAST(j.value AS TEXT) ELSE c.data -> j.fullkey END
      WHEN 'real' THEN c.data -> j.fullkey
      WHEN 'true' THEN 'true'
      WHEN 'false' THEN 'false'
      WHEN 'null' THEN 'null'
      ELSE j.value
    END
  END AS json
  FROM calls AS c, json_each(c.data) AS j WHERE c.id = ? ORDER BY j.id`;

/** Reads a call row (selected with `SUMMARY_COLUMNS`) as a page shows it. */
async function callSummary(db: SqlExecutor, row: SqlRow): Promise<{
  call: CallSummary;
  bytes: number;
}> {
  const record = callRecord(row);
  const url = `/api/calls/${encodeURIComponent(record.id)}`;
  if (typeof row.data === "string") {
    return {
      call: { ...record, omitted_fields: [], url },
      bytes: row.data.length + ROW_OVERHEAD_BYTES,
    };
  }
  const valid = await db.first("SELECT json_valid(data) AS ok FROM calls WHERE id = ?", [
    record.id,
  ]);
  if (Number(valid?.ok) !== 1) {
    return {
      call: { ...record, data: {}, omitted_fields: [], url, data_unreadable: true },
      bytes: ROW_OVERHEAD_BYTES,
    };
  }
  const data: Record<string, unknown> = {};
  const omitted: string[] = [];
  let bytes = 0;
  for (const field of await db.all(DATA_FIELDS_SQL, [record.id])) {
    const key = typeof field.key === "string" ? field.key : String(field.key);
    const size = Number(field.bytes);
    if (typeof field.json === "string" && bytes + size <= CALL_SUMMARY_BYTES) {
      data[key] = parseJsonExact(field.json);
      bytes += size;
    } else {
      omitted.push(key);
    }
  }
  return {
    call: { ...record, data, omitted_fields: omitted, url },
    bytes: bytes + ROW_OVERHEAD_BYTES,
  };
}

/**
 * Fills one page: asks `fetchRows` for rows after the last one read (null at
 * first), a chunk at a time, until `limit` calls or {@link PAGE_BYTES} of data.
 * `more` says whether rows remain after the page.
 */
async function fillPage(
  db: SqlExecutor,
  fetchRows: (after: SqlRow | null, count: number) => Promise<SqlRow[]>,
  limit: number,
): Promise<{ calls: CallSummary[]; more: boolean }> {
  const calls: CallSummary[] = [];
  let bytes = 0;
  let after: SqlRow | null = null;
  while (true) {
    // One row more than needed tells whether the page is the last one.
    const count = Math.min(CHUNK_ROWS, limit - calls.length) + 1;
    const rows = await fetchRows(after, count);
    for (const row of rows) {
      if (calls.length >= limit || (calls.length > 0 && bytes >= PAGE_BYTES)) {
        return { calls, more: true };
      }
      const summary = await callSummary(db, row);
      calls.push(summary.call);
      bytes += summary.bytes;
      after = row;
    }
    if (rows.length < count) return { calls, more: false };
  }
}

/**
 * One call as the change feed shows it (fields too large for a page left out,
 * `url` to fetch them), or null: what outbound deliveries send.
 */
export async function getCallSummary(db: SqlExecutor, callId: string): Promise<CallSummary | null> {
  const row = await db.first(`SELECT ${SUMMARY_COLUMNS} FROM calls WHERE id = ?`, [callId]);
  return row ? (await callSummary(db, row)).call : null;
}

/** Newest first (by first sighting, then id), at most `limit` calls and {@link PAGE_BYTES} a page. */
export async function listCalls(
  db: SqlExecutor,
  filter: CallFilter,
  limit: number,
  cursor: string | null,
): Promise<CallPage> {
  const start = cursor === null ? null : decodeListCursor(cursor);
  const { calls, more } = await fillPage(db, (after, count) => {
    const where = whereClause(filter);
    const from = after === null ? start : [Number(after.first_seen_at), String(after.id)] as const;
    if (from !== null) {
      const [seenAt, id] = from;
      where.sql.push("(first_seen_at < ? OR (first_seen_at = ? AND id < ?))");
      where.args.push(seenAt, seenAt, id);
    }
    return db.all(
      `SELECT ${SUMMARY_COLUMNS} FROM calls ${
        where.sql.length > 0 ? "WHERE " + where.sql.join(" AND ") : ""
      }
       ORDER BY first_seen_at DESC, id DESC LIMIT ?`,
      [...where.args, count],
    );
  }, limit);
  const last = calls.at(-1);
  return {
    calls,
    next_cursor: more && last ? encodeCursor([last.first_seen_at, last.id]) : null,
  };
}

/**
 * Calls created or changed after `since` (a cursor from a previous answer; null
 * for the beginning), oldest change first, at most `limit` calls and
 * {@link PAGE_BYTES} a page. Keep the returned cursor and ask again until a page
 * comes back empty: a call changed again later comes back again.
 */
export async function callChanges(
  db: SqlExecutor,
  since: string | null,
  limit: number,
): Promise<{ calls: CallSummary[]; cursor: string }> {
  const start = since === null ? 0 : decodeChangeCursor(since);
  const { calls } = await fillPage(
    db,
    (after, count) =>
      db.all(
        `SELECT ${SUMMARY_COLUMNS} FROM calls WHERE change_seq > ? ORDER BY change_seq LIMIT ?`,
        [after === null ? start : Number(after.change_seq), count],
      ),
    limit,
  );
  return { calls, cursor: encodeCursor([calls.at(-1)?.change_seq ?? start]) };
}

/**
 * Iterates every call matching the filter, oldest change first, as pages show
 * them (large fields omitted), {@link CHUNK_ROWS} rows read at a time.
 */
export async function* allCalls(
  db: SqlExecutor,
  filter: CallFilter,
  pageSize = CHUNK_ROWS,
): AsyncGenerator<CallSummary> {
  let afterSeq = 0;
  while (true) {
    const where = whereClause(filter);
    where.sql.push("change_seq > ?");
    where.args.push(afterSeq);
    const rows = await db.all(
      `SELECT ${SUMMARY_COLUMNS} FROM calls WHERE ${
        where.sql.join(" AND ")
      } ORDER BY change_seq LIMIT ?`,
      [...where.args, pageSize],
    );
    for (const row of rows) yield (await callSummary(db, row)).call;
    const last = rows.at(-1);
    if (rows.length < pageSize || !last) return;
    afterSeq = Number(last.change_seq);
  }
}

/** The SQL filter of a call export or list, for other readers of calls (the CSV export). */
export function callFilterSql(filter: CallFilter): { sql: string[]; args: SqlArg[] } {
  return whereClause(filter);
}

function encodeCursor(parts: readonly (string | number)[]): string {
  return btoa(JSON.stringify(parts)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function decodeCursorParts(cursor: string): unknown[] {
  try {
    const json: unknown = JSON.parse(atob(cursor.replaceAll("-", "+").replaceAll("_", "/")));
    if (Array.isArray(json)) return json;
  } catch {
    // fall through
  }
  throw new CursorError("The cursor is not one this server handed out.");
}

function decodeListCursor(cursor: string): [number, string] {
  const [seenAt, id, ...rest] = decodeCursorParts(cursor);
  if (typeof seenAt !== "number" || typeof id !== "string" || rest.length > 0) {
    throw new CursorError("The cursor is not one this server handed out.");
  }
  return [seenAt, id];
}

function decodeChangeCursor(cursor: string): number {
  const [seq, ...rest] = decodeCursorParts(cursor);
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0 || rest.length > 0) {
    throw new CursorError("The cursor is not one this server handed out.");
  }
  return seq;
}
