/** Polling for a condition in tests that wait on another process. */

/** Retries `attempt` every `everyMs` until it returns true; fails after `ms`. */
export async function eventually(
  what: string,
  ms: number,
  attempt: () => Promise<boolean>,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await attempt())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
