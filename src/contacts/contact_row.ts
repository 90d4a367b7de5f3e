/**
 * One CSV row → one contact: the row rules of the import. Owns trimming,
 * required fields, the account pairing rule, light email checks, reading a
 * row's country as a phone region, and phone normalization (through
 * `phone.ts`). Pure and hand-written (no zod per row): it runs once per row of
 * a possibly million-row file.
 */
import { type CountryCode, getCountries } from "libphonenumber-js";
import {
  ACCOUNT_FIELDS,
  ALL_CONTACT_FIELDS,
  type AnyContactField,
  type Contact,
  emptyContact,
  PHONE_FIELDS,
} from "./contact.ts";
import { toRegion } from "./phone.ts";
import { readPhoneCell } from "./phone_cell.ts";
import { derivedAccountId, type HeaderResolution } from "./csv_headers.ts";

/** What a row became: a contact (with remarks), or a reason it was rejected. */
export type RowResult =
  | {
    readonly ok: true;
    readonly contact: Contact;
    readonly warnings: readonly string[];
    /**
     * The numbers beyond the first of each phone cell (`+1 415…, +1 628…`):
     * indexed for lookup, though the lookup body shows one number per field.
     */
    readonly extraNumbers: readonly string[];
  }
  | { readonly ok: false; readonly reason: string };

/** Turns records of one file (one header) into contacts. */
export interface RowMapper {
  /** Validates and normalizes one record (fields in header order). */
  map(record: readonly string[]): RowResult;
  /** The trimmed external id of a record, `""` when it has none. */
  externalIdOf(record: readonly string[]): string;
}

/** Longest external id we accept: anything longer is a broken column, not an id. */
export const MAX_EXTERNAL_ID_LENGTH = 255;

const NO_WARNINGS: readonly string[] = Object.freeze([]);
const NO_NUMBERS: readonly string[] = Object.freeze([]);
const REGION_CACHE_LIMIT = 10_000;

/**
 * Compiles a mapper for one header resolution (`columns[i]` is the field the
 * i-th column feeds). Phones are read with the row's `address_country` when it
 * names a country, else `defaultRegion`.
 */
export function createRowMapper(
  columns: readonly (AnyContactField | null)[],
  defaultRegion: CountryCode | undefined,
  plan: RowPlan = COLUMNS_ONLY,
): RowMapper {
  const slots: { field: AnyContactField; index: number }[] = [];
  for (const field of ALL_CONTACT_FIELDS) {
    const index = columns.indexOf(field);
    if (index >= 0) slots.push({ field, index });
  }
  const idSource = plan.idSource.kind === "column"
    ? { ...plan.idSource, index: columns.indexOf("external_id") }
    : plan.idSource;
  const idIndex = idSource.index;
  const fullNameIndex = plan.fullNameIndex;
  const hasLastName = columns.includes("last_name");
  const width = columns.length;
  const phoneFields = PHONE_FIELDS.filter((field) => columns.includes(field));
  const emailFields = (["work_email", "personal_email"] as const).filter((f) =>
    columns.includes(f)
  );
  const hasAccount = plan.deriveAccountId ||
    (columns.includes("account_external_id") && columns.includes("account_name"));
  const regions = new Map<string, CountryCode | null>();

  function regionOf(country: string): CountryCode | null {
    let region = regions.get(country);
    if (region === undefined) {
      region = regionForCountry(country) ?? null;
      if (regions.size < REGION_CACHE_LIMIT) regions.set(country, region);
    }
    return region;
  }

  return {
    externalIdOf(record) {
      if (idSource.kind === "derived") return derivedExternalId(record);
      return idIndex >= 0 ? (record[idIndex] ?? "").trim() : "";
    },
    map(record) {
      if (record.length > width) {
        for (let i = width; i < record.length; i++) {
          if ((record[i] ?? "").trim() !== "") {
            return {
              ok: false,
              reason: `the row has ${record.length} fields but the header has ${width} ` +
                "(a delimiter inside an unquoted value?)",
            };
          }
        }
      }
      const contact = emptyContact();
      for (const { field, index } of slots) {
        const value = record[index];
        if (value !== undefined && value !== "") contact[field] = value.trim();
      }
      if (idSource.kind === "id_from") contact.external_id = (record[idIndex] ?? "").trim();
      else if (idSource.kind === "derived") contact.external_id = derivedExternalId(record);
      if (fullNameIndex >= 0) {
        const name = splitFullName(record[fullNameIndex] ?? "");
        contact.first_name = name.first;
        if (!hasLastName || contact.last_name === "") contact.last_name = name.last;
      }
      if (plan.deriveAccountId && contact.account_name !== "") {
        contact.account_external_id = derivedAccountId(contact.account_name);
      }
      const missing: string[] = [];
      if (contact.external_id === "") missing.push("external_id");
      if (contact.first_name === "") missing.push("first_name");
      if (missing.length > 0) {
        return { ok: false, reason: `${missing.join(" and ")} ${verb(missing)} empty` };
      }
      if (contact.external_id.length > MAX_EXTERNAL_ID_LENGTH) {
        return {
          ok: false,
          reason: `external_id is ${contact.external_id.length} characters long ` +
            `(at most ${MAX_EXTERNAL_ID_LENGTH})`,
        };
      }
      let warnings: string[] | undefined;
      let extras: string[] | undefined;
      const warn = (message: string) => (warnings ??= []).push(message);

      for (const field of emailFields) {
        const raw = contact[field];
        if (raw === "") continue;
        const email = pickEmail(raw);
        if (email === null) {
          warn(`${field} ${JSON.stringify(raw)} is not an email address; left empty`);
          contact[field] = "";
        } else {
          if (email.others > 0) {
            warn(`${field} holds ${email.others + 1} addresses; kept the first (${email.value})`);
          }
          contact[field] = email.value;
        }
      }

      if (hasAccount) {
        const id = contact.account_external_id;
        const name = contact.account_name;
        const anyAccount = ACCOUNT_FIELDS.some((field) => contact[field] !== "");
        if (anyAccount && (id === "" || name === "")) {
          const absent = id === "" ? "account_external_id" : "account_name";
          const given = id === "" ? `account_name ${JSON.stringify(name)}` : `account ${id}`;
          warn(`${absent} is empty, so the account (${given}) was not imported`);
          for (const field of ACCOUNT_FIELDS) contact[field] = "";
        }
      }

      if (phoneFields.length > 0) {
        let rowRegion: CountryCode | undefined = defaultRegion;
        let regionNote = "";
        const country = contact.address_country;
        if (country !== "") {
          const region = regionOf(country);
          if (region !== null) {
            rowRegion = region;
          } else if (phoneFields.some((field) => contact[field] !== "")) {
            regionNote = ` (address_country ${JSON.stringify(country)} is not a country we know)`;
          }
        }
        for (const field of phoneFields) {
          const raw = contact[field];
          if (raw === "") continue;
          const cell = readPhoneCell(raw, rowRegion);
          const first = cell.numbers[0];
          contact[field] = first ?? "";
          for (let i = 1; i < cell.numbers.length; i++) {
            const extra = cell.numbers[i];
            if (extra !== undefined && !(extras ??= []).includes(extra)) extras.push(extra);
          }
          for (const part of cell.lostDigits) {
            warn(
              `${field} ${JSON.stringify(part)} lost digits in a spreadsheet (it keeps ` +
                "15 significant digits and showed the rest as zeros or in scientific notation); " +
                (first === undefined ? "left empty" : "not imported") +
                ", export the column as text",
            );
          }
          if (cell.unparsed.length > 0) {
            const where = rowRegion ? `for region ${rowRegion}` : "without a region";
            const hint = rowRegion ? "" : " (set --region or contacts.default_region)";
            const what = cell.unparsed.map((part) => JSON.stringify(part)).join(", ");
            warn(
              first === undefined && cell.lostDigits.length === 0 && cell.unparsed.length === 1 &&
                cell.unparsed[0] === raw.trim()
                ? `${field} ${what} is not a phone number ${where}${regionNote}${hint}; left empty`
                : `${field}: ${what} ${
                  cell.unparsed.length === 1 ? "is" : "are"
                } not a phone number ${where}${regionNote}${hint}; ` +
                  (first === undefined ? "left empty" : "kept the other numbers"),
            );
          }
        }
      }
      // A number given in two fields is indexed once.
      const numbers = extras?.filter((e164) => !PHONE_FIELDS.some((f) => contact[f] === e164));
      return {
        ok: true,
        contact,
        warnings: warnings ?? NO_WARNINGS,
        extraNumbers: numbers !== undefined && numbers.length > 0 ? numbers : NO_NUMBERS,
      };
    },
  };
}

/**
 * Validates and normalizes one record against a header resolution. Compiles
 * the column plan on every call: for many rows use {@link createRowMapper}.
 */
export function toContact(
  record: readonly string[],
  columns: readonly (AnyContactField | null)[],
  defaultRegion: CountryCode | undefined,
): RowResult {
  return createRowMapper(columns, defaultRegion).map(record);
}

/** How a file's rows find their id, name and account beyond plain columns. */
export type RowPlan = Pick<HeaderResolution, "idSource" | "fullNameIndex" | "deriveAccountId">;

const COLUMNS_ONLY: RowPlan = {
  idSource: { kind: "column", header: "external_id", index: -1 },
  fullNameIndex: -1,
  deriveAccountId: false,
};

/**
 * The id of a row in an export without an id column: `row-` and a 106-bit
 * hash of its trimmed cells. Two rows get the same id only when every cell is
 * the same (then they are one person written twice), so different people are
 * never merged; a row edited in the CRM gets a new id (its old contact stays
 * until `--prune`).
 */
export function derivedExternalId(record: readonly string[]): string {
  const text = record.map((cell) => cell.trim()).join("\u001f");
  return `row-${cyrb53(text)}${cyrb53(`\u0002${text}`)}`;
}

/** A fast 53-bit hash (cyrb53), base 36: an id derived from text, not a security boundary. */
function cyrb53(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ code, 2654435761);
    h2 = Math.imul(h2 ^ code, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

/**
 * Splits a full name: `"Doe, Jane"` → Jane / Doe; `"Jane van der Berg"` →
 * Jane / van der Berg; a single word is the first name.
 */
export function splitFullName(raw: string): { first: string; last: string } {
  const text = raw.trim().replace(/\s+/g, " ");
  const comma = text.indexOf(",");
  if (comma > 0) {
    const first = text.slice(comma + 1).trim();
    if (first !== "") return { first, last: text.slice(0, comma).trim() };
  }
  const space = text.indexOf(" ");
  return space < 0
    ? { first: text, last: "" }
    : { first: text.slice(0, space), last: text.slice(space + 1) };
}

function verb(items: readonly string[]): string {
  return items.length === 1 ? "is" : "are";
}

// Values that hold several addresses: Google's " ::: ", or lists. No `\s*`
// around the separator: that makes splitting quadratic in a run of spaces.
const EMAIL_LIST = /:::|[;,\s]/;
// Deliberately light: one @, no spaces or list punctuation, a dot in the domain.
const EMAIL = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:".]{2,}$/;

/** True when `text` has the shape of an email address (a light check, not RFC 5322). */
export function isPlausibleEmail(text: string): boolean {
  return EMAIL.test(text);
}

function pickEmail(raw: string): { value: string; others: number } | null {
  const text = raw.replace(/^mailto:/i, "");
  if (EMAIL.test(text)) return { value: text, others: 0 };
  const parts = text.split(EMAIL_LIST).filter((part) => part !== "");
  const valid = parts.filter((part) => EMAIL.test(part));
  const first = valid[0];
  return first === undefined ? null : { value: first, others: parts.length - 1 };
}

/** Common names, codes and spellings that Intl's region names do not give. */
const COUNTRY_ALIASES: Readonly<Record<string, CountryCode>> = {
  usa: "US",
  us: "US",
  unitedstatesofamerica: "US",
  america: "US",
  uk: "GB",
  greatbritain: "GB",
  britain: "GB",
  england: "GB",
  scotland: "GB",
  wales: "GB",
  northernireland: "GB",
  uae: "AE",
  holland: "NL",
  thenetherlands: "NL",
  korea: "KR",
  republicofkorea: "KR",
  russianfederation: "RU",
  czechrepublic: "CZ",
  turkey: "TR",
  hongkong: "HK",
  macau: "MO",
  vietnam: "VN",
  ivorycoast: "CI",
  // ISO 3166 alpha-3 codes seen in exports.
  gbr: "GB",
  deu: "DE",
  fra: "FR",
  esp: "ES",
  ita: "IT",
  nld: "NL",
  bel: "BE",
  che: "CH",
  aut: "AT",
  can: "CA",
  aus: "AU",
  nzl: "NZ",
  irl: "IE",
  swe: "SE",
  nor: "NO",
  dnk: "DK",
  fin: "FI",
  pol: "PL",
  prt: "PT",
  bra: "BR",
  mex: "MX",
  ind: "IN",
  jpn: "JP",
  chn: "CN",
  zaf: "ZA",
  sgp: "SG",
  isr: "IL",
  are: "AE",
};

/** Languages whose country names we recognize (CRM users write them natively). */
const NAME_LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "pt", "sv", "da", "pl"];

let countryTable: Map<string, CountryCode> | undefined;

function countryKey(text: string): string {
  // NFD splits accents into combining marks, which the filter then drops.
  return text.normalize("NFD").toLowerCase().replace(/[^\p{L}\p{N}]+/gu, "");
}

function countries(): Map<string, CountryCode> {
  if (countryTable) return countryTable;
  const table = new Map<string, CountryCode>();
  const codes = getCountries();
  for (const language of NAME_LANGUAGES) {
    const names = new Intl.DisplayNames([language], { type: "region", fallback: "none" });
    for (const code of codes) {
      const name = names.of(code);
      if (!name) continue;
      const key = countryKey(name);
      if (!table.has(key)) table.set(key, code);
      // "Hong Kong SAR China" and the like: also the part before the qualifier.
      const short = countryKey(name.replace(/\s+SAR\b.*$|\s*\(.*\)$/, ""));
      if (short !== key && !table.has(short)) table.set(short, code);
    }
  }
  for (const [key, code] of Object.entries(COUNTRY_ALIASES)) table.set(key, code);
  countryTable = table;
  return table;
}

/**
 * Reads a country as written in a CRM (`"US"`, `"gb"`, `"USA"`, `"United
 * Kingdom"`, `"Deutschland"`, `"España"`) as a phone region. Undefined when it
 * names no country libphonenumber knows.
 */
export function regionForCountry(value: string): CountryCode | undefined {
  const text = value.trim();
  if (text === "") return undefined;
  if (text.length === 2) {
    const region = toRegion(text);
    if (region) return region;
  }
  return countries().get(countryKey(text));
}
