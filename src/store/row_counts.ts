/**
 * Row counts kept by triggers (migration 10) for the tables /metrics reports:
 * one indexed read instead of a `COUNT(*)` that visits every page.
 */
import type { SqlExecutor } from "./sql.ts";

/** The tables whose rows are counted. */
export type CountedTable = "contacts" | "calls";

/** The number of rows of `table`, as its triggers counted them. */
export async function countedRows(db: SqlExecutor, table: CountedTable): Promise<number> {
  const row = await db.first("SELECT n FROM row_counts WHERE name = ?", [table]);
  return row ? Number(row.n) : 0;
}
