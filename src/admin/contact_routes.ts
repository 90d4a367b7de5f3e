/**
 * Admin routes for contacts: get by external id, search (name, email, any phone
 * format), create or replace (the import's own row rules and normalization),
 * delete. Writes go through the store's write transactions.
 */
import type { CountryCode } from "libphonenumber-js";
import { z } from "zod";
import {
  ALL_CONTACT_FIELDS,
  type Contact,
  CONTACT_FIELDS,
  type ContactField,
  toLookupBody,
} from "../contacts/contact.ts";
import { toContact } from "../contacts/contact_row.ts";
import {
  deleteContact,
  getContact,
  saveSerializedContact,
  serializeContact,
} from "../contacts/contact_store.ts";
import { extraNumbersFromStored } from "../contacts/contact.ts";
import { normalizePhone, toRegion } from "../contacts/phone.ts";
import type { SaveOutcome } from "../contacts/contact_store.ts";
import type { SqlExecutor } from "../store/sql.ts";
import { searchContacts } from "../contacts/contact_search.ts";
import { requireAdmin } from "../http/admin_auth.ts";
import type { Route } from "../http/app.ts";
import { errorResponse, HttpError } from "../http/http_error.ts";
import {
  answer,
  ContactSavedBody,
  ContactSearchBody,
  StoredContactBody,
} from "../http/api_responses.ts";
import { readBodyLimited } from "../http/read_body.ts";
import type { Store } from "../store/open_store.ts";
import { limitParam, parseJsonBody, parseQuery } from "./query_params.ts";

const field = z.string().max(10_000);
// Built from the field list so the API can never drift from the lookup body.
const contactShape = Object.fromEntries(CONTACT_FIELDS.map((name) => [name, field.optional()])) as {
  [K in ContactField]: z.ZodOptional<typeof field>;
};

/** A contact as the admin API takes it: the lookup body's shape. */
export const ContactBody = z.strictObject({
  ...contactShape,
  external_id: field.optional().describe(
    "Optional: when given, it must equal the external_id in the URL (400 otherwise).",
  ),
  first_name: field.refine((name) => name.trim() !== "", "first_name is required").meta({
    description: "Required: a contact needs a first name (more than spaces).",
    pattern: "\\S",
  }),
  account: z.strictObject({
    external_id: field.trim().min(1, "an account needs its external_id"),
    name: field.trim().min(1, "an account needs its name"),
    website_url: field.optional(),
    industry: field.optional(),
  }).optional(),
  /**
   * Numbers indexed for lookup beyond the four phone fields (an import finds
   * them in cells that hold several). Absent: the stored ones are kept; `[]` clears them.
   */
  extra_numbers: z.array(z.string().max(100)).max(50).optional(),
});

/** The contact search's query string. */
export const SearchQuery = z.strictObject({
  q: z.string().trim().min(1, "pass a name, email or phone number to search for"),
  limit: limitParam(200, 50),
});

const JSON_BODY_LIMIT = 1024 * 1024;

/** The contact routes of the admin API. */
export function contactRoutes(
  store: Store,
  adminTokens: readonly string[],
  defaultRegion: CountryCode | undefined,
): Route[] {
  const readJson = (request: Request) => readBodyLimited(request, JSON_BODY_LIMIT);
  return [
    {
      method: "GET",
      path: "/api/contacts",
      handler: async (request) => {
        requireAdmin(request, adminTokens);
        const { q, limit } = parseQuery(new URL(request.url), SearchQuery);
        return answer(ContactSearchBody, 200, {
          contacts: await searchContacts(store.reader, q, limit, defaultRegion),
        });
      },
    },
    {
      method: "GET",
      path: "/api/contacts/:external_id",
      handler: async (request, params) => {
        requireAdmin(request, adminTokens);
        const found = await getContact(store.reader, params.external_id ?? "");
        if (!found) return errorResponse(404, "not_found", "No contact has this external_id.");
        return answer(StoredContactBody, 200, {
          ...toLookupBody(found.contact),
          extra_numbers: found.extraNumbers,
          updated_at: new Date(found.updatedAt).toISOString(),
        });
      },
    },
    {
      method: "PUT",
      path: "/api/contacts/:external_id",
      handler: async (request, params) => {
        requireAdmin(request, adminTokens);
        const externalId = params.external_id ?? "";
        const body = await parseJsonBody(request, ContactBody, readJson);
        if (body.external_id !== undefined && body.external_id !== externalId) {
          throw new HttpError(400, "invalid_body", "external_id: differs from the one in the URL.");
        }
        const { contact, warnings, extraNumbers } = normalizeBody(
          { ...body, external_id: externalId },
          defaultRegion,
        );
        const outcome = await store.write((db) =>
          upsertContact(db, contact, extraNumbers, body.extra_numbers === undefined, Date.now())
        );
        return answer(ContactSavedBody, outcome === "inserted" ? 201 : 200, {
          status: outcome,
          contact: toLookupBody(contact),
          warnings,
        });
      },
    },
    {
      method: "DELETE",
      path: "/api/contacts/:external_id",
      handler: async (request, params) => {
        requireAdmin(request, adminTokens);
        const deleted = await store.write((db) => deleteContact(db, params.external_id ?? ""));
        return deleted
          ? new Response(null, { status: 204 })
          : errorResponse(404, "not_found", "No contact has this external_id.");
      },
    },
  ];
}

/**
 * Saves a contact from the API: its extra numbers are those of its cells and
 * body, plus (when `keepStored`, the body did not name any) the ones already
 * stored, so a PUT never drops numbers an import found.
 */
export async function upsertContact(
  db: SqlExecutor,
  contact: Contact,
  extraNumbers: readonly string[],
  keepStored: boolean,
  now: number,
): Promise<SaveOutcome> {
  let extra = [...extraNumbers];
  if (keepStored) {
    const stored = await db.first("SELECT fields FROM contacts WHERE external_id = ?", [
      contact.external_id,
    ]);
    if (stored) extra = [...new Set([...extra, ...extraNumbersFromStored(String(stored.fields))])];
  }
  return await saveSerializedContact(db, serializeContact(contact, extra), now);
}

/** Turns an API body into a stored contact with the import's own rules, or a 400 (`HttpError`). */
export function normalizeBody(
  body: z.infer<typeof ContactBody> & { external_id: string },
  defaultRegion: CountryCode | undefined,
): { contact: Contact; warnings: readonly string[]; extraNumbers: readonly string[] } {
  const flat: Record<string, string | undefined> = {
    ...body,
    account: undefined,
    extra_numbers: undefined,
  };
  if (body.account) {
    flat.account_external_id = body.account.external_id;
    flat.account_name = body.account.name;
    flat.account_website_url = body.account.website_url;
    flat.account_industry = body.account.industry;
  }
  const record = ALL_CONTACT_FIELDS.map((name) => flat[name] ?? "");
  const result = toContact(record, ALL_CONTACT_FIELDS, defaultRegion);
  if (!result.ok) throw new HttpError(400, "invalid_contact", result.reason);
  const extraNumbers = [...result.extraNumbers];
  for (const raw of body.extra_numbers ?? []) {
    const region = toRegion(result.contact.address_country) ?? defaultRegion;
    const phone = normalizePhone(raw, region);
    if (!phone) {
      throw new HttpError(
        400,
        "invalid_contact",
        `extra_numbers: ${JSON.stringify(raw.slice(0, 40))} is not a phone number`,
      );
    }
    if (!extraNumbers.includes(phone.e164)) extraNumbers.push(phone.e164);
  }
  return { contact: result.contact, warnings: result.warnings, extraNumbers };
}
