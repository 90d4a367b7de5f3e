/**
 * Aggregates of calls for the console's overview: calls per day by
 * disposition, and when the last webhook event arrived.
 */
import type { SqlExecutor } from "../store/sql.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

/** One day's calls, counted by disposition (`""` for none yet). */
export interface CallsOnDay {
  /** `YYYY-MM-DD` (UTC). */
  readonly day: string;
  readonly byDisposition: Readonly<Record<string, number>>;
}

/** The last `days` days up to today (UTC), oldest first, by first sighting. */
export async function callsPerDay(
  db: SqlExecutor,
  now: number,
  days: number,
): Promise<CallsOnDay[]> {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  const first = today - (days - 1) * DAY_MS;
  const rows = await db.all(
    `SELECT first_seen_at / ${DAY_MS} AS day, coalesce(disposition, '') AS disposition,
       COUNT(*) AS n
     FROM calls WHERE first_seen_at >= ? GROUP BY 1, 2`,
    [first],
  );
  const result = new Map<number, Record<string, number>>();
  for (let day = first; day <= today; day += DAY_MS) result.set(day / DAY_MS, {});
  for (const row of rows) {
    const counts = result.get(Number(row.day));
    if (counts) counts[String(row.disposition)] = Number(row.n);
  }
  return [...result].map(([day, byDisposition]) => ({
    day: new Date(day * DAY_MS).toISOString().slice(0, 10),
    byDisposition,
  }));
}

/** Epoch ms of the newest verified webhook event in the store, or null when none. */
export async function lastEventReceivedAt(db: SqlExecutor): Promise<number | null> {
  const row = await db.first("SELECT MAX(received_at) AS at FROM events");
  return row?.at === null || row?.at === undefined ? null : Number(row.at);
}

// A value longer than this is no choice for a filter (and is the sender's to bound, not ours).
const FACET_MAX_BYTES = 200;

/**
 * Distinct dispositions, users and directions of the most recent calls, for
 * the filter choices: bounded work (the newest `sample` calls, by index)
 * whatever the table's size, at most 200 values each, each value at most
 * {@link FACET_MAX_BYTES} (longer ones never leave SQLite: 5,000 rows of
 * megabyte-long labels would not fit the heap).
 */
export async function callFacets(
  db: SqlExecutor,
  sample = 5000,
): Promise<{ dispositions: string[]; users: string[]; directions: string[] }> {
  const short = (column: string) =>
    `CASE WHEN octet_length(${column}) <= ${FACET_MAX_BYTES} THEN ${column} END AS ${column}`;
  const rows = await db.all(
    `SELECT ${short("disposition")}, ${short("user_id")}, ${short("direction")} FROM calls
     ORDER BY first_seen_at DESC, id DESC LIMIT ?`,
    [sample],
  );
  const distinct = (column: string) =>
    [...new Set(rows.map((row) => row[column]).filter((v) => typeof v === "string"))]
      .map(String).sort().slice(0, 200);
  return {
    dispositions: distinct("disposition"),
    users: distinct("user_id"),
    directions: distinct("direction"),
  };
}
