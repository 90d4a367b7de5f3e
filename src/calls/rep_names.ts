/**
 * Names for Symbo's user ids (issue 21): Symbo sends a rep as a UUID; the
 * operator gives each one a name in the console, kept in the store, and
 * every call list and call page shows the name.
 */
import type { SqlExecutor } from "../store/sql.ts";
import type { WriteTransactionRunner } from "../store/write_transaction.ts";

/** Longest user id and name kept. */
export const MAX_REP_FIELD_CHARS = 200;
/** Most names kept (a team, not a directory). */
export const MAX_REP_NAMES = 5000;

/** One mapping. */
export interface RepName {
  readonly user_id: string;
  readonly name: string;
}

/** Every mapping, by name. */
export async function listRepNames(db: SqlExecutor): Promise<RepName[]> {
  const rows = await db.all("SELECT user_id, name FROM rep_names ORDER BY name, user_id LIMIT ?", [
    MAX_REP_NAMES,
  ]);
  return rows.map((row) => ({ user_id: String(row.user_id), name: String(row.name) }));
}

/** The names of `userIds` that have one. */
export async function repNamesOf(
  db: SqlExecutor,
  userIds: readonly (string | null)[],
): Promise<Map<string, string>> {
  const ids = [...new Set(userIds.filter((id): id is string => id !== null && id !== ""))];
  const names = new Map<string, string>();
  // Chunks keep each statement's parameters well under SQLite's limit.
  for (let i = 0; i < ids.length; i += 200) {
    const chunk = ids.slice(i, i + 200);
    const rows = await db.all(
      `SELECT user_id, name FROM rep_names WHERE user_id IN (${chunk.map(() => "?").join(",")})`,
      chunk,
    );
    for (const row of rows) names.set(String(row.user_id), String(row.name));
  }
  return names;
}

/** Why a mapping was refused. */
export class RepNameError extends Error {}

/** Sets (or, with an empty name, removes) the name of `userId`. */
export async function saveRepName(
  write: WriteTransactionRunner,
  userId: string,
  name: string,
): Promise<void> {
  const id = userId.trim();
  const label = name.trim().replace(/\s+/g, " ");
  if (id === "" || id.length > MAX_REP_FIELD_CHARS) {
    throw new RepNameError(`A user id is 1 to ${MAX_REP_FIELD_CHARS} characters.`);
  }
  if (label.length > MAX_REP_FIELD_CHARS) {
    throw new RepNameError(`A name is at most ${MAX_REP_FIELD_CHARS} characters.`);
  }
  await write(async (db) => {
    if (label === "") {
      await db.run("DELETE FROM rep_names WHERE user_id = ?", [id]);
      return;
    }
    const count = await db.first("SELECT COUNT(*) AS n FROM rep_names");
    const exists = await db.first("SELECT 1 AS y FROM rep_names WHERE user_id = ?", [id]);
    if (!exists && Number(count?.n ?? 0) >= MAX_REP_NAMES) {
      throw new RepNameError(`At most ${MAX_REP_NAMES} names are kept.`);
    }
    await db.run(
      `INSERT INTO rep_names (user_id, name) VALUES (?, ?)
       ON CONFLICT (user_id) DO UPDATE SET name = excluded.name`,
      [id, label],
    );
  });
}
