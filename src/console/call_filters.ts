/**
 * The call list's filters as the operator types them (issue 21 item 4):
 * relative ranges (today, yesterday, this week, last 7 days) or dates, in the
 * display time zone, by the call's own time or by its arrival; a phone number
 * in any format; rep, disposition, direction, contact, words in the note.
 * Pure: the URL, the clock, the zone and the region in, a search out.
 */
import type { CountryCode } from "libphonenumber-js";
import type { CallSearch } from "../calls/call_search.ts";
import { normalizePhone } from "../contacts/phone.ts";
import { zonedDayStart, zonedParts } from "./display_time.ts";

/** The filter form's values as typed (echoed back into the form and the links). */
export interface CallFilterForm {
  readonly range: string;
  readonly from: string;
  readonly to: string;
  /** `call` (the call's own time, the default) or `received`. */
  readonly by: string;
  readonly number: string;
  readonly user: string;
  readonly disposition: string;
  readonly direction: string;
  readonly contact: string;
  readonly note: string;
}

/** The relative ranges, in the form's order. */
export const RANGES = [
  ["", "Any time (or the dates)"],
  ["today", "Today"],
  ["yesterday", "Yesterday"],
  ["this_week", "This week (from Monday)"],
  ["last_7_days", "Last 7 days"],
] as const;

const DAY_MS = 86_400_000;

/** The form from a URL's query. */
export function callFilterForm(url: URL): CallFilterForm {
  const get = (name: string) => (url.searchParams.get(name) ?? "").trim().slice(0, 200);
  return {
    range: get("range"),
    from: get("from"),
    to: get("to"),
    by: get("by") === "received" ? "received" : "",
    number: get("number"),
    user: get("user"),
    disposition: get("disposition"),
    direction: get("direction"),
    contact: get("contact"),
    note: get("note"),
  };
}

/** The search a form means, or the error to show (then the search has no time bounds). */
export function callSearchOf(
  form: CallFilterForm,
  now: number,
  zone: string,
  region: CountryCode | undefined,
): { search: CallSearch; error?: string; rangeText?: string } {
  const errors: string[] = [];
  let start: number | undefined;
  let end: number | undefined;
  const today = zonedDayStart(zonedParts(now, zone).date, zone) ?? now;
  const dayAfter = (ms: number) =>
    zonedDayStart(zonedParts(ms + DAY_MS + 3_600_000 * 3, zone).date, zone) ?? ms + DAY_MS;
  switch (form.range) {
    case "today":
      start = today;
      end = dayAfter(today);
      break;
    case "yesterday":
      start = zonedDayStart(zonedParts(today - 3_600_000 * 3, zone).date, zone);
      end = today;
      break;
    case "this_week": {
      const weekday = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].indexOf(
        zonedParts(now, zone).weekday,
      );
      let monday = today;
      for (let i = 0; i < weekday; i++) {
        monday = zonedDayStart(zonedParts(monday - 3_600_000 * 3, zone).date, zone) ?? monday;
      }
      start = monday;
      end = dayAfter(today);
      break;
    }
    case "last_7_days":
      start = now - 7 * DAY_MS;
      end = now + 1;
      break;
    default: {
      start = form.from === "" ? undefined : zonedDayStart(form.from, zone);
      const to = form.to === "" ? undefined : zonedDayStart(form.to, zone);
      end = to === undefined ? undefined : dayAfter(to);
      if ((form.from !== "" && start === undefined) || (form.to !== "" && to === undefined)) {
        errors.push("Dates are YYYY-MM-DD.");
      }
    }
  }
  let number: string | undefined;
  if (form.number !== "") {
    number = normalizePhone(form.number, region)?.e164;
    if (number === undefined) errors.push(`"${form.number}" is not a phone number.`);
  }
  const byCall = form.by !== "received";
  const search: CallSearch = {
    contact: form.contact,
    user: form.user,
    disposition: form.disposition,
    direction: form.direction,
    note: form.note,
    number,
    ...(byCall
      ? {
        calledFrom: start === undefined ? undefined : new Date(start).toISOString(),
        calledTo: end === undefined ? undefined : new Date(end).toISOString(),
      }
      : { from: start, to: end }),
  };
  return {
    search,
    ...(errors.length > 0 ? { error: errors.join(" ") } : {}),
  };
}

/** The form's non-empty values as a query string (for the pager and the CSV link). */
export function formQuery(form: CallFilterForm): URLSearchParams {
  return new URLSearchParams(Object.entries(form).filter(([, v]) => v !== ""));
}
