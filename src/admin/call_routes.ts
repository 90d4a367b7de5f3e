/**
 * Admin routes for calls: list with filters and cursor pages, the change feed
 * (`?since=`), the CSV export, one call with a page of its event history
 * (`?events_limit=`, `?events_cursor=`), and one event's exact body. Pages
 * and histories are bounded in rows and bytes (large fields are fetched per
 * call); the export streams one row at a time.
 */
import { z } from "zod";
import { exportCalls } from "../calls/call_export.ts";
import { callChanges, type CallFilter, CursorError, listCalls } from "../calls/call_list.ts";
import {
  EventBodyUnavailableError,
  getCallEventBody,
  getCallWithHistory,
  HISTORY_DEFAULT_EVENTS,
  HistoryCursorError,
} from "../calls/call_queries.ts";
import type { AuditBodySource } from "../audit/audit_line_lookup.ts";
import { requireAdmin } from "../http/admin_auth.ts";
import type { Route } from "../http/app.ts";
import { errorResponse, HttpError } from "../http/http_error.ts";
import { answer, CallFeedBody, CallPageBody, CallWithHistoryBody } from "../http/api_responses.ts";
import type { Store } from "../store/open_store.ts";
import { csvDownload } from "../csv/csv_download.ts";
import { limitParam, parseQuery, timeParam } from "./query_params.ts";

/** The call list's query string. */
export const ListQuery = z.strictObject({
  contact: z.string().min(1).optional(),
  user: z.string().min(1).optional(),
  disposition: z.string().min(1).optional(),
  from: timeParam.optional(),
  to: timeParam.optional(),
  limit: limitParam(1000, 100),
  cursor: z.string().min(1).optional(),
  since: z.string().optional(),
});

/** The query string of one call: which page of its history (newest events first). */
export const CallQuery = z.strictObject({
  events_limit: limitParam(1000, HISTORY_DEFAULT_EVENTS),
  events_cursor: z.string().min(1).optional(),
});

/** The call export's query string. */
export const ExportQuery = ListQuery.omit({ limit: true, cursor: true, since: true });

/** The call data fields the CSV export writes, after the call's own columns. */
const CSV_DATA_FIELDS = ["note", "recording_url", "total_talk_time_millis"] as const;

const CSV_COLUMNS = [
  "id",
  "contact_external_id",
  "prospect_id",
  "user_id",
  "direction",
  "state",
  "disposition",
  "from_number",
  "to_number",
  "started_at",
  "first_seen_at",
  "last_event_at",
  "note",
  "recording_url",
  "total_talk_time_millis",
] as const;

/**
 * The call routes of the admin API. Event bodies kept in the audit log are
 * read through `bodies` (this instance's audit folder).
 */
export function callRoutes(
  store: Store,
  adminTokens: readonly string[],
  bodies?: AuditBodySource,
): Route[] {
  return [
    {
      method: "GET",
      path: "/api/calls",
      handler: async (request) => {
        requireAdmin(request, adminTokens);
        const query = parseQuery(new URL(request.url), ListQuery);
        try {
          if (query.since !== undefined) {
            const feed = await callChanges(
              store.reader,
              query.since === "" ? null : query.since,
              query.limit,
            );
            return answer(CallFeedBody, 200, feed);
          }
          return answer(
            CallPageBody,
            200,
            await listCalls(store.reader, filterOf(query), query.limit, query.cursor ?? null),
          );
        } catch (error) {
          if (error instanceof CursorError) {
            throw new HttpError(400, "invalid_cursor", error.message);
          }
          throw error;
        }
      },
    },
    {
      method: "GET",
      path: "/api/calls.csv",
      handler: (request) => {
        requireAdmin(request, adminTokens);
        const filter = filterOf(parseQuery(new URL(request.url), ExportQuery));
        return csvDownload(
          "calls.csv",
          CSV_COLUMNS,
          exportCalls(store.reader, filter, CSV_DATA_FIELDS),
          ({ call, fields }) => [
            call.id,
            call.contact_external_id,
            call.prospect_id,
            call.user_id,
            call.direction,
            call.state,
            call.disposition,
            call.from_number,
            call.to_number,
            call.started_at,
            new Date(call.first_seen_at).toISOString(),
            new Date(call.last_event_at).toISOString(),
            ...CSV_DATA_FIELDS.map((field) => fields[field]),
          ],
        );
      },
    },
    {
      method: "GET",
      path: "/api/calls/:id",
      handler: async (request, params) => {
        requireAdmin(request, adminTokens);
        const query = parseQuery(new URL(request.url), CallQuery);
        let found;
        try {
          found = await getCallWithHistory(store.client, params.id ?? "", bodies, {
            limit: query.events_limit,
            cursor: query.events_cursor ?? null,
          });
        } catch (error) {
          if (error instanceof HistoryCursorError) {
            throw new HttpError(400, "invalid_cursor", error.message);
          }
          throw error;
        }
        return found
          ? answer(CallWithHistoryBody, 200, found)
          : errorResponse(404, "not_found", "No call has this id.");
      },
    },
    {
      method: "GET",
      path: "/api/calls/:id/events/:key",
      handler: async (request, params) => {
        requireAdmin(request, adminTokens);
        let body: string | null;
        try {
          body = await getCallEventBody(store.client, params.id ?? "", params.key ?? "", bodies);
        } catch (error) {
          // The event exists; its only copy (the audit line) is gone or on another instance.
          if (!(error instanceof EventBodyUnavailableError)) throw error;
          return error.code === "removed"
            ? errorResponse(
              410,
              "event_body_removed",
              `The event's body is gone: ${error.message}.`,
            )
            : errorResponse(
              error.code === "elsewhere" ? 404 : 500,
              error.code === "elsewhere" ? "event_body_elsewhere" : "event_body_unreadable",
              `The event's body cannot be read here: ${error.message}.`,
            );
        }
        // The exact text Symbo signed: served as received, not re-serialized.
        return body === null
          ? errorResponse(404, "not_found", "This call has no event with this key.")
          : new Response(body, { headers: { "content-type": "application/json; charset=utf-8" } });
      },
    },
  ];
}

function filterOf(query: z.infer<typeof ExportQuery>): CallFilter {
  return {
    contact: query.contact,
    user: query.user,
    disposition: query.disposition,
    from: query.from,
    to: query.to,
  };
}
