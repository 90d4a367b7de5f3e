/**
 * Admin routes for unknown numbers (dialed numbers no contact has): a JSON page
 * and the whole list as CSV, most recently seen first.
 */
import { z } from "zod";
import { allUnknownNumbers, listUnknownNumbers } from "../contacts/unknown_numbers.ts";
import { csvDownload } from "../csv/csv_download.ts";
import { requireAdmin } from "../http/admin_auth.ts";
import type { Route } from "../http/app.ts";
import { answer, UnknownNumberPageBody } from "../http/api_responses.ts";
import type { SqlExecutor } from "../store/sql.ts";
import { limitParam, offsetParam, parseQuery } from "./query_params.ts";

/** The unknown-number list's query string. */
export const UnknownNumbersQuery = z.strictObject({
  limit: limitParam(1000, 100),
  offset: offsetParam(1_000_000),
});

/** The unknown-number routes of the admin API. */
export function unknownNumberRoutes(db: SqlExecutor, adminTokens: readonly string[]): Route[] {
  return [
    {
      method: "GET",
      path: "/api/unknown-numbers",
      handler: async (request) => {
        requireAdmin(request, adminTokens);
        const query = parseQuery(new URL(request.url), UnknownNumbersQuery);
        const page = await listUnknownNumbers(db, query.limit, query.offset ?? 0);
        return answer(UnknownNumberPageBody, 200, {
          numbers: page.numbers.map(toJson),
          total: page.total,
          next_offset: page.next_offset,
        });
      },
    },
    {
      method: "GET",
      path: "/api/unknown-numbers.csv",
      handler: (request) => {
        requireAdmin(request, adminTokens);
        return unknownNumbersCsvResponse(db);
      },
    },
  ];
}

/** The whole list as a streamed CSV download (also served by the console). */
export function unknownNumbersCsvResponse(db: SqlExecutor): Response {
  return csvDownload(
    "unknown-numbers.csv",
    ["number", "count", "first_seen_at", "last_seen_at"],
    allUnknownNumbers(db),
    (row) => {
      const n = toJson(row);
      return [n.number, n.count, n.first_seen_at, n.last_seen_at];
    },
  );
}

function toJson(n: { number: string; count: number; first_seen_at: number; last_seen_at: number }) {
  return {
    number: n.number,
    count: n.count,
    first_seen_at: new Date(n.first_seen_at).toISOString(),
    last_seen_at: new Date(n.last_seen_at).toISOString(),
  };
}
