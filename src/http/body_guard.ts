/**
 * Guards request bodies at the edge, for every route that reads one:
 *
 * - one byte budget shared by all requests bounds the body bytes in flight
 *   (120 clients each sending 5 MB could otherwise hold 600 MB). Bytes are
 *   charged as they arrive, never as declared: seven slow clients declaring
 *   5 MiB each used to reserve the whole budget before sending a byte, and
 *   95% of normal webhooks got 503 (issue 20). A body that does not fit is
 *   refused with 503 and Retry-After when its bytes arrive;
 * - small bodies (a normal webhook is a few KB) have a lane of their own that
 *   large ones cannot fill, so they get through while large ones take the rest;
 * - one client address holds at most `perClientBytes` at once (429);
 * - a body that sends nothing for `stallMs`, or that after that grace period
 *   arrives slower than `minBytesPerSecond`, is aborted (408), so a slow client
 *   cannot hold a request, its memory and its connection open;
 * - a body whose client went away mid-way is reported as `client_closed`
 *   (status 499, never logged as an error: nothing is wrong with the server).
 *
 * The guard wraps the body stream; the handler reads it as before.
 */
import { HttpError } from "./http_error.ts";

/** Seconds a client is asked to wait after the budget refused it. */
export const BUDGET_RETRY_AFTER_SECONDS = 2;

/** The status we count and log when the client hung up before its body was read. */
export const CLIENT_CLOSED_STATUS = 499;

/** Headers that close the connection after an answer (timeouts and refusals). */
export const CLOSE_CONNECTION: Readonly<Record<string, string>> = { connection: "close" };

/** A body is small while it declares and has sent at most this many bytes. */
export const SMALL_BODY_BYTES = 64 * 1024;

/** Bytes only small bodies may use, on top of the shared limit (64 full small bodies). */
export const SMALL_LANE_BYTES = 4 * 1024 * 1024;

/** Default of `server.body_min_bytes_per_second`. */
export const DEFAULT_BODY_MIN_BYTES_PER_SECOND = 8 * 1024;

/** How the budget is split. */
export interface BodyBudgetOptions {
  /** Bytes one client address may hold at once (default: no cap beyond the limit). */
  readonly perClientBytes?: number;
  /** Bytes only small bodies may use, on top of the limit (default `SMALL_LANE_BYTES`). */
  readonly smallLaneBytes?: number;
  /** The largest small body (default `SMALL_BODY_BYTES`). */
  readonly smallBodyBytes?: number;
}

/** Why a body's bytes were not taken. */
export type ChargeRefusal = "busy" | "client_busy";

/** One body's account in the budget. */
export interface BodyCharge {
  /** Charges `bytes` more; null when taken, else why not (then nothing was charged). */
  charge(bytes: number): ChargeRefusal | null;
  /** Gives back everything this body holds; idempotent. */
  release(): void;
}

/**
 * The body bytes in flight: a shared pool of `limitBytes`, a lane only small
 * bodies use, and a cap per client address. At most `limitBytes` plus the
 * small lane are ever held.
 */
export class BodyBudget {
  readonly perClientBytes: number;
  readonly smallLaneBytes: number;
  readonly smallBodyBytes: number;
  #shared = 0;
  #small = 0;
  readonly #byClient = new Map<string, number>();

  constructor(readonly limitBytes: number, options: BodyBudgetOptions = {}) {
    this.smallLaneBytes = options.smallLaneBytes ?? SMALL_LANE_BYTES;
    this.smallBodyBytes = options.smallBodyBytes ?? SMALL_BODY_BYTES;
    this.perClientBytes = options.perClientBytes ?? Infinity;
  }

  /** Body bytes currently held by requests (both lanes). */
  get inFlight(): number {
    return this.#shared + this.#small;
  }

  /** Client addresses currently holding bytes (bounded by the requests in flight). */
  get clients(): number {
    return this.#byClient.size;
  }

  /** Opens the account of one body from `client`, which declared `declared` bytes (or null). */
  open(client: string, declared: number | null): BodyCharge {
    let received = 0;
    let small = 0;
    let shared = 0;
    let released = false;
    const declaredSmall = declared === null || declared <= this.smallBodyBytes;
    return {
      charge: (bytes) => {
        if (released) return null;
        const isSmall = declaredSmall && received + bytes <= this.smallBodyBytes;
        const toSmallLane = isSmall && this.#small + bytes <= this.smallLaneBytes;
        // A body that grew out of the small lane leaves it: its bytes move to the shared pool.
        const toShared = toSmallLane ? 0 : isSmall ? bytes : small + bytes;
        if (this.#shared + toShared > this.limitBytes) return "busy";
        const held = this.#byClient.get(client) ?? 0;
        if (held + bytes > this.perClientBytes) return "client_busy";
        if (toSmallLane) {
          this.#small += bytes;
          small += bytes;
        } else {
          if (!isSmall) {
            this.#small -= small;
            small = 0;
          }
          this.#shared += toShared;
          shared += toShared;
        }
        received += bytes;
        this.#byClient.set(client, held + bytes);
        return null;
      },
      release: () => {
        if (released) return;
        released = true;
        this.#small -= small;
        this.#shared -= shared;
        const left = (this.#byClient.get(client) ?? 0) - received;
        if (left > 0) this.#byClient.set(client, left);
        else this.#byClient.delete(client);
      },
    };
  }
}

/** A request whose body is guarded, and the way to give its bytes back. */
export interface GuardedRequest {
  readonly request: Request;
  /** Stops reading the body (the handler timed out) and releases its bytes; idempotent. */
  release(): void;
}

/** What the guard needs. */
export interface BodyGuardOptions {
  readonly budget: BodyBudget;
  /** A body that sends nothing for this long is aborted; also the grace before the minimum rate. */
  readonly stallMs: number;
  /** After `stallMs`, a body must have arrived at least this fast (0: no minimum). */
  readonly minBytesPerSecond?: number;
  /** False for routes that stream their body instead of holding it (the CSV import). */
  readonly charge?: boolean;
  /** The client's address (read only when there is a body). */
  readonly client?: () => string;
  readonly now?: () => number;
}

/**
 * Wraps `request`'s body, charging its bytes to the budget as they arrive. A
 * request without a body is returned unchanged.
 */
export function guardBody(request: Request, options: BodyGuardOptions): GuardedRequest {
  const source = request.body;
  if (source === null) return { request, release: () => {} };
  const { budget, stallMs } = options;
  const now = options.now ?? (() => performance.now());
  const minRate = options.minBytesPerSecond ?? 0;
  const started = now();
  const declared = Number(request.headers.get("content-length") ?? NaN);
  const account = (options.charge ?? true)
    ? budget.open(
      options.client?.() ?? "unknown",
      Number.isSafeInteger(declared) && declared >= 0 ? declared : null,
    )
    : null;
  let released = false;
  let received = 0;
  const reader = source.getReader();
  const release = () => {
    if (released) return;
    released = true;
    account?.release();
    reader.cancel().catch(() => {});
  };
  /** Ms left before the body is too slow (Infinity without a minimum rate). */
  const rateAllowance = () =>
    minRate > 0 ? started + stallMs + (received * 1000) / minRate - now() : Infinity;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const allowance = rateAllowance();
      // Nothing received yet: then "sent nothing" says it best, whichever fires.
      const tooSlow = received > 0 && allowance < stallMs;
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(tooSlow ? tooSlowError(minRate, stallMs) : stalledError(stallMs)),
          Math.max(0, Math.min(stallMs, allowance)),
        );
      });
      try {
        const { done, value } = await Promise.race([reader.read(), stalled]);
        if (done) {
          controller.close();
          return;
        }
        received += value.byteLength;
        if (account && !released) {
          const refusal = account.charge(value.byteLength);
          if (refusal === "busy") throw budgetExceeded(budget);
          if (refusal === "client_busy") throw clientBudgetExceeded(budget);
        }
        controller.enqueue(value);
      } catch (error) {
        reader.cancel().catch(() => {});
        controller.error(error instanceof HttpError ? error : clientClosed());
      } finally {
        clearTimeout(timer);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  const guarded = new Request(request.url, {
    method: request.method,
    headers: request.headers,
    body,
    signal: request.signal,
  });
  return { request: guarded, release };
}

function budgetExceeded(budget: BodyBudget): HttpError {
  return new HttpError(
    503,
    "busy",
    `Too many request body bytes are in flight (limit ${budget.limitBytes}); retry in ${BUDGET_RETRY_AFTER_SECONDS} s.`,
    { "retry-after": String(BUDGET_RETRY_AFTER_SECONDS), ...CLOSE_CONNECTION },
  );
}

function clientBudgetExceeded(budget: BodyBudget): HttpError {
  return new HttpError(
    429,
    "client_busy",
    `Your address has too many request body bytes in flight (limit ${budget.perClientBytes}); retry in ${BUDGET_RETRY_AFTER_SECONDS} s.`,
    { "retry-after": String(BUDGET_RETRY_AFTER_SECONDS), ...CLOSE_CONNECTION },
  );
}

function tooSlowError(minRate: number, graceMs: number): HttpError {
  return new HttpError(
    408,
    "body_too_slow",
    `The request body arrived slower than ${minRate} bytes/s after the first ${graceMs} ms; the request was aborted.`,
    CLOSE_CONNECTION,
  );
}

function stalledError(stallMs: number): HttpError {
  return new HttpError(
    408,
    "body_stalled",
    `The request body sent nothing for ${stallMs} ms; the request was aborted.`,
    CLOSE_CONNECTION,
  );
}

/** The error a body read ends with when the client hung up mid-body. */
export function clientClosed(): HttpError {
  return new HttpError(
    CLIENT_CLOSED_STATUS,
    "client_closed",
    "The client closed the connection before sending the whole body.",
    CLOSE_CONNECTION,
  );
}
