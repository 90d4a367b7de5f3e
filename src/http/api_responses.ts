/**
 * The JSON bodies the HTTP API answers with, as zod schemas. Handlers build
 * their answers through {@link answer}, whose type is the schema's, so an
 * answer that drifts from its schema does not compile; the OpenAPI document
 * (openapi.ts) is generated from the same schemas, so the reference cannot
 * drift either. Nothing is parsed at run time: the contract test checks real
 * answers against the document.
 */
import { z } from "zod";
import { CONTACT_FIELDS, type ContactField } from "../contacts/contact.ts";
import { jsonResponse } from "./http_error.ts";

/** `T` with every property and array read-only: what handlers may pass for a body. */
export type DeepReadonly<T> = T extends (infer U)[] ? readonly DeepReadonly<U>[]
  : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
  : T;

/** A JSON response whose body must match `schema` (checked when compiling). */
export function answer<S extends z.ZodType>(
  _schema: S,
  status: number,
  body: DeepReadonly<z.input<S>>,
  headers: Readonly<Record<string, string>> = {},
): Response {
  return jsonResponse(status, body, headers);
}

const isoTime = z.iso.datetime().describe("ISO 8601 time, UTC");
const count = z.number().int().min(0);

/** Every error answer (DESIGN §5): a stable code and a sentence (some add context). */
export const ErrorBody = z.looseObject({
  error: z.string().describe("A stable code, e.g. not_found, invalid_query, unauthorized."),
  message: z.string().describe("A human sentence: what is wrong and how to fix it."),
}).meta({ id: "Error" });

/** The account object of a contact. */
export const LookupAccountBody = z.object({
  external_id: z.string(),
  name: z.string(),
  website_url: z.string(),
  industry: z.string(),
}).meta({ id: "Account" });

const contactShape = Object.fromEntries(CONTACT_FIELDS.map((name) => [name, z.string()])) as {
  [K in ContactField]: z.ZodString;
};

/**
 * A contact as the lookup answers it (Symbo's guide): every field, `""` when
 * unknown, phones in E.164, and `account` only when the contact has one.
 */
export const LookupBodySchema = z.object({
  ...contactShape,
  account: LookupAccountBody.optional(),
}).meta({ id: "Contact" });

/** `GET /api/contacts/:external_id`. */
export const StoredContactBody = LookupBodySchema.extend({
  extra_numbers: z.array(z.string()).describe(
    "Further E.164 numbers that find this contact (an import's extra phone columns, or PUT's extra_numbers).",
  ),
  updated_at: isoTime,
}).meta({ id: "StoredContact" });

/** `GET /api/contacts?q=`. */
export const ContactSearchBody = z.object({
  contacts: z.array(LookupBodySchema),
}).meta({ id: "ContactSearch" });

/** `PUT /api/contacts/:external_id`. */
export const ContactSavedBody = z.object({
  status: z.enum(["inserted", "updated", "unchanged"]),
  contact: LookupBodySchema,
  warnings: z.array(z.string()).describe("Remarks about fields that were still taken."),
}).meta({ id: "ContactSaved" });

/** The summary of an import (the CLI prints the same). */
export const ImportSummaryBody = z.object({
  file: z.string(),
  rows: count.describe("Data rows read: inserted + updated + unchanged + rejected."),
  inserted: count,
  updated: count,
  unchanged: count,
  rejected: count,
  pruned: count,
  warningCount: count,
  warnings: z.array(z.object({ line: count, message: z.string() })).describe(
    "The first 1000 warnings.",
  ),
  rejects: z.array(z.object({ line: count, reason: z.string(), record: z.array(z.string()) }))
    .describe("The first 1000 rejected rows (all of them: the job's rejects.csv)."),
  sharedNumbers: z.array(z.object({
    e164: z.string(),
    contacts: count,
    externalIds: z.array(z.string()),
  })),
  sharedNumberCount: count,
  duplicateIdsInFile: count,
  extraNumbers: count,
  derivedAccountIds: count,
  idSource: z.object({
    kind: z.enum(["column", "id_from", "derived"]),
    header: z.string().nullable(),
  }),
  encoding: z.string().describe("The WHATWG name of the encoding the file was read in."),
  encodingSource: z.enum(["bom", "detected", "option"]),
  mapping: z.array(z.object({
    header: z.string(),
    field: z.string().nullable(),
    reason: z.string(),
  })).describe("Each header, the field it feeds (null: ignored), and why."),
  dryRun: z.boolean(),
  headerRow: z.array(z.string()),
  committed: z.boolean(),
  headers: z.object({
    names: z.array(z.string()),
    delimiter: z.enum([",", ";", "\t"]).optional(),
    matched: z.record(z.string(), z.string()),
    unknown: z.array(z.string()),
    ignored: z.array(z.object({ header: z.string(), field: z.string(), keptHeader: z.string() })),
    excluded: z.array(z.string()),
  }),
  elapsedMs: z.number().min(0),
}).meta({ id: "ImportSummary" });

/** An import job (`GET /api/imports/:id`). */
export const ImportJobBody = z.object({
  id: z.string(),
  fileName: z.string(),
  dryRun: z.boolean(),
  state: z.enum(["running", "succeeded", "failed", "interrupted"]).describe(
    "interrupted: the server stopped while the job ran (seen in the history after a restart).",
  ),
  bytesTotal: count,
  bytesRead: count,
  rowsRead: count,
  startedAt: isoTime,
  finishedAt: isoTime.nullable(),
  summary: ImportSummaryBody.nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  hasRejects: z.boolean(),
  options: z.object({
    region: z.string().nullable(),
    encoding: z.string().nullable(),
    idFrom: z.string().nullable(),
    prune: z.boolean(),
    forcePrune: z.boolean(),
    strict: z.boolean(),
    userMap: z.record(z.string(), z.string().nullable()).nullable(),
  }).describe("The options the job ran with."),
  fromJob: z.string().nullable().describe(
    "The dry run this job applies or re-runs (the console's Apply), if any.",
  ),
  uploadKeptUntil: isoTime.nullable().describe(
    "A dry run's upload is kept until then so that it can be applied as previewed.",
  ),
  pruneCheck: z.object({
    storedBefore: count,
    wouldDelete: count,
    maxFraction: z.number().min(0).max(1),
    exceedsGuard: z.boolean(),
  }).nullable().describe(
    "A dry run with prune: what the prune would delete, and whether that is past contacts.max_prune_fraction.",
  ),
  headerRow: z.array(z.string()).nullable().describe(
    "The file's header line once read (also when a missing column failed the job).",
  ),
}).meta({ id: "ImportJob" });

/** `GET /api/imports`. */
export const ImportJobListBody = z.object({
  jobs: z.array(ImportJobBody).describe("The newest jobs (at most 20), newest first."),
}).meta({ id: "ImportJobList" });

/** `202` of `POST /api/contacts/import`. */
export const ImportAcceptedBody = z.object({
  job: ImportJobBody,
  status_url: z.string().describe("Where to follow the job: /api/imports/<id>."),
}).meta({ id: "ImportAccepted" });

/** `422`/`500` of `POST /api/contacts/import`: the import changed nothing. */
export const ImportFailedBody = ErrorBody.extend({
  job_id: z.string(),
  summary: ImportSummaryBody.optional(),
}).meta({ id: "ImportFailed" });

const nullableText = z.string().nullable();

/** A stored call as pages show it. */
export const CallSummaryBody = z.object({
  id: z.string().describe("Symbo's call id (data.id), exactly as sent."),
  contact_external_id: nullableText,
  prospect_id: nullableText,
  user_id: nullableText,
  direction: nullableText,
  state: nullableText,
  disposition: nullableText,
  from_number: nullableText,
  to_number: nullableText,
  started_at: nullableText.describe("dialed_at (else created_at) exactly as Symbo sent it."),
  order_updated_ms: z.number().nullable(),
  order_created_ms: z.number().nullable(),
  order_received_ms: z.number(),
  order_seq: z.number(),
  data: z.record(z.string(), z.unknown()).describe("The merged call snapshot, every field."),
  data_unreadable: z.boolean().optional().describe(
    "Present and true when the stored snapshot cannot be read back (nested too deep); data is then {} and url serves what the store holds.",
  ),
  first_seen_at: z.number().describe("Epoch milliseconds."),
  last_event_at: z.number().describe("Epoch milliseconds."),
  change_seq: z.number(),
  omitted_fields: z.array(z.string()).describe(
    "Fields of data left out of this page for size; fetch url for them.",
  ),
  url: z.string().describe("/api/calls/<id>: the call with every field."),
}).meta({ id: "CallSummary" });

/** `GET /api/calls` (filters). */
export const CallPageBody = z.object({
  calls: z.array(CallSummaryBody),
  next_cursor: z.string().nullable().describe("Pass as cursor for the next page; null: no more."),
}).meta({ id: "CallPage" });

/** `GET /api/calls?since=` (the change feed). */
export const CallFeedBody = z.object({
  calls: z.array(CallSummaryBody),
  cursor: z.string().describe("Pass as since next time; ask again until a page is empty."),
}).meta({ id: "CallFeed" });

/** One event of a call's history. */
export const CallEventBody = z.object({
  event_key: z.string(),
  event_id: nullableText,
  event_type: nullableText,
  received_at: isoTime,
  audit_seq: z.number().nullable(),
  outcome: z.string(),
  body_bytes: count,
  body_omitted: z.boolean(),
  flags: z.array(z.string()),
  body: z.unknown().describe("The event as received, parsed; null when omitted or unavailable."),
  body_unavailable: nullableText,
}).meta({ id: "CallEvent" });

/** `GET /api/calls/:id`. */
export const CallWithHistoryBody = z.object({
  call: CallSummaryBody.omit({ omitted_fields: true, url: true }),
  events: z.array(CallEventBody).describe(
    "One page of the history, in arrival order: the newest page first.",
  ),
  events_total: count.describe("Events of this call in all pages."),
  events_next_cursor: z.string().nullable().describe(
    "Pass as events_cursor for the events before this page; null: this page holds the first.",
  ),
}).meta({ id: "CallWithHistory" });

/**
 * `GET /api/calls/:id/events/:event_key`: the exact text Symbo signed. Symbo's
 * envelope; anything else it sent is kept.
 */
export const SymboEventBody = z.looseObject({
  id: z.unknown().optional(),
  object: z.unknown().optional(),
  description: z.unknown().optional(),
  created_at: z.unknown().optional(),
  data: z.unknown().optional(),
}).meta({ id: "SymboEvent" });

/** One unknown number. */
export const UnknownNumberBody = z.object({
  number: z.string().describe("E.164."),
  count: count.describe("Lookups of it."),
  first_seen_at: isoTime,
  last_seen_at: isoTime,
}).meta({ id: "UnknownNumber" });

/** `GET /api/unknown-numbers`. */
export const UnknownNumberPageBody = z.object({
  numbers: z.array(UnknownNumberBody),
  total: count,
  next_offset: count.nullable().describe("Pass as offset for the next page; null: no more."),
}).meta({ id: "UnknownNumberPage" });

/** `GET /api/openapi.json`: an OpenAPI 3.1 document (this one). */
export const OpenApiDocumentBody = z.looseObject({
  openapi: z.string().regex(/^3\.1\.\d+$/),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.record(z.string(), z.unknown())),
}).meta({ id: "OpenApiDocument" });

/** `GET /healthz`. */
export const HealthBody = z.object({ status: z.literal("ok") }).meta({ id: "Health" });

/**
 * `GET /readyz`. Open to more reported parts: what does not decide readiness
 * (the applier, contact sources, outbound deliveries) is added beside `checks`.
 */
export const ReadyBody = z.looseObject({
  status: z.enum(["ready", "not_ready"]),
  checks: z.record(z.string(), z.string()).describe(
    'Each check ("store", "audit"): "ok" or why not.',
  ),
  applier: z.object({
    state: z.enum([
      "starting",
      "catching_up",
      "caught_up",
      "waiting_for_store",
      "stopped",
      "shut_down",
    ]),
    lag_events: count,
    lag_seconds: z.number().min(0),
    position: z.object({ seq: z.number(), hash: z.string() }).nullable(),
    problem: z.string().optional(),
  }).optional(),
  sources: z.object({
    failing: z.array(z.object({ name: z.string(), message: z.string() })).describe(
      "Contact sources that have not succeeded for 3 of their periods (does not decide readiness).",
    ),
  }).optional(),
  outbound: z.object({
    state: z.enum(["idle", "running", "store_unavailable", "stopped"]).describe(
      "The sender of outbound deliveries (does not decide readiness).",
    ),
    in_flight: count.describe("Deliveries being sent now."),
    problem: z.string().nullable().describe("Why deliveries wait, when they do."),
    pending: count.optional().describe("Messages waiting to be delivered."),
    oldest_pending_seconds: z.number().min(0).optional(),
    endpoints_disabled: count.optional().describe("Endpoints disabled (by hand or by failing)."),
  }).optional(),
}).meta({ id: "Ready" });

/** `POST /symbo/webhook`'s normal answer. */
export const WebhookAnswerBody = z.object({
  status: z.enum(["applied", "duplicate", "ignored", "queued"]),
}).meta({ id: "WebhookAnswer" });
