/**
 * A call as an operator reads it (issue 21 item 2): who (the contact's name,
 * the rep's name), when (the call's own time, not the webhook's arrival), how
 * long, which number (the prospect's, whichever the direction), and the state
 * and disposition in words. Pure, except the two batch name reads.
 */
import { repNamesOf } from "../calls/rep_names.ts";
import type { CallRecord } from "../calls/call_queries.ts";
import { contactFieldSql } from "../contacts/contact_store.ts";
import type { SqlExecutor } from "../store/sql.ts";

/** Names for the calls on a page. */
export interface CallNames {
  /** Contact external id → "First Last". */
  readonly contacts: ReadonlyMap<string, string>;
  /** Symbo user id → the name the operator gave it. */
  readonly reps: ReadonlyMap<string, string>;
}

/** No names (a page that has none to show). */
export const NO_NAMES: CallNames = { contacts: new Map(), reps: new Map() };

/** The contact and rep names of `calls`, two small reads. */
export async function namesOf(
  db: SqlExecutor,
  calls: readonly Pick<CallRecord, "contact_external_id" | "user_id">[],
): Promise<CallNames> {
  const ids = [
    ...new Set(calls.flatMap((c) => c.contact_external_id ? [c.contact_external_id] : [])),
  ];
  const contacts = new Map<string, string>();
  for (let i = 0; i < ids.length; i += 200) {
    const chunk = ids.slice(i, i + 200);
    const rows = await db.all(
      `SELECT c.external_id AS id, substr(${contactFieldSql("first_name")}, 1, 100) AS first,
        substr(${contactFieldSql("last_name")}, 1, 100) AS last
       FROM contacts c WHERE c.external_id IN (${chunk.map(() => "?").join(",")})`,
      chunk,
    );
    for (const row of rows) {
      const name = [row.first, row.last].filter((p) => typeof p === "string" && p !== "")
        .join(" ");
      if (name !== "") contacts.set(String(row.id), name);
    }
  }
  return { contacts, reps: await repNamesOf(db, calls.map((c) => c.user_id)) };
}

/** When a call happened by its own clock, and how long it lasted. */
export interface CallTiming {
  /** Epoch ms of `dialed_at`, else `answered_at`, else `created_at`; null when none parses. */
  readonly at: number | null;
  /** Talk time (`answered_at` → `completed_at`), else Symbo's conversation duration; null when unknown. */
  readonly durationMs: number | null;
}

/** The call's own time and duration from its data. */
export function callTiming(call: Pick<CallRecord, "data" | "started_at">): CallTiming {
  const ms = (name: string) => parseTime(call.data[name]);
  const at = ms("dialed_at") ?? ms("answered_at") ?? parseTime(call.started_at) ??
    ms("created_at");
  const answered = ms("answered_at");
  const completed = ms("completed_at");
  const conversation = call.data.total_conversation_duration_millis;
  const durationMs = answered !== null && completed !== null && completed >= answered
    ? completed - answered
    : typeof conversation === "number" && Number.isFinite(conversation) && conversation >= 0
    ? conversation
    : null;
  return { at, durationMs };
}

/** The prospect's number: who was called (outbound) or who called (inbound). */
export function prospectNumber(
  call: Pick<CallRecord, "direction" | "from_number" | "to_number">,
): string {
  return (call.direction === "inbound" ? call.from_number : call.to_number) ?? "";
}

const WORDS: Readonly<Record<string, string>> = {
  answered_positive: "Answered, positive",
  answered_negative: "Answered, negative",
  answered_neutral: "Answered, neutral",
  no_answer: "No answer",
  left_voicemail: "Left a voicemail",
  voicemail: "Voicemail",
  busy: "Busy",
  wrong_number: "Wrong number",
  gatekeeper: "Gatekeeper",
  not_interested: "Not interested",
  meeting_booked: "Meeting booked",
  completed: "Completed",
  in_progress: "In progress",
  ringing: "Ringing",
  initiated: "Initiated",
  dialing: "Dialing",
  failed: "Failed",
  canceled: "Canceled",
  cancelled: "Cancelled",
  inbound: "Inbound",
  outbound: "Outbound",
};

/** A Symbo key (`answered_positive`) as words ("Answered, positive"); unknown keys de-snaked. */
export function inWords(key: string | null | undefined): string {
  if (key === null || key === undefined || key === "") return "";
  const known = WORDS[key];
  if (known) return known;
  const words = key.replace(/[_:-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Symbo's transcription (`<br>` between lines) as lines of text; never HTML. */
export function transcriptionLines(value: unknown, maxChars: number): {
  lines: string[];
  cut: number;
} {
  if (typeof value !== "string" || value === "") return { lines: [], cut: 0 };
  const text = value.slice(0, maxChars);
  return {
    lines: text.split(/<br\s*\/?>/i).map((line) => line.replace(/\r?\n$/, "")),
    cut: Math.max(0, value.length - maxChars),
  };
}

function parseTime(value: unknown): number | null {
  if (typeof value !== "string" || value === "") return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}
