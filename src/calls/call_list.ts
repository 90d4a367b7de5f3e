/**
 * Listing calls for the company's own CRM: filtered pages with an opaque
 * cursor, and a change feed ordered by `change_seq`. Every write to a call takes
 * the next `change_seq` inside its write transaction, and libSQL runs write
 * transactions one at a time, so a reader never sees a later number before an
 * earlier one: `?since=<cursor>` never skips a change.
 */
import type { SqlArg, SqlExecutor } from "../store/sql.ts";
import { CALL_COLUMNS, type CallRecord, callRecord } from "./call_queries.ts";

/** Filters of the call list. */
export interface CallFilter {
  readonly contact?: string | undefined;
  readonly user?: string | undefined;
  readonly disposition?: string | undefined;
  /** Epoch ms, inclusive: the call was first seen at or after. */
  readonly from?: number | undefined;
  /** Epoch ms, exclusive. */
  readonly to?: number | undefined;
}

/** One page of calls and the cursor of the next page (null at the end). */
export interface CallPage {
  readonly calls: CallRecord[];
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
  return { sql, args };
}

/** Newest first (by first sighting, then id), `limit` at a time. */
export async function listCalls(
  db: SqlExecutor,
  filter: CallFilter,
  limit: number,
  cursor: string | null,
): Promise<CallPage> {
  const where = whereClause(filter);
  if (cursor !== null) {
    const [seenAt, id] = decodeListCursor(cursor);
    where.sql.push("(first_seen_at < ? OR (first_seen_at = ? AND id < ?))");
    where.args.push(seenAt, seenAt, id);
  }
  const rows = await db.all(
    `SELECT ${CALL_COLUMNS} FROM calls ${
      where.sql.length > 0 ? "WHERE " + where.sql.join(" AND ") : ""
    }
     ORDER BY first_seen_at DESC, id DESC LIMIT ?`,
    [...where.args, limit + 1],
  );
  const calls = rows.slice(0, limit).map(callRecord);
  const last = calls.at(-1);
  return {
    calls,
    next_cursor: rows.length > limit && last ? encodeCursor([last.first_seen_at, last.id]) : null,
  };
}

/**
 * Calls created or changed after `since` (a cursor from a previous answer; null
 * for the beginning), oldest change first. Keep the returned cursor and ask
 * again: a call changed again later comes back again.
 */
export async function callChanges(
  db: SqlExecutor,
  since: string | null,
  limit: number,
): Promise<{ calls: CallRecord[]; cursor: string }> {
  const after = since === null ? 0 : decodeChangeCursor(since);
  const rows = await db.all(
    `SELECT ${CALL_COLUMNS} FROM calls WHERE change_seq > ? ORDER BY change_seq LIMIT ?`,
    [after, limit],
  );
  const calls = rows.map(callRecord);
  return { calls, cursor: encodeCursor([calls.at(-1)?.change_seq ?? after]) };
}

/** Iterates every call matching the filter, oldest first, a page at a time (for exports). */
export async function* allCalls(
  db: SqlExecutor,
  filter: CallFilter,
  pageSize = 500,
): AsyncGenerator<CallRecord> {
  let afterSeq = 0;
  while (true) {
    const where = whereClause(filter);
    where.sql.push("change_seq > ?");
    where.args.push(afterSeq);
    const rows = await db.all(
      `SELECT ${CALL_COLUMNS} FROM calls WHERE ${
        where.sql.join(" AND ")
      } ORDER BY change_seq LIMIT ?`,
      [...where.args, pageSize],
    );
    for (const row of rows) yield callRecord(row);
    const last = rows.at(-1);
    if (rows.length < pageSize || !last) return;
    afterSeq = Number(last.change_seq);
  }
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
