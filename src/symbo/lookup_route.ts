/**
 * The contact lookup Symbo calls while the phone rings (DESIGN §5.1):
 * authorize (lookup token, or a signature of the empty body), read the number
 * however it arrived, probe the phone index, answer the guide's exact body.
 */
import type { CountryCode } from "libphonenumber-js";
import { findLookupBody } from "../contacts/contact_store.ts";
import { looksLikeE164, normalizePhone, restoreQueryPlus } from "../contacts/phone.ts";
import { bearerToken, constantTimeEqual, matchesAny } from "../http/constant_time.ts";
import { errorResponse, HttpError } from "../http/http_error.ts";
import { queryParams } from "../http/query_param.ts";
import type { SqlExecutor } from "../store/sql.ts";
import { isStoreUnavailable } from "../store/write_transaction.ts";
import type { SigningKey } from "./signature.ts";

/** What the lookup needs. */
export interface LookupDeps {
  readonly reader: SqlExecutor;
  /**
   * The same read as `findLookupBody(reader, …)`, answered synchronously (a
   * statement prepared on the local file, `lookupBodyReader`). When given, a
   * lookup runs without a single await and Deno.serve takes its synchronous
   * answer path, which saves the hot path several microseconds (issue 12).
   */
  readonly readBodyNow?: (e164: string) => string | undefined;
  readonly lookupTokens: readonly string[];
  readonly signingKeys: readonly SigningKey[];
  readonly defaultRegion: CountryCode | undefined;
  /**
   * Told each lookup's result and the number as it arrived (mask it before
   * logging). Called on the hot path, synchronously: keep it to a few
   * in-memory updates.
   */
  readonly onResult?: (result: "hit" | "miss" | "invalid" | "unavailable", number: string) => void;
  /** Told why a lookup could not reach the store (for the log). */
  readonly onUnavailable?: (error: unknown) => void;
}

const LOOKUP_PARAMS: readonly string[] = ["token", "number"];
const NOT_FOUND_BODY = JSON.stringify({
  error: "not_found",
  message: "No contact has this number.",
});
// The lookup answers a server (Symbo), never a browser page, with its exact
// JSON type and nothing else: Deno.serve sends a string body whose only header
// is its content type on its fastest path, and any other header (even the
// nosniff and no-store that error answers carry) cost the lookup ~5% of its
// throughput (issue 12). A proxy in front may add them (examples/Caddyfile).
const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };

/**
 * The steps of one lookup once authorized, as a generator: it yields each
 * E.164 number to probe and is sent back the stored body (or undefined), so
 * the same steps run over a synchronous or an asynchronous read.
 */
function* lookupSteps(
  raw: string,
  deps: LookupDeps,
): Generator<string, Response, string | undefined> {
  // Symbo sends E.164: probe it as it came first, and only run the phone
  // parser (the costly part) for other shapes or when that probe misses.
  const text = restoreQueryPlus(raw);
  const asSent = looksLikeE164(text);
  let body = asSent ? yield text : undefined;
  if (body === undefined) {
    const normalized = normalizePhone(text, deps.defaultRegion);
    if (!normalized && !asSent) {
      deps.onResult?.("invalid", raw);
      return errorResponse(400, "invalid_number", "The number parameter is not a phone number.");
    }
    if (normalized && normalized.e164 !== text) body = yield normalized.e164;
  }
  deps.onResult?.(body !== undefined ? "hit" : "miss", raw);
  if (body === undefined) {
    return new Response(NOT_FOUND_BODY, { status: 404, headers: JSON_HEADERS });
  }
  // Built from the stored row by lookupBodyFromStored (contacts/contact.ts).
  return new Response(body, { status: 200, headers: JSON_HEADERS });
}

/**
 * Builds the lookup handler: `(Request) => Response`, or a promise of one
 * when the store can only be read asynchronously (a remote or replica store).
 */
export function createLookupHandler(
  deps: LookupDeps,
): (request: Request) => Response | Promise<Response> {
  const emptyBodySignatures = deps.signingKeys.map((k) => k.emptyBodySignature);
  const unavailable = (raw: string, error: unknown) => {
    if (!isStoreUnavailable(error)) throw error;
    // A remote store's reads carry a deadline (store/open_store.ts), so a
    // hung server is answered here in bounded time instead of hanging the dialer.
    deps.onResult?.("unavailable", raw);
    deps.onUnavailable?.(error);
    return errorResponse(
      503,
      "store_unavailable",
      "The contact database is unavailable right now; retry later.",
      { "retry-after": "1" },
    );
  };
  const readNow = deps.readBodyNow;
  const runNow = (raw: string, read: (e164: string) => string | undefined): Response => {
    const steps = lookupSteps(raw, deps);
    let step = steps.next();
    while (!step.done) {
      let body: string | undefined;
      try {
        body = read(step.value);
      } catch (error) {
        return unavailable(raw, error);
      }
      step = steps.next(body);
    }
    return step.value;
  };
  const runLater = async (raw: string): Promise<Response> => {
    const steps = lookupSteps(raw, deps);
    let step = steps.next();
    while (!step.done) {
      let body: string | undefined;
      try {
        body = await findLookupBody(deps.reader, step.value);
      } catch (error) {
        return unavailable(raw, error);
      }
      step = steps.next(body);
    }
    return step.value;
  };
  return (request) => {
    // No request header is read unless the query carries no valid token:
    // reading any header costs Deno.serve's synchronous answer path (issue 12).
    const [token, raw] = queryParams(request.url, LOOKUP_PARAMS);
    authorizeLookup(request, token ?? null, deps.lookupTokens, emptyBodySignatures);
    if (raw === null || raw === undefined || raw.trim() === "") {
      deps.onResult?.("invalid", "");
      return errorResponse(400, "missing_number", "Pass the phone number as ?number=<E.164>.");
    }
    return readNow ? runNow(raw, readNow) : runLater(raw);
  };
}

function authorizeLookup(
  request: Request,
  queryToken: string | null,
  tokens: readonly string[],
  emptyBodySignatures: readonly string[],
): void {
  const token = queryToken ?? bearerToken(request.headers.get("authorization"));
  if (token !== null && tokens.length > 0 && matchesAny(token, tokens)) return;
  const signature = request.headers.get("x-hmac-signature");
  if (signature !== null) {
    const presented = signature.trim().toLowerCase().replace(/^sha256=/, "");
    let valid = false;
    for (const expected of emptyBodySignatures) {
      valid = constantTimeEqual(presented, expected) || valid;
    }
    if (valid) return;
  }
  throw new HttpError(
    401,
    "unauthorized",
    token === null && signature === null
      ? "Pass the lookup token as ?token= or Authorization: Bearer, or sign the request."
      : "The lookup token or signature is not valid.",
    { "www-authenticate": 'Bearer realm="symbo-crm"' },
  );
}
