/**
 * The console's settings kept in the store (issue 21): the display time zone
 * the operator chose. A missing or unknown value falls back to the configured
 * default (`console.time_zone`).
 */
import { isTimeZone } from "../config/config.ts";
import type { SqlExecutor } from "../store/sql.ts";
import type { WriteTransactionRunner } from "../store/write_transaction.ts";

/** The display time zone, or `fallback` when none was chosen. */
export async function displayZone(db: SqlExecutor, fallback: string): Promise<string> {
  const row = await db.first("SELECT value FROM console_settings WHERE key = 'time_zone'");
  const zone = row?.value === undefined || row.value === null ? "" : String(row.value);
  return zone !== "" && isTimeZone(zone) ? zone : fallback;
}

/** Saves the display time zone; false (nothing saved) when the runtime does not know it. */
export async function saveDisplayZone(
  write: WriteTransactionRunner,
  zone: string,
): Promise<boolean> {
  if (!isTimeZone(zone)) return false;
  await write((db) =>
    db.run(
      `INSERT INTO console_settings (key, value) VALUES ('time_zone', ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      [zone],
    )
  );
  return true;
}
