/**
 * The HTTP API's OpenAPI 3.1 document, generated from the zod schemas the
 * routes validate requests with and build answers with (`z.toJSONSchema`), so
 * the reference cannot drift from what the server accepts and sends. Built
 * once at start.
 *
 * Each route is one {@link RouteDoc} in {@link API_ROUTES}: its operationId,
 * parameters, body and every status it answers with. A new route adds its
 * descriptor there (or passes it to {@link openApiDocument}); the contract
 * test (tests/admin/openapi_contract_test.ts) checks real answers of every
 * described route against its schemas.
 */
import { z } from "zod";
import { CallQuery, ExportQuery, ListQuery } from "./call_routes.ts";
import { ContactBody, SearchQuery } from "./contact_routes.ts";
import { ImportQuery } from "./import_route.ts";
import { BatchRefusedResponse, BatchResponse } from "./contact_batch_route.ts";
import {
  SourceListResponse,
  SourceRunsQuery,
  SourceRunsResponse,
  SourceRunStarted,
} from "./source_routes.ts";
import { UnknownNumbersQuery } from "./unknown_number_routes.ts";
import {
  EndpointCreateBody,
  EndpointListSchema,
  EndpointPatchBody,
  EndpointSchema,
  EndpointSecretSchema,
  EndpointWithHealthSchema,
  MessagePageSchema,
  MessageSchema,
  MessagesQuery,
  ReplayBody,
  ReplayQueuedSchema,
  ResendQueuedSchema,
} from "./endpoint_routes.ts";
import { paramDocs } from "./query_params.ts";
import {
  CallFeedBody,
  CallPageBody,
  CallWithHistoryBody,
  ContactSavedBody,
  ContactSearchBody,
  ErrorBody,
  HealthBody,
  ImportAcceptedBody,
  ImportFailedBody,
  ImportJobBody,
  ImportJobListBody,
  ImportSummaryBody,
  LookupBodySchema,
  OpenApiDocumentBody,
  ReadyBody,
  StoredContactBody,
  SymboEventBody,
  UnknownNumberPageBody,
  WebhookAnswerBody,
} from "../http/api_responses.ts";
import { VERSION } from "../version.ts";

type JsonObject = Record<string, unknown>;

/** One answer of a route: a JSON body (a schema, or one of several), CSV, text, or nothing. */
export type ResponseDoc =
  | { readonly description: string; readonly json: z.ZodType | readonly z.ZodType[] }
  | { readonly description: string; readonly csv: true }
  | { readonly description: string; readonly text: string }
  | { readonly description: string; readonly empty: true };

/** Who may call a route. */
export type RouteAuth = "admin" | "metrics" | "lookup" | "signature" | "public";

/** One route as the OpenAPI document describes it. */
export interface RouteDoc {
  readonly method: "get" | "put" | "post" | "patch" | "delete";
  /** The OpenAPI path template: `/api/contacts/{external_id}`. */
  readonly path: string;
  readonly operationId: string;
  readonly tag: string;
  readonly summary: string;
  readonly description?: string;
  readonly auth: RouteAuth;
  /** The path's parameters, in order, with their descriptions. */
  readonly pathParams?: Readonly<Record<string, string>>;
  /** The query string: a strict zod object, the one the route parses with. */
  readonly query?: z.ZodType;
  /** Extra query parameters the route reads without a zod object (the lookup's). */
  readonly queryParams?: readonly JsonObject[];
  readonly body?:
    | { readonly json: z.ZodType; readonly description: string }
    | { readonly csv: true; readonly description: string }
    | { readonly ndjson: true; readonly description: string };
  /** Every status the route answers with. */
  readonly responses: Readonly<Record<number, ResponseDoc>>;
}

const json = (
  description: string,
  schema: z.ZodType | readonly z.ZodType[],
): ResponseDoc => ({ description, json: schema });
const error = (description: string): ResponseDoc => ({ description, json: ErrorBody });
const csv = (description: string): ResponseDoc => ({ description, csv: true });

/** What every route may answer besides its own statuses. */
const ALWAYS = {
  500: error("An unexpected error (logged); `internal_error`."),
} as const;

/** Statuses of every admin route: no token, and the admin API or the store unavailable. */
const ADMIN = {
  ...ALWAYS,
  401: error("No valid admin token (`unauthorized`)."),
  503: error(
    "The admin API is off (`admin_not_configured`: no admin token configured), the store is " +
      "unavailable (`store_unavailable`, with Retry-After), or the request ran past " +
      "server.request_timeout_ms (`timeout`).",
  ),
} as const;

/** A body charged to the shared budget, from an address that holds too much of it. */
const CLIENT_BUSY = error(
  "This client address holds too many request body bytes in flight (`client_busy`; Retry-After).",
);

/** Statuses of an admin route that reads a request body. */
const WITH_BODY = {
  408: error(
    "The body stopped arriving for server.body_stall_timeout_ms (`body_stalled`), or arrived " +
      "slower than server.body_min_bytes_per_second after it (`body_too_slow`).",
  ),
  413: error("The body is larger than the route's limit (`body_too_large`)."),
  503: error(
    "As every admin route, and: request bodies in flight exceed " +
      "server.max_body_bytes_in_flight (Retry-After).",
  ),
} as const;

const INVALID_QUERY = error(
  "A query parameter is not valid or not known (`invalid_query`); the message names it.",
);

const SYMBO_ERRORS = {
  ...ALWAYS,
  403: error("The client's address is not in symbo.allowed_ips (`forbidden`)."),
} as const;

const LOOKUP_QUERY: readonly JsonObject[] = [
  {
    name: "number",
    in: "query",
    required: true,
    description:
      "The phone number: E.164 (`+18005551212`, or with its + decoded to a space), with punctuation, or national (contacts.default_region).",
    schema: { type: "string", minLength: 1 },
  },
  {
    name: "token",
    in: "query",
    required: false,
    description: "A lookup token (else Authorization: Bearer, or X-Hmac-Signature).",
    schema: { type: "string" },
  },
];

const lookupResponses = {
  ...SYMBO_ERRORS,
  200: json("The contact (Symbo's lookup body).", LookupBodySchema),
  400: error("No usable number (`missing_number`, `invalid_number`)."),
  401: error("No valid lookup token or signature (`unauthorized`)."),
  404: error("No contact has this number (`not_found`)."),
  503: error("The store did not answer in time (`store_unavailable`, Retry-After)."),
} as const;

/** Every route of the HTTP API but the console's pages. */
export const API_ROUTES: readonly RouteDoc[] = [
  {
    method: "get",
    path: "/api/contacts",
    operationId: "searchContacts",
    tag: "contacts",
    summary: "Search contacts by name, email, external id or any phone format",
    auth: "admin",
    query: SearchQuery,
    responses: {
      ...ADMIN,
      200: json("The matching contacts.", ContactSearchBody),
      400: INVALID_QUERY,
    },
  },
  {
    method: "get",
    path: "/api/contacts/{external_id}",
    operationId: "getContact",
    tag: "contacts",
    summary: "One contact",
    auth: "admin",
    pathParams: { external_id: "The CRM's id of the contact." },
    responses: {
      ...ADMIN,
      200: json("The contact and when it was last written.", StoredContactBody),
      404: error("No contact has this external_id (`not_found`)."),
    },
  },
  {
    method: "put",
    path: "/api/contacts/{external_id}",
    operationId: "putContact",
    tag: "contacts",
    summary: "Create or replace a contact (the import's row rules and normalization)",
    auth: "admin",
    pathParams: { external_id: "The CRM's id of the contact." },
    body: {
      json: ContactBody,
      description:
        "The contact in the lookup body's shape (at most 1 MiB). Its external_id, when given, must equal the one in the URL.",
    },
    responses: {
      ...ADMIN,
      ...WITH_BODY,
      429: CLIENT_BUSY,
      200: json("Replaced (`updated`) or already so (`unchanged`).", ContactSavedBody),
      201: json("Created (`inserted`).", ContactSavedBody),
      400: error(
        "The body is not UTF-8 JSON (`invalid_json`), does not match the schema or its external_id differs from the URL's (`invalid_body`), or is not a valid contact (`invalid_contact`).",
      ),
    },
  },
  {
    method: "delete",
    path: "/api/contacts/{external_id}",
    operationId: "deleteContact",
    tag: "contacts",
    summary: "Delete a contact (its calls stay, unlinked)",
    auth: "admin",
    pathParams: { external_id: "The CRM's id of the contact." },
    responses: {
      ...ADMIN,
      204: { description: "Deleted.", empty: true },
      404: error("No contact has this external_id (`not_found`)."),
    },
  },
  {
    method: "post",
    path: "/api/contacts/import",
    operationId: "importContacts",
    tag: "imports",
    summary: "Import a CSV export of contacts (streamed, one transaction)",
    description:
      "Spooled to a temp file, then imported in the background. Finished within ~2 s: 200 with the summary; else 202 with the job to follow. One import runs at a time.",
    auth: "admin",
    query: ImportQuery,
    body: { csv: true, description: "The CSV export (at most admin.max_import_bytes)." },
    responses: {
      ...ADMIN,
      ...WITH_BODY,
      200: json("Imported (or dry-run): the summary.", ImportSummaryBody),
      202: json("Still running: the job and where to follow it.", ImportAcceptedBody),
      400: error("A query parameter is not valid (`invalid_query`), or no body (`empty_body`)."),
      408: error(
        "The upload sent nothing for server.request_timeout_ms, or was not complete after " +
          "admin.import_upload_timeout_ms (`upload_stalled`).",
      ),
      409: json(
        "Another import is running (`import_running`; the message names it), or another " +
          "writer holds the store (`store_busy`).",
        ImportFailedBody,
      ),
      413: error("The CSV is larger than admin.max_import_bytes (`body_too_large`)."),
      422: json(
        "The file could not be imported (`import_failed`), or the prune guard refused it " +
          "(`prune_refused`: it would delete more than contacts.max_prune_fraction of the " +
          "contacts; the message says how many; force_prune=true forces it). Nothing changed.",
        ImportFailedBody,
      ),
    },
  },
  {
    method: "post",
    path: "/api/contacts/batch",
    operationId: "applyContactBatch",
    tag: "contacts",
    summary: "Upsert and delete contacts in one transaction (NDJSON, all or nothing)",
    description:
      'One operation a line: `{"op":"upsert","contact":{…}}` (the PUT body, with external_id) ' +
      'or `{"op":"delete","external_id":"…"}`. Every line is validated before anything is ' +
      "written; one bad line refuses the whole batch with a per-line report.",
    auth: "admin",
    body: {
      ndjson: true,
      description: "NDJSON lines (at most contacts.batch_max_bytes and 100,000 lines).",
    },
    responses: {
      ...ADMIN,
      ...WITH_BODY,
      429: CLIENT_BUSY,
      200: json("Applied: counts by outcome.", BatchResponse),
      400: error("Not UTF-8 (`invalid_body`), or no line (`empty_body`)."),
      413: error("The batch is larger than contacts.batch_max_bytes (`body_too_large`)."),
      422: json("A line was refused; nothing changed.", BatchRefusedResponse),
    },
  },
  {
    method: "get",
    path: "/api/sources",
    operationId: "listSources",
    tag: "sources",
    summary: "Configured contact sources: schedule, next run, last run, failures",
    auth: "admin",
    responses: { ...ADMIN, 200: json("Every configured source.", SourceListResponse) },
  },
  {
    method: "get",
    path: "/api/sources/{name}/runs",
    operationId: "listSourceRuns",
    tag: "sources",
    summary: "A source's runs, newest first (page with before)",
    auth: "admin",
    pathParams: { name: "The source's name (contacts.sources[].name)." },
    query: SourceRunsQuery,
    responses: {
      ...ADMIN,
      200: json("A page of runs.", SourceRunsResponse),
      400: INVALID_QUERY,
      404: error("No source has this name (`not_found`)."),
    },
  },
  {
    method: "post",
    path: "/api/sources/{name}/run",
    operationId: "runSource",
    tag: "sources",
    summary: "Run a source now (never forces a prune)",
    auth: "admin",
    pathParams: { name: "The source's name." },
    responses: {
      ...ADMIN,
      202: json("Started: the run's id and where to follow it.", SourceRunStarted),
      404: error("No source has this name (`not_found`)."),
      409: error("The source is running now (`source_running`)."),
    },
  },
  {
    method: "post",
    path: "/api/endpoints",
    operationId: "createEndpoint",
    tag: "endpoints",
    summary: "Register an endpoint the CRM receives signed call changes at",
    description:
      "The answer holds the endpoint's signing secret, shown only here (and on rotate-secret). " +
      "The URL must be https and resolve to public addresses unless outbound.allow_http and " +
      "outbound.allow_private_networks say otherwise.",
    auth: "admin",
    body: { json: EndpointCreateBody, description: "The endpoint (at most 64 KiB)." },
    responses: {
      ...ADMIN,
      ...WITH_BODY,
      201: json(
        "Registered: the endpoint and its secret (Location: the endpoint).",
        EndpointSecretSchema,
      ),
      400: error(
        "The body is not UTF-8 JSON (`invalid_json`), does not match the schema " +
          "(`invalid_body`), or the URL is refused (`invalid_url`; the message says why).",
      ),
      409: error("outbound.max_endpoints endpoints exist already (`too_many_endpoints`)."),
    },
  },
  {
    method: "get",
    path: "/api/endpoints",
    operationId: "listEndpoints",
    tag: "endpoints",
    summary: "Every endpoint with its health (backlog, last 24 h)",
    auth: "admin",
    responses: { ...ADMIN, 200: json("The endpoints.", EndpointListSchema) },
  },
  {
    method: "get",
    path: "/api/endpoints/{id}",
    operationId: "getEndpoint",
    tag: "endpoints",
    summary: "One endpoint with its health",
    auth: "admin",
    pathParams: { id: "The endpoint's id (ep_…)." },
    responses: {
      ...ADMIN,
      200: json("The endpoint.", EndpointWithHealthSchema),
      404: error("No endpoint has this id (`not_found`)."),
    },
  },
  {
    method: "patch",
    path: "/api/endpoints/{id}",
    operationId: "updateEndpoint",
    tag: "endpoints",
    summary: "Change an endpoint: URL, event types, description, enabled",
    description: "Enabling an endpoint sends what waited for it.",
    auth: "admin",
    pathParams: { id: "The endpoint's id." },
    body: { json: EndpointPatchBody, description: "The fields to change (at most 64 KiB)." },
    responses: {
      ...ADMIN,
      ...WITH_BODY,
      200: json("The changed endpoint.", EndpointSchema),
      400: error(
        "The body is not UTF-8 JSON (`invalid_json`), does not match the schema or changes " +
          "nothing (`invalid_body`), or the URL is refused (`invalid_url`).",
      ),
      404: error("No endpoint has this id (`not_found`)."),
    },
  },
  {
    method: "delete",
    path: "/api/endpoints/{id}",
    operationId: "deleteEndpoint",
    tag: "endpoints",
    summary: "Delete an endpoint and its messages",
    auth: "admin",
    pathParams: { id: "The endpoint's id." },
    responses: {
      ...ADMIN,
      204: { description: "Deleted.", empty: true },
      404: error("No endpoint has this id (`not_found`)."),
    },
  },
  {
    method: "post",
    path: "/api/endpoints/{id}/rotate-secret",
    operationId: "rotateEndpointSecret",
    tag: "endpoints",
    summary: "A new signing secret; the old one still signs for outbound.secret_grace_hours",
    auth: "admin",
    pathParams: { id: "The endpoint's id." },
    responses: {
      ...ADMIN,
      200: json("The endpoint and its new secret (shown only here).", EndpointSecretSchema),
      404: error("No endpoint has this id (`not_found`)."),
    },
  },
  {
    method: "get",
    path: "/api/endpoints/{id}/messages",
    operationId: "listEndpointMessages",
    tag: "endpoints",
    summary: "An endpoint's messages with their latest attempts, latest first (cursor pages)",
    auth: "admin",
    pathParams: { id: "The endpoint's id." },
    query: MessagesQuery,
    responses: {
      ...ADMIN,
      200: json("A page of messages.", MessagePageSchema),
      400: error(
        "A query parameter (`invalid_query`) or the cursor (`invalid_cursor`) is not valid.",
      ),
      404: error("No endpoint has this id (`not_found`)."),
    },
  },
  {
    method: "post",
    path: "/api/endpoints/{id}/replay",
    operationId: "replayEndpoint",
    tag: "endpoints",
    summary: "Queue the current state of every call changed since a time (a backfill)",
    auth: "admin",
    pathParams: { id: "The endpoint's id." },
    body: {
      json: ReplayBody,
      description: "From when: an ISO 8601 time or epoch milliseconds (at most 64 KiB).",
    },
    responses: {
      ...ADMIN,
      ...WITH_BODY,
      202: json("Queued: how many calls, from when.", ReplayQueuedSchema),
      400: error(
        "The body is not UTF-8 JSON (`invalid_json`) or does not match the schema " +
          "(`invalid_body`).",
      ),
      404: error("No endpoint has this id (`not_found`)."),
    },
  },
  {
    method: "get",
    path: "/api/messages/{id}",
    operationId: "getMessage",
    tag: "endpoints",
    summary: "One outbound message with its latest attempts",
    auth: "admin",
    pathParams: { id: "The message's id (msg_…), its webhook-id." },
    responses: {
      ...ADMIN,
      200: json("The message.", MessageSchema),
      404: error("No message has this id (`not_found`)."),
    },
  },
  {
    method: "post",
    path: "/api/messages/{id}/resend",
    operationId: "resendMessage",
    tag: "endpoints",
    summary: "Send a message again (same webhook-id, a fresh retry schedule)",
    auth: "admin",
    pathParams: { id: "The message's id." },
    responses: {
      ...ADMIN,
      202: json("Queued again.", ResendQueuedSchema),
      404: error("No message has this id (`not_found`)."),
      409: error(
        "The message is being sent right now (`in_flight`), or a newer change of its call " +
          "waits to be sent (`superseded`; the message names it).",
      ),
    },
  },
  {
    method: "get",
    path: "/api/imports",
    operationId: "listImports",
    tag: "imports",
    summary: "Recent import jobs, newest first",
    auth: "admin",
    responses: { ...ADMIN, 200: json("The jobs (kept in memory).", ImportJobListBody) },
  },
  {
    method: "get",
    path: "/api/imports/{id}",
    operationId: "getImport",
    tag: "imports",
    summary: "An import job: state, progress (bytesRead of bytesTotal), and its outcome",
    auth: "admin",
    pathParams: { id: "The job id from a 202 answer or the job list." },
    responses: {
      ...ADMIN,
      200: json("The job.", ImportJobBody),
      404: error("No such job (jobs are kept in memory, the newest 20) (`not_found`)."),
    },
  },
  {
    method: "get",
    path: "/api/imports/{id}/rejects.csv",
    operationId: "getImportRejects",
    tag: "imports",
    summary: "An import job's rejected rows as CSV (formula cells defused)",
    auth: "admin",
    pathParams: { id: "The job id." },
    responses: {
      ...ADMIN,
      200: csv("The rejected rows: the file's header, then each row with its line and reason."),
      404: error("No such job (`not_found`), or it rejected no row (`no_rejects`)."),
    },
  },
  {
    method: "get",
    path: "/api/calls",
    operationId: "listCalls",
    tag: "calls",
    summary: "List calls (filters, cursor pages), or the change feed with ?since=",
    description:
      "Without since: newest first, filtered, a CallPage with next_cursor. With since (empty for the beginning): the change feed, oldest change first, a CallFeed with the cursor to pass next time. Pages are bounded in bytes as well as by limit.",
    auth: "admin",
    query: ListQuery,
    responses: {
      ...ADMIN,
      200: json("A page of calls (CallPage) or of the feed (CallFeed, with since).", [
        CallPageBody,
        CallFeedBody,
      ]),
      400: error(
        "A query parameter (`invalid_query`) or the cursor (`invalid_cursor`) is not valid.",
      ),
    },
  },
  {
    method: "get",
    path: "/api/calls.csv",
    operationId: "exportCalls",
    tag: "calls",
    summary: "Export calls as CSV (streamed; formula cells neutralized)",
    auth: "admin",
    query: ExportQuery,
    responses: { ...ADMIN, 200: csv("Every matching call."), 400: INVALID_QUERY },
  },
  {
    method: "get",
    path: "/api/calls/{id}",
    operationId: "getCall",
    tag: "calls",
    summary: "One call (every field) with a page of the events that touched it, newest page first",
    auth: "admin",
    pathParams: { id: "Symbo's call id (data.id), exactly as sent." },
    query: CallQuery,
    responses: {
      ...ADMIN,
      200: json("The call and a page of its events.", CallWithHistoryBody),
      400: error(
        "A query parameter (`invalid_query`) or events_cursor (`invalid_cursor`) is not valid.",
      ),
      404: error("No call has this id (`not_found`)."),
    },
  },
  {
    method: "get",
    path: "/api/calls/{id}/events/{event_key}",
    operationId: "getCallEventBody",
    tag: "calls",
    summary: "One event's body, exactly as Symbo signed it",
    auth: "admin",
    pathParams: {
      id: "Symbo's call id.",
      event_key: "The event's key, from the call's history (events[].event_key).",
    },
    responses: {
      ...ADMIN,
      200: json("The event's exact body.", SymboEventBody),
      404: error(
        "No such event of this call (`not_found`), or its body is in another instance's audit folder (`event_body_elsewhere`).",
      ),
      410: error("Audit retention deleted or archived the body's day (`event_body_removed`)."),
      500: error("The body could not be read (`event_body_unreadable`), or an unexpected error."),
    },
  },
  {
    method: "get",
    path: "/api/unknown-numbers",
    operationId: "listUnknownNumbers",
    tag: "unknown numbers",
    summary: "Dialed numbers no contact has, most recently seen first",
    auth: "admin",
    query: UnknownNumbersQuery,
    responses: { ...ADMIN, 200: json("A page.", UnknownNumberPageBody), 400: INVALID_QUERY },
  },
  {
    method: "get",
    path: "/api/unknown-numbers.csv",
    operationId: "exportUnknownNumbers",
    tag: "unknown numbers",
    summary: "Every unknown number as CSV",
    auth: "admin",
    responses: { ...ADMIN, 200: csv("number, count, first_seen_at, last_seen_at.") },
  },
  {
    method: "get",
    path: "/api/openapi.json",
    operationId: "getOpenApi",
    tag: "operations",
    summary: "This document",
    auth: "public",
    responses: {
      ...ALWAYS,
      200: json("The OpenAPI 3.1 document.", OpenApiDocumentBody),
    },
  },
  {
    method: "get",
    path: "/healthz",
    operationId: "getHealth",
    tag: "operations",
    summary: "Liveness: the process is up",
    auth: "public",
    responses: { ...ALWAYS, 200: json("Up.", HealthBody) },
  },
  {
    method: "get",
    path: "/readyz",
    operationId: "getReadiness",
    tag: "operations",
    summary: "Readiness: the audit log can be written (the store is reported, not decisive)",
    auth: "public",
    responses: {
      ...ALWAYS,
      200: json("Ready.", ReadyBody),
      503: json("Not ready; checks says why.", ReadyBody),
    },
  },
  {
    method: "get",
    path: "/metrics",
    operationId: "getMetrics",
    tag: "operations",
    summary: "Prometheus metrics (an admin token or metrics.token, unless metrics.public)",
    auth: "metrics",
    responses: {
      ...ALWAYS,
      200: { description: "The Prometheus text format.", text: "text/plain" },
      401: error("No valid admin or metrics token (`unauthorized`)."),
      503: error("No token is configured and metrics.public is false (`metrics_not_configured`)."),
    },
  },
  {
    method: "get",
    path: "/symbo/lookup",
    operationId: "lookupContact",
    tag: "symbo",
    summary: "Symbo's contact lookup on dial",
    auth: "lookup",
    queryParams: LOOKUP_QUERY,
    responses: lookupResponses,
  },
  {
    method: "get",
    path: "/symbo/webhook",
    operationId: "lookupContactAtWebhook",
    tag: "symbo",
    summary: "The contact lookup at the webhook's URL (newer Symbo accounts; signed)",
    auth: "lookup",
    queryParams: LOOKUP_QUERY,
    responses: lookupResponses,
  },
  {
    method: "post",
    path: "/symbo/webhook",
    operationId: "receiveWebhook",
    tag: "symbo",
    summary: "Symbo's call activity webhook (verified, audited, then applied)",
    auth: "signature",
    body: {
      json: SymboEventBody,
      description: "The event, exactly as Symbo signed it (at most symbo.max_body_bytes).",
    },
    responses: {
      ...SYMBO_ERRORS,
      200: json(
        "Audited; applied, a duplicate, ignored, or queued for the store.",
        WebhookAnswerBody,
      ),
      400: error(
        "An empty body (`empty_body`), or a verified body that is not a valid event (audited, not applied).",
      ),
      401: error("X-Hmac-Signature is missing or matches no webhook secret."),
      408: error(
        "The body stopped arriving for server.body_stall_timeout_ms (`body_stalled`), or arrived " +
          "slower than server.body_min_bytes_per_second after it (`body_too_slow`).",
      ),
      413: error("The body is larger than symbo.max_body_bytes (`body_too_large`)."),
      429: CLIENT_BUSY,
      500: error("Audited but could not be stored (`apply_failed`), or an unexpected error."),
      503: error(
        "No webhook secret configured, the audit log could not be written (nothing accepted), or request bodies in flight exceed server.max_body_bytes_in_flight; Retry-After.",
      ),
    },
  },
];

/** What each tag groups (a tag without an entry here is listed without one). */
const TAGS: Readonly<Record<string, string>> = {
  contacts: "Contacts: read, search, create or replace, delete (admin token).",
  imports: "CSV imports of contacts and their jobs (admin token).",
  sources: "Contact sources kept fresh on a schedule: status, runs, run now (admin token).",
  endpoints:
    "Outbound deliveries: the CRM's endpoints that receive signed call changes (Standard " +
    "Webhooks), their messages and attempts, resend and replay (admin token).",
  calls: "Calls from Symbo's webhook: pages, the change feed, CSV, history (admin token).",
  "unknown numbers": "Numbers Symbo asked about that no contact has (admin token).",
  operations: "Health, readiness, metrics and this document.",
  symbo: "The two endpoints Symbo calls: the contact lookup and the call webhook.",
};

const SECURITY: Readonly<Record<RouteAuth, readonly JsonObject[]>> = {
  admin: [{ admin: [] }],
  metrics: [{ admin: [] }, {}],
  lookup: [{ lookupToken: [] }, { lookupBearer: [] }, { signature: [] }],
  signature: [{ signature: [] }],
  public: [],
};

/** Builds the OpenAPI 3.1 document of `routes` (the API's, plus any given). */
export function openApiDocument(extraRoutes: readonly RouteDoc[] = []): JsonObject {
  const routes = [...API_ROUTES, ...extraRoutes];
  const paths: Record<string, Record<string, JsonObject>> = {};
  for (const route of routes) {
    const path = paths[route.path] ??= {};
    path[route.method] = operation(route);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "symbo-crm API",
      version: VERSION,
      description:
        "The admin API (contacts, imports, sources, calls, unknown numbers, outbound endpoints; Authorization: Bearer <admin token>), the operations routes and the two endpoints Symbo calls. Every error is JSON {error, message}. A method a path does not take is answered 405 method_not_allowed with Allow; an unknown path 404 no_such_route. The console's HTML pages (/console/…) are for people and not described here.",
      license: { name: "Proprietary", identifier: "LicenseRef-Proprietary" },
    },
    servers: [{ url: "/", description: "The symbo-crm instance serving this document." }],
    tags: [...new Set(routes.map((route) => route.tag))].map((name) => ({
      name,
      ...(TAGS[name] ? { description: TAGS[name] } : {}),
    })),
    security: [{ admin: [] }],
    components: {
      securitySchemes: {
        admin: { type: "http", scheme: "bearer", description: "An admin token (admin.tokens)." },
        lookupToken: { type: "apiKey", in: "query", name: "token", description: "A lookup token." },
        lookupBearer: { type: "http", scheme: "bearer", description: "A lookup token." },
        signature: {
          type: "apiKey",
          in: "header",
          name: "X-Hmac-Signature",
          description: "Hex HMAC-SHA256 of the exact body bytes with a webhook secret.",
        },
      },
      schemas: componentSchemas(),
    },
    paths,
  };
}

/** Every schema with an id (`.meta({ id })`), as OpenAPI components referring to each other. */
function componentSchemas(): JsonObject {
  const generated = z.toJSONSchema(z.globalRegistry, {
    io: "output",
    target: "draft-2020-12",
    uri: (id) => `#/components/schemas/${id}`,
    unrepresentable: "any",
  }) as { schemas: Record<string, JsonObject> };
  for (const schema of Object.values(generated.schemas)) {
    delete schema.$schema;
    delete schema.$id;
    delete schema.id;
  }
  return generated.schemas;
}

function operation(route: RouteDoc): JsonObject {
  const parameters = [
    ...Object.entries(route.pathParams ?? {}).map(([name, description]) => ({
      name,
      in: "path",
      required: true,
      description,
      schema: { type: "string", minLength: 1 },
    })),
    ...(route.query ? queryParameters(route.query) : []),
    ...(route.queryParams ?? []),
  ];
  const op: JsonObject = {
    operationId: route.operationId,
    tags: [route.tag],
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    security: SECURITY[route.auth],
    ...(parameters.length > 0 ? { parameters } : {}),
  };
  if (route.body) {
    op.requestBody = {
      required: true,
      description: route.body.description,
      content: "csv" in route.body
        ? { "text/csv": { schema: { type: "string" } } }
        : "ndjson" in route.body
        ? { "application/x-ndjson": { schema: { type: "string" } } }
        : { "application/json": { schema: inputSchema(route.body.json) } },
    };
  }
  op.responses = Object.fromEntries(
    Object.entries(route.responses).map(([status, response]) => [status, responseObject(response)]),
  );
  return op;
}

function responseObject(response: ResponseDoc): JsonObject {
  if ("empty" in response) return { description: response.description };
  if ("csv" in response) {
    return {
      description: response.description,
      content: { "text/csv": { schema: { type: "string" } } },
    };
  }
  if ("text" in response) {
    return {
      description: response.description,
      content: { [response.text]: { schema: { type: "string" } } },
    };
  }
  const schemas = Array.isArray(response.json) ? response.json : [response.json];
  const refs = schemas.map(outputSchema);
  return {
    description: response.description,
    content: { "application/json": { schema: refs.length === 1 ? refs[0] : { oneOf: refs } } },
  };
}

/** A response schema: a reference to its component, or (no id) inline. */
function outputSchema(schema: z.ZodType): JsonObject {
  const id = z.globalRegistry.get(schema)?.id;
  if (id !== undefined) return { $ref: `#/components/schemas/${id}` };
  const json = z.toJSONSchema(schema, { io: "output", unrepresentable: "any" }) as JsonObject;
  delete json.$schema;
  return json;
}

/** A request schema: what the route accepts, inline. */
function inputSchema(schema: z.ZodType): JsonObject {
  const id = z.globalRegistry.get(schema)?.id;
  if (id !== undefined) return { $ref: `#/components/schemas/${id}` };
  const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonObject;
  delete json.$schema;
  return json;
}

/** Query parameters of a strict object schema, one OpenAPI parameter per property. */
function queryParameters(schema: z.ZodType): JsonObject[] {
  const json = z.toJSONSchema(schema, {
    io: "input",
    unrepresentable: "any",
    // A parameter whose string input says less than its rule is described by the rule.
    override: (ctx) => {
      const doc = paramDocs.get(ctx.zodSchema)?.openapi;
      if (doc === undefined) return;
      for (const key of Object.keys(ctx.jsonSchema)) delete ctx.jsonSchema[key];
      Object.assign(ctx.jsonSchema, structuredClone(doc));
    },
  }) as JsonObject;
  const properties = (json.properties ?? {}) as Record<string, JsonObject>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: "query",
      required: required.has(name),
      ...(typeof description === "string" ? { description } : {}),
      schema: rest,
    };
  });
}
