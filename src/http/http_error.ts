/**
 * The one HTTP error type and the one place that turns errors into responses:
 * known errors answer as themselves, anything else is logged and answered with
 * a bare 500 (never a stack trace or an internal message).
 */

import { isStoreUnavailable } from "../store/write_transaction.ts";

/** An error meant for the client: status, a stable code, and a human sentence. */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/** The JSON error body of DESIGN §5. */
export interface ErrorBody {
  readonly error: string;
  readonly message: string;
}

/**
 * Headers on every response: no sniffing, framing, referrers or caching (the
 * answers hold contact data). Built into responses at creation, which is much
 * cheaper than adding them afterwards.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
};

const JSON_HEADERS = { ...SECURITY_HEADERS, "content-type": "application/json; charset=utf-8" };

/** A JSON response with the given status. */
export function jsonResponse(
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...JSON_HEADERS, ...headers },
  });
}

/** A JSON error response. */
export function errorResponse(
  status: number,
  code: string,
  message: string,
  headers: Readonly<Record<string, string>> = {},
): Response {
  const body: ErrorBody = { error: code, message };
  return jsonResponse(status, body, headers);
}

/**
 * Answers any thrown value: an `HttpError` as itself, anything else as a bare
 * 500 after handing it to `logUnexpected`.
 */
export function toErrorResponse(error: unknown, logUnexpected: (error: unknown) => void): Response {
  if (error instanceof HttpError) {
    return errorResponse(error.status, error.code, error.message, error.headers);
  }
  logUnexpected(error);
  if (isStoreUnavailable(error)) {
    // A remote store that is down or hung (the admin API, metrics, anything
    // but the lookup and webhook, which answer this themselves): retry later.
    return errorResponse(
      503,
      "store_unavailable",
      "The database is unavailable right now; retry later.",
      {
        "retry-after": "5",
      },
    );
  }
  return errorResponse(500, "internal_error", "The server could not handle this request.");
}
