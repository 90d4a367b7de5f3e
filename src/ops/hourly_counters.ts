/**
 * Hourly activity counters for the console's charts (lookups found/unknown,
 * webhooks): incremented in memory on the request path, added to the small
 * `hourly_counters` table by a background flusher, kept for a bounded number
 * of days. Names come from a fixed set, so a client can never add a row kind.
 */
import type { Logger } from "../log/logging.ts";
import type { SqlExecutor } from "../store/sql.ts";
import { periodicFlush } from "./periodic_flush.ts";
import type { WriteTransactionRunner } from "../store/write_transaction.ts";

/** The counters kept per hour. */
export const HOURLY_COUNTER_NAMES = [
  "lookup_found",
  "lookup_unknown",
  "webhook",
  // Rejected webhooks by reason (issue 21); `webhook` counts every request.
  "rejected_signature",
  "rejected_invalid",
  "rejected_too_large",
  "rejected_busy",
] as const;
/** One counter name. */
export type HourlyCounterName = typeof HOURLY_COUNTER_NAMES[number];

const HOUR_MS = 60 * 60 * 1000;

/** What the counters need. */
export interface HourlyCountersDeps {
  readonly write: WriteTransactionRunner;
  /** Hours older than this many days are deleted at each flush (default 30). */
  readonly retentionDays?: number;
  readonly flushIntervalMs?: number;
  readonly clock?: () => Date;
  readonly log?: Logger;
}

/** The in-memory side: `inc()` on the request path, `start()`/`stop()` by the server. */
export interface HourlyCounters {
  inc(name: HourlyCounterName): void;
  flush(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

/** Builds the counters (nothing runs until `start()`). */
export function createHourlyCounters(deps: HourlyCountersDeps): HourlyCounters {
  const clock = deps.clock ?? (() => new Date());
  const nowMs = deps.clock ? () => clock().getTime() : Date.now;
  const retentionMs = (deps.retentionDays ?? 30) * 24 * HOUR_MS;
  // hour -> counts; at most a few hours between flushes.
  let pending = new Map<number, Record<HourlyCounterName, number>>();
  let hourStart = 0;
  let hourEnd = 0;
  let current: Record<HourlyCounterName, number> = zeros();
  const pendingHour = (hour: number) => {
    let counts = pending.get(hour);
    if (!counts) pending.set(hour, counts = zeros());
    return counts;
  };

  const flusher = periodicFlush(async () => {
    const batch = pending;
    pending = new Map();
    // The next inc() starts a fresh entry for its hour.
    hourEnd = 0;
    try {
      if (batch.size === 0) return;
      await deps.write(async (db) => {
        for (const [hour, counts] of batch) {
          for (const name of HOURLY_COUNTER_NAMES) {
            if (counts[name] === 0) continue;
            await db.run(
              `INSERT INTO hourly_counters (hour, name, count) VALUES (?, ?, ?)
               ON CONFLICT (hour, name) DO UPDATE SET count = count + excluded.count`,
              [hour, name, counts[name]],
            );
          }
        }
        await db.run("DELETE FROM hourly_counters WHERE hour < ?", [
          clock().getTime() - retentionMs,
        ]);
      });
    } catch (error) {
      for (const [hour, counts] of batch) {
        const into = pendingHour(hour);
        for (const name of HOURLY_COUNTER_NAMES) into[name] += counts[name];
      }
      deps.log?.warn("Could not write the hourly counters yet, will retry: {error}", {
        error: String(error),
      });
    }
  }, deps.flushIntervalMs ?? 5_000);

  return {
    inc(name) {
      // The current hour's counts are kept at hand: no key built per call.
      const now = nowMs();
      if (now >= hourEnd || now < hourStart) {
        hourStart = Math.floor(now / HOUR_MS) * HOUR_MS;
        hourEnd = hourStart + HOUR_MS;
        current = pendingHour(hourStart);
      }
      current[name]++;
    },
    ...flusher,
  };
}

/** One hour's counts. */
export interface HourlyCounts {
  /** Epoch ms of the hour's start. */
  readonly hour: number;
  readonly counts: Readonly<Record<HourlyCounterName, number>>;
}

/** The last `hours` hours up to the one holding `now`, oldest first, missing hours as zeros. */
export async function recentHourlyCounts(
  db: SqlExecutor,
  now: number,
  hours: number,
): Promise<HourlyCounts[]> {
  const last = Math.floor(now / HOUR_MS) * HOUR_MS;
  const first = last - (hours - 1) * HOUR_MS;
  const rows = await db.all(
    "SELECT hour, name, count FROM hourly_counters WHERE hour >= ? ORDER BY hour",
    [first],
  );
  const byHour = new Map<number, Record<HourlyCounterName, number>>();
  for (let hour = first; hour <= last; hour += HOUR_MS) {
    byHour.set(hour, zeros());
  }
  for (const row of rows) {
    const counts = byHour.get(Number(row.hour));
    const name = String(row.name);
    if (counts && (HOURLY_COUNTER_NAMES as readonly string[]).includes(name)) {
      counts[name as HourlyCounterName] = Number(row.count);
    }
  }
  return [...byHour].map(([hour, counts]) => ({ hour, counts }));
}

function zeros(): Record<HourlyCounterName, number> {
  return Object.fromEntries(HOURLY_COUNTER_NAMES.map((name) => [name, 0])) as Record<
    HourlyCounterName,
    number
  >;
}
