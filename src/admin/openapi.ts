/**
 * The admin API's OpenAPI 3.1 document, generated from the very zod schemas
 * the routes validate with (`z.toJSONSchema`), so the reference cannot drift
 * from what the server accepts. Built once at start.
 */
import { z } from "zod";
import { ExportQuery, ListQuery } from "./call_routes.ts";
import { ContactBody, SearchQuery } from "./contact_routes.ts";
import { ImportQuery } from "./import_route.ts";
import { UnknownNumbersQuery } from "./unknown_number_routes.ts";
import { VERSION } from "../version.ts";

type JsonObject = Record<string, unknown>;

/** Query parameters of an object schema, one OpenAPI parameter per property. */
function queryParameters(schema: z.ZodType): JsonObject[] {
  const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonObject;
  const properties = (json.properties ?? {}) as Record<string, JsonObject>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: "query",
    required: required.has(name),
    schema: property,
  }));
}

function bodySchema(schema: z.ZodType): JsonObject {
  const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonObject;
  delete json.$schema;
  return json;
}

const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
});

const json = (description: string) => ({
  description,
  content: { "application/json": { schema: { type: "object" } } },
});

const csv = (description: string) => ({
  description,
  content: { "text/csv": { schema: { type: "string" } } },
});

const common = {
  "400": errorResponse("A parameter or the body is not valid; the message names it."),
  "401": errorResponse("No valid admin token."),
  "503": errorResponse("The admin API is off (no admin token configured) or the store is down."),
};

const idParam = (name: string, description: string) => ({
  name,
  in: "path",
  required: true,
  description,
  schema: { type: "string" },
});

/** Builds the OpenAPI 3.1 document of the admin API. */
export function openApiDocument(): JsonObject {
  return {
    openapi: "3.1.0",
    info: {
      title: "symbo-crm admin API",
      version: VERSION,
      description:
        "Contacts, calls, imports and unknown numbers. Every route takes Authorization: Bearer <admin token>.",
    },
    components: {
      securitySchemes: { admin: { type: "http", scheme: "bearer" } },
      schemas: {
        Error: {
          type: "object",
          required: ["error", "message"],
          properties: { error: { type: "string" }, message: { type: "string" } },
        },
        Contact: bodySchema(ContactBody),
      },
    },
    security: [{ admin: [] }],
    paths: {
      "/api/contacts": {
        get: {
          summary: "Search contacts by name, email, external id or any phone format",
          parameters: queryParameters(SearchQuery),
          responses: { "200": json("The matching contacts (lookup body shape)."), ...common },
        },
      },
      "/api/contacts/{external_id}": {
        get: {
          summary: "One contact",
          parameters: [idParam("external_id", "The CRM's id of the contact.")],
          responses: {
            "200": json("The contact and its updated_at."),
            "404": errorResponse("No such contact."),
            ...common,
          },
        },
        put: {
          summary: "Create or replace a contact (the import's row rules)",
          parameters: [idParam("external_id", "The CRM's id of the contact.")],
          requestBody: {
            required: true,
            content: {
              "application/json": { schema: { $ref: "#/components/schemas/Contact" } },
            },
          },
          responses: {
            "200": json("Updated or unchanged."),
            "201": json("Inserted."),
            ...common,
          },
        },
        delete: {
          summary: "Delete a contact",
          parameters: [idParam("external_id", "The CRM's id of the contact.")],
          responses: {
            "204": { description: "Deleted." },
            "404": errorResponse("No such contact."),
            ...common,
          },
        },
      },
      "/api/contacts/import": {
        post: {
          summary: "Import a CSV export of contacts (streamed, one transaction)",
          parameters: queryParameters(ImportQuery),
          requestBody: { required: true, content: { "text/csv": { schema: { type: "string" } } } },
          responses: {
            "200": json("The import summary: counts, warnings, rejects, column mapping."),
            "202": json("Still running: the job and its status_url."),
            "408": errorResponse(
              "The upload sent nothing for server.request_timeout_ms, or took longer than admin.import_upload_timeout_ms.",
            ),
            "409": errorResponse("Another import is being uploaded or running."),
            "413": errorResponse("Larger than admin.max_import_bytes."),
            "422": errorResponse("The file could not be imported; the message says why."),
            ...common,
          },
        },
      },
      "/api/imports": {
        get: {
          summary: "Recent import jobs, newest first",
          responses: { "200": json("The jobs."), ...common },
        },
      },
      "/api/imports/{id}": {
        get: {
          summary:
            "An import job: state, progress (bytesRead/bytesTotal), and its summary when done",
          parameters: [idParam("id", "The job id from a 202 answer.")],
          responses: {
            "200": json("The job."),
            "404": errorResponse("No such job (jobs are kept in memory)."),
            ...common,
          },
        },
      },
      "/api/imports/{id}/rejects.csv": {
        get: {
          summary: "An import job's rejected rows as CSV",
          parameters: [idParam("id", "The job id.")],
          responses: { "200": csv("The rejected rows."), "404": errorResponse("None."), ...common },
        },
      },
      "/api/calls": {
        get: {
          summary: "List calls (filters, cursor pages) or the change feed (?since=)",
          parameters: queryParameters(ListQuery),
          responses: { "200": json("A page of calls and the next cursor."), ...common },
        },
      },
      "/api/calls.csv": {
        get: {
          summary: "Export calls as CSV",
          parameters: queryParameters(ExportQuery),
          responses: { "200": csv("Every matching call."), ...common },
        },
      },
      "/api/calls/{id}": {
        get: {
          summary: "One call with every event that touched it, in arrival order",
          parameters: [idParam("id", "Symbo's call id (data.id) as sent.")],
          responses: {
            "200": json("The call and its events."),
            "404": errorResponse("No such call."),
            ...common,
          },
        },
      },
      "/api/unknown-numbers": {
        get: {
          summary: "Dialed numbers no contact has, most recently seen first",
          parameters: queryParameters(UnknownNumbersQuery),
          responses: {
            "200": json(
              "numbers (number, count, first_seen_at, last_seen_at), total, next_offset.",
            ),
            ...common,
          },
        },
      },
      "/api/unknown-numbers.csv": {
        get: {
          summary: "Every unknown number as CSV",
          responses: { "200": csv("number, count, first_seen_at, last_seen_at."), ...common },
        },
      },
    },
  };
}
