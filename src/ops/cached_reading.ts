/**
 * A reading that is costly to take (a `COUNT(*)` over a million rows runs on
 * the JavaScript thread and holds every lookup back meanwhile): taken at most
 * once per `maxAgeMs`, whatever the scrape rate. Between takes the last value
 * is answered; a stale value starts a new take in the background and is
 * answered meanwhile, so only the very first read waits.
 */
export function cachedReading(
  read: () => Promise<number>,
  maxAgeMs: number,
  now: () => number = () => performance.now(),
): () => Promise<number> {
  let value: number | null = null;
  let takenAt = -Infinity;
  let taking: Promise<number> | null = null;
  const take = () => {
    taking ??= read().then((fresh) => {
      value = fresh;
      takenAt = now();
      return fresh;
    }).finally(() => {
      taking = null;
    });
    return taking;
  };
  return () => {
    if (value === null) return take();
    if (now() - takenAt >= maxAgeMs) take().catch(() => {});
    return Promise.resolve(value);
  };
}
