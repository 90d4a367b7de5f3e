/**
 * Streaming CSV reading for imports: sniffs the delimiter (`,` `;` or tab) from
 * the header line, strips a byte order mark, parses with csv-parse's stream API
 * (quoted multi-line fields included) and yields each record with the 1-based
 * line where it starts, a parsed chunk at a time. Never holds more than one
 * chunk's records; a quote that is never closed stops at a record-size limit instead of reading
 * the rest of the file into one field.
 */
import { Buffer } from "node:buffer";
import { pipeline, Readable } from "node:stream";
import { CsvError, parse } from "csv-parse";

/** One record of the file, with the line (1-based) where it starts. */
export interface CsvRecord {
  readonly record: string[];
  readonly line: number;
}

/** The field delimiters we detect. */
export type CsvDelimiter = "," | ";" | "\t";

/** Tuning for {@link CsvReader}. */
export interface CsvReaderOptions {
  /** Longest record accepted (bytes of field content); guards against a quote never closed. */
  readonly maxRecordBytes?: number;
  /** How far to look for the end of the header line when sniffing the delimiter. */
  readonly maxHeaderBytes?: number;
  /**
   * A WHATWG encoding label (`windows-1252`, `utf-16le`, `iso-8859-2`, …) that
   * overrides detection. Without it: a byte order mark (UTF-8, UTF-16 LE/BE),
   * else UTF-8 when the start of the file is valid UTF-8, else Windows-1252.
   */
  readonly encoding?: string | undefined;
}

/** The encoding a file was read in, and how it was chosen. */
export interface CsvEncoding {
  /** The WHATWG name (`utf-8`, `utf-16le`, `windows-1252`, …). */
  readonly name: string;
  /** `bom`: a byte order mark; `detected`: from the bytes; `option`: `--encoding`. */
  readonly source: "bom" | "detected" | "option";
}

/**
 * The file is not valid CSV (broken quoting, a runaway record, an unsupported
 * encoding). `line` is where the problem is; the message says what and how to fix it.
 */
export class CsvFormatError extends Error {
  override name = "CsvFormatError";
  /** 1-based line of the problem. */
  readonly line: number;
  /** The problem, without the line prefix. */
  readonly problem: string;
  /** csv-parse's error code, or our own (`CSV_UNSUPPORTED_ENCODING`). */
  readonly code: string;

  constructor(line: number, problem: string, code: string, options?: ErrorOptions) {
    super(`Cannot parse CSV at line ${line}: ${problem}`, options);
    this.line = line;
    this.problem = problem;
    this.code = code;
  }
}

const DEFAULT_MAX_RECORD_BYTES = 1 << 20;
const DEFAULT_MAX_HEADER_BYTES = 1 << 20;
/** How much of the file is looked at to tell UTF-8 from Windows-1252. */
const SNIFF_BYTES = 64 * 1024;
const LF = 10;
const CR = 13;

/**
 * A single-use async iterable of the records of a CSV byte stream (a file's
 * `readable` or an HTTP body). The header line is the first record.
 */
export class CsvReader implements AsyncIterable<CsvRecord> {
  #input: ReadableStream<Uint8Array>;
  #options: CsvReaderOptions;
  #bytesRead = 0;
  #delimiter: CsvDelimiter | undefined;
  #encoding: CsvEncoding | undefined;
  #started = false;

  constructor(input: ReadableStream<Uint8Array>, options: CsvReaderOptions = {}) {
    this.#input = input;
    this.#options = options;
  }

  /** Bytes read from the input so far (for progress). */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** The delimiter found in the header line (known once the first record is read). */
  get delimiter(): CsvDelimiter | undefined {
    return this.#delimiter;
  }

  /** The encoding the file is read in (known once the first record is read). */
  get encoding(): CsvEncoding | undefined {
    return this.#encoding;
  }

  /** Yields the records in file order. Throws {@link CsvFormatError} on broken CSV. */
  async *[Symbol.asyncIterator](): AsyncGenerator<CsvRecord, void, undefined> {
    for await (const batch of this.batches()) yield* batch;
  }

  /**
   * Yields the records in file order, as many at a time as the parser has
   * ready (one await per chunk of input rather than per record: this is the
   * fast way to read a large file). Throws {@link CsvFormatError} on broken CSV.
   */
  async *batches(): AsyncGenerator<CsvRecord[], void, undefined> {
    if (this.#started) throw new Error("A CsvReader can be iterated only once.");
    this.#started = true;
    const reader = this.#input.getReader();
    const prefix: Uint8Array[] = [];
    let ended = false;
    let sniffed: Sniffed | undefined;
    let sniffedAt = 0;
    try {
      const limit = this.#options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
      let size = 0;
      // Read enough to tell the encoding (and at least the header line) first.
      while (!ended) {
        const { done, value } = await reader.read();
        if (done) {
          ended = true;
          break;
        }
        this.#bytesRead += value.byteLength;
        prefix.push(value);
        size += value.byteLength;
        if (size < SNIFF_BYTES || size < sniffedAt * 2) continue;
        sniffed = sniff(concat(prefix, size), this.#options.encoding);
        sniffedAt = size;
        if (sniffed.headerComplete || size >= limit) break;
      }
    } catch (error) {
      await reader.cancel().catch(() => {});
      throw error;
    }
    if (prefix.length === 0) {
      await reader.cancel().catch(() => {});
      return;
    }
    if (sniffed === undefined || (ended && sniffedAt < this.#bytesRead)) {
      sniffed = sniff(
        concat(prefix, prefix.reduce((n, c) => n + c.byteLength, 0)),
        this.#options.encoding,
      );
    }
    this.#delimiter = sniffed.delimiter;
    this.#encoding = { name: sniffed.encoding, source: sniffed.encodingSource };

    // csv-parse's own line counter counts a CRLF inside a quoted field twice,
    // so lines are counted here, from each record's raw text, in parse order
    // (on_record runs synchronously as records are parsed, so the count is
    // also right for an error that discards records not yet consumed).
    let nextLine = 1;
    const lines: number[] = [];
    let head = 0;
    const parser = parse({
      delimiter: sniffed.delimiter,
      bom: true,
      raw: true,
      relax_column_count: true,
      skip_empty_lines: true,
      max_record_size: this.#options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES,
      // With `raw`, csv-parse hands on_record `{ record, raw }` (its typings say string[]).
      on_record: (record) => {
        const value: unknown = record;
        if (isParsedRecord(value)) {
          lines.push(nextLine + leadingLineBreaks(value.raw));
          nextLine += lineBreaks(value.raw);
        }
        return record;
      },
    });
    // Errors of either side reach us through the parser's iterator.
    const source = this.#chunks(reader, prefix.splice(0), ended, sniffed.encoding);
    pipeline(Readable.from(source, { objectMode: false }), parser, () => {});

    // Drain the parser a readable event at a time: every record it has ready
    // goes into one batch.
    let wake: (() => void) | null = null;
    let finished = false;
    let failure: unknown = null;
    const signal = () => {
      wake?.();
      wake = null;
    };
    parser.on("readable", signal);
    parser.on("end", () => {
      finished = true;
      signal();
    });
    parser.on("error", (error) => {
      failure = error;
      signal();
    });
    try {
      for (;;) {
        const batch: CsvRecord[] = [];
        for (let item: unknown = parser.read(); item !== null; item = parser.read()) {
          const line = lines[head++];
          if (!isParsedRecord(item) || line === undefined) {
            throw new Error("csv-parse returned an unexpected record");
          }
          if (head === lines.length) {
            lines.length = 0;
            head = 0;
          }
          batch.push({ record: item.record, line });
        }
        if (batch.length > 0) yield batch;
        else if (failure !== null) throw failure;
        else if (finished) return;
        else await new Promise<void>((resolve) => wake = resolve);
      }
    } catch (error) {
      throw error instanceof CsvError ? toFormatError(error, nextLine) : error;
    } finally {
      parser.destroy();
    }
  }

  async *#chunks(
    reader: ReadableStreamDefaultReader<Uint8Array>,
    prefix: readonly Uint8Array[],
    ended: boolean,
    encoding: string,
  ): AsyncGenerator<Buffer> {
    // UTF-8 passes through as bytes, checked (never a silent U+FFFD); any other
    // encoding (UTF-16, Windows-1252, …) is decoded and re-encoded as UTF-8 for
    // the parser, by a decoder that fails rather than replace a character.
    const utf8 = encoding === "utf-8";
    const decoder = new TextDecoder(encoding, { fatal: true });
    const encoder = new TextEncoder();
    let lines = 0; // line breaks before the current chunk
    let tail: Uint8Array = new Uint8Array(0); // UTF-8: an incomplete character ending the last chunk
    const convert = (chunk: Uint8Array): Buffer => {
      let text: string;
      try {
        text = decoder.decode(chunk, { stream: true });
      } catch (error) {
        throw this.#encodingError(encoding, utf8, tail, chunk, lines, error);
      }
      if (utf8) {
        lines += countLineFeeds(chunk);
        tail = incompleteUtf8Tail(chunk, tail);
        return toBuffer(chunk);
      }
      lines += countLineFeedsInText(text);
      return toBuffer(encoder.encode(text));
    };
    try {
      for (const chunk of prefix) yield convert(chunk);
      while (!ended) {
        const { done, value } = await reader.read();
        if (done) break;
        this.#bytesRead += value.byteLength;
        yield convert(value);
      }
      let rest: string;
      try {
        rest = decoder.decode();
      } catch (error) {
        throw new CsvFormatError(
          lines + 1,
          `the file ends in the middle of a character (it is not valid ${encoding})`,
          "CSV_INVALID_ENCODING",
          { cause: error },
        );
      }
      if (!utf8 && rest !== "") yield toBuffer(encoder.encode(rest));
    } finally {
      // Stops a file or HTTP body we no longer need (early exit or error).
      await reader.cancel().catch(() => {});
    }
  }

  #encodingError(
    encoding: string,
    utf8: boolean,
    tail: Uint8Array,
    chunk: Uint8Array,
    linesBefore: number,
    cause: unknown,
  ): CsvFormatError {
    let line = linesBefore + 1;
    let what = "";
    if (utf8) {
      const bytes = new Uint8Array(tail.length + chunk.length);
      bytes.set(tail);
      bytes.set(chunk, tail.length);
      const at = firstInvalidUtf8(bytes);
      line += countLineFeeds(bytes.subarray(0, at));
      const byte = bytes[at];
      if (byte !== undefined) {
        what = ` (byte 0x${byte.toString(16).toUpperCase().padStart(2, "0")})`;
      }
    } else {
      const text = new TextDecoder(encoding).decode(chunk);
      const at = text.indexOf("\ufffd");
      line += countLineFeedsInText(at < 0 ? text : text.slice(0, at));
    }
    const source = this.#encoding?.source;
    const hint = utf8
      ? source === "option"
        ? ""
        : "; the start of the file is UTF-8 but this line is not: fix the line, or, if the " +
          "whole file was saved in another encoding, name it with --encoding (e.g. windows-1252)"
      : "; check --encoding";
    return new CsvFormatError(
      line,
      `the text is not valid ${encoding}${what}; nothing was replaced or guessed${hint}`,
      "CSV_INVALID_ENCODING",
      { cause },
    );
  }
}

/** Reads `input` as CSV records (see {@link CsvReader}). */
export function readCsv(
  input: ReadableStream<Uint8Array>,
  options: CsvReaderOptions = {},
): CsvReader {
  return new CsvReader(input, options);
}

interface ParsedRecord {
  readonly record: string[];
  readonly raw: string;
}

function isParsedRecord(value: unknown): value is ParsedRecord {
  if (typeof value !== "object" || value === null) return false;
  if (!("record" in value) || !("raw" in value)) return false;
  return typeof value.raw === "string" && isStringArray(value.record);
}

function isStringArray(value: unknown): value is string[] {
  if (!Array.isArray(value)) return false;
  for (const item of value) if (typeof item !== "string") return false;
  return true;
}

function toBuffer(chunk: Uint8Array): Buffer {
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

function concat(chunks: readonly Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1 && chunks[0]) return chunks[0];
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** Line breaks in a record's raw text: CRLF, LF and a lone CR each count once. */
export function lineBreaks(raw: string): number {
  let count = 0;
  for (let i = raw.indexOf("\n"); i !== -1; i = raw.indexOf("\n", i + 1)) count++;
  for (let i = raw.indexOf("\r"); i !== -1; i = raw.indexOf("\r", i + 1)) {
    if (raw.charCodeAt(i + 1) !== LF) count++;
  }
  return count;
}

// Skipped empty lines are kept at the front of the next record's raw text.
function leadingLineBreaks(raw: string): number {
  let end = 0;
  while (end < raw.length && (raw.charCodeAt(end) === LF || raw.charCodeAt(end) === CR)) end++;
  return end === 0 ? 0 : lineBreaks(raw.slice(0, end));
}

interface Sniffed {
  /** A WHATWG encoding name. */
  readonly encoding: string;
  readonly encodingSource: CsvEncoding["source"];
  readonly delimiter: CsvDelimiter;
  /** The header line ended within the bytes seen. */
  readonly headerComplete: boolean;
}

/**
 * Picks the encoding (see {@link CsvReaderOptions.encoding}) and the delimiter
 * that occurs most often, outside quotes, in the header line (ties: comma,
 * then semicolon, then tab; none: comma).
 */
function sniff(bytes: Uint8Array, label: string | undefined): Sniffed {
  let encoding = "utf-8";
  let encodingSource: CsvEncoding["source"] = "bom";
  let start = 0;
  if (label !== undefined) {
    encoding = new TextDecoder(label).encoding;
    encodingSource = "option";
  } else if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
  else if (bytes[0] === 0xff && bytes[1] === 0xfe) [encoding, start] = ["utf-16le", 2];
  else if (bytes[0] === 0xfe && bytes[1] === 0xff) [encoding, start] = ["utf-16be", 2];
  else {
    encodingSource = "detected";
    encoding = looksLikeWindows1252(bytes) ? "windows-1252" : "utf-8";
  }
  const text = new TextDecoder(encoding).decode(bytes.subarray(start));
  const counts = { ",": 0, ";": 0, "\t": 0 };
  let quoted = false;
  let headerComplete = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') quoted = !quoted;
    else if (quoted) continue;
    else if (ch === "\n" || ch === "\r") {
      headerComplete = true;
      break;
    } else if (ch === "," || ch === ";" || ch === "\t") counts[ch]++;
  }
  let delimiter: CsvDelimiter = ",";
  if (counts[";"] > counts[delimiter]) delimiter = ";";
  if (counts["\t"] > counts[delimiter]) delimiter = "\t";
  return { encoding, encodingSource, delimiter, headerComplete };
}

/**
 * True when the start of a file without a byte order mark is not UTF-8 and
 * holds no UTF-8 character beyond ASCII either: what Excel on Windows writes.
 * A start that mixes valid UTF-8 letters with invalid bytes is read as UTF-8,
 * so the invalid bytes are an error naming their line (never mojibake).
 */
function looksLikeWindows1252(bytes: Uint8Array): boolean {
  const end = bytes.length - incompleteUtf8Tail(bytes, new Uint8Array(0)).length;
  const head = bytes.subarray(0, end);
  if (firstInvalidUtf8(head) === head.length) return false;
  return !/[\u0080-\ufffc\ufffe\uffff]/.test(new TextDecoder().decode(head));
}

/** Offset of the first byte that is not part of a valid UTF-8 character (length when none). */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] ?? 0;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) [need, min] = [1, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [need, min] = [2, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [need, min] = [3, 0x10000];
    else return i;
    let code = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      code = (code << 6) | (c & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return i;
    i += need + 1;
  }
  return bytes.length;
}

/**
 * The bytes at the end of `chunk` that start a UTF-8 character the chunk
 * does not finish (joined to `previous` when the chunk is all continuation).
 */
function incompleteUtf8Tail(chunk: Uint8Array, previous: Uint8Array): Uint8Array {
  for (let back = 1; back <= 3 && back <= chunk.length; back++) {
    const b = chunk[chunk.length - back] ?? 0;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back
    if (b < 0x80) return new Uint8Array(0);
    const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
    return length > back ? chunk.slice(chunk.length - back) : new Uint8Array(0);
  }
  if (chunk.length < 3) {
    const joined = new Uint8Array(previous.length + chunk.length);
    joined.set(previous);
    joined.set(chunk, previous.length);
    return joined.length <= 3 ? joined : joined.slice(joined.length - 3);
  }
  return new Uint8Array(0);
}

function countLineFeeds(bytes: Uint8Array): number {
  let count = 0;
  for (let i = bytes.indexOf(LF); i !== -1; i = bytes.indexOf(LF, i + 1)) count++;
  return count;
}

function countLineFeedsInText(text: string): number {
  let count = 0;
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) count++;
  return count;
}

function toFormatError(error: CsvError, nextLine: number): CsvFormatError {
  const raw = typeof error.raw === "string" ? error.raw : "";
  const start = nextLine + leadingLineBreaks(raw);
  const at = nextLine + lineBreaks(raw);
  const column = typeof error.column === "number" ? ` (field ${error.column + 1})` : "";
  const record = at !== start ? ` in the record that starts on line ${start}` : "";
  const options = { cause: error };
  switch (error.code) {
    case "CSV_INVALID_CLOSING_QUOTE": {
      const got = /got "(.*?)"/.exec(error.message)?.[1];
      return new CsvFormatError(
        at,
        `a quoted field${column}${record} is closed by a quote followed by ` +
          `${got === undefined ? "a character" : JSON.stringify(got)} instead of a delimiter ` +
          'or the end of the line (inside a quoted field, write a quote as "")',
        error.code,
        options,
      );
    }
    case "INVALID_OPENING_QUOTE":
      return new CsvFormatError(
        at,
        `a quote appears inside an unquoted field${column}${record}; quote the whole field ` +
          'and write each inner quote as ""',
        error.code,
        options,
      );
    case "CSV_QUOTE_NOT_CLOSED":
      return new CsvFormatError(
        start,
        "a quoted field opened in the record that starts here is never closed " +
          "(the rest of the file was read into it)",
        error.code,
        options,
      );
    case "CSV_MAX_RECORD_SIZE":
      return new CsvFormatError(
        start,
        `the record that starts here grows past ${
          error.message.match(/of (\d+)/)?.[1] ?? "the maximum"
        } bytes, most likely because a quoted field is never closed`,
        error.code,
        options,
      );
    default:
      return new CsvFormatError(at, error.message, error.code, options);
  }
}
