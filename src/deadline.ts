/**
 * Bounding a wait: the one place that races a promise against a timer (request
 * timeouts, readiness probes, remote store calls).
 */

/**
 * Settles like `work`, or, if `ms` pass first, with what `onTimeout` returns
 * (or throws). The timer is always cleared.
 */
export async function withDeadline<T>(
  work: Promise<T> | T,
  ms: number,
  onTimeout: () => T,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<T>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (error) {
        reject(error);
      }
    }, ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}
