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
import { normalizePhone, toRegion } from "./phone.ts";

/** What a row became: a contact (with remarks), or a reason it was rejected. */
export type RowResult =
  | { readonly ok: true; readonly contact: Contact; readonly warnings: readonly string[] }
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
const REGION_CACHE_LIMIT = 10_000;

/**
 * Compiles a mapper for one header resolution (`columns[i]` is the field the
 * i-th column feeds). Phones are read with the row's `address_country` when it
 * names a country, else `defaultRegion`.
 */
export function createRowMapper(
  columns: readonly (AnyContactField | null)[],
  defaultRegion: CountryCode | undefined,
): RowMapper {
  const slots: { field: AnyContactField; index: number }[] = [];
  for (const field of ALL_CONTACT_FIELDS) {
    const index = columns.indexOf(field);
    if (index >= 0) slots.push({ field, index });
  }
  const idIndex = columns.indexOf("external_id");
  const width = columns.length;
  const phoneFields = PHONE_FIELDS.filter((field) => columns.includes(field));
  const emailFields = (["work_email", "personal_email"] as const).filter((f) =>
    columns.includes(f)
  );
  const hasAccount = columns.includes("account_external_id") && columns.includes("account_name");
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
          const phone = pickPhone(raw, rowRegion);
          if (phone === null) {
            const where = rowRegion ? `for region ${rowRegion}` : "without a region";
            const hint = rowRegion ? "" : " (set --region or contacts.default_region)";
            warn(
              `${field} ${
                JSON.stringify(raw)
              } is not a phone number ${where}${regionNote}${hint}; ` +
                "left empty",
            );
            contact[field] = "";
          } else {
            if (phone.others > 0) {
              warn(`${field} holds ${phone.others + 1} numbers; kept the first (${phone.e164})`);
            }
            contact[field] = phone.e164;
          }
        }
      }
      return { ok: true, contact, warnings: warnings ?? NO_WARNINGS };
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

function verb(items: readonly string[]): string {
  return items.length === 1 ? "is" : "are";
}

// Values that hold several numbers or addresses: Google's " ::: ", or lists.
const PHONE_LIST = /\s*(?::::|;|\||\n)\s*/;
const EMAIL_LIST = /\s*(?::::|[;,\s])\s*/;
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

function pickPhone(
  raw: string,
  region: CountryCode | undefined,
): { e164: string; others: number } | null {
  // A leading apostrophe is how spreadsheets (and our rejects file) keep a
  // `+` or leading zeros from being read as a formula or a number.
  const text = raw.charCodeAt(0) === 39 ? raw.slice(1) : raw;
  const parts = PHONE_LIST.test(text) ? text.split(PHONE_LIST).filter((p) => p !== "") : [text];
  for (const part of parts) {
    const parsed = normalizePhone(part, region);
    if (parsed) return { e164: parsed.e164, others: parts.length - 1 };
  }
  return null;
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
