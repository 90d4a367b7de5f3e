/**
 * CSV header vocabulary: which column of an export feeds which contact field.
 * Owns header normalization, the built-in aliases for common CRM exports
 * (HubSpot, Salesforce API names and report labels, Pipedrive, Zoho, Google
 * Contacts, Outlook, Microsoft Dynamics 365, Close, Copper, Freshsales, Zendesk
 * Sell, Keap, ActiveCampaign, Odoo, SuiteCRM/SugarCRM, Bitrix24, Insightly,
 * monday.com), the full-name, derived-id and derived-account rules, the
 * column-mapping table, validation of a user mapping file (`--map`), and the resolution
 * rules (user map > exact field name > alias; first column wins).
 * Pure: no I/O.
 */
import { z } from "zod";
import { ACCOUNT_FIELDS, ALL_CONTACT_FIELDS, type AnyContactField } from "./contact.ts";
import { messageOf } from "../error_message.ts";

/** Columns every import needs: without them a row cannot become a contact. */
export const REQUIRED_FIELDS: readonly AnyContactField[] = ["external_id", "first_name"];

/**
 * A validated `--map` file: their header → our field, or `null` to ignore a
 * column that an alias would otherwise pick up. Keys are kept as written.
 */
export type UserMap = Readonly<Record<string, AnyContactField | null>>;

/** Why a header was not used. */
export interface IgnoredHeader {
  /** The header as written in the file. */
  readonly header: string;
  /** The field it would have fed. */
  readonly field: AnyContactField;
  /** The header that feeds that field instead. */
  readonly keptHeader: string;
}

/** How the header line of a file maps onto contact fields. */
export interface HeaderResolution {
  /** One entry per header, in file order: the field that column feeds, or null. */
  readonly columns: readonly (AnyContactField | null)[];
  /** Each field that some column feeds → the header that feeds it. */
  readonly matched: ReadonlyMap<AnyContactField, string>;
  /** Headers that map to no field (neither ours, an alias, nor the user map). */
  readonly unknown: readonly string[];
  /** Headers that map to a field already fed by a better or earlier column. */
  readonly ignored: readonly IgnoredHeader[];
  /** Headers that the user map sets to `null`. */
  readonly excluded: readonly string[];
  /** Keys of the user map that match no header (probably a typo). */
  readonly unusedMapKeys: readonly string[];
  /** Required fields that no column feeds. */
  readonly missingRequired: readonly AnyContactField[];
  /**
   * File-level remarks worth showing once (not per row), e.g. account columns
   * that cannot be used because the account id or name column is absent.
   */
  readonly notes: readonly string[];
  /** How external_id is found (see {@link IdSource}). */
  readonly idSource: IdSource;
  /** Index of a `Name`/`Full Name` column split into first and last name (no first-name column), else -1. */
  readonly fullNameIndex: number;
  /** True when accounts get an id derived from their name (a company name column, no id column). */
  readonly deriveAccountId: boolean;
  /** Problems that stop the import at the header (e.g. `--id-from` names no column). */
  readonly errors: readonly string[];
  /** One entry per header (then the derived fields): what it feeds and why. */
  readonly mapping: readonly MappingEntry[];
}

/**
 * Where external_id comes from: a column, the column named by `--id-from`, or
 * (no id column at all, an address-book export) a hash of the row's cells.
 */
export type IdSource =
  | { readonly kind: "column"; readonly header: string; readonly index: number }
  | { readonly kind: "id_from"; readonly header: string; readonly index: number }
  | { readonly kind: "derived"; readonly header: null; readonly index: -1 };

/** One line of the column-mapping table that a dry run shows. */
export interface MappingEntry {
  /** The header as written, or `"(derived)"` for a field the import derives. */
  readonly header: string;
  /** The field(s) it feeds (`"first_name + last_name"` for a split name), or null when ignored. */
  readonly field: string | null;
  /** Why: how the header was recognized, or why it is ignored. */
  readonly reason: string;
}

/** Options of {@link resolveHeaders} beyond the user map. */
export interface ResolveOptions {
  /** `--id-from`: the header of the column external_id is taken from. */
  readonly idFrom?: string | undefined;
}

/** Headers of a single full-name column, split when there is no first-name column. */
export const FULL_NAME_ALIASES: readonly string[] = [
  "Name", // Outlook, Zendesk Sell, Bitrix24 ("Full name"), Odoo, monday.com (item name)
  "Full Name",
  "Contact Name", // Close, Copper
  "Display Name",
  "Contact",
];

/** The account id used for a company name when the export has no company id column. */
export function derivedAccountId(name: string): string {
  const slug = name.normalize("NFKC").toLowerCase().replace(/[^\p{L}\p{N}]+/gu, "-")
    .replace(/^-+|-+$/g, "");
  if (slug === "") return `company:${name.trim()}`;
  return slug.length <= 100 ? `company:${slug}` : `company:${slug.slice(0, 80)}-${hash(slug)}`;
}

function hash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return (h >>> 0).toString(36);
}

/** A `--map` file that cannot be used; the message names the key and the fix. */
export class HeaderMapError extends Error {
  override name = "HeaderMapError";
}

/**
 * Normalizes a header for matching: lower-cased, with every character that is
 * not a letter or digit removed (`"State/Region"` → `"stateregion"`,
 * `"E-mail 1 - Value"` → `"email1value"`, `"Account.Name"` → `"accountname"`).
 */
export function normalizeHeader(header: string): string {
  return header.normalize("NFKC").toLowerCase().replace(/[^\p{L}\p{N}]+/gu, "");
}

/**
 * Built-in aliases, written as they appear in the exports (normalized when the
 * table is built). Our own field names are not listed: they match exactly and
 * win over any alias.
 */
export const HEADER_ALIASES: Readonly<Record<AnyContactField, readonly string[]>> = {
  external_id: [
    "Id", // Salesforce API, generic
    "Record ID", // HubSpot, Zoho ("Record Id")
    "Contact ID", // HubSpot (older exports), Salesforce report, Zoho
    "Person - ID", // Pipedrive
    "Person ID",
    "(Do Not Modify) Contact", // Microsoft Dynamics 365 (the record's GUID)
    "Copper ID", // Copper
    "Item ID", // monday.com
  ],
  first_name: [
    "First Name", // HubSpot, Salesforce report, Zoho, Google (current), Pipedrive persons view
    "FirstName", // Salesforce API
    "Given Name", // Google (legacy)
    "Person - First name", // Pipedrive
  ],
  last_name: [
    "Last Name",
    "LastName",
    "Family Name", // Google (legacy)
    "Surname",
    "Person - Last name", // Pipedrive
  ],
  work_email: [
    "Email", // HubSpot, Salesforce, Zoho
    "Email Address",
    "E-mail 1 - Value", // Google
    "Person - Email", // Pipedrive
    "Person - Email - Work", // Pipedrive
    "Email - Work", // Pipedrive persons view
    "Business Email",
    "primary_email", // Close
    "Work Email", // Copper
    "Emails", // Freshsales
    "Work E-mail", // Bitrix24
  ],
  personal_email: [
    "Secondary Email", // Zoho
    "E-mail 2 - Value", // Google
    "Person - Email - Home", // Pipedrive
    "Email - Home",
    "Home Email",
    "E-mail 2 Address", // Outlook
    "Non Primary E-mails", // SuiteCRM / SugarCRM
  ],
  work_phone: [
    "Phone", // Salesforce API (label "Business Phone"), Zoho
    "Phone Number", // HubSpot
    "Business Phone", // Salesforce label
    "Phone 1 - Value", // Google
    "Person - Phone", // Pipedrive
    "Person - Phone - Work", // Pipedrive
    "Phone - Work", // Pipedrive persons view
    "Office Phone",
    "primary_phone", // Close
    "Work Phone", // Copper, Bitrix24
    "Work number", // Freshsales
    "Phone 1", // Keap
  ],
  mobile_phone: [
    "MobilePhone", // Salesforce API; also "Mobile Phone" (Salesforce label)
    "Mobile", // Salesforce report, Zoho
    "Mobile Phone Number", // HubSpot
    "Cell Phone",
    "Phone 2 - Value", // Google
    "Person - Phone - Mobile", // Pipedrive
    "Phone - Mobile",
    "Mobile number", // Freshsales
    "Phone 2", // Keap
  ],
  home_phone: [
    "HomePhone", // Salesforce API; also "Home Phone" (Salesforce label, Zoho)
    "Phone 3 - Value", // Google
    "Person - Phone - Home", // Pipedrive
    "Phone - Home",
    "Phone 3", // Keap
  ],
  other_phone: [
    "OtherPhone", // Salesforce API; also "Other Phone" (label, Zoho)
    "Phone 4 - Value", // Google
    "Person - Phone - Other", // Pipedrive
    "Phone - Other",
    "Business Phone 2", // Outlook
  ],
  address_city: [
    "City", // HubSpot
    "MailingCity", // Salesforce API; also "Mailing City" (label, Zoho)
    "Address 1 - City", // Google
    "Person - Postal address - City/town/village/locality", // Pipedrive
    "Town",
    "Business City", // Outlook
    "Address 1: City", // Microsoft Dynamics 365
    "Primary Address City", // SuiteCRM / SugarCRM
  ],
  address_country: [
    "Country",
    "Country/Region", // HubSpot
    "MailingCountry", // Salesforce API; also "Mailing Country" (label, Zoho)
    "MailingCountryCode", // Salesforce (state and country picklists)
    "Country Code",
    "Address 1 - Country", // Google
    "Person - Postal address - Country", // Pipedrive
    "Business Country/Region", // Outlook
    "Address 1: Country/Region", // Microsoft Dynamics 365
    "Primary Address Country", // SuiteCRM / SugarCRM
  ],
  address_state: [
    "State",
    "State/Region", // HubSpot
    "MailingState", // Salesforce API; also "Mailing State" (Zoho)
    "Mailing State/Province", // Salesforce label
    "State/Province",
    "Province",
    "Address 1 - Region", // Google
    "Person - Postal address - State/county", // Pipedrive
    "Business State", // Outlook
    "Address 1: State/Province", // Microsoft Dynamics 365
    "Primary Address State", // SuiteCRM / SugarCRM
  ],
  address_street: [
    "Street Address", // HubSpot
    "MailingStreet", // Salesforce API; also "Mailing Street" (label, Zoho)
    "Street",
    "Address Line 1",
    "Address 1 - Street", // Google
    "Business Street", // Outlook
    "Address 1: Street 1", // Microsoft Dynamics 365
    "Primary Address Street", // SuiteCRM / SugarCRM
  ],
  address_street_2: [
    "Street Address 2",
    "Address Line 2",
    "Address 1 - Extended Address", // Google
  ],
  address_zip: [
    "Postal Code", // HubSpot
    "Zip",
    "Zip Code",
    "Postcode",
    "MailingPostalCode", // Salesforce API
    "Mailing Zip/Postal Code", // Salesforce label
    "Mailing Zip", // Zoho
    "Zip/Postal Code",
    "Address 1 - Postal Code", // Google
    "Person - Postal address - ZIP/Postal code", // Pipedrive
    "Business Postal Code", // Outlook
    "Address 1: ZIP/Postal Code", // Microsoft Dynamics 365
    "Primary Address Postal Code", // SuiteCRM / SugarCRM
  ],
  linkedin_url: ["LinkedIn URL", "LinkedIn", "LinkedIn Profile", "LinkedIn Profile URL"],
  facebook_url: ["Facebook", "Facebook URL", "Facebook Profile"],
  personal_note_1: [
    "Description", // Salesforce API, Zoho
    "Contact Description", // Salesforce label
    "Notes", // Google
    "Note",
  ],
  time_zone: ["Time Zone", "Timezone"],
  title: [
    "Job Title", // HubSpot
    "Organization Title", // Google (current)
    "Organization 1 - Title", // Google (legacy)
    "Person - Job title", // Pipedrive
    "Position",
    "Job Position", // Odoo
  ],
  website_url_1: [
    "Website",
    "Website URL", // HubSpot
    "Website 1 - Value", // Google
    "Web Page", // Outlook
  ],
  account_external_id: [
    "AccountId", // Salesforce API; also "Account ID" (label), "Account Id" (Zoho)
    "Associated Company ID", // HubSpot
    "Primary Associated Company ID", // HubSpot
    "Company ID",
    "Organization - ID", // Pipedrive
    "Organization ID",
    "lead_id", // Close (a lead is the company)
  ],
  account_name: [
    "Account.Name", // Salesforce API (relationship column); also "Account Name" (label, Zoho)
    "Company Name", // HubSpot
    "Company",
    "Associated Company", // HubSpot
    "Organization Name", // Google (current)
    "Organization 1 - Name", // Google (legacy)
    "Organization - Name", // Pipedrive
    "Person - Organization", // Pipedrive
    "Organization",
    "lead_name", // Close
    "Sales Accounts", // Freshsales
    "Related Company", // Odoo
  ],
  account_website_url: [
    "Account.Website", // Salesforce API; also "Account Website"
    "Company Website",
    "Company Domain Name", // HubSpot
    "Organization - Website", // Pipedrive
  ],
  account_industry: [
    "Industry", // HubSpot
    "Account.Industry", // Salesforce API; also "Account Industry"
    "Company Industry",
    "Organization - Industry", // Pipedrive
  ],
};

let exactTable: Map<string, AnyContactField> | undefined;
let aliasTable: Map<string, AnyContactField> | undefined;

function exactFields(): Map<string, AnyContactField> {
  if (!exactTable) {
    exactTable = new Map(ALL_CONTACT_FIELDS.map((field) => [normalizeHeader(field), field]));
  }
  return exactTable;
}

function aliases(): Map<string, AnyContactField> {
  if (!aliasTable) {
    aliasTable = new Map();
    for (const field of ALL_CONTACT_FIELDS) {
      for (const alias of HEADER_ALIASES[field]) aliasTable.set(normalizeHeader(alias), field);
    }
  }
  return aliasTable;
}

/** The field a header feeds by our vocabulary or a built-in alias, if any. */
export function aliasFor(header: string): AnyContactField | undefined {
  const key = normalizeHeader(header);
  return exactFields().get(key) ?? aliases().get(key);
}

const FIELD_NAMES = new Set<string>(ALL_CONTACT_FIELDS);
const userMapSchema = z.record(z.string(), z.union([z.string(), z.null()]));

/**
 * Validates a `--map` object (`{ "Their Header": "our_field" | null }`).
 * Throws a {@link HeaderMapError} naming every bad key and the fields allowed.
 */
export function validateUserMap(value: unknown, source = "--map"): UserMap {
  const parsed = userMapSchema.safeParse(value);
  if (!parsed.success) {
    throw new HeaderMapError(
      `${source} must be a JSON object of "Their Header": "our_field" (or null to ignore ` +
        `the column), e.g. {"Contact Ref": "external_id"}.`,
    );
  }
  const problems: string[] = [];
  const map: Record<string, AnyContactField | null> = {};
  const seen = new Map<string, string>();
  for (const [key, target] of Object.entries(parsed.data)) {
    const normalized = normalizeHeader(key);
    if (normalized === "") {
      problems.push(`key ${JSON.stringify(key)} has no letters or digits`);
      continue;
    }
    const earlier = seen.get(normalized);
    if (earlier !== undefined) {
      problems.push(
        `keys ${JSON.stringify(earlier)} and ${JSON.stringify(key)} name the same column`,
      );
      continue;
    }
    seen.set(normalized, key);
    if (target === null) {
      map[key] = null;
    } else if (isField(target)) {
      map[key] = target;
    } else {
      problems.push(
        `key ${JSON.stringify(key)} maps to ${
          JSON.stringify(target)
        }, which is not a contact field`,
      );
    }
  }
  if (problems.length > 0) {
    throw new HeaderMapError(
      `${source}: ${problems.join("; ")}. Fields are: ${ALL_CONTACT_FIELDS.join(", ")}.`,
    );
  }
  return map;
}

/** Parses and validates the text of a `--map` JSON file. */
export function parseUserMap(text: string, source = "--map"): UserMap {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const detail = messageOf(error);
    throw new HeaderMapError(`${source} is not valid JSON: ${detail}`);
  }
  return validateUserMap(value, source);
}

function isField(value: string): value is AnyContactField {
  return FIELD_NAMES.has(value);
}

// Lower number = stronger claim on a field.
const BY_USER_MAP = 0;
const BY_EXACT_NAME = 1;
const BY_ALIAS = 2;
const SALUTATION = "salutation";

/**
 * Maps a header line onto contact fields. A user map wins over everything,
 * our exact field names win over aliases, and among equals the first column
 * wins; later columns for the same field are reported in `ignored`.
 */
export function resolveHeaders(
  headers: readonly string[],
  userMap?: UserMap,
  options: ResolveOptions = {},
): HeaderResolution {
  const userTargets = new Map<string, AnyContactField | null>();
  const userKeys = new Map<string, string>();
  for (const [key, target] of Object.entries(userMap ?? {})) {
    userTargets.set(normalizeHeader(key), target);
    userKeys.set(normalizeHeader(key), key);
  }
  const usedKeys = new Set<string>();
  const hasJobTitle = headers.some((header) => normalizeHeader(header) === "jobtitle");
  const claims: { field: AnyContactField | null; rank: number; by: string }[] = [];
  const unknown: string[] = [];
  const excluded: string[] = [];
  for (const header of headers) {
    const key = normalizeHeader(header);
    if (userTargets.has(key)) {
      usedKeys.add(key);
      const target = userTargets.get(key) ?? null;
      if (target === null) excluded.push(header);
      claims.push({ field: target, rank: BY_USER_MAP, by: "--map" });
      continue;
    }
    // Outlook's "Title" is the salutation (Mr., Ms.); its job title is "Job Title".
    if (key === "title" && hasJobTitle) {
      claims.push({ field: null, rank: BY_ALIAS, by: SALUTATION });
      continue;
    }
    const exact = exactFields().get(key);
    if (exact) {
      claims.push({ field: exact, rank: BY_EXACT_NAME, by: "field name" });
      continue;
    }
    const alias = aliases().get(key);
    if (alias) {
      claims.push({ field: alias, rank: BY_ALIAS, by: "known export header" });
      continue;
    }
    if (key !== "") unknown.push(header);
    claims.push({ field: null, rank: BY_ALIAS, by: "" });
  }
  // For each field, the best-ranked claim; ties go to the earliest column.
  const winner = new Map<AnyContactField, number>();
  claims.forEach((claim, index) => {
    if (claim.field === null) return;
    const current = winner.get(claim.field);
    if (current === undefined || claim.rank < (claims[current]?.rank ?? BY_ALIAS)) {
      winner.set(claim.field, index);
    }
  });
  // An account is only stored with both its id and its name (Symbo requires
  // both when an account is present): without one of the two columns, the
  // other account columns can never produce an account, so drop them once here
  // instead of warning on every row.
  const notes: string[] = [];
  const errors: string[] = [];
  // A company name without a company id column: the id is derived from the name.
  const deriveAccountId = winner.has("account_name") && !winner.has("account_external_id");
  const present = ACCOUNT_FIELDS.filter((field) => winner.has(field));
  const absent = (["account_external_id", "account_name"] as const).filter((f) =>
    !winner.has(f) && !(f === "account_external_id" && deriveAccountId)
  );
  const droppedAccountNote = absent.length > 0
    ? `no ${absent.join(" or ")} column, so accounts are not imported`
    : "";
  if (present.length > 0 && absent.length > 0) {
    const names = present.map((field) => JSON.stringify(headers[winner.get(field) ?? 0] ?? ""));
    notes.push(
      `no ${absent.join(" or ")} column, so accounts are not imported (ignoring ${
        names.join(", ")
      }); map a column to ${absent.join(" and ")} with --map to import them`,
    );
    for (const field of present) winner.delete(field);
  }
  // A single name column stands in for first_name (and last_name) when there is no first-name column.
  let fullNameIndex = -1;
  if (!winner.has("first_name")) {
    const names = new Set(FULL_NAME_ALIASES.map(normalizeHeader));
    fullNameIndex = claims.findIndex((claim, index) =>
      claim.field === null && claim.rank !== BY_USER_MAP &&
      names.has(normalizeHeader(headers[index] ?? ""))
    );
  }
  // external_id: a column, or --id-from's column, or derived from the row.
  let idSource: IdSource = { kind: "derived", header: null, index: -1 };
  if (options.idFrom !== undefined) {
    const wanted = normalizeHeader(options.idFrom);
    const index = headers.findIndex((header) => normalizeHeader(header) === wanted);
    if (index < 0) {
      errors.push(
        `--id-from ${JSON.stringify(options.idFrom)} names no column (the header has ${
          headers.filter((h) => h.trim() !== "").map((h) => JSON.stringify(h)).join(", ")
        })`,
      );
    } else {
      idSource = { kind: "id_from", header: headers[index] ?? "", index };
      const current = winner.get("external_id");
      if (current !== undefined && current !== index) winner.delete("external_id");
      if (claims[index]?.field === "external_id") winner.set("external_id", index);
    }
  } else if (winner.has("external_id")) {
    const index = winner.get("external_id") ?? -1;
    idSource = { kind: "column", header: headers[index] ?? "", index };
  }

  const columns: (AnyContactField | null)[] = [];
  const matched = new Map<AnyContactField, string>();
  const ignored: IgnoredHeader[] = [];
  const mapping: MappingEntry[] = [];
  claims.forEach((claim, index) => {
    const header = headers[index] ?? "";
    const idFromHere = idSource.kind === "id_from" && idSource.index === index;
    if (claim.field === null) {
      columns.push(null);
      if (index === fullNameIndex) {
        mapping.push({
          header,
          field: "first_name + last_name",
          reason: "a full name, split (the file has no first-name column)",
        });
      } else if (idFromHere) {
        mapping.push({ header, field: "external_id", reason: "--id-from" });
      } else {
        mapping.push({
          header,
          field: null,
          reason: excluded.includes(header)
            ? "ignored: --map sets it to null"
            : claim.by === SALUTATION
            ? "ignored: a salutation (Mr., Ms.); the job title comes from the Job Title column"
            : normalizeHeader(header) === ""
            ? "ignored: no header name"
            : "ignored: not a field we know (map it with --map to import it)",
        });
      }
      return;
    }
    const winnerIndex = winner.get(claim.field);
    if (winnerIndex === index) {
      columns.push(claim.field);
      matched.set(claim.field, header);
      mapping.push({
        header,
        field: claim.field,
        reason: idFromHere ? "--id-from" : claim.by,
      });
    } else if (winnerIndex === undefined) {
      columns.push(null); // an account column dropped above, or an id column --id-from replaces
      mapping.push({
        header,
        field: idFromHere ? "external_id" : null,
        reason: idFromHere
          ? "--id-from"
          : claim.field === "external_id"
          ? "ignored: --id-from names another column"
          : `ignored: ${droppedAccountNote}`,
      });
    } else {
      columns.push(null);
      const keptHeader = headers[winnerIndex] ?? "";
      ignored.push({ header, field: claim.field, keptHeader });
      mapping.push({
        header,
        field: idFromHere ? "external_id" : null,
        reason: idFromHere
          ? "--id-from"
          : `ignored: ${claim.field} comes from ${JSON.stringify(keptHeader)}`,
      });
    }
  });
  if (idSource.kind === "derived") {
    mapping.push({
      header: "(derived)",
      field: "external_id",
      reason: "no id column: a hash of each row's cells (use --id-from COLUMN to choose one)",
    });
  }
  if (deriveAccountId) {
    mapping.push({
      header: "(derived)",
      field: "account_external_id",
      reason: 'no company id column: "company:" + the normalized account_name',
    });
  }
  const unusedMapKeys = [...userKeys].filter(([key]) => !usedKeys.has(key)).map(([, k]) => k);
  const missingRequired = REQUIRED_FIELDS.filter((field) =>
    !matched.has(field) && !(field === "external_id" && idSource.kind !== "column") &&
    !(field === "first_name" && fullNameIndex >= 0)
  );
  return {
    idSource,
    fullNameIndex,
    deriveAccountId,
    errors,
    mapping,
    columns,
    matched,
    unknown,
    ignored,
    excluded,
    unusedMapKeys,
    missingRequired,
    notes,
  };
}

/**
 * A one-sentence explanation of the missing required columns, with the
 * headers that were found and how to fix it (for error messages).
 */
export function describeMissingColumns(
  resolution: HeaderResolution,
  headers: readonly string[],
): string {
  const missing = resolution.missingRequired;
  const noun = missing.length === 1 ? "column" : "columns";
  const found = headers.filter((h) => h.trim() !== "").map((h) => JSON.stringify(h));
  const shown = found.length > 12 ? [...found.slice(0, 12), "…"] : found;
  return `missing required ${noun} ${missing.join(", ")} (the header has ${
    shown.join(", ") || "no names"
  }); rename the column or map it with --map, e.g. {"Your Header": "${missing[0]}"}`;
}
