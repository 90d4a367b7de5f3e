/**
 * The audit log writer: appends verified webhooks to daily JSONL files with a
 * hash chain, durably (an append resolves only after the fsync covering its
 * line), using group commit so concurrent requests share one write and one
 * fsync. Owns recovery on open: finding the chain tip in the newest file and
 * moving a torn last line (from a crash mid-write) out of the way.
 */
import { join } from "node:path";
import { dayToWrite, MAX_DAYS_AHEAD, utcDay } from "./audit_clock.ts";
import { parseDayFileName, plainDayFileName } from "./audit_files.ts";
import { isAuditFileName, readAuditFileLines } from "./audit_reader.ts";
import {
  type AuditEntryFields,
  type AuditEntryInput,
  type AuditRecord,
  chainRecord,
  GENESIS_HASH,
  MAX_AUDIT_LINE_BYTES,
  parseRecordLine,
  prepareEntry,
  serializeRecord,
} from "./audit_record.ts";
import { messageOf } from "../error_message.ts";

/** An open audit log. */
export interface AuditLog {
  /**
   * Appends one entry; resolves with its record once the line is fsync'd.
   * Rejects with an {@link AuditLogError} when the line could not be made
   * durable: the caller must then answer 503 and not apply the event.
   */
  append(entry: AuditEntryInput): Promise<AuditRecord>;
  /** Waits for queued appends to be written, then closes the file. */
  close(): Promise<void>;
  /** False once a failed write could not be undone; every append then rejects. */
  readonly healthy: boolean;
  /** The seq of the last durable line (0 for an empty log). */
  readonly lastSeq: number;
  /**
   * Why the last append failed, or null when it succeeded (or none was tried):
   * the real outcome of writing, which a probe file cannot show (a full disk
   * still lets an empty file be created). Names no path.
   */
  readonly failure: string | null;
}

/** The part of an open file the writer uses (a `Deno.FsFile` is one). */
export interface AuditFileHandle {
  read(buffer: Uint8Array): Promise<number | null>;
  seek(offset: number, whence: Deno.SeekMode): Promise<number>;
  write(data: Uint8Array): Promise<number>;
  syncData(): Promise<void>;
  truncate(length?: number): Promise<void>;
  stat(): Promise<{ readonly size: number; readonly ino?: number | null }>;
  close(): void;
}

/** The file system driver, injectable so tests can make writes or syncs fail. */
export interface AuditFs {
  open(path: string, options: Deno.OpenOptions): Promise<AuditFileHandle>;
  mkdir(path: string, options: Deno.MkdirOptions): Promise<void>;
  readDir(
    path: string,
  ): AsyncIterable<
    { readonly name: string; readonly isFile: boolean; readonly isSymlink?: boolean }
  >;
  /**
   * The entry at `path` itself (not followed). When a driver has it, the writer
   * refuses symlinks and notices its file being deleted or replaced.
   */
  lstat?(path: string): Promise<{ readonly isSymlink: boolean; readonly ino: number | null }>;
}

/** Options for {@link openAuditLog}. */
export interface OpenAuditLogOptions {
  /** The audit directory; created (mode 0700) when missing. */
  readonly dir: string;
  /** Picks the daily file a batch goes to (UTC date); defaults to the system clock. */
  readonly clock?: () => Date;
  /** Told about torn lines moved aside and other non-fatal trouble; defaults to `console.warn`. */
  readonly onWarning?: (message: string) => void;
  /** The file system; defaults to Deno's ({@link denoAuditFs}). */
  readonly fs?: AuditFs;
  /**
   * Days past the newest day file a new one may be opened at start (a clock
   * further ahead is taken for a wrong clock); defaults to {@link MAX_DAYS_AHEAD}.
   * The allowance grows with the time the log has been open.
   */
  readonly maxDaysAhead?: number;
  /** A clock that never steps (ms), for that allowance; `performance.now` by default. */
  readonly monotonicMs?: () => number;
}

/** An append that could not be made durable, or a log that cannot be opened. */
export class AuditLogError extends Error {
  override name = "AuditLogError";
}

/** The real file system. */
export function denoAuditFs(): AuditFs {
  return {
    open: (path, options) => Deno.open(path, options),
    mkdir: (path, options) => Deno.mkdir(path, options),
    readDir: (path) => Deno.readDir(path),
    lstat: (path) => Deno.lstat(path),
  };
}

/**
 * Opens the audit log in `options.dir`: recovers the chain tip (seq and hash)
 * from the newest file's last complete line, moving a torn last line aside
 * with a warning, and returns the writer. Throws an {@link AuditLogError} when
 * the directory is unusable or the newest file is damaged beyond a torn tail.
 */
export async function openAuditLog(options: OpenAuditLogOptions): Promise<AuditLog> {
  const fs = options.fs ?? denoAuditFs();
  const clock = options.clock ?? (() => new Date());
  const warn = options.onWarning ?? ((message: string) => console.warn(message));
  try {
    await fs.mkdir(options.dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new AuditLogError(
      `cannot create the audit directory ${options.dir}: ${messageOf(error)}`,
      { cause: error },
    );
  }
  const tip = await recoverChainTip(fs, options.dir, clock, warn);
  return new GroupCommitAuditLog(fs, options.dir, clock, warn, tip, {
    maxDaysAhead: options.maxDaysAhead ?? MAX_DAYS_AHEAD,
    monotonicMs: options.monotonicMs ?? (() => performance.now()),
  });
}

/** Where the chain stands: the last durable line's seq and hash. */
interface ChainTip {
  readonly seq: number;
  readonly hash: string;
  /** The newest audit file on disk; later batches never go to an older one. */
  readonly newestFile: string | null;
}

interface PendingAppend {
  readonly fields: AuditEntryFields;
  readonly size: number;
  readonly resolve: (record: AuditRecord) => void;
  readonly reject: (error: Error) => void;
}

/** A batch stops growing past this many bytes (but always holds at least one line). */
const MAX_BATCH_BYTES = 16 * 1024 * 1024;

class GroupCommitAuditLog implements AuditLog {
  readonly #fs: AuditFs;
  readonly #dir: string;
  readonly #clock: () => Date;
  readonly #warn: (message: string) => void;
  readonly #encoder = new TextEncoder();

  #queue: PendingAppend[] = [];
  #draining = false;
  #idle: Promise<void> = Promise.resolve();
  #closed = false;
  #unhealthy: string | null = null;
  #lastFailure: string | null = null;

  #seq: number;
  #hash: string;
  #newestFile: string | null;
  #file: AuditFileHandle | null = null;
  #fileName: string | null = null;
  #fileSize = 0;
  #fileIno: number | null = null;
  readonly #maxDaysAhead: number;
  readonly #monotonicMs: () => number;
  readonly #openedAtMs: number;
  #refusedDay: string | null = null;

  constructor(
    fs: AuditFs,
    dir: string,
    clock: () => Date,
    warn: (message: string) => void,
    tip: ChainTip,
    ahead: { readonly maxDaysAhead: number; readonly monotonicMs: () => number },
  ) {
    this.#maxDaysAhead = ahead.maxDaysAhead;
    this.#monotonicMs = ahead.monotonicMs;
    this.#openedAtMs = ahead.monotonicMs();
    this.#fs = fs;
    this.#dir = dir;
    this.#clock = clock;
    this.#warn = warn;
    this.#seq = tip.seq;
    this.#hash = tip.hash;
    this.#newestFile = tip.newestFile;
  }

  get healthy(): boolean {
    return this.#unhealthy === null;
  }

  get lastSeq(): number {
    return this.#seq;
  }

  get failure(): string | null {
    return this.#unhealthy !== null
      ? "unusable until restarted after a write that could not be undone"
      : this.#lastFailure;
  }

  append(entry: AuditEntryInput): Promise<AuditRecord> {
    if (this.#closed) return Promise.reject(new AuditLogError("the audit log is closed"));
    if (this.#unhealthy !== null) return Promise.reject(this.#unhealthyError());
    let fields: AuditEntryFields;
    try {
      fields = prepareEntry(entry);
    } catch (error) {
      return Promise.reject(
        new AuditLogError(`cannot record the entry: ${messageOf(error)}`, { cause: error }),
      );
    }
    // Rough line size (for batch limits only): the body dominates it.
    const size = (fields.body?.length ?? fields.body_base64?.length ?? 0) + 512;
    return new Promise<AuditRecord>((resolve, reject) => {
      this.#queue.push({ fields, size, resolve, reject });
      if (!this.#draining) {
        this.#draining = true;
        this.#idle = this.#drain();
      }
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    while (this.#draining) await this.#idle;
    if (this.#file !== null) {
      const file = this.#file;
      this.#file = null;
      this.#fileName = null;
      file.close();
    }
  }

  /** The one writer loop: whatever queued while the last batch was written is the next batch. */
  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#takeBatch();
        try {
          await this.#writeBatch(batch);
        } catch (error) {
          // #writeBatch settles its batch itself; this is only a safety net.
          const failure = new AuditLogError(`audit write failed: ${messageOf(error)}`, {
            cause: error,
          });
          for (const pending of batch) pending.reject(failure);
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  #takeBatch(): PendingAppend[] {
    let bytes = 0;
    let count = 0;
    for (const pending of this.#queue) {
      if (count > 0 && bytes + pending.size > MAX_BATCH_BYTES) break;
      bytes += pending.size;
      count++;
    }
    return this.#queue.splice(0, count);
  }

  async #writeBatch(batch: readonly PendingAppend[]): Promise<void> {
    if (this.#unhealthy !== null) {
      const error = this.#unhealthyError();
      for (const pending of batch) pending.reject(error);
      return;
    }

    let name = "(unknown)";
    let file: AuditFileHandle;
    try {
      name = await this.#targetFileName();
      file = await this.#fileFor(name);
    } catch (error) {
      const failure = new AuditLogError(
        `cannot open audit file ${name} in ${this.#dir}: ${messageOf(error)}`,
        { cause: error },
      );
      this.#lastFailure = `cannot open the audit file: ${errorKind(error)}`;
      for (const pending of batch) pending.reject(failure);
      return;
    }

    let seq = this.#seq;
    let hash = this.#hash;
    const records: AuditRecord[] = [];
    const lines: string[] = [];
    for (const pending of batch) {
      seq++;
      const record = chainRecord(seq, hash, pending.fields);
      hash = record.hash;
      records.push(record);
      lines.push(serializeRecord(record), "\n");
    }
    const bytes = this.#encoder.encode(lines.join(""));
    const sizeBefore = this.#fileSize;

    try {
      await writeAll(file, bytes);
      await file.syncData();
    } catch (error) {
      const failure = new AuditLogError(
        `could not write ${batch.length} audit line(s) to ${name}: ${messageOf(error)}`,
        { cause: error },
      );
      this.#lastFailure = `the last append could not be written: ${errorKind(error)}`;
      await this.#rollBack(file, name, sizeBefore, error);
      for (const pending of batch) pending.reject(failure);
      return;
    }
    this.#lastFailure = null;

    this.#fileSize = sizeBefore + bytes.length;
    this.#seq = seq;
    this.#hash = hash;
    batch.forEach((pending, index) => {
      const record = records[index];
      if (record !== undefined) pending.resolve(record);
    });
  }

  /** Undoes a failed batch so the file ends at the last durable line again. */
  async #rollBack(
    file: AuditFileHandle,
    name: string,
    sizeBefore: number,
    cause: unknown,
  ): Promise<void> {
    try {
      await file.truncate(sizeBefore);
    } catch (error) {
      this.#unhealthy = `a write to ${name} failed (${messageOf(cause)}) and the file could ` +
        `not be cut back to its last durable line (${messageOf(error)})`;
      this.#warn(`audit log is unusable until restarted: ${this.#unhealthy}`);
      return;
    }
    // Best effort: if this fails too, the next batch's successful fsync makes the cut durable.
    await file.syncData().catch(() => {});
  }

  /**
   * Today's file (UTC), but never one older than the newest on disk (the
   * clock may step back), nor a day far past it (a clock that jumped forward
   * would put every later line in a far-future file): see `dayToWrite`.
   */
  async #targetFileName(): Promise<string> {
    const newestDay = this.#newestFile === null
      ? null
      : parseDayFileName(this.#newestFile)?.day ?? null;
    const openDays = Math.floor((this.#monotonicMs() - this.#openedAtMs) / 86_400_000);
    const target = dayToWrite(utcDay(this.#clock()), newestDay, this.#maxDaysAhead + openDays);
    let day = target.day;
    if (day === newestDay && this.#fileName !== plainDayFileName(day)) {
      // The newest day may be compressed already (closed, then the clock stepped back or
      // jumped): a plain file beside it would hide its lines from the readers. Next day, then.
      const plain = await this.#fs.lstat?.(join(this.#dir, plainDayFileName(day))).catch(
        (error) => {
          if (error instanceof Deno.errors.NotFound) return null;
          throw error;
        },
      );
      if (plain === null) day = nextDay(day);
    }
    if (target.refused !== null && target.refused !== this.#refusedDay) {
      this.#refusedDay = target.refused;
      this.#warn(
        `the clock reads ${target.refused}, more than ${this.#maxDaysAhead} days after the ` +
          `newest audit day ${target.day}: not opening a day file that far ahead (a clock that ` +
          `jumped forward?); lines go on in ${plainDayFileName(day)}. If the clock is right ` +
          `(the service was down that long), create an empty ` +
          `${join(this.#dir, plainDayFileName(target.refused))} (mode 0600) and restart.`,
      );
    }
    return plainDayFileName(day);
  }

  async #fileFor(name: string): Promise<AuditFileHandle> {
    const path = join(this.#dir, name);
    if (this.#file !== null && this.#fileName === name) {
      const changed = await this.#replacedUnderUs(path);
      if (changed === null) return this.#file;
      // Writing on would put acknowledged lines into a file nobody can read back.
      this.#warn(
        `audit file ${path} ${changed} while the service was running; reopening it. ` +
          `The lines written to it before are not in the log any more: "audit verify" ` +
          `will name the gap.`,
      );
      this.#file.close();
      this.#file = null;
      this.#fileName = null;
    }
    const existing = await this.#fs.lstat?.(path).catch((error) => {
      if (error instanceof Deno.errors.NotFound) return null;
      throw error;
    });
    if (existing?.isSymlink) {
      throw new AuditLogError(
        `${path} is a symbolic link; audit files are never followed through links`,
      );
    }
    const file = await this.#fs.open(path, {
      append: true,
      create: true,
      mode: 0o600,
    });
    let size: number;
    let ino: number | null;
    try {
      const stat = await file.stat();
      size = stat.size;
      ino = stat.ino ?? null;
    } catch (error) {
      file.close();
      throw error;
    }
    if (size === 0) await this.#syncDirectory();
    if (this.#file !== null) this.#file.close();
    this.#file = file;
    this.#fileName = name;
    this.#fileSize = size;
    this.#fileIno = ino;
    this.#newestFile = name;
    return file;
  }

  /** Null while `path` is still the open file; else what happened to it. */
  async #replacedUnderUs(path: string): Promise<string | null> {
    if (this.#fs.lstat === undefined) return null;
    try {
      const entry = await this.#fs.lstat(path);
      if (entry.isSymlink) return "was replaced by a symbolic link";
      if (this.#fileIno !== null && entry.ino !== null && entry.ino !== this.#fileIno) {
        return "was replaced by another file";
      }
      return null;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return "was deleted";
      throw error;
    }
  }

  /** Makes a new file's directory entry durable; a failure is warned about, not fatal. */
  async #syncDirectory(): Promise<void> {
    try {
      const dir = await this.#fs.open(this.#dir, { read: true });
      try {
        await dir.syncData();
      } finally {
        dir.close();
      }
    } catch (error) {
      this.#warn(`could not fsync the audit directory ${this.#dir}: ${messageOf(error)}`);
    }
  }

  #unhealthyError(): AuditLogError {
    return new AuditLogError(
      `the audit log is unusable until the service is restarted: ${this.#unhealthy}`,
    );
  }
}

/** The UTC day after `day` (`YYYY-MM-DD`). */
function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

/** The kind of an I/O error without its message (which may hold a path), for `/readyz`. */
function errorKind(error: unknown): string {
  if (error instanceof Error) {
    const code = "code" in error && typeof error.code === "string" ? ` (${error.code})` : "";
    return `${error.name}${code}`;
  }
  return "unknown error";
}

/** Writes every byte, looping on partial writes. */
async function writeAll(file: AuditFileHandle, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    const written = await file.write(bytes.subarray(offset));
    if (written <= 0) {
      throw new Error(`write returned ${written} with ${bytes.length - offset} bytes left`);
    }
    offset += written;
  }
}

/** Finds the chain tip, newest file first; files that are empty (or only torn) are skipped. */
async function recoverChainTip(
  fs: AuditFs,
  dir: string,
  clock: () => Date,
  warn: (message: string) => void,
): Promise<ChainTip> {
  const names: string[] = [];
  // Closed days may have been compressed (audit_compaction.ts): the chain continues from them.
  const compressed = new Map<string, string>();
  try {
    for await (const entry of fs.readDir(dir)) {
      if (entry.isSymlink && isAuditFileName(entry.name)) {
        throw new AuditLogError(
          `audit file ${join(dir, entry.name)} is a symbolic link; audit files are never ` +
            `followed through links. Replace it with the file itself.`,
        );
      }
      if (entry.isFile && isAuditFileName(entry.name)) names.push(entry.name);
      const day = entry.isFile ? parseDayFileName(entry.name) : null;
      if (day?.compressed) compressed.set(plainDayFileName(day.day), entry.name);
    }
  } catch (error) {
    if (error instanceof AuditLogError) throw error;
    throw new AuditLogError(`cannot list the audit directory ${dir}: ${messageOf(error)}`, {
      cause: error,
    });
  }
  const plainNames = new Set(names);
  for (const plain of compressed.keys()) if (!plainNames.has(plain)) names.push(plain);
  names.sort();
  const newestFile = names.at(-1) ?? null;
  for (let index = names.length - 1; index >= 0; index--) {
    const name = names[index];
    if (name === undefined) continue;
    const gz = compressed.get(name);
    // When a day has both forms (compaction interrupted), the plain file is the log's.
    const last = gz !== undefined && !plainNames.has(name)
      ? await lastCompressedRecord(dir, gz)
      : await recoverFile(fs, dir, name, clock, warn);
    if (last !== null) return { seq: last.seq, hash: last.hash, newestFile };
  }
  return { seq: 0, hash: GENESIS_HASH, newestFile };
}

/** The last record of a compressed (closed, verified) day, read by streaming through it. */
async function lastCompressedRecord(dir: string, name: string): Promise<AuditRecord | null> {
  let last: string | null = null;
  try {
    for await (const line of readAuditFileLines(dir, name)) {
      if (line.endsWithNewline && line.text !== "") last = line.text;
    }
    return last === null ? null : parseRecordLine(last);
  } catch (error) {
    throw new AuditLogError(
      `cannot read the chain tip from audit file ${join(dir, name)}: ${messageOf(error)}. ` +
        `Run "symbo-crm audit verify" to locate the damage.`,
      { cause: error },
    );
  }
}

const TAIL_CHUNK = 64 * 1024;
const NEWLINE = 0x0a;

/**
 * Returns the last complete record of one file, after moving a torn tail out
 * of it: bytes after the last newline (a write cut short) and, if it does not
 * parse, the last newline-terminated line too. Reads only the file's tail.
 */
async function recoverFile(
  fs: AuditFs,
  dir: string,
  name: string,
  clock: () => Date,
  warn: (message: string) => void,
): Promise<AuditRecord | null> {
  const path = join(dir, name);
  let file: AuditFileHandle;
  try {
    file = await fs.open(path, { read: true, write: true });
  } catch (error) {
    throw new AuditLogError(`cannot open audit file ${path}: ${messageOf(error)}`, {
      cause: error,
    });
  }
  try {
    const size = (await file.stat()).size;
    if (size === 0) return null;
    const tail = await readTail(file, size);
    const newlines: number[] = [];
    tail.bytes.forEach((byte, index) => {
      if (byte === NEWLINE) newlines.push(tail.start + index);
    });

    // Only bytes after the last newline can be torn: a line that ends with its
    // newline was written whole (and may have been acknowledged), so if it does
    // not parse it was damaged afterwards, and guessing would hide that.
    const lastNewline = newlines.at(-1);
    const cut = lastNewline === undefined ? 0 : lastNewline + 1;
    let record: AuditRecord | null = null;
    if (lastNewline !== undefined) {
      const before = newlines.at(-2);
      if (before === undefined && tail.start > 0) {
        throw new AuditLogError(`internal error: the tail read of ${path} is too short`);
      }
      const start = before === undefined ? 0 : before + 1;
      const text = new TextDecoder().decode(
        tail.bytes.subarray(start - tail.start, lastNewline - tail.start),
      );
      try {
        record = parseRecordLine(text);
      } catch (error) {
        const lineNumber = (await countNewlines(file, start)) + 1;
        throw new AuditLogError(
          `audit file ${path} is damaged: line ${lineNumber} ends with a newline but does not ` +
            `parse (${messageOf(error)}). It was written whole, so it is not a torn write. Run ` +
            `"symbo-crm audit verify" to locate the damage; the log will not be appended to ` +
            `until the file is repaired or moved aside.`,
          { cause: error },
        );
      }
    }
    const reason = "it has no trailing newline";

    if (cut < size) {
      const fragment = tail.bytes.slice(cut - tail.start);
      const lineNumber = (await countNewlines(file, cut)) + 1;
      const savedAs = await saveFragment(fs, path, fragment, clock());
      await file.truncate(cut);
      await file.syncData();
      const from = record === null
        ? "the previous file"
        : `line ${lineNumber - 1} (seq ${record.seq})`;
      warn(
        `audit file ${path} line ${lineNumber} is torn: ${reason}. It was cut short by a crash ` +
          `and never acknowledged; its ${fragment.length} bytes were moved to ${savedAs} and ` +
          `the chain continues from ${from}.`,
      );
    }
    return record;
  } catch (error) {
    if (error instanceof AuditLogError) throw error;
    throw new AuditLogError(`cannot recover audit file ${path}: ${messageOf(error)}`, {
      cause: error,
    });
  } finally {
    file.close();
  }
}

/** Reads backwards from the end until three newlines (or the file start) are in hand. */
async function readTail(
  file: AuditFileHandle,
  size: number,
): Promise<{ start: number; bytes: Uint8Array }> {
  const chunks: Uint8Array[] = [];
  let start = size;
  let newlines = 0;
  while (start > 0 && newlines < 3) {
    // The last complete line and a torn one after it are each at most one line long.
    if (size - start > 2 * MAX_AUDIT_LINE_BYTES + TAIL_CHUNK) {
      throw new Error(
        `its last lines are longer than ${MAX_AUDIT_LINE_BYTES} bytes, more than the writer ` +
          `ever writes: the file is damaged or was planted. Run "symbo-crm audit verify" to ` +
          `locate the damage`,
      );
    }
    const length = Math.min(TAIL_CHUNK, start);
    start -= length;
    const chunk = await readAt(file, start, length);
    chunks.unshift(chunk);
    for (const byte of chunk) if (byte === NEWLINE) newlines++;
  }
  const bytes = new Uint8Array(size - start);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return { start, bytes };
}

async function readAt(file: AuditFileHandle, offset: number, length: number): Promise<Uint8Array> {
  await file.seek(offset, Deno.SeekMode.Start);
  const buffer = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const read = await file.read(buffer.subarray(filled));
    if (read === null) throw new Error(`unexpected end of file at byte ${offset + filled}`);
    filled += read;
  }
  return buffer;
}

/** Counts newlines in the first `end` bytes, streaming (only needed for a torn file). */
async function countNewlines(file: AuditFileHandle, end: number): Promise<number> {
  let count = 0;
  for (let offset = 0; offset < end; offset += TAIL_CHUNK) {
    const chunk = await readAt(file, offset, Math.min(TAIL_CHUNK, end - offset));
    for (const byte of chunk) if (byte === NEWLINE) count++;
  }
  return count;
}

/** Saves torn bytes next to their file (`<file>.torn-<UTC time>`, 0600) before they are cut. */
async function saveFragment(
  fs: AuditFs,
  path: string,
  fragment: Uint8Array,
  now: Date,
): Promise<string> {
  const stamp = now.toISOString().replaceAll("-", "").replaceAll(":", "");
  for (let attempt = 1;; attempt++) {
    const target = `${path}.torn-${stamp}${attempt > 1 ? `-${attempt}` : ""}`;
    let file: AuditFileHandle;
    try {
      file = await fs.open(target, { write: true, createNew: true, mode: 0o600 });
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists && attempt < 100) continue;
      throw error;
    }
    try {
      await writeAll(file, fragment);
      await file.syncData();
    } finally {
      file.close();
    }
    return target;
  }
}
