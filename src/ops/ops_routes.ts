/**
 * Operations routes: liveness, readiness (the store answers a query and the
 * audit folder is writable) and Prometheus metrics.
 */
import { withDeadline } from "../deadline.ts";
import type { Route } from "../http/app.ts";
import { bearerToken, matchesAny } from "../http/constant_time.ts";
import type { z } from "zod";
import { errorResponse } from "../http/http_error.ts";
import { answer, HealthBody, ReadyBody } from "../http/api_responses.ts";
import type { Metrics } from "./metrics.ts";
import { messageOf } from "../error_message.ts";

/** A named readiness probe: resolves when healthy, throws with the reason when not. */
export interface ReadinessCheck {
  readonly name: string;
  readonly check: () => Promise<void>;
  /**
   * False for a check that is reported but does not make `/readyz` 503 (the
   * store: while the audit log takes webhooks, taking the instance out of a
   * load balancer would refuse calls that would otherwise only wait). Default true.
   */
  readonly decidesReadiness?: boolean;
}

/** What the operations routes need. */
export interface OpsDeps {
  readonly metrics: Metrics;
  readonly checks: readonly ReadinessCheck[];
  /**
   * Tokens that may read /metrics (the admin tokens and `metrics.token`); with
   * `metricsPublic` anyone may.
   */
  readonly metricsTokens?: readonly string[];
  readonly metricsPublic?: boolean;
  readonly checkTimeoutMs?: number;
  /**
   * Extra fields of the `/readyz` body that do not decide readiness (the
   * applier's state and lag: a store behind the audit log is lag, not failure).
   */
  readonly details?: () =>
    & Pick<z.input<typeof ReadyBody>, "applier" | "sources" | "outbound">
    & Record<string, unknown>;
}

/** The `/healthz`, `/readyz` and `/metrics` routes. */
export function opsRoutes(deps: OpsDeps): Route[] {
  const timeoutMs = deps.checkTimeoutMs ?? 2000;
  return [
    { method: "GET", path: "/healthz", handler: () => answer(HealthBody, 200, { status: "ok" }) },
    {
      method: "GET",
      path: "/readyz",
      handler: async () => {
        const results = await Promise.all(deps.checks.map(async ({ name, check }) => {
          try {
            await withDeadline(check(), timeoutMs, () => {
              throw new Error(`no answer within ${timeoutMs} ms`);
            });
            return [name, "ok"] as const;
          } catch (error) {
            return [name, messageOf(error)] as const;
          }
        }));
        const checks = Object.fromEntries(results);
        const ready = results.every(([, result], index) =>
          result === "ok" || deps.checks[index]?.decidesReadiness === false
        );
        return answer(ReadyBody, ready ? 200 : 503, {
          status: ready ? "ready" : "not_ready",
          checks,
          ...deps.details?.(),
        });
      },
    },
    {
      method: "GET",
      path: "/metrics",
      handler: async (request) => {
        // Closed unless configured open: the series tell an outsider the
        // traffic, the contact count and the error rates.
        if (!deps.metricsPublic) {
          const tokens = deps.metricsTokens ?? [];
          if (tokens.length === 0) {
            return errorResponse(
              503,
              "metrics_not_configured",
              "/metrics needs a token: set admin.tokens or metrics.token, or metrics.public: true.",
            );
          }
          const token = bearerToken(request.headers.get("authorization"));
          if (token === null || !matchesAny(token, tokens)) {
            return errorResponse(
              401,
              "unauthorized",
              "Pass an admin token (or the metrics token) as Authorization: Bearer <token>.",
              { "www-authenticate": 'Bearer realm="symbo-crm-metrics"' },
            );
          }
        }
        return new Response(await deps.metrics.render(), {
          headers: { "content-type": deps.metrics.contentType },
        });
      },
    },
  ];
}
