/**
 * Writing CSV cells safely: quoted when needed, and cells that a spreadsheet
 * would run as a formula (`= + - @`, tab, carriage return) neutralized with a
 * leading apostrophe (CSV injection). Used by every CSV this service writes.
 */

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",;\t\r\n]|^\s|\s$/;

/** One CSV cell. */
export function csvCell(value: unknown): string {
  const text = value === null || value === undefined ? "" : String(value);
  const safe = FORMULA_START.test(text) ? "'" + text : text;
  return NEEDS_QUOTES.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** One CSV line (with its CRLF). */
export function csvLine(values: readonly unknown[]): string {
  return values.map(csvCell).join(",") + "\r\n";
}
