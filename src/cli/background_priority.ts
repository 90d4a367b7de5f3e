/**
 * The CLI import is a batch job that often runs on the same small VM as the
 * server: the dialer's lookups and webhooks must come first (issue 12). It
 * lowers its own CPU priority (nice) before it starts its parsing worker, so
 * the worker inherits it (Linux keeps a nice value per thread; a new thread
 * takes its creator's). Nothing changes when the machine is otherwise idle.
 */
import { getPriority, setPriority } from "node:os";

/** The nice value the import runs at. */
export const BACKGROUND_NICE = 10;

/**
 * Lowers the calling thread's CPU priority to {@link BACKGROUND_NICE} (never
 * raises it). Returns the nice value now in effect, or null when the system
 * refused (then the import just runs at normal priority).
 */
export function runInBackgroundPriority(): number | null {
  try {
    if (getPriority() < BACKGROUND_NICE) setPriority(BACKGROUND_NICE);
    return getPriority();
  } catch {
    return null;
  }
}
