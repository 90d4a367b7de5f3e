/**
 * When a failed delivery is tried again (pure). The default schedule is close
 * to Svix's: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h after the first attempt
 * (eight attempts over about 28 hours), each delay spread by ±10% jitter so a
 * recovering receiver is not hit by every message at once. A `Retry-After`
 * answer can lengthen a delay (never shorten it) up to a bound.
 */

/** The retry schedule: delays in seconds before attempt 2, 3, …; jitter as a fraction. */
export interface RetryPolicy {
  readonly scheduleSeconds: readonly number[];
  readonly jitter?: number;
  /** The longest wait a `Retry-After` can ask for. */
  readonly maxRetryAfterSeconds?: number;
}

/** The default schedule (seconds after each failed attempt). */
export const DEFAULT_RETRY_SCHEDULE_SECONDS: readonly number[] = [
  5,
  300,
  1_800,
  7_200,
  18_000,
  36_000,
  36_000,
];

/**
 * The delay in ms before the next attempt, after `attemptsMade` attempts all
 * failed; null when the schedule is used up (the message has failed).
 */
export function nextAttemptDelayMs(
  attemptsMade: number,
  policy: RetryPolicy,
  retryAfterMs: number | null,
  random: () => number = Math.random,
): number | null {
  const base = policy.scheduleSeconds[attemptsMade - 1];
  if (base === undefined) return null;
  const jitter = policy.jitter ?? 0.1;
  let delay = base * 1000 * (1 + jitter * (2 * random() - 1));
  if (retryAfterMs !== null) {
    const cap = (policy.maxRetryAfterSeconds ?? 6 * 3600) * 1000;
    delay = Math.max(delay, Math.min(retryAfterMs, cap));
  }
  return Math.max(0, Math.round(delay));
}

/** Reads `Retry-After` (seconds, or an HTTP date) as ms from `now`; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d{1,9}$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isFinite(at) ? Math.max(0, at - now) : null;
}
