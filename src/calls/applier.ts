/**
 * The applier (DESIGN §5.2): the one loop that turns audit lines into store
 * rows, in log order. The audit log is the inbox; the store is its projection.
 * Each batch of lines is applied in one write transaction together with the
 * applier's position (audit folder instance, seq, line hash), so after any
 * crash the store says exactly which line comes next and nothing is applied
 * twice or skipped.
 *
 * Lines come from memory when the webhook hands them in right after their
 * fsync (the usual case), else from the audit files (on start, after a store
 * outage, for `audit replay`), checked as they are read: chain, body hash and
 * the Symbo signature under a configured or retired secret. A line that does
 * not verify stops the applier there, loudly, and nothing after it is applied.
 * A busy or unreachable store only makes it wait and retry with capped backoff.
 */
import {
  type AuditLine,
  AuditReadError,
  listAuditFiles,
  readAuditFileLines,
} from "../audit/audit_reader.ts";
import {
  type AuditRecord,
  GENESIS_HASH,
  parseRecordLine,
  recordBodyBytes,
} from "../audit/audit_record.ts";
import { checkAuditLine } from "../audit/audit_verify.ts";
import { readTrustedChainStart } from "../audit/chain_start.ts";
import { messageOf } from "../error_message.ts";
import type { SqlExecutor } from "../store/sql.ts";
import { isStoreUnavailable, type WriteTransactionRunner } from "../store/write_transaction.ts";
import { type SigningKey, verifySignature } from "../symbo/signature.ts";
import { applyEvent, type ApplyOutcome, type EventFlag } from "./apply_event.ts";
import { nextBatchSize } from "./batch_pacing.ts";
import { type ClassifiedEvent, classifyEvent, InvalidEventError } from "./call_event.ts";

/** Where the applier stands: the last applied line of one audit folder. */
export interface ApplierPosition {
  readonly instance: string;
  readonly seq: number;
  readonly hash: string;
}

/** What the applier is doing. */
export type ApplierState =
  | "starting"
  | "catching_up"
  | "caught_up"
  | "waiting_for_store"
  | "stopped"
  | "shut_down";

/** A snapshot of the applier for `/readyz`, metrics and the banner. */
export interface ApplierStatus {
  readonly state: ApplierState;
  /** Audited lines not yet applied. */
  readonly lag_events: number;
  /** Age of the oldest audited line not yet applied (0 when caught up). */
  readonly lag_seconds: number;
  readonly position: ApplierPosition | null;
  /** Why the applier stopped (a line that does not verify), or why the store is waited for. */
  readonly problem: string | null;
}

/** What happened to one audit line. */
export type LineOutcome = ApplyOutcome["status"] | "invalid" | "failed";

/** The part of a logger the applier uses (a LogTape `Logger` is one). */
export interface ApplierLog {
  info(message: string, properties?: Record<string, unknown>): void;
  warn(message: string, properties?: Record<string, unknown>): void;
  error(message: string, properties?: Record<string, unknown>): void;
}

/** What the applier needs. */
export interface ApplierDeps {
  readonly write: WriteTransactionRunner;
  /** Reads the recorded position. */
  readonly reader: SqlExecutor;
  readonly auditDir: string;
  /** The audit folder's instance id (see `audit/audit_instance.ts`). */
  readonly instance: string;
  /** Current and retired webhook secrets: a line applies only if its signature verifies. */
  readonly verifyKeys: readonly SigningKey[];
  /** The audit writer's last seq (live); omitted for `audit replay`. */
  readonly tip?: () => number;
  readonly clock?: () => Date;
  readonly log: ApplierLog;
  /** Lines per transaction, at most. */
  readonly maxBatch?: number;
  /**
   * When set, batches are sized to hold the thread about this long
   * (`nextBatchSize`): for a local store, whose transactions run on the thread
   * that answers lookups. Omitted, every batch takes up to `maxBatch` lines.
   */
  readonly batchTargetMs?: number;
  /** A monotonic clock in ms for pacing (tests); `performance.now` by default. */
  readonly nowMs?: () => number;
  /** Warn when the oldest unapplied line is older than this. */
  readonly lagWarningSeconds?: number;
  /** First and largest pause between retries when the store fails. */
  readonly retryMs?: { readonly first: number; readonly max: number };
  /** Told about every line applied (or skipped), for metrics and progress. */
  readonly onLine?: (outcome: LineOutcome, record: AuditRecord) => void;
  /** Told once per flag an applied event raised (id conflict, far-future timestamp). */
  readonly onFlag?: (flag: EventFlag) => void;
  /** Ignore the recorded position and apply from the first line (`audit replay`). */
  readonly fromStart?: boolean;
}

/** A line that does not verify: the applier stops at it. */
export class AuditChainError extends Error {
  override name = "AuditChainError";
}

/** The applier's outcome for a line, or `queued` when it was not applied in time. */
export type WaitOutcome = ApplyOutcome | { status: "queued" };

/** Lines (and body bytes) kept in memory at most; beyond, they are read back from the files. */
const MAX_IN_MEMORY = 10_000;
const MAX_IN_MEMORY_BYTES = 32 * 1024 * 1024;
/** Outcomes remembered for a caller that asks after its line was applied. */
const RECENT_OUTCOMES = 1_024;

const GET_POSITION_SQL = "SELECT seq, hash, received_at FROM applier_positions WHERE instance = ?";
const SET_POSITION_SQL = `INSERT INTO applier_positions
  (instance, seq, hash, received_at, applied_at) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT (instance) DO UPDATE SET seq = excluded.seq, hash = excluded.hash,
    received_at = excluded.received_at, applied_at = excluded.applied_at`;

type Settled = { ok: true; outcome: ApplyOutcome } | { ok: false; error: unknown };

interface Waiter {
  readonly resolve: (outcome: WaitOutcome) => void;
  readonly reject: (error: unknown) => void;
}

/** Reads the position the store holds for `instance` (null when it has none). */
export async function readApplierPosition(
  reader: SqlExecutor,
  instance: string,
): Promise<(ApplierPosition & { receivedAtMs: number }) | null> {
  const row = await reader.first(GET_POSITION_SQL, [instance]);
  if (!row) return null;
  return {
    instance,
    seq: Number(row.seq),
    hash: String(row.hash),
    receivedAtMs: Number(row.received_at),
  };
}

/** The audit-log-to-store applier; one per audit folder and process. */
export class Applier {
  readonly #deps: ApplierDeps;
  readonly #clock: () => Date;
  readonly #maxBatch: number;
  /** The next batch's size: `maxBatch`, or less when batches are paced by time. */
  #batchLimit: number;
  readonly #now: () => number;
  readonly #queue: AuditRecord[] = [];
  readonly #waiters = new Map<number, Waiter[]>();
  readonly #recent = new Map<number, Settled | null>();
  /** Events the webhook parsed already, by their (in-memory) line. */
  readonly #parsed = new WeakMap<AuditRecord, ClassifiedEvent>();
  #queuedBytes = 0;

  #state: ApplierState = "starting";
  #problem: string | null = null;
  #position: ApplierPosition | null = null;
  #positionReceivedMs = 0;
  /** Verified lines read from the files, not yet applied. */
  #fromFiles: AuditRecord[] = [];
  #cursor: AsyncGenerator<AuditRecord, void, undefined> | null = null;
  /** Set when the files have no line after the position (until more is audited). */
  #filesExhausted = false;
  #running: Promise<void> | null = null;
  #stopping = false;
  #wake: (() => void) | null = null;
  /** False during a backoff pause: new lines must not turn it into a retry per webhook. */
  #wakeOnOffer = true;
  #lastLagWarning = 0;
  #firstPass = Promise.withResolvers<void>();
  readonly #createdAtMs: number;

  /** Creates a stopped applier; call {@link start} (server) or {@link runToEnd} (replay). */
  constructor(deps: ApplierDeps) {
    this.#deps = deps;
    this.#clock = deps.clock ?? (() => new Date());
    this.#maxBatch = deps.maxBatch ?? 256;
    this.#batchLimit = this.#maxBatch;
    this.#now = deps.nowMs ?? (() => performance.now());
    this.#createdAtMs = this.#clock().getTime();
  }

  /** Starts the background loop (resumes from the recorded position). */
  start(): void {
    this.#running ??= this.#loop();
  }

  /** Resolves once the first catch-up pass ended (or the applier stopped or waits for the store). */
  get settled(): Promise<void> {
    return this.#firstPass.promise;
  }

  /** Stops the loop after the batch in flight; waiting callers get `queued`. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    await this.#running;
    await this.#closeCursor();
    this.#state = "shut_down";
    for (const [, waiters] of this.#waiters) {
      for (const waiter of waiters) waiter.resolve({ status: "queued" });
    }
    this.#waiters.clear();
  }

  /**
   * Hands in a line the audit log just made durable (the webhook's path), with
   * the event the webhook already parsed from its body, so it is not parsed twice.
   */
  offer(record: AuditRecord, event?: ClassifiedEvent): void {
    if (event !== undefined) this.#parsed.set(record, event);
    const bytes = bodyLength(record);
    const room = this.#queue.length < MAX_IN_MEMORY &&
      this.#queuedBytes + bytes <= MAX_IN_MEMORY_BYTES;
    if (room && this.#state !== "stopped") {
      this.#queue.push(record);
      this.#queuedBytes += bytes;
    }
    this.#filesExhausted = false;
    if (this.#wakeOnOffer) this.#wake?.();
  }

  /**
   * Waits up to `ms` for line `seq` to be applied: its outcome, or `queued`.
   * Rejects when applying the event itself failed (not the store: that is retried).
   */
  waitFor(seq: number, ms: number): Promise<WaitOutcome> {
    if (this.#recent.has(seq)) {
      const result = this.#recent.get(seq) ?? null;
      if (result === null) return Promise.resolve({ status: "ignored" });
      return result.ok ? Promise.resolve(result.outcome) : Promise.reject(result.error);
    }
    // Waiting is worth it only while the store answers: when the applier is
    // already waiting for it (an import holds the lock, the server is away),
    // the answer would be `queued` after the full wait anyway.
    if (
      this.#state === "stopped" || this.#state === "shut_down" ||
      this.#state === "waiting_for_store" || ms <= 0
    ) {
      return Promise.resolve({ status: "queued" });
    }
    return new Promise<WaitOutcome>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (outcome) => {
          clearTimeout(timer);
          resolve(outcome);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.#dropWaiter(seq, waiter);
        resolve({ status: "queued" });
      }, ms);
      const list = this.#waiters.get(seq);
      if (list) list.push(waiter);
      else this.#waiters.set(seq, [waiter]);
    });
  }

  /** The current state, lag and position. */
  status(): ApplierStatus {
    const applied = this.#position?.seq ?? 0;
    const tip = this.#deps.tip?.() ?? applied;
    const lagEvents = Math.max(0, tip - applied);
    let lagSeconds = 0;
    if (lagEvents > 0) {
      // The next line's receipt time when it is in hand; else a bound that is
      // known (the last applied line's time, or when this applier started).
      const next = this.#nextKnownRecord();
      const since = next !== null
        ? Date.parse(next.received_at)
        : this.#positionReceivedMs > 0
        ? this.#positionReceivedMs
        : this.#createdAtMs;
      lagSeconds = Math.max(0, (this.#clock().getTime() - since) / 1000);
    }
    return {
      state: this.#state,
      lag_events: lagEvents,
      lag_seconds: Math.round(lagSeconds * 1000) / 1000,
      position: this.#position,
      problem: this.#problem,
    };
  }

  /**
   * Applies every line after the position (from the first line when
   * `fromStart`) up to the end of the files, then returns. For `audit replay`;
   * throws an {@link AuditChainError} at a line that does not verify, and the
   * store's error when the store fails.
   */
  async runToEnd(): Promise<void> {
    await this.#loadPosition();
    for (;;) {
      const progressed = await this.#step();
      if (this.#state === "stopped") throw new AuditChainError(this.#problem ?? "stopped");
      if (!progressed) break;
    }
    await this.#closeCursor();
  }

  async #loop(): Promise<void> {
    let pauseMs = this.#deps.retryMs?.first ?? 100;
    const maxPauseMs = this.#deps.retryMs?.max ?? 5_000;
    while (!this.#stopping) {
      try {
        if (this.#position === null) await this.#loadPosition();
        const progressed = this.#state === "stopped" ? false : await this.#step();
        if (this.#state === "waiting_for_store") {
          this.#deps.log.info("The store is back; the applier resumes.");
        }
        if (this.#state !== "stopped") {
          this.#state = progressed ? "catching_up" : "caught_up";
          this.#problem = null;
        }
        pauseMs = this.#deps.retryMs?.first ?? 100;
        if (!progressed) {
          this.#firstPass.resolve();
          await this.#idle(1_000, true);
        } else {
          // A local store's transaction runs on this thread: between batches,
          // let waiting requests (lookups while the phone rings) go first, so a
          // catch-up after an import is many short pauses, not one long one.
          await new Promise((resolve) => setTimeout(resolve, 0));
        }
      } catch (error) {
        this.#firstPass.resolve();
        const reason = messageOf(error);
        if (this.#state !== "waiting_for_store") {
          this.#deps.log.warn(
            "The store did not take the applier's batch ({reason}); audited events wait " +
              "and are retried with backoff (up to {maxPauseMs} ms apart).",
            { reason, maxPauseMs },
          );
        }
        this.#state = "waiting_for_store";
        this.#problem = isStoreUnavailable(error)
          ? "the store is busy or unreachable; retrying"
          : "applying failed; retrying";
        await this.#idle(pauseMs, false);
        pauseMs = Math.min(pauseMs * 2, maxPauseMs);
      }
      this.#warnAboutLag();
    }
  }

  /** Sleeps up to `ms`, or until the applier is stopped (or, with `wakeOnOffer`, a line is offered). */
  async #idle(ms: number, wakeOnOffer: boolean): Promise<void> {
    if (this.#stopping) return;
    this.#wakeOnOffer = wakeOnOffer;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
      timer = setTimeout(resolve, ms);
    });
    clearTimeout(timer);
    this.#wake = null;
    this.#wakeOnOffer = true;
  }

  async #loadPosition(): Promise<void> {
    const stored = this.#deps.fromStart
      ? null
      : await readApplierPosition(this.#deps.reader, this.#deps.instance);
    this.#position = stored === null
      ? await this.#firstKeptPosition()
      : { instance: stored.instance, seq: stored.seq, hash: stored.hash };
    this.#positionReceivedMs = stored?.receivedAtMs ?? 0;
  }

  /**
   * Where "from the start" begins: the genesis, or, once retention has removed
   * older days, just before the first kept line that chain-start.json records.
   */
  async #firstKeptPosition(): Promise<ApplierPosition> {
    const { start, problem } = await readTrustedChainStart(
      this.#deps.auditDir,
      this.#deps.verifyKeys,
    );
    if (problem !== null) {
      // From the genesis instead: the first kept line then names the gap, and the applier stops.
      this.#deps.log.warn("Ignoring the audit folder's chain start: {problem}.", { problem });
    }
    return start === null
      ? { instance: this.#deps.instance, seq: 0, hash: GENESIS_HASH }
      : { instance: this.#deps.instance, seq: start.seq - 1, hash: start.prev };
  }

  /** Applies one batch; false when there was nothing to apply. */
  async #step(): Promise<boolean> {
    const batch = await this.#nextBatch();
    if (batch.length === 0) return false;
    const position = this.#position;
    const last = batch.at(-1);
    if (position === null || last === undefined) return false;
    const started = this.#now();
    const results = await this.#applyBatch(batch, last);
    if (this.#deps.batchTargetMs !== undefined) {
      this.#batchLimit = nextBatchSize({
        max: this.#maxBatch,
        targetMs: this.#deps.batchTargetMs,
        lastSize: batch.length,
        lastMs: this.#now() - started,
      });
    }
    this.#position = { instance: position.instance, seq: last.seq, hash: last.hash };
    this.#positionReceivedMs = Date.parse(last.received_at);
    // The batch is in the store: drop it from wherever it came from.
    if (this.#fromFiles[0]?.seq === batch[0]?.seq) this.#fromFiles.splice(0, batch.length);
    batch.forEach((record, index) => {
      const result = results[index] ?? null;
      this.#settle(record, result);
    });
    return true;
  }

  async #applyBatch(
    batch: readonly AuditRecord[],
    last: AuditRecord,
  ): Promise<(Settled | null)[]> {
    const classified = batch.map((record) => {
      const event = this.#parsed.get(record);
      return event !== undefined && record.body !== undefined
        ? { event, bodyText: record.body }
        : classifyRecord(record);
    });
    return await this.#deps.write(async (db) => {
      const results: (Settled | null)[] = [];
      for (const [index, event] of classified.entries()) {
        const record = batch[index];
        if (event === null || record === undefined) {
          results.push(null);
          continue;
        }
        await db.run("SAVEPOINT apply_line");
        try {
          const outcome = await applyEvent(db, event.event, {
            receivedAt: new Date(record.received_at),
            auditSeq: record.seq,
            auditInstance: this.#deps.instance,
            bodyText: event.bodyText,
            bodySha256: record.body_sha256,
          });
          await db.run("RELEASE apply_line");
          results.push({ ok: true, outcome });
        } catch (error) {
          // The store failing is retried as a whole batch; an event that cannot
          // be applied (a bug, a damaged row) must not hold up every later one.
          if (isStoreUnavailable(error)) throw error;
          await db.run("ROLLBACK TO apply_line");
          await db.run("RELEASE apply_line");
          results.push({ ok: false, error });
        }
      }
      await db.run(SET_POSITION_SQL, [
        this.#deps.instance,
        last.seq,
        last.hash,
        Date.parse(last.received_at),
        this.#clock().getTime(),
      ]);
      return results;
    });
  }

  #settle(record: AuditRecord, result: Settled | null): void {
    this.#recent.set(record.seq, result);
    if (this.#recent.size > RECENT_OUTCOMES) {
      const oldest = this.#recent.keys().next();
      if (!oldest.done) this.#recent.delete(oldest.value);
    }
    const waiters = this.#waiters.get(record.seq) ?? [];
    this.#waiters.delete(record.seq);
    if (result === null) {
      this.#deps.onLine?.("invalid", record);
      for (const waiter of waiters) waiter.resolve({ status: "ignored" });
      return;
    }
    if (result.ok) {
      this.#deps.onLine?.(result.outcome.status, record);
      for (const flag of result.outcome.flags ?? []) this.#deps.onFlag?.(flag);
      for (const waiter of waiters) waiter.resolve(result.outcome);
      return;
    }
    this.#deps.onLine?.("failed", record);
    this.#deps.log.error(
      "Audit line seq {seq} (event {eventId}) could not be applied and was skipped: {error}",
      { seq: record.seq, eventId: record.event_id, error: messageOf(result.error) },
    );
    for (const waiter of waiters) waiter.reject(result.error);
  }

  /** The next lines to apply, in order: from memory when they follow on, else from the files. */
  async #nextBatch(): Promise<AuditRecord[]> {
    const position = this.#position;
    if (position === null) return [];
    // Lines already applied (read back from the files first) leave the memory queue.
    while ((this.#queue[0]?.seq ?? Infinity) <= position.seq) {
      const dropped = this.#queue.shift();
      if (dropped !== undefined) this.#queuedBytes -= bodyLength(dropped);
    }
    if (this.#fromFiles.length > 0) return this.#fromFiles.slice(0, this.#batchLimit);

    const head = this.#queue[0];
    if (head !== undefined && head.seq === position.seq + 1 && head.prev === position.hash) {
      // Written by this process right after verifying its signature: no need to re-check.
      // A file cursor left open is behind now: a later read starts over from the position.
      await this.#closeCursor();
      const batch: AuditRecord[] = [];
      let expected = position.seq + 1;
      for (const record of this.#queue) {
        if (batch.length >= this.#batchLimit || record.seq !== expected) break;
        batch.push(record);
        expected++;
      }
      return batch;
    }
    if (this.#filesExhausted && head === undefined) return [];
    const tip = this.#deps.tip?.();
    if (tip !== undefined && tip <= position.seq) return [];
    this.#fromFiles = await this.#readFromFiles(position, tip);
    if (this.#fromFiles.length === 0) this.#filesExhausted = true;
    return this.#fromFiles.slice(0, this.#batchLimit);
  }

  /** Reads up to one batch of verified lines after `position` from the audit files. */
  async #readFromFiles(
    position: ApplierPosition,
    tip: number | undefined,
  ): Promise<AuditRecord[]> {
    this.#cursor ??= this.#verifiedLinesAfter(position);
    const batch: AuditRecord[] = [];
    while (batch.length < this.#batchLimit) {
      let next: IteratorResult<AuditRecord, void>;
      try {
        next = await this.#cursor.next();
      } catch (error) {
        this.#cursor = null;
        if (error instanceof AuditChainError) {
          this.#stopAt(error.message);
          break;
        }
        throw error;
      }
      if (next.done || (tip !== undefined && next.value.seq > tip)) {
        // The end of what is acknowledged now (a line past the writer's tip may
        // still be rolled back if its fsync fails); a later read starts over
        // from the position.
        await this.#closeCursor();
        break;
      }
      if (next.value.seq <= position.seq) continue;
      batch.push(next.value);
    }
    return batch;
  }

  async #closeCursor(): Promise<void> {
    const cursor = this.#cursor;
    this.#cursor = null;
    await cursor?.return();
  }

  #stopAt(problem: string): void {
    if (this.#state === "stopped") return;
    this.#state = "stopped";
    this.#problem = problem;
    this.#deps.log.error(
      "The applier STOPPED: {problem}. Nothing after this line is applied to the store; " +
        "webhooks are still accepted and audited, lookups still work. Run `symbo-crm audit " +
        "verify`, restore the audit file, then restart.",
      { problem },
    );
    for (const [, waiters] of this.#waiters) {
      for (const waiter of waiters) waiter.resolve({ status: "queued" });
    }
    this.#waiters.clear();
  }

  /**
   * The lines after `position`, each checked against the one before it and its
   * signature. Throws an {@link AuditChainError} naming the file and line that
   * does not verify, or when the log does not reach the recorded position.
   */
  async *#verifiedLinesAfter(
    position: ApplierPosition,
  ): AsyncGenerator<AuditRecord, void, undefined> {
    const dir = this.#deps.auditDir;
    let files: string[];
    try {
      files = await listAuditFiles(dir);
    } catch (error) {
      throw new AuditChainError(messageOf(error));
    }
    let startIndex: number;
    try {
      startIndex = await fileHolding(dir, files, position.seq);
    } catch (error) {
      if (error instanceof AuditReadError) throw new AuditChainError(error.message);
      throw error;
    }
    let lastSeq = position.seq;
    let lastHash = position.hash;
    let anchored = position.seq === 0;
    for (const file of files.slice(startIndex)) {
      for await (const line of chainErrorsOf(readAuditFileLines(dir, file))) {
        const where = `audit file ${file} line ${line.lineNumber}`;
        if (!line.endsWithNewline) return; // being written, or torn: not acknowledged yet
        if (!anchored) {
          const seq = seqOf(line.text);
          if (seq === null || seq < position.seq) continue;
          const record = safeParse(line.text);
          // The position's own line; or, once retention removed the day that held
          // it, the line right after it, which names the position's hash as prev.
          const follows = record !== null && seq === position.seq + 1 &&
            record.prev === position.hash;
          if (
            !follows && (seq > position.seq || record === null || record.hash !== position.hash)
          ) {
            throw new AuditChainError(
              `${where}: the store's position (seq ${position.seq}, hash ` +
                `${position.hash.slice(0, 12)}…) is not in the log: the log was cut, replaced ` +
                `or belongs to another store`,
            );
          }
          anchored = true;
          if (!follows) continue;
        }
        const checked = checkAuditLine(line.text, lastSeq, lastHash);
        if (typeof checked === "string") throw new AuditChainError(`${where}: ${checked}`);
        const body = new Uint8Array(recordBodyBytes(checked));
        if (!(await verifySignature(this.#deps.verifyKeys, body, checked.signature))) {
          throw new AuditChainError(
            `${where}: the X-Hmac-Signature does not verify under any configured or retired ` +
              `webhook secret (forged, or signed with a secret no longer configured)`,
          );
        }
        lastSeq = checked.seq;
        lastHash = checked.hash;
        yield checked;
      }
    }
    if (!anchored) {
      throw new AuditChainError(
        `the audit log ends before the position the store recorded (seq ${position.seq}): ` +
          `lines or files are missing`,
      );
    }
  }

  #nextKnownRecord(): AuditRecord | null {
    const applied = this.#position?.seq ?? 0;
    const fromFiles = this.#fromFiles[0];
    if (fromFiles !== undefined) return fromFiles;
    const head = this.#queue.find((record) => record.seq > applied);
    return head !== undefined && head.seq === applied + 1 ? head : null;
  }

  #warnAboutLag(): void {
    const threshold = this.#deps.lagWarningSeconds;
    if (threshold === undefined) return;
    const status = this.status();
    const now = this.#clock().getTime();
    if (status.lag_seconds <= threshold || now - this.#lastLagWarning < 60_000) return;
    this.#lastLagWarning = now;
    this.#deps.log.warn(
      "The store is {lagSeconds} s ({lagEvents} events) behind the audit log ({state}).",
      { lagSeconds: status.lag_seconds, lagEvents: status.lag_events, state: status.state },
    );
  }

  #dropWaiter(seq: number, waiter: Waiter): void {
    const list = this.#waiters.get(seq);
    if (!list) return;
    const rest = list.filter((w) => w !== waiter);
    if (rest.length === 0) this.#waiters.delete(seq);
    else this.#waiters.set(seq, rest);
  }
}

/** The event a line carries, or null for a verified body that is not a valid event. */
function classifyRecord(
  record: AuditRecord,
): { event: ClassifiedEvent; bodyText: string } | null {
  let bodyText: string;
  try {
    bodyText = record.body ?? new TextDecoder("utf-8", { fatal: true }).decode(
      recordBodyBytes(record),
    );
  } catch {
    return null;
  }
  try {
    return { event: classifyEvent(bodyText), bodyText };
  } catch (error) {
    if (error instanceof InvalidEventError) return null;
    throw error;
  }
}

/**
 * The lines of a file, with a file that cannot be read on (damaged, a line
 * over the reader's bound) turned into an {@link AuditChainError}: the applier
 * stops there, rather than retrying as if the store had failed.
 */
async function* chainErrorsOf(
  lines: AsyncGenerator<AuditLine, void, undefined>,
): AsyncGenerator<AuditLine, void, undefined> {
  try {
    yield* lines;
  } catch (error) {
    if (error instanceof AuditReadError) throw new AuditChainError(error.message);
    throw error;
  }
}

/** The index of the last file whose first line's seq is at most `seq + 1` (0 when none). */
async function fileHolding(dir: string, files: readonly string[], seq: number): Promise<number> {
  for (let index = files.length - 1; index > 0; index--) {
    const file = files[index];
    if (file === undefined) continue;
    for await (const line of readAuditFileLines(dir, file)) {
      const first = seqOf(line.text);
      if (first !== null && first <= Math.max(seq, 1)) return index;
      break;
    }
  }
  return 0;
}

function bodyLength(record: AuditRecord): number {
  return record.body?.length ?? record.body_base64?.length ?? 0;
}

function seqOf(text: string): number | null {
  // Every line starts with {"seq":N — cheaper than parsing a large body to skip it.
  const match = /^\{"seq":(\d+),/.exec(text);
  return match ? Number(match[1]) : null;
}

function safeParse(text: string): AuditRecord | null {
  try {
    return parseRecordLine(text);
  } catch {
    return null;
  }
}
