/**
 * The CSV import (`symbo-crm import`, and any API that accepts an export):
 * streams a file, maps its header, validates each row, and upserts contacts in
 * ONE write transaction that applies fully or not at all while lookups keep
 * reading the last committed state (WAL). Owns the import's counts, its
 * bounded lists of warnings and rejected rows, duplicate ids, `--prune`,
 * `--dry-run` and `--strict`, and the shared-number report.
 *
 * On a local file store the transaction runs on a dedicated `libsql` driver
 * connection with statements prepared once (the fast path). It is deliberately
 * NOT the store's shared `driver`: that connection serves lookups, and a
 * lookup (or any other write) interleaved with a running import would
 * otherwise read, or join, the import's uncommitted transaction.
 */
import Database from "libsql";
import type { CountryCode } from "libphonenumber-js";
import type { Store } from "../store/open_store.ts";
import {
  clientExecutor,
  driverExecutor,
  integer,
  preparedDriver,
  type SqlExecutor,
  text,
} from "../store/sql.ts";
import type { AnyContactField } from "./contact.ts";
import { countContacts, deleteContact, saveSerializedContact } from "./contact_store.ts";
import {
  describeMissingColumns,
  HeaderMapError,
  type IgnoredHeader,
  type MappingEntry,
  type UserMap,
  validateUserMap,
} from "./csv_headers.ts";
import { type CsvDelimiter, CsvFormatError } from "./csv_reader.ts";
import { mapCsvRowsInWorker } from "./worker_rows.ts";
import type { MappedEvent } from "./mapped_rows.ts";
import { messageOf } from "../error_message.ts";

/** How to run one import. */
export interface ImportOptions {
  /** Names the input in messages (a path, or e.g. "upload"). */
  readonly fileLabel: string;
  /** Region for national phone numbers of rows without a usable `address_country`. */
  readonly defaultRegion: CountryCode | undefined;
  /** `--map`: their header → our field (or null to ignore the column). Validated here. */
  readonly userMap?: Readonly<Record<string, string | null>>;
  /**
   * `--encoding`: a WHATWG label (`windows-1252`, `utf-16le`, …) that overrides
   * detection (a byte order mark, else UTF-8 when the start of the file is
   * valid UTF-8, else Windows-1252).
   */
  readonly encoding?: string;
  /** `--id-from`: the header of the column external_id is taken from (no id column needed). */
  readonly idFrom?: string;
  /** Do all the work in the transaction, then roll it back: exact counts, no change. */
  readonly dryRun?: boolean;
  /**
   * Abort (and change nothing) when any row is rejected. After the first
   * rejected row, later rows are still validated (so every reject is reported)
   * but no longer written, so insert/update counts stop there.
   */
  readonly strict?: boolean;
  /** Delete stored contacts whose external_id is not in the file (rejected rows count as present). */
  readonly prune?: boolean;
  /**
   * The prune guard: a prune that would delete more than this fraction of the
   * stored contacts is refused (nothing written) unless `forcePrune`. Default
   * {@link DEFAULT_MAX_PRUNE_FRACTION}. A dry run reports the count instead.
   */
  readonly maxPruneFraction?: number;
  /** A person checked the file: prune past `maxPruneFraction` (`--force-prune`). Never set for scheduled runs. */
  readonly forcePrune?: boolean;
  /**
   * Runs inside the import's transaction just before it commits (not for a dry
   * run or a refused import), with the counts: a source run records its
   * outcome in the same commit, so a crash never leaves a file imported but
   * not marked (or marked but not imported).
   */
  readonly beforeCommit?: (db: SqlExecutor, counts: ImportCounts) => Promise<void>;
  /** Clock for `updated_at` (epoch ms); one reading is used for the whole import. */
  readonly now?: () => number;
  /** Called a few times a second while rows are read, and once at the end. */
  readonly onProgress?: (progress: ImportProgress) => void;
  /** Called for every rejected row, including those past the summary's cap (e.g. `--rejects`). */
  readonly onReject?: (row: RejectedRow) => void | Promise<void>;
  /** Cap of the summary's `warnings` and `rejects` lists (counts are never capped). Default 1000. */
  readonly listLimit?: number;
  /** Cap of the summary's `sharedNumbers` list. Default 100. */
  readonly sharedNumbersLimit?: number;
  /** How long to wait for another writer to finish before giving up (local files). Default 5000. */
  readonly busyTimeoutMs?: number;
}

/** `contacts.max_prune_fraction`'s default. */
export const DEFAULT_MAX_PRUNE_FRACTION = 0.2;

/** The counts an import is about to commit. */
export interface ImportCounts {
  readonly rows: number;
  readonly inserted: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly rejected: number;
  readonly pruned: number;
}

/** Progress of a running import. */
export interface ImportProgress {
  /** Data rows read so far (not counting the header or blank lines). */
  readonly rows: number;
  /** Bytes of the input read so far. */
  readonly bytes?: number;
}

/** A row that did not become a contact. */
export interface RejectedRow {
  /** 1-based line where the row starts in the file. */
  readonly line: number;
  readonly reason: string;
  /** The row's fields as read (untrimmed), in header order. */
  readonly record: readonly string[];
}

/** A remark about a row that was still imported (or about the header, at its line). */
export interface ImportWarning {
  readonly line: number;
  readonly message: string;
}

/** A number that several stored contacts share after the import. */
export interface SharedNumber {
  readonly e164: string;
  /** How many contacts have it. */
  readonly contacts: number;
  /** Their external ids, sorted, at most 20. */
  readonly externalIds: readonly string[];
}

/** What the file's header line mapped to. */
export interface ImportHeaders {
  /** The header line as read. */
  readonly names: readonly string[];
  readonly delimiter: CsvDelimiter | undefined;
  /** Field → the header that feeds it. */
  readonly matched: Readonly<Partial<Record<AnyContactField, string>>>;
  /** Headers that feed nothing. */
  readonly unknown: readonly string[];
  /** Headers not used because another column feeds the same field. */
  readonly ignored: readonly IgnoredHeader[];
  /** Headers the user map set to null. */
  readonly excluded: readonly string[];
}

/** The outcome of an import (also attached to an {@link ImportError} of `--strict`). */
export interface ImportSummary {
  readonly file: string;
  /** Data rows read (inserted + updated + unchanged + rejected). */
  readonly rows: number;
  readonly inserted: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly rejected: number;
  readonly pruned: number;
  readonly warningCount: number;
  /** The first `listLimit` warnings. */
  readonly warnings: readonly ImportWarning[];
  /** The first `listLimit` rejected rows (all of them go to `onReject`). */
  readonly rejects: readonly RejectedRow[];
  /** Numbers shared by several contacts after the import, most shared first (capped). */
  readonly sharedNumbers: readonly SharedNumber[];
  /** How many numbers are shared in all. */
  readonly sharedNumberCount: number;
  /** Rows whose external_id appeared on an earlier row (the later row wins). */
  readonly duplicateIdsInFile: number;
  /**
   * Numbers beyond the first of a phone cell that held several (`a, b` or
   * Google's `a ::: b`): indexed for lookup, not shown in the lookup body.
   */
  readonly extraNumbers: number;
  /** Rows whose account id was derived from the company name (no company id column). */
  readonly derivedAccountIds: number;
  /**
   * Where external_id came from: a column, `--id-from`'s column, or (no id
   * column) `derived`: `row-` + a hash of the row's cells.
   */
  readonly idSource: {
    readonly kind: "column" | "id_from" | "derived";
    readonly header: string | null;
  };
  /** The encoding the file was read in (a WHATWG name, e.g. `utf-8`, `windows-1252`). */
  readonly encoding: string;
  /** How it was chosen: a byte order mark, detected from the bytes, or `--encoding`. */
  readonly encodingSource: "bom" | "detected" | "option";
  /** The column-mapping table: each header, the field it feeds (or null), and why. */
  readonly mapping: readonly MappingEntry[];
  readonly dryRun: boolean;
  /** The file's header line as read (the header for a `--rejects` file). */
  readonly headerRow: readonly string[];
  /** True when the changes were committed (false for a dry run). */
  readonly committed: boolean;
  readonly headers: ImportHeaders;
  readonly elapsedMs: number;
}

/**
 * The import failed and changed nothing. The message names the file, the line
 * (when there is one) and the problem; `summary` is set when the file was read
 * to the end (`--strict`).
 */
export class ImportError extends Error {
  override name = "ImportError";
  readonly fileLabel: string;
  readonly line: number | null;
  readonly summary: ImportSummary | undefined;
  /**
   * `prune_guard` when the prune guard refused the import (a person may force
   * it); `store_busy` when another writer (a CLI import) held the store.
   */
  readonly reason: "prune_guard" | "store_busy" | undefined;
  /** The header line, when the header itself was the problem (a mapping can fix it). */
  readonly headerRow: readonly string[] | undefined;

  constructor(
    fileLabel: string,
    line: number | null,
    problem: string,
    options: ErrorOptions & {
      summary?: ImportSummary;
      reason?: "prune_guard" | "store_busy";
      headerRow?: readonly string[];
    } = {},
  ) {
    super(line === null ? `${fileLabel}: ${problem}` : `${fileLabel}, line ${line}: ${problem}`, {
      cause: options.cause,
    });
    this.fileLabel = fileLabel;
    this.line = line;
    this.summary = options.summary;
    this.reason = options.reason;
    this.headerRow = options.headerRow ?? options.summary?.headerRow;
  }
}

const NOTHING_IMPORTED = "nothing was imported";
const SLICE_MS = 20;
const PROGRESS_MS = 200;
const IDS_PER_SHARED_NUMBER = 20;
const PRUNE_BATCH = 500;

// The ids seen in the file, on disk rather than in a JS Set (1M ids would not be bounded memory).
// A TEMP table on a local file. A libSQL server refuses TEMP tables ("unsupported statement"),
// so there it is a main-schema table created and dropped inside the import's own transaction:
// nobody else ever sees it (it is gone before COMMIT, and a rollback removes it too).
function seenTableSql(store: Store) {
  const table = store.mode === "file" ? "temp.import_seen" : "main.import_seen";
  return {
    table,
    drop: `DROP TABLE IF EXISTS ${table}`,
    create: `CREATE TABLE ${table} (external_id TEXT PRIMARY KEY) WITHOUT ROWID`,
    see: `INSERT OR IGNORE INTO ${table} (external_id) VALUES (?)`,
    pruneCandidates: `SELECT external_id FROM contacts
  WHERE external_id > ? AND external_id NOT IN (SELECT external_id FROM ${table})
  ORDER BY external_id LIMIT ${PRUNE_BATCH}`,
  };
}
const SHARED_SQL = `SELECT e164, COUNT(*) AS n FROM contact_phones
  GROUP BY e164 HAVING COUNT(*) > 1 ORDER BY n DESC, e164 LIMIT ?`;
const SHARED_COUNT_SQL = `SELECT COUNT(*) AS n FROM
  (SELECT 1 FROM contact_phones GROUP BY e164 HAVING COUNT(*) > 1)`;
const SHARED_IDS_SQL = `SELECT external_id FROM contact_phones WHERE e164 = ?
  ORDER BY external_id LIMIT ${IDS_PER_SHARED_NUMBER}`;

/**
 * Imports a CSV export into the store in one transaction (see the module
 * comment). Resolves with the summary; rejects with an {@link ImportError}
 * (store untouched) on a missing required column, broken quoting, a read or
 * database error, `--strict` with a rejected row, or a `--prune` that would
 * delete everything.
 */
export async function importContacts(
  store: Store,
  input: ReadableStream<Uint8Array>,
  options: ImportOptions,
): Promise<ImportSummary> {
  const started = performance.now();
  const label = options.fileLabel;
  const listLimit = options.listLimit ?? 1000;
  const dryRun = options.dryRun ?? false;
  let userMap: UserMap | undefined;
  try {
    userMap = options.userMap ? validateUserMap(options.userMap) : undefined;
  } catch (error) {
    await input.cancel().catch(() => {}); // release the file or request body
    if (error instanceof HeaderMapError) throw new ImportError(label, null, error.message);
    throw error;
  }

  // Parsing and phone normalization run on a worker (the second core); this
  // thread only writes SQL.
  const events = mapCsvRowsInWorker(input, {
    userMap,
    defaultRegion: options.defaultRegion,
    idFrom: options.idFrom,
    encoding: options.encoding,
  });
  let session: WriteSession | undefined;
  let lastLine: number | null = null;
  let bytesRead = 0;
  try {
    const first = await events.next();
    if (first.done || first.value.kind !== "header") {
      throw new ImportError(
        label,
        null,
        "the file is empty; expected a header line with external_id and first_name columns",
      );
    }
    const { names, line: headerLine, resolution } = first.value.header;
    const { delimiter, encoding } = first.value;
    lastLine = headerLine;
    if (resolution.errors.length > 0) {
      throw new ImportError(
        label,
        headerLine,
        `${resolution.errors.join("; ")}; ${NOTHING_IMPORTED}`,
        { headerRow: names },
      );
    }
    if (resolution.missingRequired.length > 0) {
      throw new ImportError(
        label,
        headerLine,
        `${describeMissingColumns(resolution, names)}; ${NOTHING_IMPORTED}`,
        { headerRow: names },
      );
    }

    const warnings: ImportWarning[] = [];
    let warningCount = 0;
    const warn = (line: number, message: string) => {
      warningCount++;
      if (warnings.length < listLimit) warnings.push({ line, message });
    };
    for (const note of resolution.notes) warn(headerLine, note);
    for (const { header, field, keptHeader } of resolution.ignored) {
      warn(
        headerLine,
        `column ${JSON.stringify(header)} ignored: ${field} comes from ` +
          JSON.stringify(keptHeader),
      );
    }
    for (const key of resolution.unusedMapKeys) {
      warn(headerLine, `--map names ${JSON.stringify(key)}, but no column has that header`);
    }

    // The write lock is taken only once rows are parsed and ready: not while
    // the worker waits for input or reads the header.
    let firstRows: MappedEvent | undefined;
    for (let next = await events.next(); !next.done; next = await events.next()) {
      if (next.value.kind === "rows") {
        firstRows = next.value;
        break;
      }
    }
    session = await beginSession(store, options.busyTimeoutMs ?? 5000, label);
    const db = session.db;
    const seen = seenTableSql(store);
    await db.run(seen.drop);
    await db.run(seen.create);

    const now = (options.now ?? Date.now)();
    const rejects: RejectedRow[] = [];
    let rows = 0;
    let inserted = 0;
    let updated = 0;
    let unchanged = 0;
    let rejected = 0;
    let duplicateIdsInFile = 0;
    let extraNumbers = 0;
    let derivedAccountIds = 0;
    let firstReject: RejectedRow | undefined;
    let writing = true;
    let sliceStart = performance.now();
    let lastProgress = sliceStart;

    for await (const event of startingWith(firstRows, events)) {
      if (event.kind !== "rows") continue;
      bytesRead = event.bytesRead;
      for (const row of event.rows) {
        const { line, externalId } = row;
        lastLine = line;
        rows++;
        if (externalId !== "") {
          const { changes } = await db.run(seen.see, [externalId]);
          if (changes === 0) duplicateIdsInFile++;
        }
        if (row.contact === null) {
          rejected++;
          const reject: RejectedRow = {
            line,
            reason: row.reason ?? "rejected",
            record: row.record ?? [],
          };
          firstReject ??= reject;
          if (rejects.length < listLimit) rejects.push(reject);
          if (options.onReject) await options.onReject(reject);
          if (options.strict) writing = false;
        } else {
          for (const message of row.warnings) warn(line, message);
          extraNumbers += row.extraNumbers;
          if (resolution.deriveAccountId && row.hasAccount) derivedAccountIds++;
          if (writing) {
            const outcome = await saveSerializedContact(db, row.contact, now);
            if (outcome === "inserted") inserted++;
            else if (outcome === "updated") updated++;
            else unchanged++;
          }
        }
      }
      // Keep the event loop (a server's lookups, timers, signals) responsive.
      const t = performance.now();
      if (t - sliceStart >= SLICE_MS) {
        if (options.onProgress && t - lastProgress >= PROGRESS_MS) {
          options.onProgress({ rows, bytes: bytesRead });
          lastProgress = t;
        }
        await pause();
        sliceStart = performance.now();
      }
    }
    lastLine = null;
    options.onProgress?.({ rows, bytes: bytesRead });

    let pruned = 0;
    const strictFailed = options.strict === true && firstReject !== undefined;
    if (options.prune && !strictFailed) {
      if (inserted + updated + unchanged === 0) {
        throw new ImportError(
          label,
          null,
          `--prune with no valid rows would delete every contact; ${NOTHING_IMPORTED}`,
        );
      }
      if (!dryRun && options.forcePrune !== true) {
        await guardPrune(db, seen.table, inserted, options.maxPruneFraction, label);
      }
      pruned = await prune(db, seen.pruneCandidates);
    }
    const shared = strictFailed
      ? { list: [], total: 0 }
      : await sharedNumbers(db, options.sharedNumbersLimit ?? 100);
    await db.run(seen.drop);

    const commit = !dryRun && !strictFailed;
    if (commit && options.beforeCommit) {
      await options.beforeCommit(db, { rows, inserted, updated, unchanged, rejected, pruned });
    }
    if (commit) await session.commit();
    else await session.rollback();

    const summary: ImportSummary = {
      file: label,
      rows,
      inserted,
      updated,
      unchanged,
      rejected,
      pruned,
      warningCount,
      warnings,
      rejects,
      sharedNumbers: shared.list,
      sharedNumberCount: shared.total,
      duplicateIdsInFile,
      extraNumbers,
      derivedAccountIds,
      idSource: resolution.idSource.kind === "column"
        ? { kind: "column", header: resolution.idSource.header }
        : resolution.idSource.kind === "id_from"
        ? { kind: "id_from", header: resolution.idSource.header }
        : { kind: "derived", header: null },
      encoding: encoding.name,
      encodingSource: encoding.source,
      mapping: resolution.mapping,
      dryRun,
      headerRow: names,
      committed: commit,
      headers: {
        names,
        delimiter,
        matched: Object.fromEntries(resolution.matched),
        unknown: resolution.unknown,
        ignored: resolution.ignored,
        excluded: resolution.excluded,
      },
      elapsedMs: Math.round(performance.now() - started),
    };
    if (strictFailed && firstReject) {
      throw new ImportError(
        label,
        firstReject.line,
        `${firstReject.reason} (--strict: ${rejected} row${
          rejected === 1 ? "" : "s"
        } rejected); ${NOTHING_IMPORTED}`,
        { summary },
      );
    }
    return summary;
  } catch (error) {
    if (session) await session.rollback().catch(() => {});
    throw toImportError(error, label, lastLine);
  } finally {
    session?.close();
    await events.return(undefined).catch(() => {});
  }
}

/** The write transaction of one import. */
interface WriteSession {
  readonly db: SqlExecutor;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  close(): void;
}

async function beginSession(
  store: Store,
  busyTimeoutMs: number,
  label: string,
): Promise<WriteSession> {
  if (store.driver !== null && store.localPath !== null) {
    const connection = new Database(store.localPath, { timeout: busyTimeoutMs });
    try {
      // A larger page cache for this connection only: bulk upserts touch many index pages.
      connection.exec("PRAGMA cache_size = -65536");
      connection.exec("BEGIN IMMEDIATE");
    } catch (error) {
      connection.close();
      throw new ImportError(
        label,
        null,
        `cannot start the import transaction (${messageOf(error)}); another import or ` +
          `writer may hold the store, try again; ${NOTHING_IMPORTED}`,
        { cause: error, reason: "store_busy" },
      );
    }
    let open = true;
    return {
      db: driverExecutor(preparedDriver(connection)),
      commit() {
        connection.exec("COMMIT");
        open = false;
        // A large import leaves its pages in the write-ahead log (hundreds of MB
        // for a million rows): copy them into the database and empty the log now,
        // rather than leaving every later reader to search it. Best effort: a
        // reader that is mid-query makes it a partial checkpoint, finished later.
        try {
          connection.exec("PRAGMA wal_checkpoint(TRUNCATE)");
        } catch {
          // SQLite's automatic checkpoints finish the job.
        }
        return Promise.resolve();
      },
      rollback() {
        if (open && connection.inTransaction) connection.exec("ROLLBACK");
        open = false;
        return Promise.resolve();
      },
      close() {
        connection.close();
      },
    };
  }
  const tx = await store.client.transaction("write");
  let open = true;
  return {
    db: clientExecutor(tx),
    async commit() {
      await tx.commit();
      open = false;
    },
    async rollback() {
      if (open) await tx.rollback();
      open = false;
    },
    close() {
      tx.close();
    },
  };
}

/**
 * The prune guard (issue 19): refuses, before any delete and before the
 * commit, a prune that would remove more than `maxFraction` of the contacts
 * stored before this import (a cut-off export would otherwise empty the store).
 */
async function guardPrune(
  db: SqlExecutor,
  seenTable: string,
  inserted: number,
  maxFraction: number | undefined,
  label: string,
): Promise<void> {
  const fraction = maxFraction ?? DEFAULT_MAX_PRUNE_FRACTION;
  const before = (await countContacts(db)) - inserted;
  const doomed = integer(
    (await db.first(
      `SELECT COUNT(*) AS n FROM contacts WHERE external_id NOT IN (SELECT external_id FROM ${seenTable})`,
    )) ?? {},
    "n",
  );
  if (!exceedsPruneGuard(doomed, before, fraction)) return;
  const percent = (n: number) => `${Math.round(n * 1000) / 10}%`;
  throw new ImportError(
    label,
    null,
    `--prune would delete ${doomed} of the ${before} stored contacts (${
      percent(doomed / before)
    }), more than contacts.max_prune_fraction (${percent(fraction)}); the file may be cut off. ` +
      `${NOTHING_IMPORTED}. If the file is complete, run it again with --force-prune ` +
      "(API: force_prune=true; console: confirm it on the dry run's page).",
    { reason: "prune_guard" },
  );
}

/**
 * The prune guard's rule: deleting `doomed` of the `before` stored contacts is
 * past `maxFraction` (an empty store is never guarded). The console's dry run
 * uses it to say, before Apply, that the prune needs a confirmation.
 */
export function exceedsPruneGuard(
  doomed: number,
  before: number,
  maxFraction: number = DEFAULT_MAX_PRUNE_FRACTION,
): boolean {
  return before > 0 && doomed > maxFraction * before;
}

/** Deletes, through `deleteContact`, every contact the file did not name. */
async function prune(db: SqlExecutor, candidatesSql: string): Promise<number> {
  let pruned = 0;
  let after = "";
  for (;;) {
    const batch = await db.all(candidatesSql, [after]);
    if (batch.length === 0) return pruned;
    for (const row of batch) {
      const id = text(row, "external_id");
      if (await deleteContact(db, id)) pruned++;
      after = id;
    }
    await pause();
  }
}

async function sharedNumbers(
  db: SqlExecutor,
  limit: number,
): Promise<{ list: SharedNumber[]; total: number }> {
  const total = integer((await db.first(SHARED_COUNT_SQL)) ?? {}, "n");
  if (total === 0 || limit <= 0) return { list: [], total };
  const list: SharedNumber[] = [];
  for (const row of await db.all(SHARED_SQL, [limit])) {
    const e164 = text(row, "e164");
    const ids = await db.all(SHARED_IDS_SQL, [e164]);
    list.push({
      e164,
      contacts: integer(row, "n"),
      externalIds: ids.map((r) => text(r, "external_id")),
    });
  }
  return { list, total };
}

/** `first` (when there is one), then the rest of `rest`. */
async function* startingWith<T>(
  first: T | undefined,
  rest: AsyncIterator<T>,
): AsyncGenerator<T, void, undefined> {
  if (first !== undefined) yield first;
  for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
}

function pause(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function toImportError(error: unknown, label: string, line: number | null): ImportError {
  if (error instanceof ImportError) return error;
  if (error instanceof CsvFormatError) {
    return new ImportError(label, error.line, `${error.problem}; ${NOTHING_IMPORTED}`, {
      cause: error,
    });
  }
  const where = line === null ? "" : ` while importing the row at line ${line}`;
  return new ImportError(
    label,
    null,
    `the import failed${where} (${messageOf(error)}); ${NOTHING_IMPORTED}`,
    { cause: error },
  );
}
