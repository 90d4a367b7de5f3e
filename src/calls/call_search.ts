/**
 * The console's call search: the admin list's filters plus direction and words
 * in the note, newest first, in keyset pages (cheap at any depth).
 */
import type { SqlArg, SqlExecutor } from "../store/sql.ts";
import { CALL_COLUMNS, type CallRecord, callRecord } from "./call_queries.ts";

/** Filters of the call search; every one optional. */
export interface CallSearch {
  readonly contact?: string | undefined;
  readonly user?: string | undefined;
  readonly disposition?: string | undefined;
  readonly direction?: string | undefined;
  /** Words that must all appear in the note (case-insensitive). */
  readonly note?: string | undefined;
  /** Epoch ms, inclusive. */
  readonly from?: number | undefined;
  /** Epoch ms, exclusive. */
  readonly to?: number | undefined;
}

/** One page of the search. */
export interface CallSearchPage {
  readonly calls: CallRecord[];
  /** Pass as `after` for the next page; null at the end. */
  readonly next: string | null;
}

const MAX_NOTE_WORDS = 8;

/** Newest first (first sighting, then id), `limit` at a time, after the `after` token. */
export async function searchCalls(
  db: SqlExecutor,
  search: CallSearch,
  limit: number,
  after: string | null,
): Promise<CallSearchPage> {
  const sql: string[] = [];
  const args: SqlArg[] = [];
  const equal = (column: string, value: string | undefined) => {
    if (value === undefined || value === "") return;
    sql.push(`${column} = ?`);
    args.push(value);
  };
  equal("contact_external_id", search.contact);
  equal("user_id", search.user);
  equal("disposition", search.disposition);
  equal("direction", search.direction);
  if (search.from !== undefined) {
    sql.push("first_seen_at >= ?");
    args.push(search.from);
  }
  if (search.to !== undefined) {
    sql.push("first_seen_at < ?");
    args.push(search.to);
  }
  const words = (search.note ?? "").toLowerCase().split(/\s+/).filter((w) => w !== "").slice(
    0,
    MAX_NOTE_WORDS,
  );
  for (const word of words) {
    sql.push(`lower(json_extract(data, '$.note')) LIKE ? ESCAPE '\\'`);
    args.push(`%${word.replace(/[\\%_]/g, (c) => "\\" + c)}%`);
  }
  const position = after === null ? null : decodeAfter(after);
  if (position) {
    sql.push("(first_seen_at < ? OR (first_seen_at = ? AND id < ?))");
    args.push(position.seenAt, position.seenAt, position.id);
  }
  const rows = await db.all(
    `SELECT ${CALL_COLUMNS} FROM calls ${sql.length > 0 ? "WHERE " + sql.join(" AND ") : ""}
     ORDER BY first_seen_at DESC, id DESC LIMIT ?`,
    [...args, limit + 1],
  );
  const calls = rows.slice(0, limit).map(callRecord);
  const last = calls.at(-1);
  return {
    calls,
    next: rows.length > limit && last
      ? `${last.first_seen_at}.${encodeURIComponent(last.id)}`
      : null,
  };
}

function decodeAfter(token: string): { seenAt: number; id: string } | null {
  const dot = token.indexOf(".");
  const seenAt = Number(token.slice(0, dot));
  if (dot < 1 || !Number.isSafeInteger(seenAt)) return null;
  try {
    return { seenAt, id: decodeURIComponent(token.slice(dot + 1)) };
  } catch {
    return null;
  }
}
