/**
 * Unknown numbers: every lookup that found no contact, aggregated per number
 * (count, first and last seen) so the CRM team can fix its data. Recording is a
 * map update on the lookup's path; a background flusher writes the buffer to
 * the store in one transaction every few seconds, keeps the table under a row
 * cap (the least recently seen go first) and drops rows older than the
 * retention. A store that is busy or down only delays a flush.
 */
import { recordFirstDial } from "../outbound/outbox.ts";
import type { CountryCode } from "libphonenumber-js";
import type { Logger } from "../log/logging.ts";
import type { SqlExecutor } from "../store/sql.ts";
import { periodicFlush } from "../ops/periodic_flush.ts";
import type { WriteTransactionRunner } from "../store/write_transaction.ts";
import { looksLikeE164, normalizePhone, restoreQueryPlus } from "./phone.ts";

/** One number no contact has. */
export interface UnknownNumber {
  /** E.164 when the number parses, else the text as dialed (cut to 64 characters). */
  readonly number: string;
  readonly count: number;
  /** Epoch ms. */
  readonly first_seen_at: number;
  /** Epoch ms. */
  readonly last_seen_at: number;
}

/** What the recorder needs. */
export interface UnknownNumbersDeps {
  readonly write: WriteTransactionRunner;
  readonly defaultRegion: CountryCode | undefined;
  /** The table never holds more rows than this. */
  readonly maxRows: number;
  /** Rows not seen for this many days are deleted. */
  readonly retentionDays: number;
  /** How often the buffer is written (default 5 s). */
  readonly flushIntervalMs?: number;
  /** Distinct numbers held between flushes; more are counted as dropped (default 10,000). */
  readonly maxBuffered?: number;
  readonly clock?: () => Date;
  readonly log?: Logger;
}

/** The recorder: `record()` on the hot path, `start()`/`stop()` by the server. */
export interface UnknownNumbersRecorder {
  /** Notes one lookup that found no contact (a map update; never waits). */
  record(rawNumber: string): void;
  /** Writes what is buffered now (tests, shutdown). */
  flush(): Promise<void>;
  /** Starts the periodic flush. */
  start(): void;
  /** Stops it after a last flush. */
  stop(): Promise<void>;
  /** Numbers recorded and not yet written; numbers dropped because the buffer was full. */
  stats(): { buffered: number; dropped: number };
}

interface Pending {
  count: number;
  first: number;
  last: number;
}

const MAX_NUMBER_LENGTH = 64;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Builds the recorder (nothing runs until `start()`). */
export function createUnknownNumbersRecorder(deps: UnknownNumbersDeps): UnknownNumbersRecorder {
  const clock = deps.clock ?? (() => new Date());
  // Date.now() on the lookup's path: a Date object per lookup is measurable there.
  const nowMs = deps.clock ? () => clock().getTime() : Date.now;
  const maxBuffered = deps.maxBuffered ?? 10_000;
  const interval = deps.flushIntervalMs ?? 5_000;
  let buffer = new Map<string, Pending>();
  let dropped = 0;

  const writeBatch = async (batch: Map<string, Pending>) => {
    const now = clock().getTime();
    // Normalizing costs ~8 µs a number: done here, off the lookup's path.
    const merged = new Map<string, Pending>();
    for (const [raw, pending] of batch) {
      const key = canonicalNumber(raw, deps.defaultRegion);
      const seen = merged.get(key);
      if (!seen) merged.set(key, { ...pending });
      else {
        seen.count += pending.count;
        seen.first = Math.min(seen.first, pending.first);
        seen.last = Math.max(seen.last, pending.last);
      }
    }
    await deps.write(async (db) => {
      for (const [number, p] of merged) {
        const row = await db.first(
          `INSERT INTO unknown_numbers (number, count, first_seen_at, last_seen_at)
           VALUES (?, ?, ?, ?)
           ON CONFLICT (number) DO UPDATE SET
             count = count + excluded.count,
             first_seen_at = min(first_seen_at, excluded.first_seen_at),
             last_seen_at = max(last_seen_at, excluded.last_seen_at)
           RETURNING count`,
          [number, p.count, p.first, p.last],
        );
        // A new row (its count is this batch's): a CRM endpoint may want to create a lead.
        if (Number(row?.count) === p.count) {
          await recordFirstDial(db, { number, firstSeenAt: p.first, at: now });
        }
      }
      await pruneUnknownNumbers(db, deps.maxRows, now - deps.retentionDays * DAY_MS);
    });
  };

  const flusher = periodicFlush(async () => {
    while (buffer.size > 0) {
      const batch = buffer;
      buffer = new Map();
      try {
        await writeBatch(batch);
      } catch (error) {
        // Put the batch back (bounded): the next tick retries it.
        for (const [raw, p] of batch) merge(raw, p);
        deps.log?.warn("Could not record unknown numbers yet, will retry: {error}", {
          error: String(error),
        });
        return;
      }
    }
  }, interval);

  const merge = (raw: string, p: Pending) => {
    const seen = buffer.get(raw);
    if (seen) {
      seen.count += p.count;
      seen.first = Math.min(seen.first, p.first);
      seen.last = Math.max(seen.last, p.last);
    } else if (buffer.size < maxBuffered) {
      buffer.set(raw, { ...p });
    } else {
      dropped += p.count;
    }
  };

  return {
    record(rawNumber) {
      const raw = rawNumber.length > MAX_NUMBER_LENGTH
        ? rawNumber.slice(0, MAX_NUMBER_LENGTH)
        : rawNumber;
      const now = nowMs();
      const seen = buffer.get(raw);
      if (seen) {
        seen.count++;
        seen.last = now;
      } else if (buffer.size < maxBuffered) {
        buffer.set(raw, { count: 1, first: now, last: now });
      } else {
        dropped++;
      }
    },
    ...flusher,
    stats: () => ({ buffered: buffer.size, dropped }),
  };
}

/** The key a dialed number is kept under: E.164 when it parses, else its text trimmed. */
export function canonicalNumber(raw: string, region: CountryCode | undefined): string {
  const text = restoreQueryPlus(raw).trim();
  // Symbo sends E.164: kept as it is, without the parser's ~8 µs.
  if (looksLikeE164(text)) return text;
  return normalizePhone(text, region)?.e164 ?? text.slice(0, MAX_NUMBER_LENGTH);
}

/** Deletes rows last seen before `olderThan` (epoch ms), then the least recent over `maxRows`. */
export async function pruneUnknownNumbers(
  db: SqlExecutor,
  maxRows: number,
  olderThan: number,
): Promise<void> {
  await db.run("DELETE FROM unknown_numbers WHERE last_seen_at < ?", [olderThan]);
  const row = await db.first("SELECT COUNT(*) AS n FROM unknown_numbers");
  const excess = Number(row?.n ?? 0) - maxRows;
  if (excess > 0) {
    await db.run(
      `DELETE FROM unknown_numbers WHERE number IN (
         SELECT number FROM unknown_numbers ORDER BY last_seen_at, number LIMIT ?)`,
      [excess],
    );
  }
}

/** One page of unknown numbers, most recently seen first. */
export interface UnknownNumberPage {
  readonly numbers: UnknownNumber[];
  readonly total: number;
  /** Pass as `offset` for the next page; null at the end. */
  readonly next_offset: number | null;
}

/** Most recently seen first, `limit` from `offset` (the table is capped, so offsets stay cheap). */
export async function listUnknownNumbers(
  db: SqlExecutor,
  limit: number,
  offset: number,
  /** Only numbers last dialed in `[from, to)` (epoch ms; the console's date range). */
  seen: { readonly from?: number | undefined; readonly to?: number | undefined } = {},
): Promise<UnknownNumberPage> {
  const where: string[] = [];
  const args: number[] = [];
  if (seen.from !== undefined) {
    where.push("last_seen_at >= ?");
    args.push(seen.from);
  }
  if (seen.to !== undefined) {
    where.push("last_seen_at < ?");
    args.push(seen.to);
  }
  const filter = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
  const rows = await db.all(
    `SELECT number, count, first_seen_at, last_seen_at FROM unknown_numbers ${filter}
     ORDER BY last_seen_at DESC, number LIMIT ? OFFSET ?`,
    [...args, limit + 1, offset],
  );
  const total = Number(
    (await db.first(`SELECT COUNT(*) AS n FROM unknown_numbers ${filter}`, args))?.n ?? 0,
  );
  const numbers = rows.slice(0, limit).map(unknownNumber);
  return { numbers, total, next_offset: rows.length > limit ? offset + limit : null };
}

/** Every unknown number, most recently seen first, a page at a time (for the CSV). */
export async function* allUnknownNumbers(
  db: SqlExecutor,
  pageSize = 1000,
): AsyncGenerator<UnknownNumber> {
  for (let offset = 0;; offset += pageSize) {
    const page = await listUnknownNumbers(db, pageSize, offset);
    yield* page.numbers;
    if (page.next_offset === null) return;
  }
}

function unknownNumber(row: Readonly<Record<string, unknown>>): UnknownNumber {
  return {
    number: String(row.number),
    count: Number(row.count),
    first_seen_at: Number(row.first_seen_at),
    last_seen_at: Number(row.last_seen_at),
  };
}
