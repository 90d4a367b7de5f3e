/**
 * Writing CSV cells safely: quoted when needed, and cells that a spreadsheet
 * would run as a formula (`= + - @`, tab, carriage return) neutralized with a
 * leading apostrophe.
 */

/** One CSV cell. */
export function csvCell(value: unknown): string {
  let text = value === null || value === undefined ? "" : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = "'" + text;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One CSV line (with its CRLF). */
export function csvLine(values: readonly unknown[]): string {
  return values.map(csvCell).join(",") + "\r\n";
}
