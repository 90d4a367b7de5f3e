/**
 * Reading fields of parsed JSON (from wrk, the load generator, the cache)
 * without type assertions: every value is `unknown` until checked.
 */

/** The own property `key` of `value` when it is an object, else undefined. */
export function field(value: unknown, key: string): unknown {
  if (typeof value !== "object" || value === null) return undefined;
  const descriptor: PropertyDescriptor | undefined = Object.getOwnPropertyDescriptor(value, key);
  const found: unknown = descriptor?.value;
  return found;
}

/** The number at `key`; throws naming `what` when it is missing. */
export function numberField(value: unknown, key: string, what: string): number {
  const found = field(value, key);
  if (typeof found !== "number") throw new Error(`${what}: expected a number at "${key}"`);
  return found;
}

/** The string at `key`; throws naming `what` when it is missing. */
export function stringField(value: unknown, key: string, what: string): string {
  const found = field(value, key);
  if (typeof found !== "string") throw new Error(`${what}: expected a string at "${key}"`);
  return found;
}
