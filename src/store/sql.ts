/**
 * A tiny SQL executor interface with two implementations: one over
 * `@libsql/client` (any URL, any transaction) and one over statements prepared
 * once on the local `libsql` driver (the hot paths on a `file:` store). Callers
 * write their SQL once and run it through whichever executor they are handed,
 * so the query logic is never forked.
 */
import type { Client, InValue, Transaction } from "@libsql/client";
import type Database from "libsql";

/** A result row keyed by column name. */
export type SqlRow = Readonly<Record<string, unknown>>;
/** A bound argument. */
export type SqlArg = InValue;

/** Runs SQL. Both implementations share the same positional-`?` SQL text. */
export interface SqlExecutor {
  run(sql: string, args?: readonly SqlArg[]): Promise<{ changes: number }>;
  all(sql: string, args?: readonly SqlArg[]): Promise<SqlRow[]>;
  first(sql: string, args?: readonly SqlArg[]): Promise<SqlRow | undefined>;
}

/** Executes through `@libsql/client` (a client or an open transaction). */
export function clientExecutor(target: Client | Transaction): SqlExecutor {
  return {
    async run(sql, args = []) {
      const result = await target.execute({ sql, args: [...args] });
      return { changes: result.rowsAffected };
    },
    async all(sql, args = []) {
      const result = await target.execute({ sql, args: [...args] });
      return result.rows.map((row) => rowObject(result.columns, row));
    },
    async first(sql, args = []) {
      const result = await target.execute({ sql, args: [...args] });
      const row = result.rows[0];
      return row ? rowObject(result.columns, row) : undefined;
    },
  };
}

function rowObject(columns: readonly string[], row: ArrayLike<unknown>): SqlRow {
  const object: Record<string, unknown> = {};
  columns.forEach((column, i) => object[column] = row[i]);
  return object;
}

/** The prepared-statement cache of one local driver connection. */
export interface PreparedDriver {
  readonly db: Database.Database;
  statement(sql: string): Database.Statement<unknown[]>;
}

/** Wraps a `libsql` driver connection with a cache of statements prepared once. */
export function preparedDriver(db: Database.Database): PreparedDriver {
  const cache = new Map<string, Database.Statement<unknown[]>>();
  return {
    db,
    statement(sql) {
      let statement = cache.get(sql);
      if (!statement) {
        statement = db.prepare(sql);
        cache.set(sql, statement);
      }
      return statement;
    },
  };
}

/** Executes through statements prepared once on a local driver connection. */
export function driverExecutor(driver: PreparedDriver): SqlExecutor {
  return {
    run(sql, args = []) {
      const result = driver.statement(sql).run(...args);
      return Promise.resolve({ changes: result.changes });
    },
    all(sql, args = []) {
      return Promise.resolve(driver.statement(sql).all(...args).filter(isRow));
    },
    first(sql, args = []) {
      const row = driver.statement(sql).get(...args);
      return Promise.resolve(isRow(row) ? row : undefined);
    },
  };
}

function isRow(value: unknown): value is SqlRow {
  return typeof value === "object" && value !== null;
}

/** Reads a text column, `""` for NULL. */
export function text(row: SqlRow, column: string): string {
  const value = row[column];
  return value === null || value === undefined ? "" : String(value);
}

/** Reads an integer column (libSQL may hand back number or bigint). */
export function integer(row: SqlRow, column: string): number {
  const value = row[column];
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "number") return value;
  if (typeof value === "string" && value !== "") return Number(value);
  return 0;
}
