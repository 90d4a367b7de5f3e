/**
 * JSON parsing that keeps every integer exactly as sent. Symbo may send ids
 * as JSON numbers; one beyond 2^53 would be rounded by `JSON.parse`, merging two
 * calls or turning a new event into a "duplicate". Such an integer is kept as a
 * raw JSON value (`JSON.rawJSON`, ES2025), which `JSON.stringify` writes back
 * digit for digit, so stored and served JSON stay exact as well.
 */

/** An integer kept as its exact JSON text. */
export interface RawJson {
  readonly rawJSON: string;
}

/** What a reviver learns about a primitive's source (ES2025 JSON.parse source text access). */
interface ReviverContext {
  readonly source?: string;
}

declare global {
  interface JSON {
    rawJSON(text: string): RawJson;
    isRawJSON(value: unknown): value is RawJson;
    parse(
      text: string,
      reviver: (this: unknown, key: string, value: unknown, context: ReviverContext) => unknown,
    ): unknown;
  }
}

const INTEGER = /^-?\d+$/;
// An integer beyond 2^53 has at least 16 digits: text without such a run of
// digits parses the same either way, and the plain parse is several times faster.
const LONG_DIGITS = /\d{16}/;

function keepExactIntegers(_key: string, value: unknown, context: ReviverContext): unknown {
  if (typeof value !== "number" || Number.isSafeInteger(value)) return value;
  const source = context.source;
  return source !== undefined && INTEGER.test(source) ? JSON.rawJSON(source) : value;
}

/**
 * `JSON.parse`, except that an integer outside the safe range comes back as a
 * {@link RawJson} holding its exact digits instead of a rounded number.
 *
 * @throws {SyntaxError} when the text is not JSON.
 */
export function parseJsonExact(text: string): unknown {
  if (!LONG_DIGITS.test(text)) return JSON.parse(text);
  return JSON.parse(text, keepExactIntegers);
}

/** True for an integer kept by {@link parseJsonExact}. */
export function isRawJson(value: unknown): value is RawJson {
  return JSON.isRawJSON(value);
}
