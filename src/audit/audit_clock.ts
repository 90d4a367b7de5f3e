/**
 * The audit folder's view of time. Day files are named by the UTC day and
 * retention and compaction act on days by age, so a wall clock that jumps
 * forward (a bad NTP step, a mis-set clock) could put every later line in a
 * far-future file and make today's day look expired. Two guards:
 *
 * - {@link steadyClock}: while the process runs, the wall clock is followed
 *   only as far as the monotonic clock says time has passed; a forward step
 *   is ignored (a restart takes the new time).
 * - {@link dayToWrite}: a new day file is opened only up to
 *   {@link MAX_DAYS_AHEAD} days past the newest one on disk (more than that at
 *   start is taken for a wrong clock, not for downtime).
 */

/** How many days past the newest audit day a new day file may be opened at start. */
export const MAX_DAYS_AHEAD = 7;

/**
 * A forward step up to this is followed: an NTP correction, or a host that was
 * suspended (the monotonic clock stands still meanwhile). Only steps that could
 * move lines past a day (or days into retention) are refused.
 */
const STEP_TOLERANCE_MS = 60 * 60 * 1000;
const DAY_MS = 86_400_000;

/** Options for {@link steadyClock}. */
export interface SteadyClockOptions {
  /** A clock that never steps (ms); `performance.now` by default. */
  readonly monotonicMs?: () => number;
  /** Told once per step that is not followed. */
  readonly onStep?: (message: string) => void;
}

/**
 * `wall`, except that it never runs ahead of the time that has passed since
 * this clock was made (by the monotonic clock) by more than an hour: a larger
 * forward step is not followed. Backward steps are (the writer never goes
 * back to an older file, and retention then only keeps more).
 */
export function steadyClock(wall: () => Date, options: SteadyClockOptions = {}): () => Date {
  const monotonicMs = options.monotonicMs ?? (() => performance.now());
  const baseWall = wall().getTime();
  const baseMono = monotonicMs();
  let warnedFor: number | null = null;
  return () => {
    const now = wall().getTime();
    const expected = baseWall + (monotonicMs() - baseMono);
    if (now <= expected + STEP_TOLERANCE_MS) return new Date(now);
    const step = Math.round((now - expected) / 1000);
    // Once per step (a step's size stays about the same while it lasts).
    if (warnedFor === null || Math.abs(warnedFor - step) > STEP_TOLERANCE_MS / 1000) {
      warnedFor = step;
      options.onStep?.(
        `the system clock jumped ${step} s ahead of the time that has passed (it reads ` +
          `${new Date(now).toISOString()}); audit day files, compaction and retention keep ` +
          `to ${new Date(expected).toISOString()} until the service is restarted`,
      );
    }
    return new Date(expected);
  };
}

/** The UTC day of `date`, `YYYY-MM-DD`. */
export function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** Whole days from `from` to `to` (both `YYYY-MM-DD`; negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS);
}

/** Where a line goes, and the day it was refused when the clock is too far ahead. */
export interface DayToWrite {
  readonly day: string;
  /** The clock's day when it was refused (the line went to `day`, the newest), else null. */
  readonly refused: string | null;
}

/**
 * The day a line written at clock day `today` goes to: never a day older than
 * the newest day file (a clock stepped back), and never one more than
 * `maxDaysAhead` past it (a clock that jumped forward): then the newest.
 */
export function dayToWrite(
  today: string,
  newestDay: string | null,
  maxDaysAhead: number = MAX_DAYS_AHEAD,
): DayToWrite {
  if (newestDay === null || today === newestDay) return { day: today, refused: null };
  if (today < newestDay) return { day: newestDay, refused: null };
  if (daysBetween(newestDay, today) > maxDaysAhead) return { day: newestDay, refused: today };
  return { day: today, refused: null };
}
