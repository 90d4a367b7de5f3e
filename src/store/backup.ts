/**
 * Online backup of the store to a new owner-only SQLite file, in every mode:
 *
 * - a local file: `VACUUM INTO`, one consistent snapshot written by SQLite itself;
 * - a remote server or an embedded replica's primary: a libSQL server refuses
 *   `VACUUM INTO` (it would write on the server's disk anyway), and an embedded
 *   replica refuses it too, so the schema and rows are copied from one read
 *   transaction on the server (one snapshot), page by page, into a local file.
 *
 * Either way the backup is a plain SQLite file that `file:` URLs open directly,
 * and it is written under a temporary name and linked into place, so a failed
 * or interrupted backup never leaves a partial file under the requested name.
 */
import type { Client, InValue, Transaction } from "@libsql/client";
import Database from "libsql";
import { dirname } from "node:path";
import type { Store } from "./open_store.ts";
import { messageOf } from "../error_message.ts";
import { createOwnerOnlyFile, pathExists } from "../owner_only_file.ts";

/** Why a backup could not be made; the message says what to do instead. */
export class BackupError extends Error {
  override name = "BackupError";
}

const PAGE_ROWS = 500;

/** Writes a consistent copy of the store to `out`, which must not exist yet. */
export async function backupStore(store: Store, out: string): Promise<{ bytes: number }> {
  await refuseExisting(out);
  if (store.mode === "file") {
    // The file is created empty and owner-only first (createNew: never over an
    // existing file or through a symlink), and SQLite's VACUUM INTO fills an
    // existing empty file as it finds it: the copy is never readable by others,
    // not even while it is being written.
    await createOwnerOnly(out);
    try {
      await store.client.execute({ sql: "VACUUM INTO ?", args: [out] });
    } catch (error) {
      await Deno.remove(out).catch(() => {});
      throw error;
    }
    return { bytes: (await Deno.stat(out)).size };
  }
  const partial = `${out}.partial-${crypto.randomUUID()}`;
  try {
    await copyFromServer(store.client, partial);
    try {
      // A hard link fails when `out` appeared meanwhile: never overwrite.
      await Deno.link(partial, out);
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) throw existsError(out);
      throw error;
    }
  } finally {
    await Deno.remove(partial).catch(() => {});
  }
  return { bytes: (await Deno.stat(out)).size };
}

/** Creates `out` empty with mode 0600; refuses an existing file or symlink. */
async function createOwnerOnly(out: string): Promise<void> {
  (await createOwnerOnlyFile(out, existsError)).close();
}

async function refuseExisting(out: string): Promise<void> {
  if (await pathExists(out)) throw existsError(out);
}

function existsError(out: string): BackupError {
  return new BackupError(
    `${out} already exists; choose a new file name (a backup never overwrites).`,
  );
}

interface SchemaEntry {
  readonly type: string;
  readonly name: string;
  readonly sql: string;
}

/** Copies schema, rows and `user_version` from one read transaction on the server into `path`. */
async function copyFromServer(client: Client, path: string): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  (await Deno.open(path, { createNew: true, write: true, mode: 0o600 })).close();
  const local = new Database(path);
  let tx: Transaction | null = null;
  try {
    tx = await client.transaction("read");
    const version = Number((await tx.execute("PRAGMA user_version")).rows[0]?.[0] ?? 0);
    // Internal tables (sqlite_*, libsql_*) are the server's own business.
    const schema = (await tx.execute(
      `SELECT type, name, sql FROM sqlite_schema
       WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
         AND name NOT LIKE 'libsql\\_%' ESCAPE '\\' AND name NOT LIKE '\\_litestream%' ESCAPE '\\'
       ORDER BY type <> 'table', rowid`,
    )).rows.map((row): SchemaEntry => ({
      type: String(row.type),
      name: String(row.name),
      sql: String(row.sql),
    }));
    local.exec("BEGIN");
    // Triggers come after the rows: they would count the copied rows again
    // on top of the copied row_counts (migration 10).
    for (const entry of schema) if (entry.type !== "trigger") local.exec(entry.sql);
    for (const entry of schema) {
      if (entry.type === "table") await copyTable(tx, local, entry);
    }
    for (const entry of schema) if (entry.type === "trigger") local.exec(entry.sql);
    local.exec(`PRAGMA user_version = ${Math.trunc(version)}`);
    local.exec("COMMIT");
  } catch (error) {
    throw new BackupError(
      `The backup could not be read from the database server: ${messageOf(error)}`,
      { cause: error },
    );
  } finally {
    tx?.close();
    local.close();
  }
}

/** Copies one table in keyset-ordered pages (rowid, or the primary key of a WITHOUT ROWID table). */
async function copyTable(
  tx: Transaction,
  local: Database.Database,
  table: SchemaEntry,
): Promise<void> {
  const info = (await tx.execute({
    sql: "SELECT name, pk FROM pragma_table_info(?) ORDER BY cid",
    args: [table.name],
  })).rows.map((row) => ({ name: String(row.name), pk: Number(row.pk) }));
  const columns = info.map((c) => quote(c.name));
  const withoutRowid = /\bWITHOUT\s+ROWID\s*$/i.test(table.sql);
  const keys = withoutRowid
    ? info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => quote(c.name))
    : ["rowid"];
  const selected = withoutRowid ? columns : ["rowid", ...columns];
  const insert = local.prepare(
    `INSERT INTO ${quote(table.name)} (${selected.join(", ")}) VALUES (${
      selected.map(() => "?").join(", ")
    })`,
  );
  const order = keys.join(", ");
  const select = `SELECT ${selected.join(", ")} FROM ${quote(table.name)}`;
  let after: InValue[] | null = null;
  for (;;) {
    const where: string = after === null
      ? ""
      : ` WHERE (${order}) > (${keys.map(() => "?").join(", ")})`;
    const result = await tx.execute({
      sql: `${select}${where} ORDER BY ${order} LIMIT ${PAGE_ROWS}`,
      args: after ?? [],
    });
    for (const row of result.rows) {
      insert.run(...Array.from({ length: selected.length }, (_, i) => driverValue(row[i])));
    }
    const last = result.rows.at(-1);
    if (!last || result.rows.length < PAGE_ROWS) return;
    after = withoutRowid
      ? keys.map((_, k) => last[info.findIndex((c) => quote(c.name) === keys[k])] ?? null)
      : [last[0] ?? null];
  }
}

/** A client value as the driver binds it (blobs arrive as ArrayBuffer). */
function driverValue(value: unknown): unknown {
  return value instanceof ArrayBuffer ? new Uint8Array(value) : value ?? null;
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}
