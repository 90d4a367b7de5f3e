/**
 * Guards request bodies at the edge, for every route that reads one:
 *
 * - one byte budget shared by all requests bounds the body bytes in flight
 *   (120 clients each sending 5 MB could otherwise hold 600 MB); a request
 *   whose declared length does not fit is refused at once with 503 and
 *   Retry-After, before any byte of its body is read, and a body without a
 *   length is charged as its bytes arrive;
 * - a body that sends nothing for `stallMs` is aborted (408), so a slow client
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

/** The shared count of body bytes in flight, against a fixed limit. */
export class BodyBudget {
  #inFlight = 0;

  constructor(readonly limitBytes: number) {}

  /** Body bytes currently reserved by requests. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Reserves `bytes` if they fit under the limit; says whether they did. */
  tryReserve(bytes: number): boolean {
    if (this.#inFlight + bytes > this.limitBytes) return false;
    this.#inFlight += bytes;
    return true;
  }

  /** Gives back bytes reserved earlier. */
  release(bytes: number): void {
    this.#inFlight = Math.max(0, this.#inFlight - bytes);
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
  /** A body that sends nothing for this long is aborted. */
  readonly stallMs: number;
  /** False for routes that stream their body instead of holding it (the CSV import). */
  readonly charge?: boolean;
}

/**
 * Wraps `request`'s body; throws a 503 `HttpError` when its declared length
 * does not fit in the budget. A request without a body is returned unchanged.
 */
export function guardBody(request: Request, options: BodyGuardOptions): GuardedRequest {
  const source = request.body;
  if (source === null) return { request, release: () => {} };
  const { budget, stallMs } = options;
  const charge = options.charge ?? true;
  let reserved = 0;
  const declared = Number(request.headers.get("content-length") ?? NaN);
  // A declared length larger than the whole budget is the route's limit to
  // refuse (413, before reading); it is then charged as it arrives like any body.
  if (charge && Number.isSafeInteger(declared) && declared <= budget.limitBytes) {
    if (!budget.tryReserve(declared)) throw budgetExceeded(budget);
    reserved = declared;
  }
  let released = false;
  let received = 0;
  const reader = source.getReader();
  const release = () => {
    if (released) return;
    released = true;
    budget.release(reserved);
    reserved = 0;
    reader.cancel().catch(() => {});
  };
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(stalledError(stallMs)), stallMs);
      });
      try {
        const { done, value } = await Promise.race([reader.read(), stalled]);
        if (done) {
          controller.close();
          return;
        }
        received += value.byteLength;
        if (charge && !released && received > reserved) {
          const extra = received - reserved;
          if (!budget.tryReserve(extra)) throw budgetExceeded(budget);
          reserved += extra;
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
