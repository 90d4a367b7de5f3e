/**
 * The audit folder's background upkeep: compresses closed days
 * (`audit_compaction.ts`) and applies retention (`audit_retention.ts`). One
 * named object with `start()`/`stop()`: it runs once at start (catching up on
 * any older plain day) and then shortly after each UTC midnight, one run at a
 * time; its totals are read by the metrics gauges.
 */
import { compressClosedDays, DEFAULT_CLOSE_GRACE_MS } from "./audit_compaction.ts";
import { type AppliedThrough, applyRetention } from "./audit_retention.ts";
import { messageOf } from "../error_message.ts";
import type { SigningKey } from "../symbo/signature.ts";

/** A failed run is retried this much later rather than at the next midnight. */
const RETRY_MS = 60 * 60 * 1000;

/** What the upkeep needs. */
export interface AuditMaintenanceOptions {
  readonly dir: string;
  /** `audit.compress`. */
  readonly compress: boolean;
  /** `audit.keep_days`; null keeps every day. */
  readonly keepDays: number | null;
  /** `audit.archive_dir`; null deletes expired days. */
  readonly archiveDir: string | null;
  /** The applier's position; retention never removes past it. */
  readonly appliedThrough: AppliedThrough;
  /** Signs `chain-start.json` (the current webhook secret); null: retention removes nothing. */
  readonly signingKey: SigningKey | null;
  /** Current and retired secrets a chain start already there may be signed with. */
  readonly trustKeys?: readonly SigningKey[];
  readonly clock: () => Date;
  /** How long after midnight a day counts as closed; defaults to 5 minutes. */
  readonly graceMs?: number;
  readonly log: {
    info(message: string): void;
    warn(message: string): void;
  };
}

/** Totals since start, for metrics. */
export interface AuditMaintenanceStats {
  /** Days compressed. */
  readonly compressedDays: number;
  /** Plain bytes minus compressed bytes of those days. */
  readonly savedBytes: number;
  /** Days moved to the archive or deleted. */
  readonly removedDays: number;
  /** Bytes those days took in the audit folder. */
  readonly removedBytes: number;
  /** When the last run finished (null before the first). */
  readonly lastRunAt: Date | null;
  /** Whether the last run finished without an error. */
  readonly lastRunOk: boolean;
}

/** Compression and retention of the audit folder, in the background. */
export class AuditMaintenance {
  readonly #options: AuditMaintenanceOptions;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | null = null;
  #stopped = true;
  #stats: AuditMaintenanceStats = {
    compressedDays: 0,
    savedBytes: 0,
    removedDays: 0,
    removedBytes: 0,
    lastRunAt: null,
    lastRunOk: true,
  };

  /** Creates the object; nothing runs until {@link start}. */
  constructor(options: AuditMaintenanceOptions) {
    this.#options = options;
  }

  /** Totals since start. */
  get stats(): AuditMaintenanceStats {
    return this.#stats;
  }

  /** Runs once now (in the background) and then after each UTC midnight. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    void this.runNow();
  }

  /** Cancels the next run and waits for a run in progress to finish. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** Runs compression then retention now (joining a run in progress); never throws. */
  runNow(): Promise<void> {
    this.#running ??= this.#run().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #run(): Promise<void> {
    const { dir, log } = this.#options;
    let ok = true;
    const now = this.#options.clock();
    if (this.#options.compress) {
      try {
        const report = await compressClosedDays({
          dir,
          now,
          graceMs: this.#options.graceMs ?? DEFAULT_CLOSE_GRACE_MS,
          onWarning: (message) => log.warn(message),
        });
        if (report.skipped.length > 0) ok = false;
        for (const day of report.compressed) {
          this.#stats = {
            ...this.#stats,
            compressedDays: this.#stats.compressedDays + 1,
            savedBytes: this.#stats.savedBytes + day.plainBytes - day.compressedBytes,
          };
          log.info(
            `Compressed audit day ${day.day}: ${day.plainBytes} → ${day.compressedBytes} bytes.`,
          );
        }
      } catch (error) {
        ok = false;
        log.warn(`Audit compression failed: ${messageOf(error)}`);
      }
    }
    if (this.#options.keepDays !== null) {
      try {
        const report = await applyRetention({
          dir,
          keepDays: this.#options.keepDays,
          archiveDir: this.#options.archiveDir,
          now,
          appliedThrough: this.#options.appliedThrough,
          signingKey: this.#options.signingKey,
          ...(this.#options.trustKeys === undefined ? {} : { trustKeys: this.#options.trustKeys }),
        });
        this.#stats = {
          ...this.#stats,
          removedDays: this.#stats.removedDays + report.removed.length,
          removedBytes: this.#stats.removedBytes + report.removedBytes,
        };
        if (report.removed.length > 0) {
          const where = this.#options.archiveDir === null
            ? "deleted"
            : `moved to ${this.#options.archiveDir}`;
          log.info(`Audit retention: ${report.removed.join(", ")} ${where}.`);
        }
        if (report.heldBack !== null) {
          log.info(`Audit retention kept expired days: ${report.heldBack}.`);
        }
      } catch (error) {
        ok = false;
        log.warn(`Audit retention failed: ${messageOf(error)}`);
      }
    }
    this.#stats = { ...this.#stats, lastRunAt: this.#options.clock(), lastRunOk: ok };
    this.#schedule(ok);
  }

  #schedule(ok: boolean): void {
    if (this.#stopped) return;
    const now = this.#options.clock().getTime();
    const midnight = Math.ceil((now + 1) / 86_400_000) * 86_400_000;
    const next = midnight + (this.#options.graceMs ?? DEFAULT_CLOSE_GRACE_MS);
    const delay = ok ? next - now : Math.min(RETRY_MS, next - now);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.runNow(), Math.max(1000, delay));
  }
}
