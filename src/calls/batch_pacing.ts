/**
 * How many audit lines the applier's next write transaction takes. On a local
 * store the transaction runs on the thread that answers lookups, so a batch is
 * a pause in the dialer's answers: after an import (or any outage) thousands
 * of lines wait, and batches of a fixed 64 held lookups for up to 24 ms each
 * (measured during a 1M-row import). Sized by time instead, from what the last
 * batch cost per line: about `targetMs` per batch, at least one line, at most
 * `max`, and growing no faster than doubling (one cheap batch proves little).
 */

/** The size of the next batch, from the size and duration of the last one. */
export function nextBatchSize(options: {
  readonly max: number;
  readonly targetMs: number;
  readonly lastSize: number;
  readonly lastMs: number;
}): number {
  const { max, targetMs, lastSize, lastMs } = options;
  if (lastSize <= 0) return max;
  const perLineMs = lastMs / lastSize;
  const fits = perLineMs > 0 ? Math.floor(targetMs / perLineMs) : max;
  return Math.max(1, Math.min(max, fits, lastSize * 2));
}
