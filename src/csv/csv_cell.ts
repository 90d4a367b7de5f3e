/**
 * Writing CSV cells safely: quoted when needed, objects and arrays written as
 * JSON text, and cells that a spreadsheet would run as a formula neutralized
 * with a leading apostrophe (CSV injection). Spreadsheets skip leading blanks
 * before deciding that a cell is a formula, and some accept the full-width
 * signs too, so the first non-blank character decides. Used by every CSV this
 * service writes.
 */

/**
 * Blanks a spreadsheet may skip before a formula sign: ASCII whitespace, every
 * Unicode space separator (NBSP, en/em spaces, ideographic space, …), and the
 * zero-width characters (ZWSP, ZWNJ, ZWJ, word joiner, BOM).
 */
const BLANK = "[\\s\\p{Zs}\\u200B-\\u200D\\u2060\\uFEFF]";

/** `= + - @`, their full-width forms, and tab / carriage return. */
const TRIGGER = "[=+\\-@\\t\\r\\uFF1D\\uFF0B\\uFF0D\\uFF20]";

// Tab and CR are blanks as well as triggers: a cell whose blank prefix holds
// one of them is neutralized too (backtracking finds it).
const FORMULA_START = new RegExp(`^${BLANK}*${TRIGGER}`, "u");
const NEEDS_QUOTES = /[",;\t\r\n]|^\s|\s$/;

/** The text of a cell: JSON for objects and arrays, `""` for null and undefined. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value) ?? "";
  return String(value);
}

/** True when a spreadsheet would read the text as a formula. */
export function isFormulaLike(text: string): boolean {
  return FORMULA_START.test(text);
}

/** One CSV cell. */
export function csvCell(value: unknown): string {
  const text = cellText(value);
  const safe = isFormulaLike(text) ? "'" + text : text;
  return NEEDS_QUOTES.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** One CSV line (with its CRLF). */
export function csvLine(values: readonly unknown[]): string {
  return values.map(csvCell).join(",") + "\r\n";
}
