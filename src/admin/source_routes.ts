/**
 * The sources routes of the admin API (DESIGN §12): `GET /api/sources` (each
 * source: schedule, next run, last run and its counts, failures), `GET
 * /api/sources/:name/runs` (newest first, paged by `before`), and `POST
 * /api/sources/:name/run` (run now: `202` with the run id, `409` when it is
 * already running). The zod schemas are exported for the OpenAPI document.
 */
import { z } from "zod";
import type { SourceRunner } from "../contacts/sources/source_runner.ts";
import { listRuns, RUN_OUTCOMES } from "../contacts/sources/source_runs.ts";
import { requireAdmin } from "../http/admin_auth.ts";
import type { Route } from "../http/app.ts";
import { answer } from "../http/api_responses.ts";
import { HttpError } from "../http/http_error.ts";
import type { SqlExecutor } from "../store/sql.ts";
import { limitParam, parseQuery } from "./query_params.ts";

const Counts = z.object({
  rows: z.number().int(),
  inserted: z.number().int(),
  updated: z.number().int(),
  unchanged: z.number().int(),
  rejected: z.number().int(),
  pruned: z.number().int(),
});

/** One run of a source. */
export const SourceRunSchema = z.object({
  id: z.number().int(),
  source: z.string(),
  trigger: z.enum(["schedule", "manual", "recovery"]),
  instance: z.string(),
  started_at: z.string(),
  finished_at: z.string().nullable(),
  outcome: z.enum(RUN_OUTCOMES as [string, ...string[]]),
  file: z.string().nullable(),
  content_sha256: z.string().nullable(),
  bytes: z.number().int().nullable(),
  counts: Counts.nullable(),
  message: z.string().nullable(),
}).meta({ id: "SourceRun" });

/** One source, as `GET /api/sources` lists it. */
export const SourceStatusSchema = z.object({
  name: z.string(),
  kind: z.enum(["url", "dir"]),
  location: z.string(),
  schedule: z.string(),
  prune: z.boolean(),
  next_run_at: z.string().nullable(),
  running: z.boolean(),
  last_run: SourceRunSchema.nullable(),
  last_success_at: z.string().nullable(),
  consecutive_failures: z.number().int(),
  failing: z.boolean(),
}).meta({ id: "SourceStatus" });

/** `GET /api/sources`'s answer. */
export const SourceListResponse = z.object({ sources: z.array(SourceStatusSchema) }).meta({
  id: "SourceList",
});

/** `GET /api/sources/:name/runs`'s query string. */
export const SourceRunsQuery = z.strictObject({
  limit: limitParam(500, 50),
  before: z.coerce.number().int().positive().optional(),
});

/** `GET /api/sources/:name/runs`'s answer. */
export const SourceRunsResponse = z.object({
  runs: z.array(SourceRunSchema),
  next_before: z.number().int().nullable(),
}).meta({ id: "SourceRuns" });

/** `POST /api/sources/:name/run`'s answer (202). */
export const SourceRunStarted = z.object({
  status: z.literal("started"),
  run_id: z.number().int(),
  runs_url: z.string(),
}).meta({ id: "SourceRunStarted" });

/** The sources routes. */
export function sourceRoutes(
  runner: SourceRunner,
  reader: SqlExecutor,
  adminTokens: readonly string[],
): Route[] {
  const known = (name: string | undefined): string => {
    if (name === undefined || !runner.names().includes(name)) {
      throw new HttpError(404, "not_found", "No source has this name (see contacts.sources).");
    }
    return name;
  };
  return [
    {
      method: "GET",
      path: "/api/sources",
      handler: async (request) => {
        requireAdmin(request, adminTokens);
        return answer(SourceListResponse, 200, { sources: await runner.statuses() });
      },
    },
    {
      method: "GET",
      path: "/api/sources/:name/runs",
      handler: async (request, params) => {
        requireAdmin(request, adminTokens);
        const name = known(params.name);
        const { limit, before } = parseQuery(new URL(request.url), SourceRunsQuery);
        const runs = await listRuns(reader, name, limit, before);
        return answer(SourceRunsResponse, 200, {
          runs,
          next_before: runs.length === limit ? runs.at(-1)?.id ?? null : null,
        });
      },
    },
    {
      method: "POST",
      path: "/api/sources/:name/run",
      handler: async (request, params) => {
        requireAdmin(request, adminTokens);
        const name = known(params.name);
        const started = await runner.runNow(name);
        if (started === "unknown") known(undefined);
        if (started === "running" || started === "unknown") {
          throw new HttpError(
            409,
            "source_running",
            `Source ${name} is running now; see its runs.`,
          );
        }
        return answer(SourceRunStarted, 202, {
          status: "started",
          run_id: started.runId,
          runs_url: `/api/sources/${encodeURIComponent(name)}/runs`,
        });
      },
    },
  ];
}
