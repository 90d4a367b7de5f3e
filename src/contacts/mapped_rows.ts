/**
 * The CPU-heavy half of an import: CSV bytes → header resolution → one mapped
 * row per record (validated, phones normalized), in batches. It runs inside a
 * worker (see import_worker.ts) so that parsing and phone normalization use
 * the second core while the importing thread only writes SQL. Everything it
 * yields is structured-cloneable.
 */
import type { CountryCode } from "libphonenumber-js";
import { serializeContact, type SerializedContact } from "./contact_store.ts";
import { createRowMapper, type RowMapper } from "./contact_row.ts";
import { type HeaderResolution, resolveHeaders, type UserMap } from "./csv_headers.ts";
import { type CsvDelimiter, type CsvEncoding, readCsv } from "./csv_reader.ts";

/** The header line of the file and what it maps to. */
export interface MappedHeader {
  readonly names: readonly string[];
  readonly line: number;
  readonly resolution: HeaderResolution;
}

/** One data row: the contact serialized for the store, or why it was rejected. */
export interface MappedRow {
  readonly line: number;
  /** The row's external id (also for a rejected row, `""` when it has none). */
  readonly externalId: string;
  /** The contact, ready to store; null when rejected. */
  readonly contact: SerializedContact | null;
  /** Numbers indexed beyond the first of each phone cell. */
  readonly extraNumbers: number;
  /** The contact has an account. */
  readonly hasAccount: boolean;
  /** Why the row was rejected; null when it was not. */
  readonly reason: string | null;
  readonly warnings: readonly string[];
  /** The fields as read, kept only for a rejected row (for `--rejects`). */
  readonly record: readonly string[] | null;
}

/** What the mapping yields, in order: one header (or `empty`), then row batches. */
export type MappedEvent =
  | { readonly kind: "empty" }
  | {
    readonly kind: "header";
    readonly header: MappedHeader;
    readonly delimiter: CsvDelimiter | undefined;
    readonly encoding: CsvEncoding;
  }
  | { readonly kind: "rows"; readonly rows: readonly MappedRow[]; readonly bytesRead: number };

/** What the mapping needs to know. */
export interface MapOptions {
  readonly userMap: UserMap | undefined;
  readonly defaultRegion: CountryCode | undefined;
  /** `--id-from`: the header of the column external_id is taken from. */
  readonly idFrom?: string | undefined;
  /** `--encoding`: a WHATWG label that overrides detection. */
  readonly encoding?: string | undefined;
}

/**
 * Reads and maps the whole input. Stops after the header when required columns
 * are missing (the importer reports that). Throws `CsvFormatError` on broken CSV.
 */
export async function* mapCsvRows(
  input: ReadableStream<Uint8Array>,
  options: MapOptions,
): AsyncGenerator<MappedEvent, void, undefined> {
  const csv = readCsv(input, { encoding: options.encoding });
  const batches = csv.batches();
  try {
    let header: MappedHeader | null = null;
    let mapper: RowMapper | null = null;
    for await (const records of batches) {
      const rows: MappedRow[] = [];
      for (const { record, line } of records) {
        if (header === null) {
          const resolution = resolveHeaders(record, options.userMap, { idFrom: options.idFrom });
          header = { names: record, line, resolution };
          yield {
            kind: "header",
            header,
            delimiter: csv.delimiter,
            encoding: csv.encoding ?? { name: "utf-8", source: "detected" },
          };
          if (resolution.missingRequired.length > 0 || resolution.errors.length > 0) return;
          mapper = createRowMapper(resolution.columns, options.defaultRegion, resolution);
          continue;
        }
        if (mapper === null || isBlank(record)) continue;
        const result = mapper.map(record);
        rows.push(
          result.ok
            ? {
              line,
              externalId: result.contact.external_id,
              contact: serializeContact(result.contact, result.extraNumbers),
              extraNumbers: result.extraNumbers.length,
              hasAccount: result.contact.account_external_id !== "",
              reason: null,
              warnings: result.warnings,
              record: null,
            }
            : {
              line,
              externalId: mapper.externalIdOf(record),
              contact: null,
              extraNumbers: 0,
              hasAccount: false,
              reason: result.reason,
              warnings: [],
              record,
            },
        );
      }
      if (rows.length > 0) yield { kind: "rows", rows, bytesRead: csv.bytesRead };
    }
    if (header === null) yield { kind: "empty" };
  } finally {
    await batches.return(undefined).catch(() => {});
  }
}

function isBlank(record: readonly string[]): boolean {
  for (const field of record) if (field.trim() !== "") return false;
  return true;
}
