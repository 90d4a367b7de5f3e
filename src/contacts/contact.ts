/**
 * The contact as Symbo's integration guide defines it: the field list, the
 * stored shape, and the exact JSON body the lookup answers with.
 */

/** The contact's own (non-account) fields, in the order of Symbo's guide. */
export const CONTACT_FIELDS = [
  "external_id",
  "first_name",
  "last_name",
  "work_email",
  "personal_email",
  "work_phone",
  "mobile_phone",
  "home_phone",
  "other_phone",
  "address_city",
  "address_country",
  "address_state",
  "address_street",
  "address_street_2",
  "address_zip",
  "linkedin_url",
  "facebook_url",
  "personal_note_1",
  "time_zone",
  "title",
  "website_url_1",
] as const;

/** The four phone fields: each is matched by the lookup. */
export const PHONE_FIELDS = ["work_phone", "mobile_phone", "home_phone", "other_phone"] as const;

/** The account fields, stored flat with an `account_` prefix. */
export const ACCOUNT_FIELDS = [
  "account_external_id",
  "account_name",
  "account_website_url",
  "account_industry",
] as const;

/** Every stored contact column that carries data (in CSV-header vocabulary). */
export const ALL_CONTACT_FIELDS = [...CONTACT_FIELDS, ...ACCOUNT_FIELDS] as const;

export type ContactField = typeof CONTACT_FIELDS[number];
export type AnyContactField = typeof ALL_CONTACT_FIELDS[number];

/**
 * A validated, normalized contact ready to store: every field is a string
 * (`""` when unknown), phones are E.164 or `""`.
 */
export type Contact = { readonly [K in AnyContactField]: string };

/** The account object of the lookup body. */
export interface LookupAccount {
  readonly external_id: string;
  readonly name: string;
  readonly website_url: string;
  readonly industry: string;
}

/** The exact body of a successful lookup. */
export type LookupBody = { readonly [K in ContactField]: string } & {
  readonly account?: LookupAccount;
};

/**
 * Builds the lookup body: exactly the documented fields, `""` for unknown
 * optional ones, and `account` only when the contact has one.
 */
export function toLookupBody(contact: Contact): LookupBody {
  const body: Record<string, string | LookupAccount> = {};
  for (const field of CONTACT_FIELDS) body[field] = contact[field];
  if (contact.account_external_id !== "") {
    body.account = {
      external_id: contact.account_external_id,
      name: contact.account_name,
      website_url: contact.account_website_url,
      industry: contact.account_industry,
    };
  }
  return body as LookupBody;
}

/**
 * Reads a stored lookup body back into a contact (the inverse of
 * `toLookupBody`). The text is our own serialization; anything missing reads as `""`.
 */
export function contactFromLookupJson(json: string): Contact {
  const parsed: unknown = JSON.parse(json);
  const body: Record<string, unknown> = typeof parsed === "object" && parsed !== null
    ? { ...parsed }
    : {};
  const account: Record<string, unknown> = typeof body.account === "object" && body.account !== null
    ? { ...body.account }
    : {};
  const contact = emptyContact();
  for (const field of CONTACT_FIELDS) contact[field] = stringOf(body[field]);
  contact.account_external_id = stringOf(account.external_id);
  contact.account_name = stringOf(account.name);
  contact.account_website_url = stringOf(account.website_url);
  contact.account_industry = stringOf(account.industry);
  return contact;
}

function stringOf(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** A contact with every field empty: a starting point for builders and tests. */
export function emptyContact(): Record<AnyContactField, string> {
  const contact = {} as Record<AnyContactField, string>;
  for (const field of ALL_CONTACT_FIELDS) contact[field] = "";
  return contact;
}
