/**
 * When a source runs: `every: "15m"` (slots aligned to the epoch, so every
 * instance computes the same slots) or a cron expression, parsed by `croner`
 * (never by hand). Pure: time comes in as an argument.
 */
import { Cron } from "croner";

/** A source's schedule. */
export interface Schedule {
  /** The first run strictly after `after`. */
  next(after: Date): Date;
  /** The length of the period that starts at `at` (for "has not succeeded for 3 periods"). */
  periodMs(at: Date): number;
  /** As the operator wrote it: "every 15m" or "cron 0 * * * *". */
  readonly text: string;
}

const UNITS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds of an `every` value such as `30s`, `15m`, `2h`, `1d`; null when it is not one. */
export function parseEvery(text: string): number | null {
  const match = /^\s*(\d{1,6})\s*(s|m|h|d)\s*$/.exec(text);
  if (!match) return null;
  const ms = Number(match[1]) * (UNITS[match[2] ?? ""] ?? 0);
  return ms > 0 ? ms : null;
}

/** Why a cron expression is not one croner accepts, or null when it is. */
export function cronProblem(expression: string): string | null {
  try {
    new Cron(expression, { timezone: "UTC", paused: true }).stop();
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** The schedule of `{ every }` or `{ cron }` (validated by the config schema). */
export function createSchedule(
  spec: { every?: string | undefined; cron?: string | undefined },
): Schedule {
  if (spec.cron !== undefined) {
    const cron = new Cron(spec.cron, { timezone: "UTC", paused: true });
    const next = (after: Date) => cron.nextRun(after) ?? new Date(after.getTime() + 86_400_000);
    return {
      next,
      periodMs: (at) => {
        const first = next(at);
        return Math.max(1000, next(first).getTime() - first.getTime());
      },
      text: `cron ${spec.cron}`,
    };
  }
  const ms = parseEvery(spec.every ?? "") ?? 900_000;
  return {
    next: (after) => new Date((Math.floor(after.getTime() / ms) + 1) * ms),
    periodMs: () => ms,
    text: `every ${spec.every}`,
  };
}
