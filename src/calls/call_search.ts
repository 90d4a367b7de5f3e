/**
 * The console's call search: the admin list's filters plus direction and words
 * in the note, newest first, in keyset pages. It reads through the admin
 * list's bounded pages (`call_list.ts`): large fields are left out and a page
 * is bounded in bytes, so the console cannot read calls its own way.
 */
import type { SqlExecutor } from "../store/sql.ts";
import {
  type CallFilter,
  callFilterSql,
  type CallSummary,
  CursorError,
  listCalls,
} from "./call_list.ts";

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
  /** The call's own time, ISO 8601: inclusive and exclusive bounds. */
  readonly calledFrom?: string | undefined;
  readonly calledTo?: string | undefined;
  /** An E.164 number the call was from or to. */
  readonly number?: string | undefined;
}

/** One page of the search. */
export interface CallSearchPage {
  readonly calls: CallSummary[];
  /** Pass as `after` for the next page; null at the end. */
  readonly next: string | null;
}

const MAX_NOTE_WORDS = 8;

/** The filter of a search, as the call list and the export read it. */
export function searchFilter(search: CallSearch): CallFilter {
  const blank = (value: string | undefined) => value === undefined || value === "";
  return {
    contact: blank(search.contact) ? undefined : search.contact,
    user: blank(search.user) ? undefined : search.user,
    disposition: blank(search.disposition) ? undefined : search.disposition,
    direction: blank(search.direction) ? undefined : search.direction,
    from: search.from,
    to: search.to,
    calledFrom: search.calledFrom,
    calledTo: search.calledTo,
    number: blank(search.number) ? undefined : search.number,
    noteWords: (search.note ?? "").split(/\s+/).filter((w) => w !== "").slice(0, MAX_NOTE_WORDS),
  };
}

/** How many calls match `search` in all. */
export async function countCalls(db: SqlExecutor, search: CallSearch): Promise<number> {
  const where = callFilterSql(searchFilter(search));
  const row = await db.first(
    `SELECT COUNT(*) AS n FROM calls ${
      where.sql.length > 0 ? "WHERE " + where.sql.join(" AND ") : ""
    }`,
    where.args,
  );
  return Number(row?.n ?? 0);
}

/**
 * Newest first (first sighting, then id), at most `limit` calls (and the
 * list's byte bound) a page, after the `after` token; a token this server did
 * not hand out starts from the newest.
 */
export async function searchCalls(
  db: SqlExecutor,
  search: CallSearch,
  limit: number,
  after: string | null,
): Promise<CallSearchPage> {
  const filter = searchFilter(search);
  let page;
  try {
    page = await listCalls(db, filter, limit, after);
  } catch (error) {
    if (!(error instanceof CursorError)) throw error;
    page = await listCalls(db, filter, limit, null);
  }
  return { calls: page.calls, next: page.next_cursor };
}
