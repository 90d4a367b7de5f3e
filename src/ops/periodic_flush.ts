/**
 * The loop behind every buffer that is written to the store now and then
 * (unknown numbers, hourly counters, rejected webhooks): one flush at a time
 * (a second caller waits for the running one), every `intervalMs` once
 * started (an unref'd timer: it never keeps the process alive), and a last
 * flush on stop.
 */

/** What a buffered recorder exposes to the server. */
export interface PeriodicFlush {
  /** Writes what is buffered now; resolves when it is written (or put back). */
  flush(): Promise<void>;
  start(): void;
  /** Stops the timer and writes what is left. */
  stop(): Promise<void>;
}

/** Runs `writeOnce` one at a time, every `intervalMs` after `start()`. */
export function periodicFlush(writeOnce: () => Promise<void>, intervalMs: number): PeriodicFlush {
  let timer: ReturnType<typeof setInterval> | undefined;
  let flushing: Promise<void> | null = null;
  const flush = () => {
    // Reset in a callback, never synchronously: a flush with nothing to do must
    // not leave a settled promise behind.
    flushing ??= writeOnce().finally(() => {
      flushing = null;
    });
    return flushing;
  };
  return {
    flush,
    start() {
      if (timer !== undefined) return;
      timer = setInterval(() => void flush(), intervalMs);
      Deno.unrefTimer(timer);
    },
    async stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await flushing;
      await flush();
    },
  };
}
