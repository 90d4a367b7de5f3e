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

/** A reading statement in raw (array) mode with its column names. */
export interface RawQuery {
  readonly statement: Database.Statement<unknown[]>;
  readonly columns: readonly string[];
}

/** The prepared-statement cache of one local driver connection. */
export interface PreparedDriver {
  readonly db: Database.Database;
  statement(sql: string): Database.Statement<unknown[]>;
  /**
   * The statement in raw mode, for reads: rows come back as arrays, which the
   * driver builds several microseconds faster than objects (the lookup's hot path).
   */
  query(sql: string): RawQuery;
}

/** Wraps a `libsql` driver connection with a cache of statements prepared once. */
export function preparedDriver(db: Database.Database): PreparedDriver {
  const cache = new Map<string, Database.Statement<unknown[]>>();
  const queries = new Map<string, RawQuery>();
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
    query(sql) {
      let query = queries.get(sql);
      if (!query) {
        const statement = db.prepare(sql).raw(true);
        query = { statement, columns: statement.columns().map((column) => column.name) };
        queries.set(sql, query);
      }
      return query;
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
      const { statement, columns } = driver.query(sql);
      return Promise.resolve(statement.all(...args).map((values) => rowOf(columns, values)));
    },
    first(sql, args = []) {
      const { statement, columns } = driver.query(sql);
      const values = statement.get(...args);
      return Promise.resolve(values === undefined ? undefined : rowOf(columns, values));
    },
  };
}

function rowOf(columns: readonly string[], values: unknown): SqlRow {
  const row: Record<string, unknown> = {};
  if (Array.isArray(values)) {
    for (let i = 0; i < columns.length; i++) {
      row[columns[i]!] = values[i];
    }
  }
  return row;
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
