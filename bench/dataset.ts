/**
 * The generated CRM export the benchmark imports and then looks up: N rows of
 * 20 columns, 4 phones per row written the many ways CRMs hold them (national,
 * international, punctuated, with extensions, a few not numbers at all), plus
 * a uniform random sample of the valid numbers with the E.164 form
 * libphonenumber-js gives them — the numbers the lookup must then find.
 *
 * Generated once per row count and kept under `bench/.cache/<N>/` (git-ignored);
 * files are written under temporary names and renamed last, so an interrupted
 * generation is never mistaken for a finished one.
 */
import { type CountryCode, parsePhoneNumberFromString } from "libphonenumber-js";
import { numberField, stringField } from "./json_fields.ts";
import { Prng } from "./prng.ts";

/** Bump when the generated data changes shape, so old caches are rebuilt. */
const GENERATOR_VERSION = 3;
const SEED = 20_251_127;
/** Numbers sampled for the agreement check (before wrk). */
export const AGREEMENT_SAMPLE = 1000;
/** Most numbers in the wrk list (a random subset of the store's numbers). */
const LOOKUP_LIST_MAX = 100_000;

/** The 20 columns of the generated export, in file order. */
export const CSV_COLUMNS = [
  "external_id",
  "first_name",
  "last_name",
  "work_email",
  "personal_email",
  "work_phone",
  "mobile_phone",
  "home_phone",
  "other_phone",
  "address_street",
  "address_city",
  "address_state",
  "address_zip",
  "address_country",
  "title",
  "time_zone",
  "linkedin_url",
  "account_external_id",
  "account_name",
  "personal_note_1",
] as const;

/** One number the store must answer for. */
export interface ExpectedNumber {
  readonly e164: string;
  readonly external_id: string;
  /** As written in the CSV, and the region it was read with. */
  readonly raw: string;
  readonly region: CountryCode;
}

/** A generated (or cached) data set. */
export interface Dataset {
  readonly rows: number;
  readonly csvPath: string;
  readonly csvBytes: number;
  /** Numbers for the agreement check. */
  readonly agreement: readonly ExpectedNumber[];
  /** Numbers for wrk (disjoint from `agreement`). */
  readonly lookupList: readonly ExpectedNumber[];
  /** Phone cells written, and how many of them were deliberately not numbers. */
  readonly phoneCells: number;
  readonly invalidPhoneCells: number;
  /** Seconds spent generating (0 when taken from the cache). */
  readonly generatedSeconds: number;
  readonly cached: boolean;
}

interface Meta {
  readonly version: number;
  readonly rows: number;
  readonly csvBytes: number;
  readonly phoneCells: number;
  readonly invalidPhoneCells: number;
}

/** Returns the cached data set for `rows`, generating it first when missing. */
export async function ensureDataset(cacheDir: string, rows: number): Promise<Dataset> {
  const csvPath = `${cacheDir}/contacts.csv`;
  const samplePath = `${cacheDir}/expected_numbers.json`;
  const metaPath = `${cacheDir}/dataset.json`;
  const meta = await readMeta(metaPath);
  if (meta && meta.version === GENERATOR_VERSION && meta.rows === rows) {
    const sample = parseSample(JSON.parse(await Deno.readTextFile(samplePath)));
    return {
      rows,
      csvPath,
      csvBytes: meta.csvBytes,
      agreement: sample.slice(0, AGREEMENT_SAMPLE),
      lookupList: sample.slice(AGREEMENT_SAMPLE),
      phoneCells: meta.phoneCells,
      invalidPhoneCells: meta.invalidPhoneCells,
      generatedSeconds: 0,
      cached: true,
    };
  }
  await Deno.mkdir(cacheDir, { recursive: true });
  const started = performance.now();
  const generated = await generateCsv(`${csvPath}.tmp`, rows);
  const sample = generated.sample.map((entry): ExpectedNumber => {
    const e164 = parsePhoneNumberFromString(entry.raw, entry.region)?.number;
    if (e164 === undefined) {
      throw new Error(`generator bug: ${JSON.stringify(entry.raw)} (${entry.region}) is no number`);
    }
    return { e164, external_id: entry.externalId, raw: entry.raw, region: entry.region };
  });
  const seen = new Set<string>();
  for (const entry of sample) {
    if (seen.has(entry.e164)) throw new Error(`generator bug: ${entry.e164} was generated twice`);
    seen.add(entry.e164);
  }
  await Deno.writeTextFile(`${samplePath}.tmp`, JSON.stringify(sample));
  await Deno.rename(`${csvPath}.tmp`, csvPath);
  await Deno.rename(`${samplePath}.tmp`, samplePath);
  const newMeta: Meta = {
    version: GENERATOR_VERSION,
    rows,
    csvBytes: generated.bytes,
    phoneCells: generated.phoneCells,
    invalidPhoneCells: generated.invalidPhoneCells,
  };
  await Deno.writeTextFile(metaPath, JSON.stringify(newMeta, null, 2));
  return {
    rows,
    csvPath,
    csvBytes: generated.bytes,
    agreement: sample.slice(0, AGREEMENT_SAMPLE),
    lookupList: sample.slice(AGREEMENT_SAMPLE),
    phoneCells: generated.phoneCells,
    invalidPhoneCells: generated.invalidPhoneCells,
    generatedSeconds: (performance.now() - started) / 1000,
    cached: false,
  };
}

async function readMeta(path: string): Promise<Meta | null> {
  try {
    const value: unknown = JSON.parse(await Deno.readTextFile(path));
    const what = "bench cache";
    return {
      version: numberField(value, "version", what),
      rows: numberField(value, "rows", what),
      csvBytes: numberField(value, "csvBytes", what),
      phoneCells: numberField(value, "phoneCells", what),
      invalidPhoneCells: numberField(value, "invalidPhoneCells", what),
    };
  } catch {
    return null;
  }
}

function parseSample(value: unknown): ExpectedNumber[] {
  if (!Array.isArray(value)) throw new Error("bench cache: expected_numbers.json is not a list");
  const what = "bench cache (delete bench/.cache to rebuild it)";
  return value.map((item: unknown): ExpectedNumber => {
    const region = stringField(item, "region", what);
    if (region !== "US" && region !== "GB") throw new Error(`${what}: unexpected region ${region}`);
    return {
      e164: stringField(item, "e164", what),
      external_id: stringField(item, "external_id", what),
      raw: stringField(item, "raw", what),
      region,
    };
  });
}

// ---------------------------------------------------------------------------
// Generation

interface SampledPhone {
  readonly raw: string;
  readonly region: CountryCode;
  readonly externalId: string;
}

interface Generated {
  readonly bytes: number;
  readonly phoneCells: number;
  readonly invalidPhoneCells: number;
  readonly sample: SampledPhone[];
}

const FIRST_NAMES = [
  "Sally",
  "James",
  "Maria",
  "Wei",
  "Aisha",
  "Olivia",
  "Liam",
  "Noah",
  "Emma",
  "Zoë",
  "José",
  "Priya",
  "Mateo",
  "Hannah",
  "Oluwaseun",
  "Chloé",
  "Søren",
  "Yuki",
  "Fatima",
  "Connor",
];
const LAST_NAMES = [
  "Sample",
  "Smith",
  "García",
  "Chen",
  "O'Brien",
  "Müller",
  "Nguyen",
  "Okafor",
  "Johansson",
  "Patel",
  "Kowalski",
  "Rossi",
  "Dubois",
  "Tanaka",
  "Fitzgerald-Hughes",
  "Brown",
];
const TITLES = [
  "Sales Manager",
  "VP of Sales",
  "Account Executive",
  "Head of Operations",
  "CTO",
  "Procurement Lead",
  "Director, Finance",
  "Office Manager",
];
const US_PLACES: readonly (readonly [string, string, string, string])[] = [
  ["San Francisco", "CA", "941", "America/Los_Angeles"],
  ["New York", "NY", "100", "America/New_York"],
  ["Chicago", "IL", "606", "America/Chicago"],
  ["Austin", "TX", "787", "America/Chicago"],
  ["Seattle", "WA", "981", "America/Los_Angeles"],
  ["Boston", "MA", "021", "America/New_York"],
  ["Denver", "CO", "802", "America/Denver"],
];
const GB_PLACES: readonly (readonly [string, string])[] = [
  ["London", "EC1A"],
  ["Manchester", "M1"],
  ["Bristol", "BS1"],
  ["Leeds", "LS1"],
];
const STREETS = ["Market St", "Main Street", "Oak Avenue", "High Street", "Station Road", "Elm Dr"];
const COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne"];
const SUFFIXES = ["Inc.", "LLC", "Ltd", "GmbH", "Corp.", "& Co."];
/** Real area codes, so the numbers look like the ones a CRM holds. */
const NANP_AREA_CODES = [
  201,
  202,
  203,
  206,
  212,
  213,
  214,
  215,
  303,
  305,
  310,
  312,
  404,
  408,
  415,
  503,
  512,
  602,
  617,
  646,
  702,
  713,
  718,
  773,
  818,
  917,
  972,
];
/** NXX exchanges 200–999 without the N11 service codes. */
const NANP_EXCHANGES = Array.from({ length: 800 }, (_, i) => 200 + i).filter((x) => x % 100 !== 11);
const NANP_SPACE = NANP_AREA_CODES.length * NANP_EXCHANGES.length * 10_000;
/** London landlines 020 3xxx, 7xxx, 8xxx xxxx; mobiles 07[5789]xx xxxxxx. */
const LONDON_SPACE = 3 * 10_000_000;
const GB_MOBILE_SPACE = 4 * 100_000_000;
const INVALID_PHONES = ["12", "n/a", "TBD", "0", "ask reception"];

/**
 * A bijection of [0, space) (id·A + B mod space, A coprime to every space
 * here: not divisible by 2, 3, 5 or 11), so the i-th number of a kind is unique
 * without remembering the ones before it. id·A stays below 2^53 for ids < 60M.
 */
function scatter(id: number, space: number): number {
  return (id * 132_135_013 + 7_654_321) % space;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/** The i-th North American number as its three groups. */
function nanp(id: number): [string, string, string] {
  const n = scatter(id, NANP_SPACE);
  const line = n % 10_000;
  const rest = Math.floor(n / 10_000);
  const exchange = NANP_EXCHANGES[rest % NANP_EXCHANGES.length] ?? 555;
  const area = NANP_AREA_CODES[Math.floor(rest / NANP_EXCHANGES.length)] ?? 415;
  return [String(area), String(exchange), pad(line, 4)];
}

/** The i-th London landline (national significant number, 10 digits: "20" + 8). */
function london(id: number): [string, string] {
  const n = scatter(id, LONDON_SPACE);
  const head = ["3", "7", "8"][Math.floor(n / 10_000_000)] ?? "7";
  const tail = pad(n % 10_000_000, 7);
  return [`${head}${tail.slice(0, 3)}`, tail.slice(3)];
}

/** The i-th UK mobile (national significant number "7" + 9 digits). */
function gbMobile(id: number): [string, string] {
  const n = scatter(id, GB_MOBILE_SPACE);
  const head = ["5", "7", "8", "9"][Math.floor(n / 100_000_000)] ?? "7";
  const tail = pad(n % 100_000_000, 8);
  return [`7${head}${tail.slice(0, 3)}`, tail.slice(3)];
}

/** A North American number written one of the ways people write them. */
function writeNanp(prng: Prng, [a, b, c]: [string, string, string], national: boolean): string {
  if (!national) {
    return prng.pick([
      `+1 ${a}-${b}-${c}`,
      `+1${a}${b}${c}`,
      `+1 (${a}) ${b}-${c}`,
      `+1.${a}.${b}.${c}`,
    ]);
  }
  switch (prng.int(8)) {
    case 0:
      return `(${a}) ${b}-${c}`;
    case 1:
      return `${a}.${b}.${c} x${1 + prng.int(99)}`;
    case 2:
      return `${a}-${b}-${c}`;
    case 3:
      return `${a}${b}${c}`;
    case 4:
      return `1 (${a}) ${b}-${c}`;
    case 5:
      return `${a} ${b} ${c} ext. ${1 + prng.int(9)}`;
    case 6:
      return `+1 ${a}-${b}-${c}`;
    default:
      return `(${a}) ${b}-${c}`;
  }
}

/** A UK number, national (`020 7946 0958`) only when the row's region is GB. */
function writeGb(prng: Prng, [a, b]: [string, string], mobile: boolean, national: boolean): string {
  const nsnHead = mobile ? a : `20 ${a}`;
  if (!national) return prng.pick([`+44 ${nsnHead} ${b}`, `+44${nsnHead.replace(" ", "")}${b}`]);
  return prng.pick([
    `0${nsnHead} ${b}`,
    `+44 ${nsnHead} ${b}`,
    `0044 ${nsnHead} ${b}`,
    `0${nsnHead}${b}`,
  ]);
}

/** Quotes a CSV field when it needs it (RFC 4180). */
function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

async function generateCsv(path: string, rows: number): Promise<Generated> {
  const prng = new Prng(SEED);
  const sampleSize = Math.min(LOOKUP_LIST_MAX, rows * 2) + AGREEMENT_SAMPLE;
  const reservoir: SampledPhone[] = [];
  let validSeen = 0;
  let phoneCells = 0;
  let invalidPhoneCells = 0;
  let nanpId = 0;
  let gbId = 0;
  const encoder = new TextEncoder();
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  let bytes = 0;
  try {
    const header = CSV_COLUMNS.join(",") + "\n";
    let chunk = header;
    for (let i = 0; i < rows; i++) {
      const externalId = `C${pad(i + 1, 7)}`;
      const first = prng.pick(FIRST_NAMES);
      const last = prng.pick(LAST_NAMES);
      const isGb = prng.chance(0.15);
      const region: CountryCode = isGb ? "GB" : "US";
      // Rows without a country are read with the default region (US).
      const country = isGb
        ? prng.pick(["GB", "GB", "United Kingdom"])
        : prng.pick(["", "", "US", "United States"]);
      const phones: string[] = [];
      for (let k = 0; k < 4; k++) {
        phoneCells++;
        if (prng.chance(0.02)) {
          invalidPhoneCells++;
          phones.push(prng.pick(INVALID_PHONES));
          continue;
        }
        let raw: string;
        if (isGb) {
          raw = k === 3 && prng.chance(0.2)
            ? writeNanp(prng, nanp(nanpId++), false)
            : writeGb(prng, k === 1 ? gbMobile(gbId++) : london(gbId++), k === 1, true);
        } else {
          raw = k === 2 && prng.chance(0.1)
            ? writeGb(prng, london(gbId++), false, false)
            : writeNanp(prng, nanp(nanpId++), true);
        }
        phones.push(raw);
        const sampled = { raw, region, externalId };
        if (reservoir.length < sampleSize) reservoir.push(sampled);
        else {
          const j = Math.floor(prng.next() * (validSeen + 1));
          if (j < sampleSize) reservoir[j] = sampled;
        }
        validSeen++;
      }
      const login = `${first}.${last}`.toLowerCase().replace(/[^a-z.]/g, "");
      const hasAccount = prng.chance(0.8);
      const company = `${prng.pick(COMPANIES)}${prng.int(5000)}`;
      const accountName = prng.chance(0.3) ? `${company}, ${prng.pick(SUFFIXES)}` : company;
      let street: string, city: string, state: string, zip: string, zone: string;
      if (isGb) {
        const [gbCity, postcode] = prng.pick(GB_PLACES);
        street = `${1 + prng.int(200)} ${prng.pick(STREETS)}`;
        city = gbCity;
        state = "";
        zip = `${postcode} ${1 + prng.int(9)}AB`;
        zone = "Europe/London";
      } else {
        const [usCity, usState, zip3, usZone] = prng.pick(US_PLACES);
        street = `${1 + prng.int(9999)} ${prng.pick(STREETS)}`;
        city = usCity;
        state = usState;
        zip = `${zip3}${pad(prng.int(100), 2)}`;
        zone = usZone;
      }
      const note = prng.chance(0.05)
        ? `Met at "SaaStr", ${2019 + prng.int(6)}.\nPrefers email; call after 3pm.`
        : prng.chance(0.5)
        ? `Renewal in Q${1 + prng.int(4)}; champion: ${prng.pick(FIRST_NAMES)}`
        : "";
      const fields = [
        externalId,
        first,
        last,
        `${login}${i}@${company.toLowerCase()}.example.com`,
        prng.chance(0.5) ? `${login}${i}@mail.example.org` : "",
        phones[0] ?? "",
        phones[1] ?? "",
        phones[2] ?? "",
        phones[3] ?? "",
        street,
        city,
        state,
        zip,
        country,
        prng.pick(TITLES),
        zone,
        prng.chance(0.6) ? `https://www.linkedin.com/in/${login}-${i}` : "",
        hasAccount ? `A${pad(prng.int(200_000), 6)}` : "",
        hasAccount ? accountName : "",
        note,
      ];
      chunk += fields.map(csvField).join(",") + "\n";
      if (chunk.length > 1 << 20) {
        bytes += await writeAll(file, encoder.encode(chunk));
        chunk = "";
      }
    }
    bytes += await writeAll(file, encoder.encode(chunk));
  } finally {
    file.close();
  }
  // Shuffle, so the agreement sample and the wrk list are both uniform.
  for (let i = reservoir.length - 1; i > 0; i--) {
    const j = prng.int(i + 1);
    const a = reservoir[i];
    const b = reservoir[j];
    if (a === undefined || b === undefined) continue;
    reservoir[i] = b;
    reservoir[j] = a;
  }
  return { bytes, phoneCells, invalidPhoneCells, sample: reservoir };
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<number> {
  let written = 0;
  while (written < data.length) written += await file.write(data.subarray(written));
  return written;
}
