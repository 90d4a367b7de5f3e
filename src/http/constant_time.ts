/**
 * Constant-time comparison of secrets (tokens, precomputed signatures): the time
 * taken depends only on the length of the presented value, never on where it
 * first differs from a secret.
 */

/** True when `presented` equals `secret`, compared without an early exit. */
export function constantTimeEqual(presented: string, secret: string): boolean {
  let difference = presented.length ^ secret.length;
  // The secret is walked cyclically (a counter, not `%`: this runs on every lookup).
  const cycle = Math.max(secret.length, 1);
  for (let i = 0, j = 0; i < presented.length; i++) {
    difference |= presented.charCodeAt(i) ^ secret.charCodeAt(j);
    if (++j === cycle) j = 0;
  }
  return difference === 0;
}

/** True when `presented` equals any of `secrets`; every secret is compared. */
export function matchesAny(presented: string, secrets: readonly string[]): boolean {
  let matched = false;
  for (const secret of secrets) matched = constantTimeEqual(presented, secret) || matched;
  return matched;
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | null | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(header);
  return match?.[1] ?? null;
}
