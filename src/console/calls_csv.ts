/**
 * "Export CSV" of the console's call list: the calls the filters match (all of
 * them, not a page), as the list reads them: the call's time in the display
 * zone, names, words, duration. Streamed row by row from the export reader.
 */
import { exportCalls } from "../calls/call_export.ts";
import { type CallSearch, searchFilter } from "../calls/call_search.ts";
import { listRepNames } from "../calls/rep_names.ts";
import { csvDownload } from "../csv/csv_download.ts";
import type { SqlExecutor } from "../store/sql.ts";
import { callTiming, inWords, prospectNumber } from "./call_view.ts";
import { formatTimeIn } from "./display_time.ts";

const FIELDS = [
  "dialed_at",
  "answered_at",
  "completed_at",
  "created_at",
  "total_conversation_duration_millis",
  "note",
];

const COLUMNS = [
  "call_time",
  "call_id",
  "contact_external_id",
  "rep",
  "user_id",
  "direction",
  "prospect_number",
  "state",
  "disposition",
  "duration_seconds",
  "note",
];

/** The CSV answer of the calls `search` matches. */
export async function callsCsvResponse(
  db: SqlExecutor,
  search: CallSearch,
  zone: string,
): Promise<Response> {
  const reps = new Map((await listRepNames(db)).map((r) => [r.user_id, r.name]));
  return csvDownload(
    "calls.csv",
    COLUMNS,
    exportCalls(db, searchFilter(search), FIELDS),
    ({ call, fields }) => {
      const timing = callTiming({ started_at: call.started_at, data: { ...fields } });
      return [
        formatTimeIn(timing.at ?? call.first_seen_at, zone),
        call.id,
        call.contact_external_id,
        call.user_id === null ? "" : reps.get(call.user_id) ?? "",
        call.user_id,
        inWords(call.direction),
        prospectNumber(call),
        inWords(call.state),
        inWords(call.disposition),
        timing.durationMs === null ? "" : String(Math.round(timing.durationMs / 1000)),
        typeof fields.note === "string" ? fields.note : "",
      ];
    },
  );
}
