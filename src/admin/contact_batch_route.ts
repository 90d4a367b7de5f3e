/**
 * `POST /api/contacts/batch` (DESIGN §12): contacts pushed by the CRM as they
 * change. The body is NDJSON, one operation a line:
 * `{"op":"upsert","contact":{…}}` (the PUT body: the import's row rules and
 * normalization, extra numbers kept) or `{"op":"delete","external_id":"…"}`.
 * Order of work: size bound → every line parsed and validated (nothing
 * written) → all applied in ONE write transaction, in order. Any bad line
 * refuses the whole batch (422) with a per-line error report.
 */
import type { CountryCode } from "libphonenumber-js";
import { z } from "zod";
import type { Contact } from "../contacts/contact.ts";
import { deleteContact } from "../contacts/contact_store.ts";
import { requireAdmin } from "../http/admin_auth.ts";
import type { Route } from "../http/app.ts";
import { answer } from "../http/api_responses.ts";
import { HttpError } from "../http/http_error.ts";
import { readBodyLimited } from "../http/read_body.ts";
import type { Store } from "../store/open_store.ts";
import { ContactBody, normalizeBody, upsertContact } from "./contact_routes.ts";

/** One line of the batch. */
export const BatchLine = z.discriminatedUnion("op", [
  z.strictObject({ op: z.literal("upsert"), contact: ContactBody }),
  z.strictObject({ op: z.literal("delete"), external_id: z.string().trim().min(1).max(255) }),
]);

/** One refused line. */
export const BatchLineError = z.object({ line: z.number().int(), error: z.string() });

/** The answer when the batch was applied (200). */
export const BatchResponse = z.object({
  status: z.literal("applied"),
  lines: z.number().int(),
  inserted: z.number().int(),
  updated: z.number().int(),
  unchanged: z.number().int(),
  deleted: z.number().int(),
  not_found: z.number().int(),
}).meta({ id: "ContactBatchApplied" });

/** The answer when a line was refused (422): nothing was changed. */
export const BatchRefusedResponse = z.object({
  error: z.literal("invalid_batch"),
  message: z.string(),
  errors: z.array(BatchLineError),
  error_count: z.number().int(),
}).meta({ id: "ContactBatchRefused" });

/** Most lines in one batch. */
export const MAX_BATCH_LINES = 100_000;
const MAX_REPORTED_ERRORS = 100;

type Op =
  | { kind: "upsert"; contact: Contact; extraNumbers: readonly string[]; keepStored: boolean }
  | { kind: "delete"; externalId: string };

/** The batch route. */
export function contactBatchRoute(
  store: Store,
  adminTokens: readonly string[],
  defaultRegion: CountryCode | undefined,
  maxBytes: number,
): Route {
  return {
    method: "POST",
    path: "/api/contacts/batch",
    // Held in memory to be validated whole: bounded by contacts.batch_max_bytes and
    // charged to the shared in-flight byte budget like any held body.
    handler: async (request) => {
      requireAdmin(request, adminTokens);
      const bytes = await readBodyLimited(request, maxBytes);
      let text: string;
      try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
      } catch {
        throw new HttpError(400, "invalid_body", "The batch is not valid UTF-8.");
      }
      const ops: Op[] = [];
      const errors: { line: number; error: string }[] = [];
      let errorCount = 0;
      const refuse = (line: number, error: string) => {
        errorCount++;
        if (errors.length < MAX_REPORTED_ERRORS) errors.push({ line, error: error.slice(0, 500) });
      };
      const lines = text.split("\n");
      let count = 0;
      for (let i = 0; i < lines.length; i++) {
        const raw = lines[i]!.trim();
        if (raw === "") continue;
        count++;
        if (count > MAX_BATCH_LINES) {
          throw new HttpError(
            413,
            "batch_too_large",
            `A batch holds at most ${MAX_BATCH_LINES} lines; split it.`,
          );
        }
        const line = i + 1;
        let json: unknown;
        try {
          json = JSON.parse(raw);
        } catch {
          refuse(line, "not valid JSON");
          continue;
        }
        const parsed = BatchLine.safeParse(json);
        if (!parsed.success) {
          refuse(
            line,
            parsed.error.issues.map((issue) =>
              `${issue.path.map(String).join(".") || "line"}: ${issue.message}`
            )
              .join("; "),
          );
          continue;
        }
        if (parsed.data.op === "delete") {
          ops.push({ kind: "delete", externalId: parsed.data.external_id });
          continue;
        }
        const contact = parsed.data.contact;
        if (contact.external_id === undefined || contact.external_id.trim() === "") {
          refuse(line, "contact.external_id: required");
          continue;
        }
        try {
          const normalized = normalizeBody(
            { ...contact, external_id: contact.external_id },
            defaultRegion,
          );
          ops.push({
            kind: "upsert",
            contact: normalized.contact,
            extraNumbers: normalized.extraNumbers,
            keepStored: contact.extra_numbers === undefined,
          });
        } catch (error) {
          refuse(line, error instanceof HttpError ? error.message : "invalid contact");
        }
      }
      if (errorCount > 0) {
        return answer(BatchRefusedResponse, 422, {
          error: "invalid_batch",
          message: `${errorCount} line(s) refused (first: line ${errors[0]?.line}: ${
            errors[0]?.error
          }); nothing was changed.`,
          errors,
          error_count: errorCount,
        });
      }
      if (count === 0) {
        throw new HttpError(400, "empty_body", "Send NDJSON lines, one operation each.");
      }
      const now = Date.now();
      const totals = { inserted: 0, updated: 0, unchanged: 0, deleted: 0, not_found: 0 };
      await store.write(async (db) => {
        Object.assign(totals, { inserted: 0, updated: 0, unchanged: 0, deleted: 0, not_found: 0 });
        for (const op of ops) {
          if (op.kind === "delete") {
            if (await deleteContact(db, op.externalId)) totals.deleted++;
            else totals.not_found++;
          } else {
            totals[await upsertContact(db, op.contact, op.extraNumbers, op.keepStored, now)]++;
          }
        }
      });
      return answer(BatchResponse, 200, { status: "applied", lines: count, ...totals });
    },
  };
}
