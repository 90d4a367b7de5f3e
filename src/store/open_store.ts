/**
 * Opens the store in one of three modes and hides the difference from callers:
 *
 * - `file`: a local libSQL file. `@libsql/client` for general work, plus `libsql`
 *   driver connections whose statements are prepared once (the hot read path and
 *   the writer; the client re-prepares on every call). WAL is turned on first.
 * - `remote`: a libSQL server (`libsql://`, `http(s)://`, `ws(s)://`, e.g. sqld or
 *   Turso). Every call is bounded in time, so a hung server answers with
 *   {@link StoreUnavailableError} instead of hanging requests: lookups get their own
 *   client with a short deadline, writes and everything else a longer one.
 * - `replica`: an embedded replica (`file:` + `sync_url`). Reads are local; the
 *   replica follows the primary in the background (`sync_interval_seconds`).
 *   Writes, migrations, imports and admin reads go to the primary over the
 *   network, never through the replica: the replica's native client performs
 *   delegated writes and explicit syncs as blocking calls, which would stall the
 *   event loop, and it has a single connection that a transaction would hold.
 *
 * Migrations run before anything else touches the data (on the primary for the
 * two networked modes).
 */
import { type Client, createClient } from "@libsql/client";
import Database from "libsql";
import { dirname } from "node:path";
import { migrate, MIGRATIONS } from "./migrations.ts";
import {
  clientWriteTransactions,
  driverWriteTransactions,
  guardedExecutor,
  StoreUnavailableError,
  withStoreDeadline,
  type WriteTransactionRunner,
} from "./write_transaction.ts";
import {
  clientExecutor,
  driverExecutor,
  type PreparedDriver,
  preparedDriver,
  type SqlExecutor,
} from "./sql.ts";
import { messageOf } from "../error_message.ts";

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
  /** Deadline of one hot-path read on a remote store (lookups answer 503 after it). */
  readonly readTimeoutMs?: number | undefined;
  /**
   * Deadline of any other request to a remote server or primary. Longer than
   * sqld's 5 s lock-steal timeout, so a writer queued behind another instance's
   * transaction is not given up on just before it gets the lock.
   */
  readonly remoteTimeoutMs?: number | undefined;
}

/** An open store. */
export interface Store {
  readonly url: string;
  readonly mode: StoreMode;
  /**
   * The client for every query that is not on the hot path: the local file, or
   * the remote server, or (replica mode) the primary. Imports and admin reads use it.
   */
  readonly client: Client;
  /** The hot-path reader: prepared-once statements on a local file, the local replica, or the remote server. */
  readonly reader: SqlExecutor;
  /** The local driver connection of the hot read path (file mode only). */
  readonly driver: PreparedDriver | null;
  /** Runs one write transaction (one at a time in this process). */
  readonly write: WriteTransactionRunner;
  /** The local database file, when there is one. */
  readonly localPath: string | null;
  /**
   * Resolves when the store can take writes now (a query on the file, the
   * server, or the primary); throws with the reason otherwise. For readiness.
   */
  ping(): Promise<void>;
  close(): void;
}

/** Error raised when the store cannot be opened; the message says what to do. */
export class StoreOpenError extends Error {
  override name = "StoreOpenError";
}

/** The sync interval of an embedded replica when none is configured. */
export const DEFAULT_SYNC_INTERVAL_SECONDS = 1;
const DEFAULT_READ_TIMEOUT_MS = 2_000;
const DEFAULT_REMOTE_TIMEOUT_MS = 6_000;

/** Returns the filesystem path of a `file:` URL, or null for any other URL. */
export function localPathOf(url: string): string | null {
  if (!url.startsWith("file:")) return null;
  if (url.startsWith("file://")) return decodeURIComponent(new URL(url).pathname);
  const path = url.slice("file:".length).split("?")[0] ?? "";
  return path === "" || path === ":memory:" ? null : path;
}

/** The mode a configuration selects. */
export function storeModeOf(options: Pick<StoreOptions, "url" | "syncUrl">): StoreMode {
  if (options.syncUrl) return "replica";
  return options.url.startsWith("file:") ? "file" : "remote";
}

/** Opens (creating if needed, owner-only) and migrates the store. */
export function openStore(options: StoreOptions): Promise<Store> {
  const mode = storeModeOf(options);
  if (mode === "file") return openFileStore(options);
  if (mode === "remote") return openRemoteStore(options);
  return openReplicaStore(options);
}

async function openFileStore(options: StoreOptions): Promise<Store> {
  const localPath = localPathOf(options.url);
  if (localPath !== null) await createOwnerOnlyFile(localPath);
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  let client: Client | null = null;
  let driver: PreparedDriver | null = null;
  let writer: PreparedDriver | null = null;
  try {
    client = createClient({ url: options.url, timeout: busyTimeoutMs });
    if (localPath !== null) {
      // A new file only (SQLite ignores it once the file has pages, and WAL mode
      // fixes it): a call row — its merged snapshot, ~2 KB, rewritten as it
      // grows — is just over half a 4 KB page, so 4 KB pages held one row each
      // and left ~45% empty; 8 KB pages hold three and still left 23% empty,
      // 16 KB pages hold seven and leave 11%. The lookup's read costs the same
      // (measured against the same store with 8 KB pages), as does the 1M
      // contact store's size.
      await client.execute("PRAGMA page_size = 16384");
      // journal_mode is stored in the file, so one connection setting it is enough.
      await client.execute("PRAGMA journal_mode = WAL");
    }
    await migrate(client);
    if (localPath !== null) {
      driver = preparedDriver(new Database(localPath, { timeout: busyTimeoutMs }));
      // The writer waits for locks asynchronously (see write_transaction.ts), so its own busy timeout is zero.
      writer = preparedDriver(new Database(localPath, { timeout: 0 }));
      // The audit log is the durable record of every call (fsync'd before the
      // ack) and the applier's position commits with what it applied, so a
      // commit lost to a power cut is re-applied from the log at the next
      // start. NORMAL in WAL mode never corrupts the file and survives process
      // crashes; it skips the fsync per commit (~4 ms here, 0.25 ms without).
      // Imports keep the default (FULL) on their own connection. See README, durability.
      writer.db.exec("PRAGMA synchronous = NORMAL");
    }
  } catch (error) {
    driver?.db.close();
    client?.close();
    throw openError(options.url, error);
  }
  const opened = client;
  return {
    url: options.url,
    mode: "file",
    client: opened,
    reader: driver ? driverExecutor(driver) : clientExecutor(opened),
    driver,
    write: writer
      ? driverWriteTransactions(writer, busyTimeoutMs)
      : clientWriteTransactions(opened),
    localPath,
    async ping() {
      await opened.execute("SELECT 1");
    },
    close() {
      driver?.db.close();
      writer?.db.close();
      opened.close();
    },
  };
}

async function openRemoteStore(options: StoreOptions): Promise<Store> {
  const readTimeoutMs = options.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
  const remoteTimeoutMs = options.remoteTimeoutMs ?? DEFAULT_REMOTE_TIMEOUT_MS;
  const clients: Client[] = [];
  try {
    const client = remoteClient(options.url, options.authToken, remoteTimeoutMs);
    clients.push(client);
    // Lookups get a client of their own: a short deadline, and never queued
    // behind writes in the client's concurrency limit.
    const lookups = remoteClient(options.url, options.authToken, readTimeoutMs);
    clients.push(lookups);
    await migrateShared(client, remoteTimeoutMs);
    return {
      url: options.url,
      mode: "remote",
      client,
      reader: guardedExecutor(clientExecutor(lookups), readTimeoutMs),
      driver: null,
      write: clientWriteTransactions(client, { statementTimeoutMs: remoteTimeoutMs }),
      localPath: null,
      ping: () => pingRemote(client, readTimeoutMs),
      close() {
        for (const c of clients) c.close();
      },
    };
  } catch (error) {
    for (const c of clients) c.close();
    throw openError(options.url, error, options.authToken !== undefined);
  }
}

async function openReplicaStore(options: StoreOptions): Promise<Store> {
  const syncUrl = options.syncUrl ?? "";
  const localPath = localPathOf(options.url);
  if (localPath === null) {
    throw new StoreOpenError(
      `An embedded replica needs a local file: set database.url to file:PATH (got ${
        redactUrl(options.url)
      }).`,
    );
  }
  const readTimeoutMs = options.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
  const remoteTimeoutMs = options.remoteTimeoutMs ?? DEFAULT_REMOTE_TIMEOUT_MS;
  const clients: Client[] = [];
  let lock: Deno.FsFile | null = null;
  try {
    const primary = remoteClient(syncUrl, options.authToken, remoteTimeoutMs);
    clients.push(primary);
    await migrateShared(primary, remoteTimeoutMs);

    // Two processes syncing one replica file corrupt it; the second one (an
    // `import` or `audit replay` next to the running server) reads the primary.
    await Deno.mkdir(dirname(localPath), { recursive: true, mode: 0o700 });
    lock = await Deno.open(`${localPath}.lock`, { create: true, write: true, mode: 0o600 });
    let reader: SqlExecutor;
    if (await lock.tryLock(true)) {
      // Through @libsql/client, which prepares each statement anew: statements
      // prepared once on a replica's driver connection return wrong rows when
      // re-run (libsql 0.5.29: bindings of a re-run are ignored).
      const replica = createClient({
        url: options.url,
        syncUrl,
        authToken: options.authToken,
        syncInterval: options.syncIntervalSeconds ?? DEFAULT_SYNC_INTERVAL_SECONDS,
      });
      clients.push(replica);
      // The primary just answered, so this first (blocking) sync will not hang;
      // it brings the schema and data before the first lookup.
      await replica.sync();
      await restrictToOwner(localPath);
      reader = clientExecutor(replica);
    } else {
      lock.close();
      lock = null;
      const lookups = remoteClient(syncUrl, options.authToken, readTimeoutMs);
      clients.push(lookups);
      reader = guardedExecutor(clientExecutor(lookups), readTimeoutMs);
    }
    const held = lock;
    return {
      url: options.url,
      mode: "replica",
      client: primary,
      reader,
      driver: null,
      write: clientWriteTransactions(primary, { statementTimeoutMs: remoteTimeoutMs }),
      localPath,
      ping: () => pingRemote(primary, readTimeoutMs),
      close() {
        for (const c of clients) c.close();
        held?.close();
      },
    };
  } catch (error) {
    for (const c of clients) c.close();
    lock?.close();
    throw openError(`${options.url} (primary ${syncUrl})`, error, options.authToken !== undefined);
  }
}

/**
 * A client for a libSQL server whose every HTTP request is aborted after
 * `timeoutMs` (the client has no timeout of its own; a stopped server would
 * otherwise hold requests forever). WebSocket URLs are bounded per statement
 * by {@link guardedExecutor} and the write runner instead.
 */
function remoteClient(url: string, authToken: string | undefined, timeoutMs: number): Client {
  return createClient({
    url,
    authToken,
    fetch: (request: Request) => fetch(request, { signal: AbortSignal.timeout(timeoutMs) }),
  });
}

/**
 * Migrates a store that other instances may be migrating at the same moment:
 * when our attempt fails because another instance got there first, the schema
 * it left is checked instead.
 */
async function migrateShared(client: Client, timeoutMs: number): Promise<void> {
  const latest = MIGRATIONS.at(-1)?.version ?? 0;
  // Each migration commits on its own, so another instance may be part way
  // through the list: while it makes progress, try again from where it is.
  let seen = -1;
  for (;;) {
    try {
      await withStoreDeadline(migrate(client), timeoutMs);
      return;
    } catch (error) {
      if (error instanceof StoreUnavailableError) throw error;
      const row = await client.execute("PRAGMA user_version").catch(() => null);
      const version = Number(row?.rows[0]?.[0] ?? -1);
      if (version === latest) return;
      if (version <= seen) throw error;
      seen = version;
    }
  }
}

async function pingRemote(client: Client, timeoutMs: number): Promise<void> {
  try {
    await withStoreDeadline(client.execute("SELECT 1"), timeoutMs);
  } catch (error) {
    if (error instanceof StoreUnavailableError) throw error;
    throw new StoreUnavailableError(`the database server did not answer: ${messageOf(error)}`, {
      cause: error,
    });
  }
}

function openError(where: string, error: unknown, hasToken = false): StoreOpenError {
  if (error instanceof StoreOpenError) return error;
  return new StoreOpenError(
    `Cannot open the store at ${redactUrl(where)}: ${describeOpenFailure(error, hasToken)}`,
    {
      cause: error,
    },
  );
}

/** The reason a store could not be opened, with the fix for the usual ones. */
function describeOpenFailure(error: unknown, hasToken: boolean): string {
  const message = messageOf(error);
  const cause = error instanceof Error ? error.cause : undefined;
  const chain = [message, cause === undefined ? "" : messageOf(cause)].join(" ");
  if (/\b401\b|unauthori[sz]ed|authentication|jwt/i.test(chain)) {
    return hasToken
      ? `the server refused database.auth_token (${message}); set it (or DATABASE_AUTH_TOKEN) to a valid, unexpired token for this database.`
      : `the server requires a token (${message}); set database.auth_token (or DATABASE_AUTH_TOKEN).`;
  }
  if (
    /connection refused|tcp connect|dns error|failed to lookup|fetch failed|timed? ?out|did not answer/i
      .test(chain)
  ) {
    return `the server cannot be reached (${message}); check the URL and that the server is running.`;
  }
  return message;
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

/**
 * The embedded replica creates its files itself (it refuses a pre-created empty
 * file), so they are made owner-only once they exist.
 */
async function restrictToOwner(path: string): Promise<void> {
  for (const suffix of ["", "-wal", "-shm", "-client_wal_index", "-info"]) {
    try {
      await Deno.chmod(path + suffix, 0o600);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
}

/** The URL without credentials or query (safe to log). */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@").replace(/\?.*$/, "");
}
