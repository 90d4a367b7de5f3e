/**
 * Strict RFC 3339 timestamps. Symbo's own example carries `"023-01-11T20:19:40.000Z"`,
 * which `Date.parse` happily reads as the year 23; here it is simply not a
 * timestamp, so callers keep the raw value and order events by something else.
 */

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

/**
 * Parses an RFC 3339 date-time (`YYYY-MM-DDThh:mm:ss[.fraction](Z|±hh:mm)`) to
 * epoch milliseconds. Every field is range-checked (month, day of that month in
 * that year, hour 00–23, minute, second 00–60 for a leap second, offset); a
 * fraction is truncated to milliseconds. Anything else, including non-strings,
 * 2- or 3-digit years, `24:00:00` and a missing offset, is `null`.
 */
export function parseTimestamp(raw: unknown): number | null {
  if (typeof raw !== "string") return null;
  const match = RFC3339.exec(raw);
  if (match === null) return null;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  const hour = Number(match[4]);
  const minute = Number(match[5]);
  const second = Number(match[6]);
  const millis = Number(((match[7] ?? "") + "000").slice(0, 3));
  const sign = match[8] === "-" ? -1 : 1;
  const offsetHour = Number(match[9] ?? "0");
  const offsetMinute = Number(match[10] ?? "0");
  if (month < 1 || month > 12) return null;
  if (day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 60) return null;
  if (offsetHour > 23 || offsetMinute > 59) return null;
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0–99 to 1900–1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  // A leap second (:60) rolls over to the next minute's first millisecond.
  date.setUTCHours(hour, minute, second, millis);
  return date.getTime() - sign * (offsetHour * 60 + offsetMinute) * 60_000;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}
