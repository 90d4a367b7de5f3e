/**
 * Phone number normalization: every number we store, index or look up goes
 * through here, so imports and lookups can never disagree about a number's form.
 * The parsing itself is libphonenumber-js's (trunk prefixes, international
 * prefixes and extensions are its job, not ours).
 */
import {
  type CountryCode,
  isSupportedCountry,
  parsePhoneNumberFromString,
} from "libphonenumber-js";

/** A number in E.164 form, with the extension that was split off (if any). */
export interface NormalizedPhone {
  readonly e164: string;
  readonly extension: string | null;
}

/** Upper-cases a region code and returns it when libphonenumber knows it. */
export function toRegion(code: string | null | undefined): CountryCode | undefined {
  if (!code) return undefined;
  const upper = code.trim().toUpperCase();
  return isSupportedCountry(upper) ? upper : undefined;
}

/**
 * Parses `raw` (any common written form: `+1 (800) 555-1212`, `800.555.1212 x12`,
 * `020 7946 0958` with region GB, `0044 …`) into E.164. Returns null when the
 * text is not a possible phone number for the region.
 */
export function normalizePhone(raw: string, region?: CountryCode): NormalizedPhone | null {
  const text = raw.trim();
  if (text === "" || text.length > 64) return null;
  const parsed = parsePhoneNumberFromString(withoutPunctuation(text), region);
  if (!parsed || !parsed.isPossible()) return null;
  return { e164: parsed.number, extension: parsed.ext ?? null };
}

const PLAIN_WRITTEN_NUMBER = /^\+?[0-9][0-9 ().\-]*$/;
const PUNCTUATION = /[ ().\-]/g;

/**
 * Drops the spaces, dots, dashes and parentheses of a plainly written number
 * (`+1 (415) 555-0134` → `+14155550134`) before libphonenumber sees it. The
 * parser ignores those characters anyway, but matching them costs it a third
 * of its time; text with letters, `#`, `/` or anything else is passed through
 * untouched. tests/contacts/phone_test.ts checks that the result never differs.
 */
export function withoutPunctuation(text: string): string {
  return PLAIN_WRITTEN_NUMBER.test(text) ? text.replace(PUNCTUATION, "") : text;
}

const CANONICAL_E164 = /^\+[1-9][0-9]{6,14}$/;

/** True when `text` already has the shape of an E.164 number (`+` and 7–15 digits). */
export function looksLikeE164(text: string): boolean {
  return CANONICAL_E164.test(text);
}

/**
 * Reads a `number` query parameter: a `+` that was not percent-encoded arrives
 * as a space (`" 18005551212"`), so a leading space before a digit is read as `+`.
 */
export function restoreQueryPlus(rawParam: string): string {
  return (/^ +[0-9]/.test(rawParam) ? "+" + rawParam.trimStart() : rawParam).trim();
}

/**
 * Turns the `number` query parameter of a lookup into the forms worth probing,
 * most likely first. A `+` that was not percent-encoded arrives as a space
 * (`" 18005551212"`), so a leading space is read as `+`.
 */
export function lookupCandidates(rawParam: string, region?: CountryCode): string[] {
  const text = restoreQueryPlus(rawParam);
  const candidates: string[] = [];
  if (looksLikeE164(text)) candidates.push(text);
  const normalized = normalizePhone(text, region);
  if (normalized && !candidates.includes(normalized.e164)) candidates.push(normalized.e164);
  return candidates;
}
