/** Assertions for tests: node:assert/strict, re-exported under familiar names. */
import assert from "node:assert/strict";

export { assert };

/** Deep, strict equality. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  if (message === undefined) assert.deepStrictEqual(actual, expected);
  else assert.deepStrictEqual(actual, expected, message);
}

/** The string matches the pattern. */
export function assertMatch(value: string, pattern: RegExp, message?: string): void {
  if (message === undefined) assert.match(value, pattern);
  else assert.match(value, pattern, message);
}
