/**
 * Reading the audit log back: which files belong to it, and a streaming walk
 * over their lines (files can be hundreds of MB, so nothing loads a whole
 * file). Used by `audit verify` and `audit replay`; the writer has its own
 * tail reader in `audit_log.ts`.
 */
import { join } from "node:path";
import { listAuditDayFiles, openDayText, parseDayFileName } from "./audit_files.ts";
import { type AuditRecord, parseRecordLine } from "./audit_record.ts";
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

/** Streams the lines of one audit file, plain or gzip (`file` is a name inside `dir`). */
export async function* readAuditFileLines(
  dir: string,
  file: string,
): AsyncGenerator<AuditLine, void, undefined> {
  const chunks = await openDayText(dir, file);
  let partial: string[] = [];
  let lineNumber = 0;
  // Leaving the loop early (break/return/throw) cancels the stream, which closes the file.
  for await (const chunk of chunks) {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf("\n", start);
      if (newline === -1) {
        if (start < chunk.length) partial.push(chunk.slice(start));
        break;
      }
      partial.push(chunk.slice(start, newline));
      const text = partial.join("");
      partial = [];
      lineNumber++;
      yield { file, lineNumber, text, endsWithNewline: true };
      start = newline + 1;
    }
  }
  if (partial.length > 0) {
    yield { file, lineNumber: lineNumber + 1, text: partial.join(""), endsWithNewline: false };
  }
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
