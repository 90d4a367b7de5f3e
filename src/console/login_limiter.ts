/**
 * Failed console logins, rate-limited per client and in all: after
 * `maxFailures` wrong tokens from one client within `windowMs`, that client's
 * next try is refused (429) until the oldest failure leaves the window; after
 * `maxGlobalFailures` wrong tokens from all clients together, every try is
 * refused the same way. The per-client limit alone let 50 addresses try 200
 * tokens a minute; the global cap bounds guessing whatever the number of
 * addresses, at the price that a flood of wrong tokens also keeps the
 * operator out of the console for a minute (the admin API and the CLI are not
 * affected). Bounded in memory: at most `maxClients` clients are tracked; the
 * one tracked longest is forgotten first.
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
  options: {
    maxFailures?: number;
    maxGlobalFailures?: number;
    windowMs?: number;
    maxClients?: number;
  } = {},
): LoginLimiter {
  const maxFailures = options.maxFailures ?? 4;
  const maxGlobalFailures = options.maxGlobalFailures ?? 20;
  const windowMs = options.windowMs ?? 60_000;
  const maxClients = options.maxClients ?? 10_000;
  const failures = new Map<string, number[]>();
  // The latest wrong tokens from anyone, at most maxGlobalFailures of them.
  let everyone: number[] = [];
  const wait = (times: readonly number[], max: number, now: number) =>
    times.length < max ? 0 : Math.max(1, (times[times.length - max] ?? now) + windowMs - now);
  const recent = (client: string, now: number) => {
    const times = (failures.get(client) ?? []).filter((t) => t > now - windowMs);
    if (times.length === 0) failures.delete(client);
    else failures.set(client, times);
    return times;
  };
  return {
    retryAfterMs(client, now) {
      everyone = everyone.filter((t) => t > now - windowMs);
      return Math.max(
        wait(recent(client, now), maxFailures, now),
        wait(everyone, maxGlobalFailures, now),
      );
    },
    fail(client, now) {
      everyone = [...everyone.filter((t) => t > now - windowMs), now].slice(-maxGlobalFailures);
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
