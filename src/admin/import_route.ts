/**
 * The import routes of the admin API. `POST /api/contacts/import` spools the
 * CSV body and hands it to the import jobs (the very import routine the CLI
 * uses: streamed, one transaction, same summary); it waits a short while and
 * answers `200` with the summary when the import has finished, else `202` with
 * the job to poll at `GET /api/imports/:id`. The answer never contradicts what
 * happened: a job that is still running is reported as running, and finishes
 * (or fails, changing nothing) whatever the client does next.
 */
import { z } from "zod";
import type { ImportJob, ImportJobs } from "../contacts/import_jobs.ts";
import { ImportSubmitError, isEncodingLabel } from "../contacts/import_jobs.ts";
import { toRegion } from "../contacts/phone.ts";
import { requireAdmin } from "../http/admin_auth.ts";
import { clientClosed } from "../http/body_guard.ts";
import type { Route } from "../http/app.ts";
import { HttpError, SECURITY_HEADERS } from "../http/http_error.ts";
import {
  answer,
  ImportAcceptedBody,
  ImportFailedBody,
  ImportJobBody,
  ImportJobListBody,
  ImportSummaryBody,
} from "../http/api_responses.ts";
import { parseQuery } from "./query_params.ts";

const flag = z.enum(["", "1", "true", "0", "false"]).transform((v) =>
  v === "" || v === "1" || v === "true"
);

/** The import's query string. */
export const ImportQuery = z.strictObject({
  dry_run: flag.optional(),
  strict: flag.optional(),
  prune: flag.optional(),
  force_prune: flag.optional(),
  region: z.string().refine(
    (code) => toRegion(code) !== undefined,
    "expected a two-letter country code",
  ).meta({
    description: "The region of national numbers: an ISO 3166-1 alpha-2 code (US, DE, GB).",
    pattern: "^\\s*[A-Za-z]{2}\\s*$",
  })
    .optional(),
  encoding: z.string().max(64).refine(
    isEncodingLabel,
    "expected an encoding label such as utf-8, windows-1252 or utf-16le",
  ).meta({
    description:
      "The file's encoding: a WHATWG encoding label (utf-8, windows-1252, iso-8859-2, utf-16le). Default: detected.",
  }).optional(),
  id_from: z.string().min(1).max(200).optional(),
  file_name: z.string().min(1).max(200).optional(),
});

/** How long the POST waits for the import before answering 202 with the job. */
export const DEFAULT_IMPORT_WAIT_MS = 2000;

/** The import routes: the upload, a job's state, and a job's rejected rows. */
export function importRoutes(
  jobs: ImportJobs,
  adminTokens: readonly string[],
  maxBytes: number,
  waitMs: number = DEFAULT_IMPORT_WAIT_MS,
): Route[] {
  return [
    {
      method: "POST",
      path: "/api/contacts/import",
      // The upload may take longer than a request (a large file on a slow link);
      // it holds no lock while it arrives, a stall is bounded by the spool's idle
      // limit, and the wait for the import itself is bounded by `waitMs`.
      timeout: false,
      // Spooled to a file, never held: outside the shared body byte budget.
      streamsBody: true,
      handler: async (request) => {
        requireAdmin(request, adminTokens);
        const query = parseQuery(new URL(request.url), ImportQuery);
        const declared = Number(request.headers.get("content-length") ?? "0");
        if (declared > maxBytes) {
          throw new HttpError(
            413,
            "body_too_large",
            `The CSV is larger than admin.max_import_bytes (${maxBytes} bytes).`,
          );
        }
        if (!request.body) {
          throw new HttpError(400, "empty_body", "Send the CSV export as the request body.");
        }
        let job: ImportJob;
        try {
          job = await jobs.submit(request.body, {
            fileName: query.file_name ?? "the uploaded CSV",
            dryRun: query.dry_run ?? false,
            strict: query.strict ?? false,
            prune: query.prune ?? false,
            forcePrune: query.force_prune ?? false,
            region: query.region,
            encoding: query.encoding,
            idFrom: query.id_from,
          });
        } catch (error) {
          if (error instanceof ImportSubmitError) throw submitError(error);
          throw error;
        }
        const latest = await jobs.waitFor(job.id, waitMs) ?? job;
        return jobAnswer(latest);
      },
    },
    {
      method: "GET",
      path: "/api/imports",
      handler: (request) => {
        requireAdmin(request, adminTokens);
        return answer(ImportJobListBody, 200, { jobs: jobs.list() });
      },
    },
    {
      method: "GET",
      path: "/api/imports/:id",
      handler: (request, params) => {
        requireAdmin(request, adminTokens);
        return answer(ImportJobBody, 200, findJob(jobs, params.id));
      },
    },
    {
      method: "GET",
      path: "/api/imports/:id/rejects.csv",
      handler: (request, params) => {
        requireAdmin(request, adminTokens);
        const job = findJob(jobs, params.id);
        const body = jobs.rejectsCsv(job.id);
        if (!body) {
          throw new HttpError(404, "no_rejects", `Import ${job.id} has no rejected rows.`);
        }
        return new Response(body, {
          status: 200,
          headers: {
            ...SECURITY_HEADERS,
            "content-type": "text/csv; charset=utf-8",
            "content-disposition": `attachment; filename="import-${job.id}-rejects.csv"`,
          },
        });
      },
    },
  ];
}

function findJob(jobs: ImportJobs, id: string | undefined): ImportJob {
  const job = id === undefined ? undefined : jobs.get(id);
  if (!job) {
    throw new HttpError(
      404,
      "not_found",
      "No such import job (jobs are kept in memory for the newest imports only).",
    );
  }
  return job;
}

/** The POST's answer for the job's state once the wait is over. */
function jobAnswer(job: ImportJob): Response {
  if (job.state === "running") {
    return answer(ImportAcceptedBody, 202, { job, status_url: `/api/imports/${job.id}` });
  }
  if (job.state === "succeeded" && job.summary) return answer(ImportSummaryBody, 200, job.summary);
  const error = job.error ?? { code: "import_failed", message: "The import failed." };
  const status = error.code === "internal_error" ? 500 : error.code === "store_busy" ? 409 : 422;
  return answer(ImportFailedBody, status, {
    error: error.code,
    message: error.message,
    job_id: job.id,
    ...(job.summary ? { summary: job.summary } : {}),
  });
}

/**
 * The answer to a refused submission. A client that went away is `499` (the
 * access log's info line, never an ERROR and never a 500); a body the edge's
 * guard gave up on answers as the guard said.
 */
export function submitError(error: ImportSubmitError): HttpError {
  switch (error.code) {
    case "client_closed":
      return error.cause instanceof HttpError ? error.cause : clientClosed();
    case "too_large":
      return new HttpError(413, "body_too_large", error.message);
    case "busy":
      return new HttpError(409, "import_running", error.message);
    case "stalled":
      return new HttpError(408, "upload_stalled", error.message);
    case "bad_option":
      return new HttpError(400, "invalid_query", error.message);
    case "upload_gone":
      return new HttpError(410, "upload_gone", error.message);
  }
}
