/**
 * The source runner (STYLE 14: one owner, `start()`/`stop()`): runs each
 * configured source on its schedule, or now when asked. A run claims the
 * source's lease in the store (several instances run each slot once), records
 * itself in `source_runs`, fetches (URL) or takes whole files (drop folder),
 * and imports through the import jobs, one import at a time: it waits for a
 * running import (bounded) or is recorded `skipped`. The run's outcome is
 * written inside the import's own transaction, so a crash never leaves a file
 * imported but unrecorded. Scheduled runs are never forced past the prune guard.
 */
import type { Store } from "../../store/open_store.ts";
import type { Logger } from "../../log/logging.ts";
import { messageOf } from "../../error_message.ts";
import type { ImportCounts } from "../import_contacts.ts";
import { type ImportJob, type ImportJobs, ImportSubmitError } from "../import_jobs.ts";
import {
  claimedPath,
  claimFile,
  finishFile,
  listClaimed,
  prepareFolder,
  reclaimFile,
  settledFiles,
  unclaimFile,
} from "./drop_folder.ts";
import { createSchedule, type Schedule } from "./schedule.ts";
import type { SourceConfig } from "./source_config.ts";
import type { SourceHttp } from "./source_http.ts";
import {
  claimSource,
  finishRun,
  interruptStaleRuns,
  lastRuns,
  releaseLease,
  renewLease,
  type RunEnd,
  runOfClaimedFile,
  type RunOutcome,
  type RunTrigger,
  type SourceRun,
  type SourceState,
  sourceStates,
  startRun,
} from "./source_runs.ts";
import { describeUrl, fetchExport, SourceFetchError } from "./url_fetcher.ts";

/** How many failed periods make a source a warning. */
export const FAILING_PERIODS = 3;

/** A source as the API and the console show it. */
export interface SourceStatus {
  readonly name: string;
  readonly kind: "url" | "dir";
  /** The URL without its query, or the folder. */
  readonly location: string;
  readonly schedule: string;
  readonly prune: boolean;
  readonly next_run_at: string | null;
  readonly running: boolean;
  readonly last_run: SourceRun | null;
  readonly last_success_at: string | null;
  readonly consecutive_failures: number;
  /** Not succeeded for 3 of its periods (shown on the Overview and in /readyz). */
  readonly failing: boolean;
}

/** A source in trouble, for the Overview and `/readyz`. */
export interface SourceWarning {
  readonly name: string;
  readonly message: string;
}

/** What the runner needs. */
export interface SourceRunnerDeps {
  readonly store: Store;
  readonly jobs: ImportJobs;
  readonly sources: readonly SourceConfig[];
  /** Owner-only folder under the data folder for downloads. */
  readonly spoolDir: string;
  readonly maxBytes: number;
  /** Who holds a lease (the audit folder's instance id). */
  readonly instance: string;
  readonly http: SourceHttp;
  readonly clock?: () => Date;
  readonly log?: Logger;
  /** How often due sources are looked for. Default 1000 ms. */
  readonly tickMs?: number;
  /** How long a lease holds without renewal. Default 15 min. */
  readonly leaseMs?: number;
  /** First retry backoff of a fetch. Default 1000 ms. */
  readonly retryBaseMs?: number;
  /** Told about every finished run (metrics). */
  readonly onRun?: (source: string, outcome: RunOutcome, counts: ImportCounts | null) => void;
}

interface Entry {
  readonly config: SourceConfig;
  readonly schedule: Schedule;
  running: Promise<void> | null;
}

/** Runs the configured sources (see the module comment). */
export class SourceRunner {
  readonly #deps: SourceRunnerDeps;
  readonly #entries = new Map<string, Entry>();
  readonly #abort = new AbortController();
  #timer: ReturnType<typeof setTimeout> | null = null;
  #stopped = false;
  #states = new Map<string, SourceState>();
  #last = new Map<string, SourceRun>();

  constructor(deps: SourceRunnerDeps) {
    this.#deps = deps;
    for (const config of deps.sources) {
      this.#entries.set(config.name, { config, schedule: createSchedule(config), running: null });
    }
  }

  #now(): number {
    return (this.#deps.clock?.() ?? new Date()).getTime();
  }

  /** Releases this instance's leases left by a previous process, then checks for due sources every tick. */
  async start(): Promise<void> {
    if (this.#entries.size === 0) return;
    // Downloads left by a process that died mid-run (each run spools afresh).
    try {
      for await (const entry of Deno.readDir(this.#deps.spoolDir)) {
        if (entry.isFile && entry.name.startsWith("fetch-")) {
          await Deno.remove(`${this.#deps.spoolDir}/${entry.name}`).catch(() => {});
        }
      }
    } catch {
      // no spool folder yet
    }
    await this.#deps.store.write((db) =>
      // A lease still held by this instance means its process died mid-run: run
      // the source again now (a claimed drop-folder file is finished or re-imported).
      db.run(
        `UPDATE source_state SET lease_until_ms = 0, lease_holder = NULL, next_due_ms = 0
         WHERE lease_holder = ? AND lease_until_ms > 0`,
        [this.#deps.instance],
      )
    ).catch((error) =>
      this.#deps.log?.warn("Sources: cannot release old leases: {error}", {
        error: messageOf(error),
      })
    );
    const every = this.#deps.tickMs ?? 1000;
    let delay = every;
    const tick = async () => {
      if (this.#stopped) return;
      try {
        await this.#tick();
        delay = every;
      } catch (error) {
        // A store that is away: say so, then look again less and less often (at most a minute).
        if (delay === every) {
          this.#deps.log?.warn("Sources: cannot check for due sources: {error}", {
            error: messageOf(error),
          });
        }
        delay = Math.min(60_000, delay * 2);
      }
      if (!this.#stopped) this.#timer = setTimeout(tick, delay);
    };
    this.#timer = setTimeout(tick, 0);
  }

  /** Stops scheduling, aborts downloads, and waits for runs in progress (their imports finish). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#abort.abort();
    await Promise.all([...this.#entries.values()].map((e) => e.running?.catch(() => {})));
  }

  /** The configured source names. */
  names(): string[] {
    return [...this.#entries.keys()];
  }

  /**
   * Starts a run now (a person asked). Resolves with the run id, `running`
   * when the source is already running (here or on another instance), or
   * `unknown`.
   */
  async runNow(name: string): Promise<{ runId: number } | "running" | "unknown"> {
    const entry = this.#entries.get(name);
    if (!entry) return "unknown";
    if (entry.running || this.#stopped) return "running";
    const started = await this.#claimAndStart(entry, "manual", null);
    return started ?? "running";
  }

  /** Every source with its state and last run (read from the store, so other instances' runs show). */
  async statuses(): Promise<SourceStatus[]> {
    await this.#refresh();
    const now = this.#now();
    return [...this.#entries.values()].map((entry) => {
      const state = this.#states.get(entry.config.name);
      const last = this.#last.get(entry.config.name) ?? null;
      return {
        name: entry.config.name,
        kind: entry.config.url !== undefined ? "url" : "dir",
        location: entry.config.url !== undefined
          ? describeUrl(entry.config.url)
          : entry.config.dir ?? "",
        schedule: entry.schedule.text,
        prune: entry.config.prune,
        // A slot in the past is due: it runs at the next tick.
        next_run_at: new Date(Math.max(state?.nextDueMs ?? 0, now)).toISOString(),
        running: entry.running !== null ||
          (state !== undefined && state.leaseUntilMs > now && state.leaseHolder !== null),
        last_run: last,
        last_success_at: state?.lastSuccessMs ? new Date(state.lastSuccessMs).toISOString() : null,
        consecutive_failures: state?.consecutiveFailures ?? 0,
        failing: this.#failing(entry, state, now),
      };
    });
  }

  /** The sources that have not succeeded for 3 of their periods (from the last tick's read). */
  warnings(): SourceWarning[] {
    const now = this.#now();
    const out: SourceWarning[] = [];
    for (const entry of this.#entries.values()) {
      const state = this.#states.get(entry.config.name);
      if (!this.#failing(entry, state, now)) continue;
      const last = this.#last.get(entry.config.name);
      out.push({
        name: entry.config.name,
        message: `${entry.config.name}: no successful run for ${FAILING_PERIODS} periods or more` +
          (last?.message ? ` (last: ${last.outcome}: ${last.message.slice(0, 200)})` : ""),
      });
    }
    return out;
  }

  #failing(entry: Entry, state: SourceState | undefined, now: number): boolean {
    if (!state) return false;
    if (state.consecutiveFailures >= FAILING_PERIODS) return true;
    const period = entry.schedule.periodMs(new Date(now));
    return state.lastSuccessMs !== null &&
      now - state.lastSuccessMs > FAILING_PERIODS * period + 60_000;
  }

  async #refresh(): Promise<void> {
    const db = this.#deps.store.reader;
    this.#states = await sourceStates(db);
    this.#last = await lastRuns(db);
  }

  async #tick(): Promise<void> {
    await this.#refresh();
    const now = this.#now();
    for (const entry of this.#entries.values()) {
      if (entry.running || this.#stopped) continue;
      const state = this.#states.get(entry.config.name);
      if (state && state.nextDueMs > now) continue;
      const next = entry.schedule.next(new Date(now)).getTime();
      await this.#claimAndStart(entry, "schedule", next);
    }
  }

  /** Claims the lease and starts the run in the background; null when another holder has it. */
  async #claimAndStart(
    entry: Entry,
    trigger: RunTrigger,
    nextDueMs: number | null,
  ): Promise<{ runId: number } | null> {
    const name = entry.config.name;
    const now = this.#now();
    const runId = await this.#deps.store.write(async (db) => {
      const won = await claimSource(db, {
        source: name,
        holder: this.#deps.instance,
        nowMs: now,
        leaseMs: this.#leaseMs(),
        nextDueMs,
      });
      if (!won) return null;
      await interruptStaleRuns(db, name, now);
      return await startRun(db, {
        source: name,
        trigger,
        instance: this.#deps.instance,
        nowMs: now,
      });
    });
    if (runId === null) return null;
    entry.running = this.#run(entry, runId, trigger).finally(async () => {
      await this.#deps.store.write((db) => releaseLease(db, name, this.#deps.instance)).catch(
        () => {},
      );
      entry.running = null;
      await this.#refresh().catch(() => {}); // warnings() reflects this run at once
    });
    return { runId };
  }

  #leaseMs(): number {
    return this.#deps.leaseMs ?? 15 * 60_000;
  }

  async #run(entry: Entry, runId: number, trigger: RunTrigger): Promise<void> {
    const name = entry.config.name;
    const renew = setInterval(() => {
      void this.#deps.store.write((db) =>
        renewLease(db, name, this.#deps.instance, this.#now() + this.#leaseMs())
      ).catch(() => {}); // an import holds the write lock: the lease is long enough
    }, Math.max(1000, Math.floor(this.#leaseMs() / 4)));
    try {
      if (entry.config.url !== undefined) await this.#runUrl(entry, runId);
      else await this.#runDir(entry, runId, trigger);
    } catch (error) {
      this.#deps.log?.error("Source {name} run {id} failed: {error}", {
        name,
        id: runId,
        error: messageOf(error),
      });
      await this.#finish(runId, name, {
        outcome: "failed",
        nowMs: this.#now(),
        message: messageOf(error),
      }).catch(() => {});
    } finally {
      clearInterval(renew);
    }
  }

  async #finish(runId: number, name: string, end: RunEnd): Promise<void> {
    await this.#deps.store.write((db) => finishRun(db, runId, end));
    this.#deps.onRun?.(name, end.outcome, end.counts ?? null);
  }

  async #runUrl(entry: Entry, runId: number): Promise<void> {
    const config = entry.config;
    await this.#refresh(); // the validators of the last good run, fresh from the store
    const state = this.#states.get(config.name);
    const previous = {
      etag: state?.etag ?? null,
      lastModified: state?.lastModified ?? null,
      contentSha256: state?.contentSha256 ?? null,
    };
    let result;
    try {
      result = await fetchExport(this.#deps.http, {
        url: config.url ?? "",
        headers: config.headers,
        allowPrivateNetworks: config.allow_private_networks,
        timeoutMs: config.timeout_ms,
        retries: config.retries,
        maxBytes: this.#deps.maxBytes,
        spoolDir: this.#deps.spoolDir,
        previous,
        retryBaseMs: this.#deps.retryBaseMs,
        signal: this.#abort.signal,
      });
    } catch (error) {
      const message = error instanceof SourceFetchError ? error.message : messageOf(error);
      await this.#finish(runId, config.name, {
        outcome: this.#stopped ? "interrupted" : "failed",
        nowMs: this.#now(),
        message: this.#stopped ? "the server stopped during the download" : message,
      });
      return;
    }
    const file = describeUrl(config.url ?? "");
    if (result.kind !== "body") {
      await this.#finish(runId, config.name, {
        outcome: "unchanged",
        nowMs: this.#now(),
        file,
        bytes: result.kind === "same_content" ? result.bytes : null,
        contentSha256: result.kind === "same_content" ? result.validators.contentSha256 : null,
        message: result.kind === "not_modified"
          ? "304 Not Modified"
          : "same content as the last import (SHA-256)",
        ...(result.kind === "same_content" ? { validators: result.validators } : {}),
      });
      return;
    }
    try {
      await this.#importFile(entry, runId, result.path, file, {
        bytes: result.bytes,
        contentSha256: result.validators.contentSha256,
        validators: result.validators,
      });
    } finally {
      await Deno.remove(result.path).catch(() => {});
    }
  }

  /**
   * Waits for the import slot (bounded), imports the file with the run's
   * record written in the import's transaction, and records a failure.
   * Returns the outcome.
   */
  async #importFile(
    entry: Entry,
    runId: number,
    path: string,
    file: string,
    extra: Pick<RunEnd, "bytes" | "contentSha256" | "validators">,
    beforeSubmit?: () => Promise<void>,
  ): Promise<{ outcome: RunOutcome; message: string | null; counts: ImportCounts | null }> {
    const config = entry.config;
    const skipped = async (message: string) => {
      await this.#finish(runId, config.name, {
        outcome: "skipped",
        nowMs: this.#now(),
        file,
        message,
      });
      return { outcome: "skipped" as const, message, counts: null };
    };
    const waitUntil = this.#now() + config.wait_for_import_seconds * 1000;
    while (this.#deps.jobs.busy() && this.#now() < waitUntil && !this.#stopped) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    if (this.#deps.jobs.busy()) {
      return await skipped(
        `import_running: another import was still running after ${config.wait_for_import_seconds} s`,
      );
    }
    await beforeSubmit?.();
    let job: ImportJob;
    let committed: ImportCounts | null = null;
    try {
      job = await this.#deps.jobs.submitFile(path, {
        fileName: `${config.name}: ${file}`,
        dryRun: false,
        prune: config.prune,
        forcePrune: false, // scheduled and run-now runs are never forced
        strict: config.strict,
        region: config.region,
        encoding: config.encoding,
        idFrom: config.id_from,
        userMap: config.map,
        beforeCommit: async (db, counts) => {
          committed = counts;
          await finishRun(db, runId, {
            outcome: "imported",
            nowMs: this.#now(),
            file,
            counts,
            ...extra,
          });
        },
      });
    } catch (error) {
      if (error instanceof ImportSubmitError && error.code === "busy") {
        return await skipped(`import_running: ${error.message}`);
      }
      throw error;
    }
    let latest: ImportJob | undefined = job;
    while (latest?.state === "running") latest = await this.#deps.jobs.waitFor(job.id, 60_000);
    if (latest?.state === "succeeded" && committed !== null) {
      this.#deps.onRun?.(config.name, "imported", committed);
      return { outcome: "imported", message: null, counts: committed };
    }
    if (latest?.error?.code === "store_busy") {
      // Another process's import (the CLI) held the store: not a failure of the source.
      return await skipped(`import_running: ${latest.error.message}`);
    }
    const refused = latest?.error?.code === "prune_refused";
    const message = latest?.error?.message ?? "the import failed";
    await this.#finish(runId, config.name, {
      outcome: refused ? "refused" : "failed",
      nowMs: this.#now(),
      file,
      message,
      bytes: extra.bytes ?? null,
      contentSha256: extra.contentSha256 ?? null,
    });
    return { outcome: refused ? "refused" : "failed", message, counts: null };
  }

  async #runDir(entry: Entry, firstRunId: number, trigger: RunTrigger): Promise<void> {
    const config = entry.config;
    const dir = config.dir ?? "";
    await prepareFolder(dir);
    let runId: number | null = firstRunId;
    const nextRunId = async (file: string, why: RunTrigger) => {
      if (runId !== null) {
        const id = runId;
        runId = null;
        return id;
      }
      return await this.#deps.store.write((db) =>
        startRun(db, {
          source: config.name,
          trigger: why,
          instance: this.#deps.instance,
          nowMs: this.#now(),
          file,
        })
      );
    };
    // A restart: files claimed by a run that did not move them.
    for (const claimed of await listClaimed(dir)) {
      if (this.#stopped) return;
      const previous = await this.#deps.store.write((db) => runOfClaimedFile(db, claimed.runId));
      if (previous?.outcome === "imported") {
        await finishFile(dir, claimed.claimedName, "done", resultOf(previous));
        continue;
      }
      const id = await nextRunId(claimed.originalName, "recovery");
      const claimedName = await reclaimFile(dir, claimed, id);
      await this.#importClaimed(entry, id, dir, claimedName, claimed.originalName);
    }
    const settleMs = config.settle_seconds * 1000;
    const files = await settledFiles(
      dir,
      settleMs,
      () => this.#now(),
      (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    );
    for (const file of files) {
      if (this.#stopped) break;
      const id = await nextRunId(file.name, trigger);
      const claimedName = await claimFile(dir, file.name, id);
      if (claimedName === null) {
        await this.#finish(id, config.name, {
          outcome: "skipped",
          nowMs: this.#now(),
          file: file.name,
          message: "the file disappeared before it was claimed",
        });
        continue;
      }
      const done = await this.#importClaimed(entry, id, dir, claimedName, file.name);
      if (done === "skipped") break;
    }
    if (runId !== null) {
      await this.#finish(runId, config.name, {
        outcome: "unchanged",
        nowMs: this.#now(),
        message: "no new file in the folder",
      });
    }
  }

  async #importClaimed(
    entry: Entry,
    runId: number,
    dir: string,
    claimedName: string,
    name: string,
  ): Promise<RunOutcome> {
    const path = claimedPath(dir, claimedName);
    const bytes = (await Deno.stat(path)).size;
    const result = await this.#importFile(entry, runId, path, name, { bytes });
    if (result.outcome === "skipped") {
      await unclaimFile(dir, claimedName, name).catch(() => {});
      return result.outcome;
    }
    await finishFile(dir, claimedName, result.outcome === "imported" ? "done" : "failed", {
      source: entry.config.name,
      run_id: runId,
      file: name,
      outcome: result.outcome,
      finished_at: new Date(this.#now()).toISOString(),
      bytes,
      counts: result.counts,
      message: result.message,
    });
    return result.outcome;
  }
}

function resultOf(run: SourceRun): Record<string, unknown> {
  return {
    source: run.source,
    run_id: run.id,
    file: run.file,
    outcome: run.outcome,
    finished_at: run.finished_at,
    bytes: run.bytes,
    counts: run.counts,
    message: run.message,
  };
}
