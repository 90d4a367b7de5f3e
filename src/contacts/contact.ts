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
 * The fields of a stored row, in order: every field but `external_id` (the
 * row's key), the guide's contact fields then the account's. A contact is
 * stored as the JSON array of these values (all strings), not as the lookup
 * body: the body repeats 25 key names in every row, which made the store 4×
 * its CSV (issue 15). The body is rebuilt from the array at read time by
 * {@link lookupBodyFromStored}, which costs the lookup well under a microsecond.
 */
export const STORED_FIELDS = [...CONTACT_FIELDS.slice(1), ...ACCOUNT_FIELDS] as const;

/**
 * The stored row form of a contact: the JSON array of its {@link STORED_FIELDS}
 * values, then — only when it has any — one more element: the numbers indexed
 * for it beyond its four phone fields (e.g. a cell that held several), joined
 * by spaces. The row must name every number indexed for the contact: that is
 * how an update or a delete finds its index rows.
 */
export function toStoredFields(contact: Contact, extraNumbers: readonly string[] = []): string {
  const values: string[] = STORED_FIELDS.map((field) => contact[field]);
  if (extraNumbers.length > 0) values.push(extraNumbers.join(" "));
  return JSON.stringify(values);
}

/** The extra indexed numbers a stored row names (see {@link toStoredFields}). */
export function extraNumbersFromStored(fields: string): string[] {
  const parsed: unknown = JSON.parse(fields);
  const extra = Array.isArray(parsed) ? parsed[STORED_FIELDS.length] : undefined;
  return typeof extra === "string" && extra !== "" ? extra.split(" ") : [];
}

/** Reads a stored row (its key and its fields array) back into a contact. */
export function contactFromStored(externalId: string, fields: string): Contact {
  const parsed: unknown = JSON.parse(fields);
  const values: readonly unknown[] = Array.isArray(parsed) ? parsed : [];
  const contact = emptyContact();
  contact.external_id = externalId;
  STORED_FIELDS.forEach((field, i) => contact[field] = stringOf(values[i]));
  return contact;
}

// The text between the stored values, for the body in toLookupBody's order.
const CONTACT_SEPARATORS = CONTACT_FIELDS.slice(2).map((field) => `","${field}":"`);
const ACCOUNT_OPEN = `","account":{"external_id":"`;
const ACCOUNT_SEPARATORS = ACCOUNT_FIELDS.slice(1).map((field) =>
  `","${field.slice("account_".length)}":"`
);
const STORED_COUNT = STORED_FIELDS.length;
const ACCOUNT_AT = CONTACT_FIELDS.length - 1;

/**
 * The exact lookup body (`JSON.stringify(toLookupBody(contact))`, up to how
 * characters are escaped) built from a stored row without parsing it.
 *
 * Why it is safe: the stored form is a JSON array of strings written by a JSON
 * serializer (ours, or SQLite's `json_array` in migration 6), so it has no
 * whitespace and `","` occurs in it only between two values — inside a value a
 * `"` is always written `\"`. Splitting on it yields each value already
 * escaped for JSON, ready to be placed between the key names. A row of any
 * other shape falls back to parsing.
 */
export function lookupBodyFromStored(externalId: string, fields: string): string {
  const values = fields.length >= 4 && fields.startsWith('["') && fields.endsWith('"]')
    ? fields.slice(2, -2).split('","')
    : [];
  // More values than the fields: the extra numbers, not part of the body.
  if (values.length < STORED_COUNT) {
    return JSON.stringify(toLookupBody(contactFromStored(externalId, fields)));
  }
  let body = `{"external_id":${JSON.stringify(externalId)},"first_name":"${values[0]}`;
  for (let i = 0; i < CONTACT_SEPARATORS.length; i++) {
    body += CONTACT_SEPARATORS[i]! + values[i + 1];
  }
  if (values[ACCOUNT_AT] === "") return body + '"}';
  body += ACCOUNT_OPEN + values[ACCOUNT_AT];
  for (let i = 0; i < ACCOUNT_SEPARATORS.length; i++) {
    body += ACCOUNT_SEPARATORS[i]! + values[ACCOUNT_AT + 1 + i];
  }
  return body + '"}}';
}

/**
 * Reads a lookup body back into a contact (the inverse of `toLookupBody`).
 * The text is our own serialization; anything missing reads as `""`.
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
