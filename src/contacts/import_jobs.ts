/**
 * Import jobs: how an import that arrives over HTTP runs. The upload is first
 * spooled to an owner-only temp file (no lock is held while a slow or stalled
 * client sends it), then imported in the background from that file, one job at
 * a time, so that an import longer than a request is a job a client polls for
 * (and the console's progress bar shows) instead of a request that times out
 * and commits anyway. Jobs, their summaries and their rejected rows are kept
 * in memory and in temp files, for the newest few only; every job's summary
 * is also saved to the store's import history (see import_history.ts).
 *
 * A dry run's upload is kept (bounded in count, bytes and age) so that the
 * console can apply exactly what was previewed, with the same options, or
 * re-run the dry run with another column mapping (`rerun`).
 */
import type { CountryCode } from "libphonenumber-js";
import type { Store } from "../store/open_store.ts";
import type { Logger } from "../log/logging.ts";
import { messageOf } from "../error_message.ts";
import {
  DEFAULT_MAX_PRUNE_FRACTION,
  exceedsPruneGuard,
  importContacts,
  ImportError,
  type ImportOptions,
  type ImportSummary,
} from "./import_contacts.ts";
import { countContacts } from "./contact_store.ts";
import { toRegion } from "./phone.ts";
import { createRejectsFile } from "./rejects_csv.ts";
import { saveImportJob } from "./import_history.ts";

/** Where a job is (`interrupted`: the server stopped while it ran; only seen in the history). */
export type ImportJobState = "running" | "succeeded" | "failed" | "interrupted";

/** Why a job failed: the file or options (`import_failed`), the prune guard, another writer, or us. */
export type ImportJobErrorCode =
  | "import_failed"
  | "prune_refused"
  | "store_busy"
  | "internal_error"
  | "interrupted";

/** What a job imports, and how. */
export interface ImportJobOptions {
  /** Shown to people; never used as a path. */
  readonly fileName: string;
  readonly dryRun: boolean;
  /** Two-letter default region. */
  readonly region?: string;
  /** WHATWG label, e.g. "windows-1252". */
  readonly encoding?: string;
  /** Column to derive external_id from. */
  readonly idFrom?: string;
  readonly prune?: boolean;
  /** Prune past `contacts.max_prune_fraction` (a person asked: `force_prune=true`). */
  readonly forcePrune?: boolean;
  readonly strict?: boolean;
  /** `--map`: their header → our field (or null); validated by the import. */
  readonly userMap?: Readonly<Record<string, string | null>>;
  /** Runs inside the import's transaction just before its commit (a source run's record). */
  readonly beforeCommit?: ImportOptions["beforeCommit"];
}

/** The options a job ran with, as its page shows them and the history keeps them. */
export interface ImportJobSettings {
  readonly region: string | null;
  readonly encoding: string | null;
  readonly idFrom: string | null;
  readonly prune: boolean;
  readonly forcePrune: boolean;
  readonly strict: boolean;
  readonly userMap: Readonly<Record<string, string | null>> | null;
}

/** A dry run with prune: what the prune would delete, against the prune guard. */
export interface PruneCheck {
  /** Contacts stored when the dry run started. */
  readonly storedBefore: number;
  readonly wouldDelete: number;
  /** `contacts.max_prune_fraction`. */
  readonly maxFraction: number;
  /** Applying it needs a person's confirmation (`forcePrune`). */
  readonly exceedsGuard: boolean;
}

/** A job as clients see it (JSON-ready). */
export interface ImportJob {
  /** Random, URL-safe. */
  readonly id: string;
  readonly fileName: string;
  readonly dryRun: boolean;
  readonly state: ImportJobState;
  /** The spooled file's size. */
  readonly bytesTotal: number;
  /** Progress = bytesRead / bytesTotal. */
  readonly bytesRead: number;
  readonly rowsRead: number;
  /** ISO 8601. */
  readonly startedAt: string;
  readonly finishedAt: string | null;
  /** The same JSON the API answers (counts, warnings, rejects, the column-mapping table). */
  readonly summary: ImportSummary | null;
  readonly error: { readonly code: ImportJobErrorCode; readonly message: string } | null;
  readonly hasRejects: boolean;
  readonly options: ImportJobSettings;
  /** The dry run this job applies or re-runs, if any. */
  readonly fromJob: string | null;
  /** ISO 8601: a dry run's upload is kept until then (null: not kept, or no longer). */
  readonly uploadKeptUntil: string | null;
  /** A dry run with prune: what it would delete, against the guard. */
  readonly pruneCheck: PruneCheck | null;
  /** The file's header line once read (also when the header was the problem), for the mapping editor. */
  readonly headerRow: readonly string[] | null;
}

/** What a re-run of a dry run's kept upload changes (everything else is the dry run's). */
export interface ImportRerun {
  /** false: apply for real. */
  readonly dryRun: boolean;
  /** A new column mapping (null: none); absent, the dry run's. */
  readonly userMap?: Readonly<Record<string, string | null>> | null;
  /** A person confirmed a prune past the guard. */
  readonly forcePrune?: boolean;
}

/**
 * An upload spooled to its owner-only file, holding the import slot until it
 * is started or discarded (a form whose fields follow the file is read in
 * between).
 */
export interface SpooledUpload {
  /** Bytes spooled. */
  readonly size: number;
  /** Starts the import of the spooled file (options checked as `submit` does); a dry run keeps it. */
  start(options: ImportJobOptions): Promise<ImportJob>;
  /** Removes the spooled file and frees the slot; idempotent. */
  discard(): Promise<void>;
}

/** The import jobs of one server. */
export interface ImportJobs {
  /** Spools the body to an owner-only temp file (bounded by max bytes), then starts the import in the background; resolves with the job once spooled. */
  submit(body: ReadableStream<Uint8Array>, options: ImportJobOptions): Promise<ImportJob>;
  /**
   * Starts the import of a file already on disk (a source's spooled download or
   * a drop-folder file). The file is left where it is (the caller owns it).
   * Throws `busy` while another import runs.
   */
  submitFile(path: string, options: ImportJobOptions): Promise<ImportJob>;
  /** True while an import is being uploaded or runs. */
  busy(): boolean;
  /**
   * Spools the body (bounded like `submit`) and holds the import slot until
   * the returned upload is started or discarded.
   */
  spool(body: ReadableStream<Uint8Array>): Promise<SpooledUpload>;
  get(id: string): ImportJob | undefined;
  /**
   * Starts a new job on the kept upload of dry run `id`, with its options and
   * `changes`: Apply (`dryRun: false`) or a dry run with another mapping. The
   * upload passes to the new job. Throws `upload_gone` when it is no longer
   * kept, `busy` while another import runs.
   */
  rerun(id: string, changes: ImportRerun): Promise<ImportJob>;
  /** Newest first, bounded. */
  list(): readonly ImportJob[];
  /** The rejected rows as CSV (formula cells defused), or undefined when there are none / unknown job. */
  rejectsCsv(id: string): ReadableStream<Uint8Array> | undefined;
  /** Waits up to ms for the job to finish; resolves with its latest state. */
  waitFor(id: string, ms: number): Promise<ImportJob | undefined>;
}

/** The jobs as their owner (the server) holds them: with a way to stop. */
export interface OwnedImportJobs extends ImportJobs {
  /** Waits for the running job (if any) to finish and removes the jobs' temp files. */
  close(): Promise<void>;
}

/**
 * Why a submission was refused (nothing was imported): `stalled` (nothing
 * sent for the idle limit, or the whole upload over its deadline) and
 * `client_closed` (the client went away mid-upload) are the client's doing.
 */
export type ImportSubmitErrorCode =
  | "too_large"
  | "busy"
  | "bad_option"
  | "stalled"
  | "client_closed"
  | "upload_gone";

/** A submission refused before any job started; `code` says why. */
export class ImportSubmitError extends Error {
  override name = "ImportSubmitError";
  constructor(readonly code: ImportSubmitErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** What the jobs need. */
export interface ImportJobsDeps {
  readonly store: Store;
  readonly defaultRegion: CountryCode | undefined;
  /** Largest upload spooled; a larger one is refused (`too_large`). */
  readonly maxBytes: number;
  /** An owner-only directory for spooled uploads and rejects files. */
  readonly tempDir: string;
  readonly clock?: () => Date;
  readonly log?: Logger;
  /** How long an upload may send nothing before it is given up (`stalled`). Default 30 s. */
  readonly idleMs?: number;
  /**
   * How long a whole upload may take before it is given up (`stalled`),
   * however steadily it trickles: it holds the only import slot. Default 30 min.
   */
  readonly uploadTimeoutMs?: number;
  /** How many finished jobs are kept. Default 20. */
  readonly keep?: number;
  /** `contacts.max_prune_fraction` (the prune guard). */
  readonly maxPruneFraction?: number;
  /** How many dry runs' uploads are kept for Apply. Default 3. */
  readonly keptUploads?: number;
  /** Most bytes of kept uploads (the oldest go first). Default twice `maxBytes`. */
  readonly keptUploadBytes?: number;
  /** How long a dry run's upload is kept. Default 1 hour. */
  readonly keptUploadMs?: number;
  /** Save every job to the store's import history. Default true. */
  readonly history?: boolean;
}

/** Most header columns a job keeps (the summary's mapping table has them all). */
const MAX_HEADER_COLUMNS = 1000;

/** How many dry runs' uploads are kept, by default. */
export const DEFAULT_KEPT_UPLOADS = 3;
/** How long a dry run's upload is kept, by default. */
export const DEFAULT_KEPT_UPLOAD_MS = 60 * 60_000;

interface KeptUpload {
  readonly path: string;
  readonly size: number;
  readonly options: ImportJobOptions;
  readonly expiresAt: number;
}

interface JobRecord {
  job: ImportJob;
  rejectsPath: string | null;
  done: Promise<void>;
}

/** Creates the import jobs of a server (see the module comment). */
export function createImportJobs(deps: ImportJobsDeps): OwnedImportJobs {
  const clock = deps.clock ?? (() => new Date());
  const keep = deps.keep ?? 20;
  const idleMs = deps.idleMs ?? 30_000;
  const uploadTimeoutMs = deps.uploadTimeoutMs ?? DEFAULT_UPLOAD_TIMEOUT_MS;
  const keptMax = deps.keptUploads ?? DEFAULT_KEPT_UPLOADS;
  const keptMaxBytes = deps.keptUploadBytes ?? 2 * deps.maxBytes;
  const keptMs = deps.keptUploadMs ?? DEFAULT_KEPT_UPLOAD_MS;
  const jobs = new Map<string, JobRecord>(); // insertion order = oldest first
  const kept = new Map<string, KeptUpload>(); // insertion order = oldest first
  let sweepTimer: ReturnType<typeof setTimeout> | undefined;
  let saving: Promise<void> = Promise.resolve();
  let running: JobRecord | null = null;
  let spooling = false;

  const busyError = (job: ImportJob) =>
    new ImportSubmitError(
      "busy",
      `Import ${job.id} (${job.fileName}) is still running; one import runs at a time. ` +
        `Follow it at /api/imports/${job.id} and send this one when it has finished.`,
    );

  function update(record: JobRecord, changes: Partial<ImportJob>): void {
    record.job = { ...record.job, ...changes };
  }

  /** Saves the job to the history, one save after another; a failure is logged, never the job's. */
  function persist(job: ImportJob): Promise<void> {
    if (deps.history === false) return saving;
    saving = saving.then(() => saveImportJob(deps.store.write, job)).catch((error) => {
      deps.log?.warn("Import job {id} was not saved to the history: {error}", {
        id: job.id,
        error: messageOf(error),
      });
    });
    return saving;
  }

  function evict(): void {
    const finished = [...jobs.values()].filter((r) => r.job.state !== "running");
    for (const record of finished.slice(0, Math.max(0, finished.length - keep))) {
      jobs.delete(record.job.id);
      dropKept(record.job.id);
      if (record.rejectsPath) void Deno.remove(record.rejectsPath).catch(() => {});
    }
  }

  /** Removes a kept upload (expired, over the bounds, or its job evicted). */
  function dropKept(id: string): void {
    const upload = kept.get(id);
    if (!upload) return;
    kept.delete(id);
    void Deno.remove(upload.path).catch(() => {});
    const record = jobs.get(id);
    if (record) update(record, { uploadKeptUntil: null });
  }

  /** Drops expired kept uploads, then the oldest while over the count or bytes bound. */
  function sweepKept(): void {
    const now = clock().getTime();
    for (const [id, upload] of kept) if (upload.expiresAt <= now) dropKept(id);
    let bytes = [...kept.values()].reduce((sum, upload) => sum + upload.size, 0);
    for (const [id, upload] of kept) {
      if (kept.size <= keptMax && bytes <= keptMaxBytes) break;
      bytes -= upload.size;
      dropKept(id);
    }
    scheduleSweep();
  }

  // One timer, for the next expiry; unref'd (it never keeps the process alive).
  function scheduleSweep(): void {
    clearTimeout(sweepTimer);
    sweepTimer = undefined;
    if (kept.size === 0) return;
    const next = Math.min(...[...kept.values()].map((upload) => upload.expiresAt));
    sweepTimer = setTimeout(sweepKept, Math.max(1_000, next - clock().getTime() + 100));
    Deno.unrefTimer(sweepTimer);
  }

  function keepUpload(record: JobRecord, path: string, size: number, options: ImportJobOptions) {
    const expiresAt = clock().getTime() + keptMs;
    kept.set(record.job.id, { path, size, options, expiresAt });
    update(record, { uploadKeptUntil: new Date(expiresAt).toISOString() });
    sweepKept();
  }

  async function run(
    record: JobRecord,
    spoolPath: string,
    options: ImportJobOptions,
    owned: boolean,
  ) {
    const rejects = createRejectsFile({ dir: deps.tempDir });
    let file: Deno.FsFile | undefined;
    // A dry run of an upload keeps it for Apply, unless the import itself broke.
    let keepFile = owned && options.dryRun;
    try {
      await persist(record.job);
      const storedBefore = options.dryRun && options.prune
        ? await countContacts(deps.store.reader)
        : null;
      file = await Deno.open(spoolPath, { read: true });
      const summary = await importContacts(deps.store, file.readable, {
        fileLabel: options.fileName,
        defaultRegion: toRegion(options.region) ?? deps.defaultRegion,
        dryRun: options.dryRun,
        strict: options.strict ?? false,
        prune: options.prune ?? false,
        forcePrune: options.forcePrune ?? false,
        maxPruneFraction: deps.maxPruneFraction,
        userMap: options.userMap,
        beforeCommit: options.beforeCommit,
        encoding: options.encoding,
        idFrom: options.idFrom,
        onProgress: ({ rows, bytes }) =>
          update(record, { rowsRead: rows, bytesRead: bytes ?? record.job.bytesRead }),
        onReject: rejects.add,
      });
      record.rejectsPath = await keepRejects(rejects, record.job.id, summary);
      update(record, {
        state: "succeeded",
        bytesRead: record.job.bytesTotal,
        rowsRead: summary.rows,
        summary: toJson(summary),
        hasRejects: record.rejectsPath !== null,
        finishedAt: clock().toISOString(),
        headerRow: summary.headerRow.slice(0, MAX_HEADER_COLUMNS),
        pruneCheck: storedBefore === null
          ? null
          : pruneCheckOf(summary.pruned, storedBefore, deps.maxPruneFraction),
      });
    } catch (error) {
      const summary = error instanceof ImportError ? error.summary : undefined;
      keepFile &&= error instanceof ImportError;
      record.rejectsPath = summary
        ? await keepRejects(rejects, record.job.id, summary).catch(() => null)
        : null;
      if (!summary) await rejects.discard();
      if (!(error instanceof ImportError)) {
        deps.log?.error("Import job {id} failed: {error}", {
          id: record.job.id,
          error: messageOf(error),
        });
      }
      update(record, {
        state: "failed",
        summary: summary ? toJson(summary) : null,
        rowsRead: summary?.rows ?? record.job.rowsRead,
        hasRejects: record.rejectsPath !== null,
        headerRow: error instanceof ImportError && error.headerRow
          ? error.headerRow.slice(0, MAX_HEADER_COLUMNS)
          : null,
        error: error instanceof ImportError
          ? {
            code: error.reason === "prune_guard"
              ? "prune_refused"
              : error.reason === "store_busy"
              ? "store_busy"
              : "import_failed",
            message: error.message,
          }
          : { code: "internal_error", message: "The import failed unexpectedly; see the log." },
        finishedAt: clock().toISOString(),
      });
    } finally {
      if (keepFile) keepUpload(record, spoolPath, record.job.bytesTotal, options);
      else if (owned) await Deno.remove(spoolPath).catch(() => {});
      running = null;
      evict();
    }
    await persist(record.job);
  }

  async function keepRejects(
    rejects: ReturnType<typeof createRejectsFile>,
    id: string,
    summary: ImportSummary,
  ): Promise<string | null> {
    if (summary.rejected === 0) {
      await rejects.discard();
      return null;
    }
    const path = `${deps.tempDir}/import-${id}-rejects.csv`;
    await rejects.finish(path, summary.headerRow);
    return path;
  }

  async function spoolUpload(body: ReadableStream<Uint8Array>): Promise<SpooledUpload> {
    if (running || spooling) {
      await body.cancel().catch(() => {});
      if (running) throw busyError(running.job);
      throw new ImportSubmitError(
        "busy",
        "Another import is being uploaded; one import runs at a time. Try again when it has finished.",
      );
    }
    spooling = true;
    let spoolPath: string | undefined;
    let size: number;
    try {
      spoolPath = await Deno.makeTempFile({ dir: deps.tempDir, prefix: "import-spool-" });
      await Deno.chmod(spoolPath, 0o600);
      size = await spool(body, spoolPath, deps.maxBytes, idleMs, uploadTimeoutMs);
    } catch (error) {
      if (spoolPath) await Deno.remove(spoolPath).catch(() => {});
      spooling = false;
      throw error;
    }
    const path = spoolPath;
    let settled = false;
    const settle = () => {
      settled = true;
      spooling = false;
    };
    return {
      size,
      discard: async () => {
        if (settled) return;
        settle();
        await Deno.remove(path).catch(() => {});
      },
      start: async (options) => {
        if (settled) throw new Error("This spooled upload was already started or discarded.");
        settle();
        try {
          checkOptions(options);
        } catch (error) {
          await Deno.remove(path).catch(() => {});
          throw error;
        }
        return start(path, size, options, true, null);
      },
    };
  }

  function start(
    path: string,
    size: number,
    options: ImportJobOptions,
    owned: boolean,
    fromJob: string | null,
  ): ImportJob {
    const id = newJobId();
    const record: JobRecord = {
      job: {
        id,
        fileName: options.fileName,
        dryRun: options.dryRun,
        state: "running",
        bytesTotal: size,
        bytesRead: 0,
        rowsRead: 0,
        startedAt: clock().toISOString(),
        finishedAt: null,
        summary: null,
        error: null,
        hasRejects: false,
        options: settingsOf(options),
        fromJob,
        uploadKeptUntil: null,
        pruneCheck: null,
        headerRow: null,
      },
      rejectsPath: null,
      done: Promise.resolve(),
    };
    jobs.set(id, record);
    running = record;
    record.done = run(record, path, options, owned);
    return record.job;
  }

  return {
    async submit(body, options) {
      try {
        checkOptions(options);
      } catch (error) {
        await body.cancel().catch(() => {});
        throw error;
      }
      const upload = await spoolUpload(body);
      return await upload.start(options);
    },
    spool: spoolUpload,
    async submitFile(path, options) {
      checkOptions(options);
      if (running || spooling) {
        if (running) throw busyError(running.job);
        throw new ImportSubmitError("busy", "Another import is being uploaded.");
      }
      const size = (await Deno.stat(path)).size;
      if (running || spooling) throw new ImportSubmitError("busy", "Another import started.");
      return start(path, size, options, false, null);
    },
    busy() {
      return running !== null || spooling;
    },
    get(id) {
      sweepKept();
      return jobs.get(id)?.job;
    },
    async rerun(id, changes) {
      sweepKept();
      const gone = () =>
        new ImportSubmitError(
          "upload_gone",
          `The file of dry run ${id} is no longer kept (a dry run's upload is kept for ` +
            `${Math.round(keptMs / 60_000)} minutes, for the newest ${keptMax} dry runs, and ` +
            "never across a restart), so nothing was imported. Upload the file again.",
        );
      const upload = kept.get(id);
      if (!upload || !jobs.has(id)) throw gone();
      // Someone may have removed it under us: that is "gone" too, never a failed import.
      const size = await Deno.stat(upload.path).then((info) => info.isFile ? info.size : -1)
        .catch(() => -1);
      if (size !== upload.size) {
        dropKept(id);
        throw gone();
      }
      if (kept.get(id) !== upload) throw gone();
      if (running) throw busyError(running.job);
      if (spooling) {
        throw new ImportSubmitError(
          "busy",
          "Another import is being uploaded; try again when it has finished.",
        );
      }
      const { userMap: _previousMap, ...rest } = upload.options;
      const userMap = changes.userMap === undefined ? upload.options.userMap : changes.userMap;
      const options: ImportJobOptions = {
        ...rest,
        dryRun: changes.dryRun,
        forcePrune: changes.forcePrune ?? upload.options.forcePrune ?? false,
        ...(userMap ? { userMap } : {}),
      };
      checkOptions(options);
      // The upload passes to the new job (a dry run keeps it again).
      kept.delete(id);
      const record = jobs.get(id);
      if (record) update(record, { uploadKeptUntil: null });
      scheduleSweep();
      return start(upload.path, upload.size, options, true, id);
    },
    list() {
      sweepKept();
      return [...jobs.values()].map((record) => record.job).reverse();
    },
    rejectsCsv(id) {
      const path = jobs.get(id)?.rejectsPath;
      if (!path) return undefined;
      let file: Deno.FsFile | undefined;
      let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (!reader) {
            file = await Deno.open(path, { read: true });
            reader = file.readable.getReader();
          }
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        },
        async cancel() {
          await reader?.cancel().catch(() => {});
        },
      });
    },
    async waitFor(id, ms) {
      const record = jobs.get(id);
      if (!record) return undefined;
      if (record.job.state === "running") {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          record.done,
          new Promise<void>((resolve) => timer = setTimeout(resolve, ms)),
        ]);
        clearTimeout(timer);
      }
      return record.job;
    },
    async close() {
      await running?.done;
      await saving;
      clearTimeout(sweepTimer);
      sweepTimer = undefined;
      for (const upload of kept.values()) await Deno.remove(upload.path).catch(() => {});
      kept.clear();
      for (const record of jobs.values()) {
        if (record.rejectsPath) await Deno.remove(record.rejectsPath).catch(() => {});
      }
      jobs.clear();
    },
  };
}

/** The options as the job shows them. */
function settingsOf(options: ImportJobOptions): ImportJobSettings {
  return {
    region: options.region ?? null,
    encoding: options.encoding ?? null,
    idFrom: options.idFrom ?? null,
    prune: options.prune ?? false,
    forcePrune: options.forcePrune ?? false,
    strict: options.strict ?? false,
    userMap: options.userMap ? { ...options.userMap } : null,
  };
}

/** What a dry run's prune would delete, against the prune guard. */
export function pruneCheckOf(
  wouldDelete: number,
  storedBefore: number,
  maxFraction: number = DEFAULT_MAX_PRUNE_FRACTION,
): PruneCheck {
  return {
    storedBefore,
    wouldDelete,
    maxFraction,
    exceedsGuard: exceedsPruneGuard(wouldDelete, storedBefore, maxFraction),
  };
}

function checkOptions(options: ImportJobOptions): void {
  if (options.region !== undefined && toRegion(options.region) === undefined) {
    throw new ImportSubmitError(
      "bad_option",
      `region ${JSON.stringify(options.region)} is not a two-letter country code we know.`,
    );
  }
  if (options.encoding !== undefined && !isEncodingLabel(options.encoding)) {
    throw new ImportSubmitError(
      "bad_option",
      `encoding ${
        JSON.stringify(options.encoding)
      } is not an encoding label we know (e.g. utf-8, windows-1252, utf-16le, iso-8859-2).`,
    );
  }
}

/** Default of `ImportJobsDeps.uploadTimeoutMs` (512 MiB in it is ~2.4 Mbit/s). */
export const DEFAULT_UPLOAD_TIMEOUT_MS = 30 * 60_000;

/** True when `TextDecoder` knows the label (WHATWG encoding labels). */
export function isEncodingLabel(label: string): boolean {
  try {
    new TextDecoder(label);
    return true;
  } catch {
    return false;
  }
}

function newJobId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_");
}

/** A plain copy of the summary, as the job keeps and the API answers it. */
function toJson(summary: ImportSummary): ImportSummary {
  return { ...summary };
}

/**
 * Copies `body` into `path`, refusing more than `maxBytes`, a body that sends
 * nothing for `idleMs` and one still arriving after `deadlineMs`. A body whose
 * client went away is `client_closed`. Resolves with the size written.
 */
async function spool(
  body: ReadableStream<Uint8Array>,
  path: string,
  maxBytes: number,
  idleMs: number,
  deadlineMs: number,
): Promise<number> {
  const file = await Deno.open(path, { write: true, truncate: true });
  const reader = body.getReader();
  const deadline = Date.now() + deadlineMs;
  let size = 0;
  try {
    for (;;) {
      const left = deadline - Date.now();
      const idle = idleMs <= left;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new ImportSubmitError(
                "stalled",
                idle
                  ? `The upload sent nothing for ${idleMs} ms and was given up; nothing was imported.`
                  : `The upload took longer than ${deadlineMs} ms and was given up; nothing was imported.`,
              ),
            ),
          Math.max(0, Math.min(idleMs, left)),
        );
      });
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await Promise.race([reader.read().catch(clientWentAway), stalled]);
      } finally {
        clearTimeout(timer);
      }
      if (chunk.done) break;
      size += chunk.value.byteLength;
      if (size > maxBytes) {
        throw new ImportSubmitError(
          "too_large",
          `The CSV is larger than admin.max_import_bytes (${maxBytes} bytes).`,
        );
      }
      let written = 0;
      while (written < chunk.value.byteLength) {
        written += await file.write(chunk.value.subarray(written));
      }
    }
    return size;
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw error;
  } finally {
    file.close();
  }
}

/**
 * A read of the upload failed: the client hung up, or the edge's body guard
 * gave up on it (its answer is the `cause`). Never a server fault.
 */
function clientWentAway(error: unknown): never {
  if (error instanceof ImportSubmitError) throw error;
  throw new ImportSubmitError(
    "client_closed",
    "The client closed the connection before sending the whole upload; nothing was imported.",
    { cause: error },
  );
}
