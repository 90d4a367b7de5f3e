/**
 * One phone cell of an export → the numbers it holds. Owns undoing what
 * spreadsheets do to numbers (scientific notation, a trailing `.0`, a leading
 * `'`, `="…"`, odd spaces, full-width digits), noticing when a spreadsheet lost
 * digits, and splitting a cell that holds several numbers (`,` `;` ` ::: `
 * `/` `|` newline) without splitting one number written with an extension
 * after a comma or with a `/` between its area code and the rest. Pure, and
 * linear in the cell's length: plain cells take a fast path.
 */
import type { CountryCode } from "libphonenumber-js";
import { normalizePhone } from "./phone.ts";

/** What a phone cell holds. */
export interface PhoneCell {
  /** Distinct E.164 numbers, in the order written (the first fills the field). */
  readonly numbers: readonly string[];
  /** Parts of the cell that are not phone numbers (as written, trimmed). */
  readonly unparsed: readonly string[];
  /** Parts whose digits a spreadsheet lost (e.g. `1.80156E+10`): not guessed at. */
  readonly lostDigits: readonly string[];
}

/** Most numbers taken from one cell; a longer list is a broken column, not a contact's phones. */
export const MAX_NUMBERS_PER_CELL = 20;
/** Longest cell read as phone numbers (20 numbers with separators fit easily). */
const MAX_CELL_LENGTH = 2000;
/** Significant digits a spreadsheet keeps (IEEE double, as Excel shows them). */
const SPREADSHEET_DIGITS = 15;

const EMPTY: PhoneCell = { numbers: [], unparsed: [], lostDigits: [] };
const NON_ASCII = /[^\t\n\r -~]/;
// Zero-width and direction marks that copy-paste leaves in numbers.
const INVISIBLE = /[\u200b-\u200f\u202a-\u202e\u2060\ufeff]/g;
const ODD_SPACE = /\s/g;
const WHITESPACE_RUN = /\s+/g;
const LIST_SEPARATOR = /[,;/|\n\r]|:::/;
const LIST_SPLIT = /:::|[,;/|\n\r]/;
const SCIENTIFIC = /^(\+?)(\d)(?:[.,](\d+))?[eE]\+?(\d{1,2})$/;
const TRAILING_ZERO_DECIMAL = /^(\+?\d+)[.,]0+$/;
const LONG_DIGITS = /^\d{16,}$/;
const FORMULA_TEXT = /^="(.*)"$/s;
const PLAIN_NUMBER = /^\+?[0-9][0-9 ().\-]*$/;
const ZERO_DECIMAL_END = /[.,]0+$/;
// An extension written as its own list item: "ext. 12", "x12", "#4", or a few bare digits.
const EXTENSION_PART = /^(?:(?:ext|extn|extension|x|#)\.?\s*)?\d{1,6}$/i;

/**
 * Undoes a spreadsheet's changes to one written number. Returns the repaired
 * text, or `lost` when the digits cannot be recovered. Text that is not a
 * spreadsheet-damaged number is returned as is (a real decimal stays a decimal).
 */
export function repairNumber(text: string): { text: string; lost: boolean } {
  const scientific = SCIENTIFIC.exec(text);
  if (scientific) {
    const [, plus = "", lead = "", fraction = "", exponent = "0"] = scientific;
    const places = Number(exponent);
    // Exact only when every digit is written out: 1.8015551214E+10 (10 places, 10 digits).
    if (fraction.length === places) return { text: plus + lead + fraction, lost: false };
    if (fraction.length < places) return { text, lost: true };
    return { text, lost: false }; // not an integer: not a number we can repair
  }
  const decimal = TRAILING_ZERO_DECIMAL.exec(text);
  if (decimal) return { text: decimal[1] ?? text, lost: false };
  // More digits than a spreadsheet keeps, padded with zeros: the tail is gone.
  if (LONG_DIGITS.test(text) && /0$/.test(text) && /^0*[1-9]/.test(text)) {
    const significant = text.replace(/^0+/, "").replace(/0+$/, "").length;
    if (significant <= SPREADSHEET_DIGITS && text.replace(/^0+/, "").length > SPREADSHEET_DIGITS) {
      return { text, lost: true };
    }
  }
  return { text, lost: false };
}

/**
 * Cleans a cell of spreadsheet wrapping: odd spaces and full-width characters
 * (NFKC), invisible marks, a leading `'`, and `="…"`.
 */
export function cleanPhoneText(raw: string): string {
  let text = raw;
  if (NON_ASCII.test(text)) {
    text = text.normalize("NFKC").replace(INVISIBLE, "").replace(ODD_SPACE, " ");
  }
  text = text.trim();
  // A leading apostrophe is how spreadsheets (and our rejects file) keep a
  // `+` or leading zeros from being read as a formula or a number.
  if (text.charCodeAt(0) === 39) text = text.slice(1).trim();
  if (text.charCodeAt(0) === 61) { // "="
    const formula = FORMULA_TEXT.exec(text);
    if (formula) text = (formula[1] ?? "").trim();
  }
  return text;
}

/** Reads every number of a phone cell (see the module comment). */
export function readPhoneCell(cell: string, region: CountryCode | undefined): PhoneCell {
  // Runs of padding collapse first (one linear pass), so only real content counts.
  const raw = cell.length > MAX_CELL_LENGTH ? cell.replace(WHITESPACE_RUN, " ") : cell;
  if (raw.length > MAX_CELL_LENGTH) {
    const text = raw.trim();
    return text === "" ? EMPTY : { numbers: [], unparsed: [cut(text)], lostDigits: [] };
  }
  const text = cleanPhoneText(raw);
  if (text === "") return EMPTY;
  // The fast path, for nearly every cell of a real export: one plainly written
  // number that no spreadsheet touched (no list, no `.0`, not 16+ bare digits).
  if (PLAIN_NUMBER.test(text) && !ZERO_DECIMAL_END.test(text) && !LONG_DIGITS.test(text)) {
    const phone = normalizePhone(text, region);
    return phone ? { numbers: [phone.e164], unparsed: [], lostDigits: [] } : single(NOT_READ, text);
  }
  const whole = readOne(text, region);
  // The fast path: one number, no list punctuation.
  if (!LIST_SEPARATOR.test(text)) return single(whole, text);
  // A number in scientific notation with a decimal comma is one number, not a list.
  if (whole.lost || (whole.e164 !== null && whole.repaired)) return single(whole, text);

  const parts = mergeExtensions(
    text.split(LIST_SPLIT).map((p) => p.trim()).filter((p) => p !== ""),
  );
  if (parts.length <= 1) {
    return single(parts[0] === undefined ? whole : readOne(parts[0], region), text);
  }
  const read = parts.map((part) => ({ part, ...readOne(part, region) }));
  const allNumbers = read.every((r) => r.e164 !== null);
  // "030/1234567", "+49 30 1234-567 / 8": not all parts are numbers, but the whole cell is one.
  if (!allNumbers && whole.e164 !== null) return single(whole, text);
  // "n/a": no part is a number either; the cell is reported as written.
  if (read.every((r) => r.e164 === null && !r.lost)) return single(whole, text);
  const numbers: string[] = [];
  const unparsed: string[] = [];
  const lostDigits: string[] = [];
  for (const r of read) {
    if (r.e164 !== null) {
      if (!numbers.includes(r.e164) && numbers.length < MAX_NUMBERS_PER_CELL) numbers.push(r.e164);
    } else if (r.lost) lostDigits.push(r.part);
    else unparsed.push(r.part);
  }
  return { numbers, unparsed, lostDigits };
}

interface ReadOne {
  readonly e164: string | null;
  readonly lost: boolean;
  readonly repaired: boolean;
}

function readOne(text: string, region: CountryCode | undefined): ReadOne {
  const repaired = repairNumber(text);
  if (repaired.lost) return { e164: null, lost: true, repaired: false };
  const phone = normalizePhone(repaired.text, region);
  return { e164: phone?.e164 ?? null, lost: false, repaired: repaired.text !== text };
}

const NOT_READ: ReadOne = { e164: null, lost: false, repaired: false };

function single(one: ReadOne, text: string): PhoneCell {
  if (one.e164 !== null) return { numbers: [one.e164], unparsed: [], lostDigits: [] };
  if (one.lost) return { numbers: [], unparsed: [], lostDigits: [text] };
  return { numbers: [], unparsed: [text], lostDigits: [] };
}

/** "+1 415 555 0134, ext. 12" is one number: an extension item joins the number before it. */
function mergeExtensions(parts: readonly string[]): string[] {
  const merged: string[] = [];
  for (const part of parts) {
    const last = merged.length - 1;
    if (last >= 0 && EXTENSION_PART.test(part)) {
      merged[last] = `${merged[last]} ext. ${part.replace(/^\D+/, "")}`;
    } else {
      merged.push(part);
    }
  }
  return merged;
}

function cut(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
