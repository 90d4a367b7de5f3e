/**
 * Write transactions: one at a time per process, each on the store's writer
 * connection. On a local file that is a `libsql` driver connection with
 * statements prepared once; it takes the write lock with `BEGIN IMMEDIATE` and,
 * when another process holds it, waits asynchronously (never blocking the event
 * loop, so lookups go on). On a remote store it is a client transaction.
 */
import type { Client } from "@libsql/client";
import { clientExecutor, driverExecutor, type PreparedDriver, type SqlExecutor } from "./sql.ts";

/** Runs `work` in one write transaction: committed when it resolves, rolled back when it throws. */
export type WriteTransactionRunner = <T>(work: (db: SqlExecutor) => Promise<T>) => Promise<T>;

/** The lock could not be had in time. */
export class StoreBusyError extends Error {
  override name = "StoreBusyError";
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
export function driverWriteTransactions(driver: PreparedDriver, busyTimeoutMs: number): WriteTransactionRunner {
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

/** Write transactions through `@libsql/client` (remote stores, embedded replicas). */
export function clientWriteTransactions(client: Client): WriteTransactionRunner {
  const queue = serialized();
  return <T>(work: (db: SqlExecutor) => Promise<T>) =>
    queue(async () => {
      const tx = await client.transaction("write");
      try {
        const result = await work(clientExecutor(tx));
        await tx.commit();
        return result;
      } catch (error) {
        try {
          await tx.rollback();
        } catch {
          // The original error says what went wrong.
        }
        throw error;
      } finally {
        tx.close();
      }
    });
}

function isBusy(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = "code" in error ? String(error.code) : "";
  return code.startsWith("SQLITE_BUSY") || /database is locked|SQLITE_BUSY/i.test(error.message);
}
