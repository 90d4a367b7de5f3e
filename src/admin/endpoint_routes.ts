/**
 * Admin routes of outbound deliveries (DESIGN §11): endpoints (register, list,
 * change, delete, rotate the secret), their messages with attempts, resend one
 * message, replay an endpoint from a time. The zod schemas of the bodies and
 * answers are exported for the OpenAPI document.
 */
import { z } from "zod";
import { requireAdmin } from "../http/admin_auth.ts";
import type { Route } from "../http/app.ts";
import { answer } from "../http/api_responses.ts";
import { HttpError } from "../http/http_error.ts";
import { readBodyLimited } from "../http/read_body.ts";
import {
  checkEndpointUrl,
  createEndpoint,
  deleteEndpoint,
  EndpointError,
  getEndpoint,
  listEndpoints,
  OUTBOUND_EVENT_TYPES,
  rotateSecret,
  updateEndpoint,
  type UrlPolicy,
} from "../outbound/endpoints.ts";
import {
  CursorError,
  endpointHealth,
  getMessage,
  listMessages,
} from "../outbound/outbound_queries.ts";
import {
  MESSAGE_STATUSES,
  replayEndpoint,
  ResendError,
  resendMessage,
} from "../outbound/outbox.ts";
import { clientExecutor } from "../store/sql.ts";
import type { Store } from "../store/open_store.ts";
import { limitParam, parseJsonBody, parseQuery, timeParam } from "./query_params.ts";

const eventType = z.enum(OUTBOUND_EVENT_TYPES);
/** The latest time a JavaScript Date holds. */
const MAX_TIME_MS = 8.64e15;
const url = z.string().trim().min(1, "an endpoint needs its url").max(2048);
const description = z.string().max(500);

/** `POST /api/endpoints`. */
export const EndpointCreateBody = z.strictObject({
  url,
  types: z.array(eventType).min(1, "name at least one event type").optional(),
  description: description.optional(),
});

/** `PATCH /api/endpoints/:id`: any of these. */
export const EndpointPatchBody = z.strictObject({
  url: url.optional(),
  types: z.array(eventType).min(1, "name at least one event type").optional(),
  description: description.optional(),
  enabled: z.boolean().optional(),
}).refine((patch) => Object.keys(patch).length > 0, "pass at least one field to change");

/** `POST /api/endpoints/:id/replay`: from when (ISO 8601 or epoch ms). */
export const ReplayBody = z.strictObject({
  since: z.union([timeParam, z.number().int().min(0)]).pipe(
    z.number().max(MAX_TIME_MS, "a time after the year 275000 is not a time"),
  ),
});

/** `GET /api/endpoints/:id/messages`. */
export const MessagesQuery = z.strictObject({
  status: z.enum(MESSAGE_STATUSES).optional(),
  limit: limitParam(200, 50),
  cursor: z.string().min(1).optional(),
});

/** An endpoint as answered. */
export const EndpointSchema = z.object({
  id: z.string(),
  url: z.string(),
  description: z.string(),
  types: z.array(eventType),
  enabled: z.boolean(),
  disabled_reason: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  failing_since: z.string().nullable(),
  last_success_at: z.string().nullable(),
  last_error: z.string().nullable(),
  last_error_at: z.string().nullable(),
  previous_secret_until: z.string().nullable(),
}).meta({ id: "Endpoint" });

/** An endpoint with its health (the list). */
export const EndpointWithHealthSchema = EndpointSchema.extend({
  health: z.object({
    pending: z.number(),
    oldest_pending_seconds: z.number(),
    attempts_24h: z.number(),
    delivered_24h: z.number(),
    success_rate_24h: z.number().nullable(),
  }),
}).meta({ id: "EndpointWithHealth" });

/** `GET /api/endpoints`'s answer. */
export const EndpointListSchema = z.object({ endpoints: z.array(EndpointWithHealthSchema) }).meta({
  id: "EndpointList",
});

/** The answer of create and rotate-secret: the endpoint and its (new) secret, shown only then. */
export const EndpointSecretSchema = EndpointSchema.extend({
  secret: z.string().describe("The signing secret (whsec_…): shown only in this answer."),
}).meta({ id: "EndpointWithSecret" });

/** One message with its latest attempts. */
export const MessageSchema = z.object({
  id: z.string(),
  endpoint_id: z.string(),
  type: z.string(),
  call_id: z.string().nullable(),
  revision: z.number(),
  status: z.enum(MESSAGE_STATUSES),
  created_at: z.string(),
  updated_at: z.string(),
  next_attempt_at: z.string().nullable(),
  attempts: z.number(),
  last_error: z.string().nullable(),
  in_flight: z.boolean(),
  attempt_log: z.array(z.object({
    at: z.string(),
    outcome: z.string(),
    status_code: z.number().nullable(),
    latency_ms: z.number(),
    response: z.string().nullable(),
    error: z.string().nullable(),
  })),
}).meta({ id: "OutboundMessage" });

/** A page of messages. */
export const MessagePageSchema = z.object({
  messages: z.array(MessageSchema),
  next_cursor: z.string().nullable(),
}).meta({ id: "OutboundMessagePage" });

/** `POST /api/messages/:id/resend`'s answer (202). */
export const ResendQueuedSchema = z.object({
  id: z.string(),
  status: z.literal("pending"),
}).meta({ id: "ResendQueued" });

/** `POST /api/endpoints/:id/replay`'s answer (202). */
export const ReplayQueuedSchema = z.object({
  queued: z.number().int().min(0).describe("Calls queued for the endpoint."),
  since: z.string().describe("From when, ISO 8601."),
}).meta({ id: "ReplayQueued" });

/** What the endpoint routes need. */
export interface EndpointRouteDeps {
  readonly store: Store;
  readonly adminTokens: readonly string[];
  readonly policy: UrlPolicy;
  readonly maxEndpoints: number;
  readonly secretGraceMs: number;
  readonly clock?: () => Date;
  /** Told when messages may have become due (resend, replay, an endpoint enabled). */
  readonly onQueued?: () => void;
}

const JSON_BODY_LIMIT = 64 * 1024;

/** The outbound routes of the admin API. */
export function endpointRoutes(deps: EndpointRouteDeps): Route[] {
  const { store, adminTokens } = deps;
  const now = () => (deps.clock ?? (() => new Date()))().getTime();
  const db = clientExecutor(store.client);
  const readJson = (request: Request) => readBodyLimited(request, JSON_BODY_LIMIT);
  const checkedUrl = (text: string) => {
    try {
      return checkEndpointUrl(text, deps.policy);
    } catch (error) {
      if (error instanceof EndpointError) throw new HttpError(400, error.code, error.message);
      throw error;
    }
  };
  const notFound = () => new HttpError(404, "not_found", "No endpoint has this id.");
  return [
    {
      method: "POST",
      path: "/api/endpoints",
      handler: async (request) => {
        requireAdmin(request, adminTokens);
        const body = await parseJsonBody(request, EndpointCreateBody, readJson);
        try {
          const { endpoint, secret } = await createEndpoint(store.write, {
            url: checkedUrl(body.url),
            ...(body.types ? { types: body.types } : {}),
            ...(body.description !== undefined ? { description: body.description } : {}),
          }, { now: now(), maxEndpoints: deps.maxEndpoints });
          return answer(EndpointSecretSchema, 201, { ...endpoint, secret }, {
            location: `/api/endpoints/${endpoint.id}`,
          });
        } catch (error) {
          if (error instanceof EndpointError) throw new HttpError(409, error.code, error.message);
          throw error;
        }
      },
    },
    {
      method: "GET",
      path: "/api/endpoints",
      handler: async (request) => {
        requireAdmin(request, adminTokens);
        const at = now();
        const endpoints = await listEndpoints(db);
        const withHealth = [];
        for (const endpoint of endpoints) {
          withHealth.push({ ...endpoint, health: await endpointHealth(db, endpoint.id, at) });
        }
        return answer(EndpointListSchema, 200, { endpoints: withHealth });
      },
    },
    {
      method: "GET",
      path: "/api/endpoints/:id",
      handler: async (request, params) => {
        requireAdmin(request, adminTokens);
        const endpoint = await getEndpoint(db, params.id ?? "");
        if (!endpoint) throw notFound();
        return answer(EndpointWithHealthSchema, 200, {
          ...endpoint,
          health: await endpointHealth(db, endpoint.id, now()),
        });
      },
    },
    {
      method: "PATCH",
      path: "/api/endpoints/:id",
      handler: async (request, params) => {
        requireAdmin(request, adminTokens);
        const body = await parseJsonBody(request, EndpointPatchBody, readJson);
        const endpoint = await updateEndpoint(store.write, params.id ?? "", {
          ...body,
          ...(body.url !== undefined ? { url: checkedUrl(body.url) } : {}),
        }, now());
        if (!endpoint) throw notFound();
        if (body.enabled) deps.onQueued?.();
        return answer(EndpointSchema, 200, endpoint);
      },
    },
    {
      method: "DELETE",
      path: "/api/endpoints/:id",
      handler: async (request, params) => {
        requireAdmin(request, adminTokens);
        if (!await deleteEndpoint(store.write, params.id ?? "")) throw notFound();
        return new Response(null, { status: 204 });
      },
    },
    {
      method: "POST",
      path: "/api/endpoints/:id/rotate-secret",
      handler: async (request, params) => {
        requireAdmin(request, adminTokens);
        const rotated = await rotateSecret(store.write, params.id ?? "", {
          now: now(),
          graceMs: deps.secretGraceMs,
        });
        if (!rotated) throw notFound();
        return answer(EndpointSecretSchema, 200, { ...rotated.endpoint, secret: rotated.secret });
      },
    },
    {
      method: "GET",
      path: "/api/endpoints/:id/messages",
      handler: async (request, params) => {
        requireAdmin(request, adminTokens);
        const query = parseQuery(new URL(request.url), MessagesQuery);
        if (!await getEndpoint(db, params.id ?? "")) throw notFound();
        try {
          return answer(
            MessagePageSchema,
            200,
            await listMessages(db, params.id ?? "", {
              ...(query.status ? { status: query.status } : {}),
              limit: query.limit,
              cursor: query.cursor ?? null,
              now: now(),
            }),
          );
        } catch (error) {
          if (error instanceof CursorError) {
            throw new HttpError(400, "invalid_cursor", error.message);
          }
          throw error;
        }
      },
    },
    {
      method: "GET",
      path: "/api/messages/:id",
      handler: async (request, params) => {
        requireAdmin(request, adminTokens);
        const message = await getMessage(db, params.id ?? "", now());
        if (!message) throw new HttpError(404, "not_found", "No message has this id.");
        return answer(MessageSchema, 200, message);
      },
    },
    {
      method: "POST",
      path: "/api/messages/:id/resend",
      handler: async (request, params) => {
        requireAdmin(request, adminTokens);
        try {
          const resent = await resendMessage(store.write, params.id ?? "", now());
          if (!resent) throw new HttpError(404, "not_found", "No message has this id.");
          deps.onQueued?.();
          return answer(ResendQueuedSchema, 202, resent);
        } catch (error) {
          if (error instanceof ResendError) throw new HttpError(409, error.code, error.message);
          throw error;
        }
      },
    },
    {
      method: "POST",
      path: "/api/endpoints/:id/replay",
      handler: async (request, params) => {
        requireAdmin(request, adminTokens);
        const body = await parseJsonBody(request, ReplayBody, readJson);
        const queued = await replayEndpoint(store.write, params.id ?? "", body.since, now());
        if (queued === null) throw notFound();
        deps.onQueued?.();
        return answer(ReplayQueuedSchema, 202, {
          queued,
          since: new Date(body.since).toISOString(),
        });
      },
    },
  ];
}
