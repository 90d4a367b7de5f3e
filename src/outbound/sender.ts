/**
 * The sender loop (DESIGN §11, STYLE 14): one owner, `start()`/`stop()`. Each
 * turn is one write transaction that records the attempts finished since the
 * last turn, turns the outbox entries the applier recorded into messages (a page at
 * a time, off the webhook's path) and claims due messages for the free delivery slots (bounded in
 * all and per endpoint, so a black-holed endpoint holds at most its own
 * slots); the claimed messages are then sent concurrently through the one
 * outbound HTTP client, and the loop sleeps until a delivery finishes, the
 * applier announces a change (`wake()`), or the poll interval passes.
 *
 * Every attempt is signed with its own time (a retry hours later still passes
 * a receiver's timestamp tolerance). Messages are read from the store in
 * pages of at most the free slots: memory does not grow with the backlog.
 */
import type { SqlExecutor } from "../store/sql.ts";
import type { WriteTransactionRunner } from "../store/write_transaction.ts";
import { messageOf } from "../error_message.ts";
import {
  type AttemptOutcome,
  type AttemptResult,
  claimDue,
  type ClaimedMessage,
  recordAttempts,
  releaseLeases,
  sweepOutbound,
} from "./delivery_queue.ts";
import { type HttpClient, OutboundError } from "./http_client.ts";
import { FAN_OUT_PAGE, fanOutEntries } from "./outbox.ts";
import { parseRetryAfter, type RetryPolicy } from "./retry_schedule.ts";
import { signatureHeader } from "./signing.ts";

/** The part of a logger the sender uses. */
export interface SenderLog {
  info(message: string, properties?: Record<string, unknown>): void;
  warn(message: string, properties?: Record<string, unknown>): void;
  error(message: string, properties?: Record<string, unknown>): void;
}

/** What the sender needs. */
export interface SenderDeps {
  readonly write: WriteTransactionRunner;
  readonly client: HttpClient;
  /** This instance (its audit folder's id): leases of an earlier process of it are released at start. */
  readonly instance: string;
  readonly log: SenderLog;
  readonly clock?: () => Date;
  readonly concurrency: number;
  readonly concurrencyPerEndpoint: number;
  readonly retry: RetryPolicy;
  readonly disableAfterMs: number;
  readonly keepMs: number;
  readonly pollMs?: number;
  /** How long a claim holds a message (longer than an attempt can take). */
  readonly leaseMs?: number;
  /**
   * The least time between two turns (each a write transaction, with its
   * commit): under load, finished attempts and due messages gather and go in
   * one transaction instead of one each. Default 10 ms.
   */
  readonly minTurnGapMs?: number;
  /**
   * While webhooks keep arriving (`inbound()` within the last 250 ms), turns
   * are at least this far apart (default 100 ms) and take at most
   * `busyBatch` messages (default 8): deliveries yield the thread to the
   * acks (≤ 80 a second then, far above what a sales team's calls need; a
   * burst coalesces meanwhile), and catch up at full speed once it is over.
   */
  readonly busyGapMs?: number;
  readonly busyBatch?: number;
  /** The most one attempt may take in all (connect, answer, reading it); default 20 s. */
  readonly attemptTimeoutMs?: number;
  /** Bytes of an answer read, at most (the first KiB is kept). */
  readonly maxAnswerBytes?: number;
  readonly userAgent?: string;
  /** Told about every attempt (metrics). */
  readonly onAttempt?: (endpointId: string, outcome: AttemptOutcome, seconds: number) => void;
}

/** The sender's state, for `/readyz` and the console. */
export interface SenderStatus {
  readonly state: "idle" | "running" | "store_unavailable" | "stopped";
  readonly in_flight: number;
  readonly problem: string | null;
}

const RESPONSE_KEPT_BYTES = 1024;
const BUSY_WINDOW_MS = 250;
const SWEEP_EVERY_MS = 3_600_000;
const STOP_FAN_OUT_PAGES = 20;

/** The outbound sender. */
export class OutboundSender {
  readonly #deps: SenderDeps;
  readonly #owner: string;
  readonly #clock: () => Date;
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #perEndpoint = new Map<string, number>();
  /** Claimed, waiting for a free slot of their endpoint (at most one slot's worth each). */
  readonly #queued = new Map<string, ClaimedMessage[]>();
  #queuedCount = 0;
  #finished: AttemptResult[] = [];
  #wakeup = Promise.withResolvers<void>();
  #abort = new AbortController();
  #running: Promise<void> | null = null;
  #stopping = false;
  #state: SenderStatus["state"] = "idle";
  #problem: string | null = null;
  #lastSweep = 0;
  #turns = 0;
  #inboundAt = -Infinity;
  /** Outbox entries may wait to become messages (true at start: an earlier process may have left some). */
  #entriesWait = true;

  constructor(deps: SenderDeps) {
    this.#deps = deps;
    this.#owner = `${deps.instance}:${crypto.randomUUID()}`;
    this.#clock = deps.clock ?? (() => new Date());
  }

  /** Starts the loop (once). */
  start(): void {
    if (this.#running) return;
    this.#state = "running";
    this.#running = this.#run();
  }

  /** Something may have become due (a change was recorded): look now. */
  wake(): void {
    this.#wakeup.resolve();
  }

  /** A webhook event was applied (and may have recorded outbox entries): yield to them, then look. */
  inbound(): void {
    this.#inboundAt = performance.now();
    this.#entriesWait = true;
    this.wake();
  }

  #busy(): boolean {
    return performance.now() - this.#inboundAt < BUSY_WINDOW_MS;
  }

  /**
   * Stops: in-flight attempts are cut off (not counted as attempts) and their
   * messages released for the next start or another instance.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#abort.abort();
    this.wake();
    await this.#running;
    this.#state = "stopped";
  }

  /** What the sender is doing. */
  status(): SenderStatus {
    return { state: this.#state, in_flight: this.#inFlight.size, problem: this.#problem };
  }

  async #run(): Promise<void> {
    const pollMs = this.#deps.pollMs ?? 1_000;
    let released = false;
    let failures = 0;
    let lastTurn = -Infinity;
    while (!this.#stopping) {
      const gap = this.#busy() ? this.#deps.busyGapMs ?? 100 : this.#deps.minTurnGapMs ?? 10;
      const wait = lastTurn + gap - performance.now();
      if (wait > 0) await Promise.race([delay(wait), this.#stopped()]);
      if (this.#stopping) break;
      lastTurn = performance.now();
      const wakeup = this.#wakeup.promise;
      try {
        if (!released) {
          await this.#deps.write((db) => releaseLeases(db, `${this.#deps.instance}:`, this.#owner));
          released = true;
        }
        const claimed = await this.#turn();
        failures = 0;
        if (this.#problem !== null) {
          this.#deps.log.info("Outbound deliveries resumed: the store answers again.");
        }
        this.#problem = null;
        this.#state = "running";
        for (const message of claimed) {
          const queue = this.#queued.get(message.endpointId) ?? [];
          queue.push(message);
          this.#queued.set(message.endpointId, queue);
          this.#queuedCount++;
        }
        this.#pump();
        // More may be due right away (a backlog), or attempts finished meanwhile.
        if (claimed.length > 0 || this.#finished.length > 0 || this.#entriesWait) continue;
      } catch (error) {
        failures++;
        this.#state = "store_unavailable";
        if (this.#problem === null) {
          this.#deps.log.warn(
            "Outbound deliveries wait: the store cannot be written ({error}); retrying.",
            { error: messageOf(error) },
          );
        }
        this.#problem = messageOf(error);
        await Promise.race([delay(Math.min(pollMs * 2 ** failures, 30_000)), this.#stopped()]);
        continue;
      }
      if (this.#finished.length > 0) continue;
      await Promise.race([wakeup, delay(pollMs)]);
      if (this.#wakeup.promise === wakeup) this.#wakeup = Promise.withResolvers<void>();
    }
    this.#queued.clear();
    this.#queuedCount = 0;
    await Promise.allSettled(this.#inFlight.values());
    const results = this.#finished.splice(0).filter((result) => result.error !== ABORTED);
    await this.#deps.write(async (db) => {
      if (results.length > 0) await this.#record(db, results);
      // A clean stop leaves messages, not outbox entries (a few pages at most:
      // a longer log waits for the next start).
      for (let page = 0; page < STOP_FAN_OUT_PAGES; page++) {
        if (await fanOutEntries(db, FAN_OUT_PAGE) < FAN_OUT_PAGE) break;
      }
      await db.run(
        `UPDATE outbound_messages SET lease_owner = NULL, lease_until = NULL
          WHERE lease_owner = ? AND status = 'pending'`,
        [this.#owner],
      );
    }).catch((error) => {
      this.#deps.log.warn("Outbound: could not record the last attempts at shutdown: {error}", {
        error: messageOf(error),
      });
    });
  }

  /**
   * One transaction: record finished attempts, turn the outbox entries into
   * messages, claim what is due for the free slots.
   */
  async #turn(): Promise<ClaimedMessage[]> {
    const results = this.#finished.splice(0);
    const now = this.#clock().getTime();
    const sweepDue = now - this.#lastSweep >= SWEEP_EVERY_MS;
    // Nothing to record, fan out or claim: no transaction at all.
    const room = Math.min(
      2 * this.#deps.concurrency - this.#inFlight.size - this.#queuedCount,
      this.#busy() ? this.#deps.busyBatch ?? 8 : Infinity,
    );
    const fanOut = this.#entriesWait;
    if (results.length === 0 && !sweepDue && room <= 0 && !fanOut) {
      return [];
    }
    // Cleared before the transaction: a change applied meanwhile sets it again.
    this.#entriesWait = false;
    try {
      return await this.#deps.write(async (db) => {
        if (results.length > 0) await this.#record(db, results);
        if (fanOut && await fanOutEntries(db, FAN_OUT_PAGE) === FAN_OUT_PAGE) {
          this.#entriesWait = true; // more than a page waits: the next turn goes on
        }
        if (sweepDue) {
          await sweepOutbound(db, now - this.#deps.keepMs);
          this.#lastSweep = now;
        }
        if (room <= 0 || this.#stopping) return [];
        return await claimDue(db, {
          owner: this.#owner,
          now,
          leaseMs: this.#deps.leaseMs ?? 60_000,
          total: room,
          // Its free slots and as many again, queued here: a turn (one
          // transaction) claims for the slots that free up before the next.
          freeFor: (id) =>
            2 * this.#deps.concurrencyPerEndpoint - (this.#perEndpoint.get(id) ?? 0) -
            (this.#queued.get(id)?.length ?? 0),
          turn: this.#turns++,
        });
      });
    } catch (error) {
      // Nothing was recorded: the results go again with the next turn, and the entries wait.
      this.#finished.unshift(...results);
      this.#entriesWait ||= fanOut;
      throw error;
    }
  }

  async #record(db: SqlExecutor, results: AttemptResult[]): Promise<void> {
    const summary = await recordAttempts(db, results, {
      owner: this.#owner,
      now: this.#clock().getTime(),
      retry: this.#deps.retry,
      disableAfterMs: this.#deps.disableAfterMs,
    });
    for (const { id, reason } of summary.disabled) {
      this.#deps.log.error(
        'Outbound endpoint {id} DISABLED: {reason}. Its messages wait; fix the receiver, then enable it again (PATCH /api/endpoints/{id} {"enabled":true}).',
        { id, reason },
      );
    }
    if (summary.failed.length > 0) {
      this.#deps.log.warn(
        "{count} outbound message(s) failed every attempt of the retry schedule; they can be resent.",
        { count: summary.failed.length },
      );
    }
  }

  /** Starts queued messages while their endpoint and the sender have free slots. */
  #pump(): void {
    for (const [endpointId, queue] of this.#queued) {
      while (
        queue.length > 0 && this.#inFlight.size < this.#deps.concurrency &&
        (this.#perEndpoint.get(endpointId) ?? 0) < this.#deps.concurrencyPerEndpoint
      ) {
        this.#queuedCount--;
        this.#send(queue.shift()!);
      }
      if (queue.length === 0) this.#queued.delete(endpointId);
    }
  }

  #send(message: ClaimedMessage): void {
    this.#perEndpoint.set(message.endpointId, (this.#perEndpoint.get(message.endpointId) ?? 0) + 1);
    const attempt = this.#attempt(message).then((result) => {
      this.#finished.push(result);
      this.#deps.onAttempt?.(message.endpointId, result.outcome, result.latencyMs / 1000);
    }).finally(() => {
      this.#inFlight.delete(message.id);
      const left = (this.#perEndpoint.get(message.endpointId) ?? 1) - 1;
      if (left > 0) this.#perEndpoint.set(message.endpointId, left);
      else this.#perEndpoint.delete(message.endpointId);
      if (!this.#stopping) this.#pump();
      this.wake();
    });
    this.#inFlight.set(message.id, attempt);
  }

  async #attempt(message: ClaimedMessage): Promise<AttemptResult> {
    const at = this.#clock().getTime();
    const started = performance.now();
    const result = (
      outcome: AttemptOutcome,
      fields: Partial<Pick<AttemptResult, "statusCode" | "response" | "error" | "retryAfterMs">>,
    ): AttemptResult => ({
      message,
      outcome,
      at,
      latencyMs: performance.now() - started,
      statusCode: fields.statusCode ?? null,
      response: fields.response ?? null,
      error: fields.error ?? null,
      retryAfterMs: fields.retryAfterMs ?? null,
    });
    try {
      const timestamp = Math.floor(at / 1000);
      const response = await this.#deps.client.request({
        method: "POST",
        url: message.url,
        headers: {
          "content-type": "application/json",
          "webhook-id": message.id,
          "webhook-timestamp": String(timestamp),
          "webhook-signature": signatureHeader(
            message.secrets,
            message.id,
            timestamp,
            message.body,
          ),
          ...(this.#deps.userAgent ? { "user-agent": this.#deps.userAgent } : {}),
        },
        body: message.body,
        signal: AbortSignal.any([
          this.#abort.signal,
          AbortSignal.timeout(this.#deps.attemptTimeoutMs ?? 20_000),
        ]),
      });
      const { bytes } = await response.readPrefix(this.#deps.maxAnswerBytes ?? 64 * 1024);
      const text = new TextDecoder().decode(bytes.subarray(0, RESPONSE_KEPT_BYTES));
      const ok = response.status >= 200 && response.status < 300;
      return result(ok ? "delivered" : "http_error", {
        statusCode: response.status,
        response: text,
        error: ok ? null : `HTTP ${response.status}${redirectNote(response)}`,
        retryAfterMs: parseRetryAfter(response.headers.get("retry-after"), Date.now()),
      });
    } catch (error) {
      if (this.#stopping && this.#abort.signal.aborted) {
        return result("connection_error", { error: ABORTED });
      }
      if (error instanceof OutboundError) {
        const outcome: AttemptOutcome =
          error.code === "answer_timeout" || error.code === "connect_timeout" ||
            error.code === "aborted"
            ? "timeout"
            : error.code === "refused_address" || error.code === "bad_url"
            ? "refused"
            : "connection_error";
        return result(outcome, {
          error: error.code === "aborted"
            ? `no complete answer within ${(this.#deps.attemptTimeoutMs ?? 20_000) / 1000} s`
            : error.message,
        });
      }
      return result("connection_error", { error: messageOf(error) });
    }
  }

  #stopped(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#abort.signal.aborted) resolve();
      else this.#abort.signal.addEventListener("abort", () => resolve(), { once: true });
    });
  }
}

const ABORTED = "aborted by shutdown";

function redirectNote(response: { status: number; headers: Headers }): string {
  return response.status >= 300 && response.status < 400
    ? " (a redirect: not followed; register the final URL)"
    : "";
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    Deno.unrefTimer(timer);
  });
}
