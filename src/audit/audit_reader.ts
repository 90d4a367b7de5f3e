/**
 * Reading the audit log back: which files belong to it, and a streaming walk
 * over their lines (files can be hundreds of MB, so nothing loads a whole
 * file). Used by `audit verify` and `audit replay`; the writer has its own
 * tail reader in `audit_log.ts`.
 */
import { join } from "node:path";
import { listAuditDayFiles, openDayBytes, parseDayFileName } from "./audit_files.ts";
import { type AuditRecord, MAX_AUDIT_LINE_BYTES, parseRecordLine } from "./audit_record.ts";
import { messageOf } from "../error_message.ts";

const AUDIT_FILE_NAME = /^\d{4}-\d{2}-\d{2}\.jsonl$/;

/** One line of an audit file, as read (without its newline). */
export interface AuditLine {
  /** The file's name inside the audit directory, e.g. `2024-05-01.jsonl`. */
  readonly file: string;
  /** 1-based line number within the file. */
  readonly lineNumber: number;
  readonly text: string;
  /** False only for a last line cut short (a torn write). */
  readonly endsWithNewline: boolean;
}

/** One parsed record and where it was read. */
export interface AuditRecordAt {
  readonly file: string;
  readonly lineNumber: number;
  readonly record: AuditRecord;
}

/** A line of the log that cannot be used; the message names the file and line. */
export class AuditReadError extends Error {
  override name = "AuditReadError";
  readonly file: string;
  readonly lineNumber: number;

  /** Creates the error with a message `audit file <file> line <n>: <reason>`. */
  constructor(file: string, lineNumber: number, reason: string, options?: ErrorOptions) {
    super(`audit file ${file} line ${lineNumber}: ${reason}`, options);
    this.file = file;
    this.lineNumber = lineNumber;
  }
}

/** True for the name of a daily audit file (`YYYY-MM-DD.jsonl`). */
export function isAuditFileName(name: string): boolean {
  return AUDIT_FILE_NAME.test(name);
}

/**
/**
 * The daily audit files in `dir`, one per day, plain (`YYYY-MM-DD.jsonl`) or
 * compressed (`YYYY-MM-DD.jsonl.gz`), oldest first; `.torn-*` and other files
 * are ignored. Throws when `dir` does not exist or an audit file's name is a
 * symbolic link (a link could point anywhere, or at another day's file).
 */
export async function listAuditFiles(dir: string): Promise<string[]> {
  const files = await listAuditDayFiles(dir);
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isSymlink && parseDayFileName(entry.name) !== null) {
      throw new Error(
        `audit file ${join(dir, entry.name)} is a symbolic link; audit files are never ` +
          `followed through links (replace it with the file itself)`,
      );
    }
  }
  return files.map((file) => file.name);
}

/** Options for {@link readAuditFileLines}. */
export interface ReadAuditFileLinesOptions {
  /** A longer line stops the read with an error; defaults to {@link MAX_AUDIT_LINE_BYTES}. */
  readonly maxLineBytes?: number;
}

/**
 * Streams the lines of one audit file, plain or gzip (`file` is a name inside
 * `dir`). Splits the bytes on "\n" (a byte never inside a UTF-8 sequence) and
 * holds at most one line: a line longer than `maxLineBytes` (more than the
 * writer ever writes: damage, or a gzip bomb) throws an {@link AuditReadError}
 * naming the file and line before it is kept. An error reading or
 * decompressing the file is thrown as one too, naming the file.
 */
export async function* readAuditFileLines(
  dir: string,
  file: string,
  options: ReadAuditFileLinesOptions = {},
): AsyncGenerator<AuditLine, void, undefined> {
  const maxLineBytes = options.maxLineBytes ?? MAX_AUDIT_LINE_BYTES;
  const path = join(dir, file);
  const reader = (await openDayBytes(dir, file)).getReader();
  // A BOM is part of the line's bytes: kept, so it shows as damage.
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  let partial: Uint8Array[] = [];
  let partialBytes = 0;
  let lineNumber = 0;
  const tooLong = () =>
    new AuditReadError(
      path,
      lineNumber + 1,
      `the line is longer than ${maxLineBytes} bytes, more than the writer ever writes (the ` +
        `largest allowed webhook body as base64): the file is damaged or was planted (a gzip ` +
        `bomb?); reading stopped there`,
    );
  try {
    for (;;) {
      let chunk: Uint8Array;
      try {
        const next = await reader.read();
        if (next.done) break;
        chunk = next.value;
      } catch (error) {
        throw new AuditReadError(path, lineNumber + 1, unreadable(file, error), { cause: error });
      }
      let start = 0;
      for (;;) {
        const newline = chunk.indexOf(0x0a, start);
        const end = newline === -1 ? chunk.length : newline;
        if (partialBytes + (end - start) > maxLineBytes) throw tooLong();
        if (newline === -1) {
          if (start < chunk.length) {
            // The chunk is this reader's own (each read returns a new buffer): no copy.
            partial.push(chunk.subarray(start));
            partialBytes += chunk.length - start;
          }
          break;
        }
        const text = decodeLine(decoder, partial, chunk.subarray(start, newline));
        partial = [];
        partialBytes = 0;
        lineNumber++;
        yield { file, lineNumber, text, endsWithNewline: true };
        start = newline + 1;
      }
    }
  } finally {
    // Leaving early (break/return/throw) cancels the stream, which closes the file.
    await reader.cancel().catch(() => {});
  }
  if (partial.length > 0) {
    const text = decodeLine(decoder, partial, new Uint8Array());
    yield { file, lineNumber: lineNumber + 1, text, endsWithNewline: false };
  }
}

/** The text of a line from the bytes kept of it so far and its last piece. */
function decodeLine(
  decoder: TextDecoder,
  partial: readonly Uint8Array[],
  last: Uint8Array,
): string {
  if (partial.length === 0) return decoder.decode(last);
  const bytes = new Uint8Array(partial.reduce((sum, part) => sum + part.length, last.length));
  let offset = 0;
  for (const part of partial) {
    bytes.set(part, offset);
    offset += part.length;
  }
  bytes.set(last, offset);
  return decoder.decode(bytes);
}

/** Why a file's bytes could not be read, in words (the runtime's message names no file). */
function unreadable(file: string, error: unknown): string {
  return file.endsWith(".gz")
    ? `the compressed data cannot be decompressed from here on: it is damaged, cut short, or ` +
      `has bytes after its end (${messageOf(error)})`
    : `the file cannot be read from here on (${messageOf(error)})`;
}

/** Streams every line of every audit file in `dir`, oldest file first. */
export async function* readAuditLines(dir: string): AsyncGenerator<AuditLine, void, undefined> {
  for (const file of await listAuditFiles(dir)) yield* readAuditFileLines(dir, file);
}

/** Options for {@link readAuditRecords}. */
export interface ReadAuditRecordsOptions {
  /** Told about a torn last line of the log, which is skipped (it was never acknowledged). */
  readonly onWarning?: (message: string) => void;
}

/**
 * Streams every record of the log in order, for replay. Throws an
 * {@link AuditReadError} naming the file and line at the first line that does
 * not parse. A torn last line of the whole log is skipped with a warning; a
 * torn line anywhere else is an error. Does not check the hash chain: run
 * `verifyAuditLog` for that.
 */
export async function* readAuditRecords(
  dir: string,
  options: ReadAuditRecordsOptions = {},
): AsyncGenerator<AuditRecordAt, void, undefined> {
  let torn: AuditLine | null = null;
  for await (const line of readAuditLines(dir)) {
    if (torn !== null) {
      throw new AuditReadError(torn.file, torn.lineNumber, TORN_IN_THE_MIDDLE);
    }
    if (!line.endsWithNewline) {
      torn = line;
      continue;
    }
    let record: AuditRecord;
    try {
      record = parseRecordLine(line.text);
    } catch (error) {
      const reason = messageOf(error);
      throw new AuditReadError(line.file, line.lineNumber, reason, { cause: error });
    }
    yield { file: line.file, lineNumber: line.lineNumber, record };
  }
  if (torn !== null) {
    options.onWarning?.(
      `audit file ${torn.file} line ${torn.lineNumber}: ${TORN_AT_THE_END}; skipped`,
    );
  }
}

/** Why a torn last line is harmless; shared with `audit verify`. */
export const TORN_AT_THE_END =
  "the last line has no trailing newline: a write cut short by a crash, never acknowledged " +
  "(the service moves it aside when it next opens the log)";

/** Why a torn line followed by more lines is not. */
export const TORN_IN_THE_MIDDLE =
  "the line has no trailing newline but more lines follow it (the file was cut or concatenated)";
