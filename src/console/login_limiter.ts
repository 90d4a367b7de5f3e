/**
 * Failed console logins, rate-limited per client: after `maxFailures` wrong
 * tokens within `windowMs`, the client's next try is refused (429) until the
 * oldest failure leaves the window. Bounded in memory: at most `maxClients`
 * clients are tracked; the one tracked longest is forgotten first.
 */

/** The limiter. */
export interface LoginLimiter {
  /** Milliseconds to wait when `client` may not try now, else 0. */
  retryAfterMs(client: string, now: number): number;
  /** Records a wrong token from `client`. */
  fail(client: string, now: number): void;
  /** Forgets `client`'s failures (after a good login). */
  succeed(client: string): void;
}

/** Builds a limiter. */
export function createLoginLimiter(
  options: { maxFailures?: number; windowMs?: number; maxClients?: number } = {},
): LoginLimiter {
  const maxFailures = options.maxFailures ?? 4;
  const windowMs = options.windowMs ?? 60_000;
  const maxClients = options.maxClients ?? 10_000;
  const failures = new Map<string, number[]>();
  const recent = (client: string, now: number) => {
    const times = (failures.get(client) ?? []).filter((t) => t > now - windowMs);
    if (times.length === 0) failures.delete(client);
    else failures.set(client, times);
    return times;
  };
  return {
    retryAfterMs(client, now) {
      const times = recent(client, now);
      if (times.length < maxFailures) return 0;
      return Math.max(1, (times[times.length - maxFailures] ?? now) + windowMs - now);
    },
    fail(client, now) {
      const times = recent(client, now);
      if (!failures.has(client) && failures.size >= maxClients) {
        const oldest = failures.keys().next().value;
        if (oldest !== undefined) failures.delete(oldest);
      }
      failures.set(client, [...times, now].slice(-maxFailures));
    },
    succeed(client) {
      failures.delete(client);
    },
  };
}
