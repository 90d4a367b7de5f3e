/**
 * Opens the store: `@libsql/client` for every URL libSQL speaks, plus, for a
 * local `file:` store, one connection of the `libsql` driver whose statements are
 * prepared once for the hot read path (the client re-prepares on every call).
 * Applies migrations and turns on WAL before anything else touches the data.
 */
import { type Client, createClient } from "@libsql/client";
import Database from "libsql";
import { dirname } from "node:path";
import { migrate } from "./migrations.ts";
import { clientWriteTransactions, driverWriteTransactions, type WriteTransactionRunner } from "./write_transaction.ts";
import {
  clientExecutor,
  driverExecutor,
  type PreparedDriver,
  preparedDriver,
  type SqlExecutor,
} from "./sql.ts";

/** How the store is reached. */
export type StoreMode = "file" | "remote" | "replica";

/** What `openStore` needs to know. */
export interface StoreOptions {
  readonly url: string;
  readonly authToken?: string | undefined;
  readonly syncUrl?: string | undefined;
  readonly syncIntervalSeconds?: number | undefined;
  /** How long a writer waits for a lock before failing (local files). */
  readonly busyTimeoutMs?: number | undefined;
}

/** An open store. */
export interface Store {
  readonly url: string;
  readonly mode: StoreMode;
  /** The client: every query that is not on the hot path, and all remote work. */
  readonly client: Client;
  /** The hot-path reader: prepared-once statements on a local file, else the client. */
  readonly reader: SqlExecutor;
  /** The local driver connection of the hot read path (file mode only). */
  readonly driver: PreparedDriver | null;
  /** Runs one write transaction (one at a time in this process). */
  readonly write: WriteTransactionRunner;
  /** The local database file, when there is one. */
  readonly localPath: string | null;
  close(): void;
}

/** Error raised when the store cannot be opened; the message says what to do. */
export class StoreOpenError extends Error {
  override name = "StoreOpenError";
}

/** Returns the filesystem path of a `file:` URL, or null for any other URL. */
export function localPathOf(url: string): string | null {
  if (!url.startsWith("file:")) return null;
  if (url.startsWith("file://")) return decodeURIComponent(new URL(url).pathname);
  const path = url.slice("file:".length).split("?")[0] ?? "";
  return path === "" || path === ":memory:" ? null : path;
}

/** Opens (creating if needed, owner-only) and migrates the store. */
export async function openStore(options: StoreOptions): Promise<Store> {
  const localPath = localPathOf(options.url);
  const mode: StoreMode = options.syncUrl
    ? "replica"
    : localPath !== null || options.url.startsWith("file:")
    ? "file"
    : "remote";
  if (localPath !== null) await createOwnerOnlyFile(localPath);
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  const client = createClient({
    url: options.url,
    authToken: options.authToken,
    syncUrl: options.syncUrl,
    syncInterval: options.syncIntervalSeconds,
    timeout: busyTimeoutMs,
  });
  let driver: PreparedDriver | null = null;
  let writer: PreparedDriver | null = null;
  try {
    if (mode === "replica") await client.sync();
    if (mode === "file" && localPath !== null) {
      // journal_mode is stored in the file, so one connection setting it is enough.
      await client.execute("PRAGMA journal_mode = WAL");
    }
    await migrate(client);
    if (mode === "file" && localPath !== null) {
      driver = preparedDriver(new Database(localPath, { timeout: busyTimeoutMs }));
      // The writer waits for locks asynchronously (see write_transaction.ts), so its own busy timeout is zero.
      writer = preparedDriver(new Database(localPath, { timeout: 0 }));
    }
  } catch (error) {
    client.close();
    throw new StoreOpenError(
      `Cannot open the store at ${redactUrl(options.url)}: ${messageOf(error)}`,
      {
        cause: error,
      },
    );
  }
  return {
    url: options.url,
    mode,
    client,
    reader: driver ? driverExecutor(driver) : clientExecutor(client),
    driver,
    write: writer ? driverWriteTransactions(writer, busyTimeoutMs) : clientWriteTransactions(client),
    localPath,
    close() {
      driver?.db.close();
      writer?.db.close();
      client.close();
    },
  };
}

async function createOwnerOnlyFile(path: string): Promise<void> {
  const dir = dirname(path);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    const file = await Deno.open(path, { createNew: true, write: true, mode: 0o600 });
    file.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
}

/** The URL without credentials or query (safe to log). */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@").replace(/\?.*$/, "");
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
