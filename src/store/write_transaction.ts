/**
 * Write transactions: one at a time per process, each on the store's writer.
 * On a local file that is a `libsql` driver connection with statements prepared
 * once; it takes the write lock with `BEGIN IMMEDIATE` and, when another process
 * holds it, waits asynchronously (never blocking the event loop, so lookups go
 * on). On a remote store (or an embedded replica's primary) it is a client
 * transaction whose every statement has a deadline, and whose failures to reach
 * the server surface as {@link StoreUnavailableError}, so callers can answer 503.
 *
 * Also owns the classification of remote failures ({@link isStoreUnavailable})
 * and the bounded executor the remote hot read path uses.
 */
import { withDeadline } from "../deadline.ts";
import type { Client, InStatement, ResultSet, Transaction } from "@libsql/client";
import {
  driverExecutor,
  type PreparedDriver,
  type SqlArg,
  type SqlExecutor,
  type SqlRow,
} from "./sql.ts";

/** Runs `work` in one write transaction: committed when it resolves, rolled back when it throws. */
export type WriteTransactionRunner = <T>(work: (db: SqlExecutor) => Promise<T>) => Promise<T>;

/** The lock could not be had in time. */
export class StoreBusyError extends Error {
  override name = "StoreBusyError";
}

/**
 * The store's server could not be reached, did not answer in time, or aborted
 * the transaction (another writer stole its lock). Nothing was committed, or
 * (a commit that timed out) it is unknown whether it was: the caller should
 * answer "retry later", and deduplication makes the retry safe.
 */
export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
}

/** True when the error means "the store is not available right now, retry later". */
export function isStoreUnavailable(error: unknown): boolean {
  return error instanceof StoreUnavailableError || error instanceof StoreBusyError;
}

// Codes of @libsql/client errors that say the server, not the statement, failed.
const UNAVAILABLE_CODES = new Set([
  "SERVER_ERROR",
  "HRANA_CLOSED_ERROR",
  "HRANA_WEBSOCKET_ERROR",
  "HRANA_PROTO_ERROR",
  "TRANSACTION_TIMEOUT",
  "TRANSACTION_CLOSED",
  "STREAM_EXPIRED",
  "CLIENT_CLOSED",
  "SQLITE_BUSY",
]);

/** Wraps an error of a remote call in {@link StoreUnavailableError} when it is a connectivity failure. */
export function asStoreError(error: unknown): unknown {
  if (isStoreUnavailable(error)) return error;
  if (isConnectivityFailure(error)) {
    return new StoreUnavailableError(`the database server is unavailable: ${describe(error)}`, {
      cause: error,
    });
  }
  return error;
}

function isConnectivityFailure(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  if (error instanceof DOMException) {
    return error.name === "TimeoutError" || error.name === "AbortError";
  }
  if (error instanceof TypeError) {
    return /fetch failed|error sending request|connect/i.test(describe(error));
  }
  const code = "code" in error ? String(error.code) : "";
  return UNAVAILABLE_CODES.has(code) || code.startsWith("SQLITE_BUSY");
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : "";
  return `${error.message}${cause}`;
}

/** Resolves like `promise`, or rejects with {@link StoreUnavailableError} after `ms`. */
export async function withStoreDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  try {
    return await withDeadline(promise, ms, () => {
      throw new StoreUnavailableError(`the database server did not answer within ${ms} ms`);
    });
  } catch (error) {
    throw asStoreError(error);
  }
}

/** An executor over a remote client whose every statement is bounded by `deadlineMs`. */
export function guardedExecutor(db: SqlExecutor, deadlineMs: number): SqlExecutor {
  return {
    run: (sql, args) => withStoreDeadline(db.run(sql, args), deadlineMs),
    all: (sql, args) => withStoreDeadline(db.all(sql, args), deadlineMs),
    first: (sql, args) => withStoreDeadline(db.first(sql, args), deadlineMs),
  };
}

function serialized(): <T>(task: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>) => {
    const result = tail.then(task, task);
    tail = result.catch(() => {});
    return result;
  };
}

/** Write transactions on a local driver connection (opened with a zero busy timeout). */
export function driverWriteTransactions(
  driver: PreparedDriver,
  busyTimeoutMs: number,
): WriteTransactionRunner {
  const db = driverExecutor(driver);
  const queue = serialized();
  const begin = async () => {
    const deadline = performance.now() + busyTimeoutMs;
    for (let wait = 1;; wait = Math.min(wait * 2, 50)) {
      try {
        driver.db.exec("BEGIN IMMEDIATE");
        return;
      } catch (error) {
        if (!isBusy(error)) throw error;
        if (performance.now() >= deadline) {
          throw new StoreBusyError(
            `The store stayed locked by another writer for ${busyTimeoutMs} ms (an import running?).`,
            { cause: error },
          );
        }
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  };
  return <T>(work: (db: SqlExecutor) => Promise<T>) =>
    queue(async () => {
      await begin();
      try {
        const result = await work(db);
        driver.db.exec("COMMIT");
        return result;
      } catch (error) {
        if (driver.db.inTransaction) driver.db.exec("ROLLBACK");
        throw error;
      }
    });
}

/** Options of {@link clientWriteTransactions}. */
export interface ClientWriteOptions {
  /** Deadline of each statement (and of the commit); none when absent (local clients). */
  readonly statementTimeoutMs?: number | undefined;
}

/**
 * Write transactions through `@libsql/client` (remote stores, a replica's
 * primary, in-memory stores).
 *
 * Over the network every statement of an interactive transaction is a round
 * trip, so savepoint bookkeeping (`SAVEPOINT`, `RELEASE`, `ROLLBACK TO` without
 * arguments) is not sent on its own: it is held and sent in one request
 * together with the next real statement, and a trailing `RELEASE` is dropped
 * because `COMMIT` releases every savepoint. Group commit (one savepoint per
 * event) then costs no extra round trips. A failing held statement fails the
 * statement it travels with, in order, as if it had been sent alone.
 */
export function clientWriteTransactions(
  client: Client,
  options: ClientWriteOptions = {},
): WriteTransactionRunner {
  const queue = serialized();
  const deadlineMs = options.statementTimeoutMs;
  const bounded = <T>(promise: Promise<T>): Promise<T> =>
    deadlineMs === undefined ? promise : withStoreDeadline(promise, deadlineMs);
  return <T>(work: (db: SqlExecutor) => Promise<T>) =>
    queue(async () => {
      let tx: Transaction;
      try {
        tx = await bounded(client.transaction("write"));
      } catch (error) {
        throw asStoreError(error);
      }
      const session = transactionSession(tx, bounded);
      try {
        const result = await work(session.db);
        await session.commit();
        return result;
      } catch (error) {
        const mapped = asStoreError(error);
        if (!isStoreUnavailable(mapped)) {
          // A failed statement leaves the server reachable: roll back now
          // rather than leave the lock held until the stream expires.
          try {
            await bounded(tx.rollback());
          } catch {
            // The original error says what went wrong.
          }
        }
        throw mapped;
      } finally {
        tx.close();
      }
    });
}

const SAVEPOINT_CONTROL = /^\s*(SAVEPOINT|RELEASE|ROLLBACK\s+TO)\b/i;
const RELEASE = /^\s*RELEASE\b/i;

function transactionSession(
  tx: Transaction,
  bounded: <T>(promise: Promise<T>) => Promise<T>,
): { db: SqlExecutor; commit(): Promise<void> } {
  const held: string[] = [];
  const execute = async (sql: string, args: readonly SqlArg[] = []): Promise<ResultSet> => {
    const statements: InStatement[] = [...held.splice(0), { sql, args: [...args] }];
    try {
      const results = await bounded(tx.batch(statements));
      const last = results.at(-1);
      if (!last) throw new Error("unreachable: a batch of n statements has n results");
      return last;
    } catch (error) {
      throw asStoreError(error);
    }
  };
  const rows = (result: ResultSet): SqlRow[] => {
    return result.rows.map((row) => {
      const object: Record<string, unknown> = {};
      result.columns.forEach((column, i) => object[column] = row[i]);
      return object;
    });
  };
  const db: SqlExecutor = {
    async run(sql, args = []) {
      if (args.length === 0 && SAVEPOINT_CONTROL.test(sql)) {
        held.push(sql);
        return { changes: 0 };
      }
      return { changes: (await execute(sql, args)).rowsAffected };
    },
    async all(sql, args = []) {
      return rows(await execute(sql, args));
    },
    async first(sql, args = []) {
      return rows(await execute(sql, args))[0];
    },
  };
  return {
    db,
    async commit() {
      const pending = held.splice(0);
      try {
        if (!pending.every((sql) => RELEASE.test(sql))) await bounded(tx.batch(pending));
        await bounded(tx.commit());
      } catch (error) {
        throw asStoreError(error);
      }
    },
  };
}

function isBusy(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = "code" in error ? String(error.code) : "";
  return code.startsWith("SQLITE_BUSY") || /database is locked|SQLITE_BUSY/i.test(error.message);
}
