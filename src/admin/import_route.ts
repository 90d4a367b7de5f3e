/**
 * `POST /api/contacts/import`: a CSV body through the very import routine the
 * CLI uses (streamed, one transaction, same summary), under a body limit.
 */
import type { CountryCode } from "libphonenumber-js";
import { z } from "zod";
import { importContacts, ImportError } from "../contacts/import_contacts.ts";
import { toRegion } from "../contacts/phone.ts";
import { requireAdmin } from "../http/admin_auth.ts";
import type { Route } from "../http/app.ts";
import { HttpError, jsonResponse } from "../http/http_error.ts";
import type { Store } from "../store/open_store.ts";
import { parseQuery } from "./query_params.ts";

const flag = z.enum(["", "1", "true", "0", "false"]).transform((v) =>
  v === "" || v === "1" || v === "true"
);

const ImportQuery = z.strictObject({
  dry_run: flag.optional(),
  strict: flag.optional(),
  prune: flag.optional(),
  region: z.string().refine(
    (code) => toRegion(code) !== undefined,
    "expected a two-letter country code",
  )
    .optional(),
});

/** The contact import route of the admin API. */
export function importRoute(
  store: Store,
  adminTokens: readonly string[],
  defaultRegion: CountryCode | undefined,
  maxBytes: number,
): Route {
  return {
    method: "POST",
    path: "/api/contacts/import",
    // Streamed into the import, never held: outside the shared body byte budget.
    streamsBody: true,
    handler: async (request) => {
      requireAdmin(request, adminTokens);
      const query = parseQuery(new URL(request.url), ImportQuery);
      const declared = Number(request.headers.get("content-length") ?? "0");
      if (declared > maxBytes) throw tooLarge(maxBytes);
      if (!request.body) {
        throw new HttpError(400, "empty_body", "Send the CSV export as the request body.");
      }
      try {
        const summary = await importContacts(store, request.body.pipeThrough(byteLimit(maxBytes)), {
          fileLabel: "the uploaded CSV",
          defaultRegion: toRegion(query.region) ?? defaultRegion,
          dryRun: query.dry_run ?? false,
          strict: query.strict ?? false,
          prune: query.prune ?? false,
        });
        return jsonResponse(200, summary);
      } catch (error) {
        if (error instanceof ImportError) {
          if (error.cause instanceof HttpError) throw error.cause;
          throw new HttpError(422, "import_failed", error.message);
        }
        throw error;
      }
    },
  };
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(
    413,
    "body_too_large",
    `The CSV is larger than admin.max_import_bytes (${maxBytes} bytes).`,
  );
}

function byteLimit(maxBytes: number): TransformStream<Uint8Array, Uint8Array> {
  let seen = 0;
  return new TransformStream({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (seen > maxBytes) controller.error(tooLarge(maxBytes));
      else controller.enqueue(chunk);
    },
  });
}
