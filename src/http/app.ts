/**
 * The HTTP application: a function of its dependencies. It wires the routes
 * (Symbo, admin, operations), the request middleware (request id, timing,
 * metrics, access log, security headers) and the one error-to-response place.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import type { Logger } from "../log/logging.ts";
import type { Metrics } from "../ops/metrics.ts";
import { withDeadline } from "../deadline.ts";
import { errorResponse, SECURITY_HEADERS, toErrorResponse } from "./http_error.ts";
import { BodyBudget, CLOSE_CONNECTION, guardBody } from "./body_guard.ts";

/** Methods counted and logged by name; any other method token is `OTHER`. */
const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]);

/** Longest client-controlled text that reaches a log line. */
export const MAX_LOGGED_CHARS = 200;

/** Default of `server.max_body_bytes_in_flight`. */
export const DEFAULT_BODY_BUDGET_BYTES = 32 * 1024 * 1024;
/** Default of `server.body_stall_timeout_ms`. */
export const DEFAULT_BODY_STALL_MS = 10_000;

/** One route of the application. */
export interface Route {
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  readonly path: string;
  readonly handler: (
    request: Request,
    params: Readonly<Record<string, string>>,
    connection: ConnectionInfo,
  ) => Promise<Response> | Response;
  /**
   * Whether `request_timeout_ms` applies (default true). The lookup opts out: it
   * bounds its own store calls, and a timer per request would cost the hot path.
   */
  readonly timeout?: boolean;
  /**
   * True for a route that streams its body instead of holding it (the CSV
   * import): the stall timeout applies, the shared byte budget does not.
   */
  readonly streamsBody?: boolean;
  /**
   * Served before the router (GET only; implies no request timeout): for the
   * lookup, whose whole budget is a few tens of microseconds, of which the
   * router and middleware chain took ~10 µs (issue 12). The same metrics,
   * access log, Symbo access check and error handling apply. Two differences,
   * both because reading any request header moves Deno.serve off its
   * synchronous answer path (−22% on the read ceiling, measured): the caller's request id
   * is echoed on error answers only, not on normal ones (2xx and 404), and
   * the security headers are not added (error answers carry them, as
   * `errorResponse` builds them).
   */
  readonly direct?: boolean;
  /**
   * Told when the body guard refused the request before the handler ran (the
   * shared byte budget was full): the webhook counts it as a rejection.
   */
  readonly onBodyRefused?: (request: Request, connection: ConnectionInfo) => void;
}

/** What the application needs. */
export interface AppDeps {
  readonly routes: readonly Route[];
  /** An answer for a path no route has (the console's 404 page), or null for the JSON one. */
  readonly notFound?: (request: Request) => Promise<Response | null> | Response | null;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly requestTimeoutMs: number;
  readonly newRequestId?: () => string;
  /** Decides whether a client may reach the Symbo routes (the IP allowlist). */
  readonly symboAccess?: (request: Request, peer: string | null) => boolean;
  /** Body bytes in flight across all requests (`server.max_body_bytes_in_flight`). */
  readonly bodyBudget?: BodyBudget;
  /** A body that sends nothing for this long is aborted (`server.body_stall_timeout_ms`). */
  readonly bodyStallMs?: number;
  /** After the stall timeout, bodies slower than this are aborted (`server.body_min_bytes_per_second`). */
  readonly bodyMinBytesPerSecond?: number;
  /** The client address a body is charged to (default: the peer address). */
  readonly clientOf?: (request: Request, connection: ConnectionInfo) => string;
}

/** What the server passes along with each request. */
export interface ConnectionInfo {
  readonly remoteAddr?: Deno.Addr;
}

/** Builds the application: `app.fetch(request, { remoteAddr })`, or `app.request()` in tests. */
export function createApp(deps: AppDeps): Hono<{ Bindings: ConnectionInfo }> {
  const app = new Hono<{ Bindings: ConnectionInfo }>();
  const newRequestId = deps.newRequestId ?? (() => crypto.randomUUID());

  const requests = deps.metrics.counter(
    "symbo_crm_http_requests_total",
    "HTTP requests by route, method and status.",
    ["route", "method", "status"],
  );
  const latency = deps.metrics.histogram(
    "symbo_crm_http_request_duration_seconds",
    "HTTP request latency by route.",
    ["route"],
  );
  const securityHeaders = Object.entries(SECURITY_HEADERS);
  const idFor = (supplied: string | null) => supplied ?? newRequestId();
  const bodyBudget = deps.bodyBudget ?? new BodyBudget(DEFAULT_BODY_BUDGET_BYTES);
  const bodyStallMs = deps.bodyStallMs ?? DEFAULT_BODY_STALL_MS;
  const clientOf = deps.clientOf ?? ((_request, connection) => peerOf(connection) ?? "unknown");

  app.use("*", async (c, next) => {
    const started = performance.now();
    const suppliedId = sanitizeRequestId(c.req.header("x-request-id"));
    await next();
    const route = c.req.routePath === "/*" ? "unmatched" : c.req.routePath;
    finish(route, c.req.method, c.res, started, suppliedId, true);
  });

  /** After a response: metrics, the headers every answer carries, the access log. */
  function finish(
    route: string,
    rawMethod: string,
    response: Response,
    started: number,
    suppliedId: string | null,
    checkHeaders: boolean,
  ): void {
    const status = response.status;
    const seconds = (performance.now() - started) / 1000;
    // Every label value is from a fixed set: the route patterns, the known
    // methods and the statuses we answer (a raw method would let any client
    // add series until the heap runs out).
    const method = boundedMethod(rawMethod);
    requests.inc(route, method, String(status));
    latency.observe(seconds, route);
    // Responses are built with the security headers (http_error.ts); this only
    // covers one that was not (one check, not six). Direct routes skip it:
    // their error answers have them, their normal answers only a content type
    // (see `Route.direct`), and reading a response's headers back, or adding
    // one, costs the hot path more than the rest of this function.
    if (checkHeaders && !response.headers.has("x-content-type-options")) {
      for (const [name, value] of securityHeaders) response.headers.set(name, value);
    }
    // A caller's request id is echoed so it can find our log line; ours is in the log.
    if (suppliedId !== null) response.headers.set("x-request-id", suppliedId);
    // Lookups that answer normally are the hot path: logged at debug, the rest at info.
    const level = route === "/symbo/lookup" && (status === 200 || status === 404)
      ? "debug"
      : "info";
    if (deps.log.isEnabledFor(level)) {
      deps.log[level]("{method} {route} {status} {ms}ms", {
        requestId: idFor(suppliedId),
        method,
        route,
        status,
        ms: Math.round(seconds * 10000) / 10,
      });
    }
  }

  const symboAccess = deps.symboAccess;
  const forbidden = () =>
    errorResponse(403, "forbidden", "This address may not use the Symbo endpoints.");
  if (symboAccess) {
    app.use("/symbo/*", async (c, next) => {
      if (!symboAccess(c.req.raw, peerOf(c.env))) return forbidden();
      await next();
    });
  }

  const byPath = new Map<string, string[]>();
  for (const route of deps.routes) {
    byPath.set(route.path, [...(byPath.get(route.path) ?? []), route.method]);
  }
  // A fixed path answers 405 for a method it does not take before any route
  // with a parameter can claim it: PUT /api/contacts/import is not a contact.
  for (const [path, methods] of byPath) {
    if (path.includes(":")) continue;
    const taken = new Set(methods.flatMap((m) => (m === "GET" ? ["GET", "HEAD"] : [m])));
    const others = [...KNOWN_METHODS].filter((method) => !taken.has(method));
    const allow = [...taken].join(", ");
    app.on(
      others,
      path,
      () => errorResponse(405, "method_not_allowed", `This route accepts ${allow}.`, { allow }),
    );
  }
  for (const route of deps.routes) {
    const guardOptions = {
      budget: bodyBudget,
      stallMs: bodyStallMs,
      minBytesPerSecond: deps.bodyMinBytesPerSecond ?? 0,
      charge: !route.streamsBody,
    };
    app.on(
      route.method,
      route.path,
      route.timeout === false
        ? (c: Context<{ Bindings: ConnectionInfo }>) =>
          route.handler(c.req.raw, c.req.param(), c.env ?? {})
        : async (c: Context<{ Bindings: ConnectionInfo }>) => {
          let guarded;
          try {
            guarded = guardBody(c.req.raw, {
              ...guardOptions,
              client: () => clientOf(c.req.raw, c.env ?? {}),
            });
          } catch (error) {
            route.onBodyRefused?.(c.req.raw, c.env ?? {});
            throw error;
          }
          // The bytes are given back when the handler is done with them, or
          // when it timed out (the body is then no longer read).
          const handled = Promise.resolve(
            route.handler(guarded.request, c.req.param(), c.env ?? {}),
          )
            .finally(guarded.release);
          return await withDeadline(handled, deps.requestTimeoutMs, () => {
            guarded.release();
            handled.catch(() => {});
            return errorResponse(
              503,
              "timeout",
              `The request took longer than ${deps.requestTimeoutMs} ms.`,
              // A client that timed out gets a fresh connection, not this one.
              CLOSE_CONNECTION,
            );
          });
        },
    );
  }
  for (const [path, methods] of byPath) {
    const allow = [...new Set(methods.flatMap((m) => (m === "GET" ? ["GET", "HEAD"] : [m])))].join(
      ", ",
    );
    app.all(
      path,
      () => errorResponse(405, "method_not_allowed", `This route accepts ${allow}.`, { allow }),
    );
  }

  app.notFound(async (c) =>
    await deps.notFound?.(c.req.raw) ??
      errorResponse(404, "no_such_route", "There is no such route.")
  );
  const onUnexpected = (unexpected: unknown) => {
    deps.log.error("Unhandled error: {error}", { error: boundedText(describe(unexpected)) });
  };
  app.onError((error) => toErrorResponse(error, onUnexpected));

  const direct = new Map(
    deps.routes.filter((r) => r.direct === true && r.method === "GET").map((r) => [r.path, r]),
  );
  if (direct.size > 0) {
    // Synchronous all the way when the handler answers synchronously: Deno.serve
    // then sends the answer without a promise round (issue 12).
    const serveDirect = (
      route: Route,
      request: Request,
      env: ConnectionInfo | undefined,
    ): Response | Promise<Response> => {
      const started = performance.now();
      const done = (response: Response) => {
        const status = response.status;
        const normal = status < 300 || status === 404;
        const suppliedId = normal
          ? null
          : sanitizeRequestId(request.headers.get("x-request-id") ?? undefined);
        finish(route.path, "GET", response, started, suppliedId, false);
        return response;
      };
      const failed = (error: unknown) => done(toErrorResponse(error, onUnexpected));
      if (symboAccess && route.path.startsWith("/symbo/") && !symboAccess(request, peerOf(env))) {
        return done(forbidden());
      }
      let answer: Response | Promise<Response>;
      try {
        answer = route.handler(request, {}, env ?? {});
      } catch (error) {
        return failed(error);
      }
      return answer instanceof Response ? done(answer) : answer.then(done, failed);
    };
    const routed = app.fetch;
    app.fetch = (request, env, executionCtx) => {
      const route = request.method === "GET" ? direct.get(pathOf(request.url)) : undefined;
      return route ? serveDirect(route, request, env) : routed(request, env, executionCtx);
    };
  }
  return app;
}

/** The method as a metric label and log value: a known method, else `OTHER`. */
export function boundedMethod(method: string): string {
  return KNOWN_METHODS.has(method) ? method : "OTHER";
}

/** Client-controlled text cut to `MAX_LOGGED_CHARS` for a log line. */
export function boundedText(text: string): string {
  return text.length <= MAX_LOGGED_CHARS
    ? text
    : `${text.slice(0, MAX_LOGGED_CHARS)}… (${text.length} chars)`;
}

/** The path of an absolute request URL, without parsing all of it. */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("://") + 3);
  if (start < 0) return "/";
  const query = url.indexOf("?", start);
  return query < 0 ? url.slice(start) : url.slice(start, query);
}

function peerOf(env: ConnectionInfo | undefined): string | null {
  const addr = env?.remoteAddr;
  return addr && "hostname" in addr ? addr.hostname : null;
}

function sanitizeRequestId(value: string | undefined): string | null {
  return value !== undefined && /^[A-Za-z0-9._-]{1,64}$/.test(value) ? value : null;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
