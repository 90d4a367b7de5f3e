/**
 * Finding audit lines by seq, to read an event's raw body back from the log
 * (the store keeps one copy of each body: the audit line's). A day file holds
 * a contiguous run of seqs, so the file of a seq is the last one whose first
 * line's seq is not above it; the first seq of each day is read once (one
 * line, cheap even gzip'd) and remembered. In a plain day (today's, which
 * can be hundreds of MB by evening) a line is found by bisecting the file on
 * byte offsets (lines are in seq order), reading a few small chunks. A gzip'd
 * day has no random access: it is scanned once for every wanted seq of that
 * day, with a prefix match on `{"seq":N,` so only the wanted lines are parsed.
 */
import { listAuditDayFiles, openRegularFile } from "./audit_files.ts";
import { readAuditFileLines } from "./audit_reader.ts";
import { type AuditRecord, parseRecordLine } from "./audit_record.ts";
import { messageOf } from "../error_message.ts";

/** One body wanted: the line's seq and the body hash the store recorded for it. */
export interface WantedBody {
  readonly seq: number;
  readonly sha256: string;
}

/** A body read back, or why it cannot be. */
export type BodyLookup =
  | { readonly found: true; readonly body: string }
  | { readonly found: false; readonly reason: string; readonly code: BodyMissingCode };

/**
 * Why a body is not available: `removed` — its line is no longer in the audit
 * folder (retention deleted or archived its day); `elsewhere` — another
 * instance's audit folder holds it; `mismatch` — the line at that seq holds a
 * different body (the folder was replaced); `unreadable` — reading failed.
 */
export type BodyMissingCode = "removed" | "elsewhere" | "mismatch" | "unreadable";

/** Reads event bodies back from the audit log (see the module comment). */
export interface AuditBodySource {
  /** This audit folder's instance id: bodies of other instances are not here. */
  readonly instance: string;
  /** The body of each wanted line, keyed by seq. */
  read(wanted: readonly WantedBody[]): Promise<Map<number, BodyLookup>>;
}

const SEQ_PREFIX = /^\{"seq":(\d+),/;

/** An {@link AuditBodySource} over the audit folder `dir` of instance `instance`. */
export class AuditBodyReader implements AuditBodySource {
  readonly instance: string;
  readonly #dir: string;
  /** First seq of each day file (by day, so the plain → gzip rename keeps it). */
  readonly #firstSeq = new Map<string, number>();

  /** Reads from `dir`, the audit folder whose instance id is `instance`. */
  constructor(dir: string, instance: string) {
    this.#dir = dir;
    this.instance = instance;
  }

  async read(wanted: readonly WantedBody[]): Promise<Map<number, BodyLookup>> {
    const results = new Map<number, BodyLookup>();
    if (wanted.length === 0) return results;
    let days: { day: string; name: string; first: number | null }[];
    try {
      const files = await listAuditDayFiles(this.#dir);
      days = [];
      for (const file of files) {
        days.push({ ...file, first: await this.#firstSeqOf(file.day, file.name) });
      }
    } catch (error) {
      for (const { seq } of wanted) results.set(seq, unreadable(seq, error));
      return results;
    }
    // Which day holds each wanted seq: the last day starting at or before it.
    const byDay = new Map<string, Map<number, WantedBody>>();
    for (const item of wanted) {
      let holder: { day: string; name: string } | null = null;
      for (const day of days) {
        if (day.first !== null && day.first <= item.seq) holder = day;
      }
      if (holder === null) {
        results.set(item.seq, removed(item.seq));
        continue;
      }
      const seqs = byDay.get(holder.name) ?? new Map<number, WantedBody>();
      seqs.set(item.seq, item);
      byDay.set(holder.name, seqs);
    }
    for (const [name, seqs] of byDay) {
      try {
        if (name.endsWith(".gz") || !(await this.#bisectAll(name, seqs, results))) {
          await this.#scan(name, seqs, results);
        }
      } catch (error) {
        for (const seq of seqs.keys()) {
          if (!results.has(seq)) results.set(seq, unreadable(seq, error));
        }
      }
      for (const seq of seqs.keys()) {
        if (!results.has(seq)) results.set(seq, removed(seq));
      }
    }
    return results;
  }

  /** One pass over a day file, taking the wanted lines; stops past the largest wanted seq. */
  async #scan(
    name: string,
    seqs: ReadonlyMap<number, WantedBody>,
    results: Map<number, BodyLookup>,
  ): Promise<void> {
    const last = Math.max(...seqs.keys());
    for await (const line of readAuditFileLines(this.#dir, name)) {
      if (!line.endsWithNewline) return;
      const match = SEQ_PREFIX.exec(line.text);
      if (match === null) continue;
      const seq = Number(match[1]);
      const item = seqs.get(seq);
      if (item !== undefined) results.set(seq, bodyOf(parseRecordLine(line.text), item));
      if (seq >= last) return;
    }
  }

  /**
   * Finds each wanted line of a plain day by bisection. False when the file is
   * gone (compressed since it was listed): the caller scans the `.gz` then.
   */
  async #bisectAll(
    name: string,
    seqs: ReadonlyMap<number, WantedBody>,
    results: Map<number, BodyLookup>,
  ): Promise<boolean> {
    let file: Deno.FsFile;
    try {
      file = await openRegularFile(this.#dir, name);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return false;
      throw error;
    }
    try {
      const size = (await file.stat()).size;
      for (const [seq, item] of seqs) {
        const text = await lineAt(file, size, seq);
        if (text !== null) results.set(seq, bodyOf(parseRecordLine(text), item));
      }
      return true;
    } finally {
      file.close();
    }
  }

  async #firstSeqOf(day: string, name: string): Promise<number | null> {
    const known = this.#firstSeq.get(day);
    if (known !== undefined) return known;
    for await (const line of readAuditFileLines(this.#dir, name)) {
      const match = line.endsWithNewline ? SEQ_PREFIX.exec(line.text) : null;
      if (match === null) return null;
      const seq = Number(match[1]);
      this.#firstSeq.set(day, seq);
      return seq;
    }
    return null; // an empty file (the day just opened)
  }
}

/** Bytes read at a time while bisecting a plain day. */
const CHUNK = 64 * 1024;

/**
 * The complete line of `seq` in a plain day file of `size` bytes, or null.
 * Bisects on byte offsets to the last line start known to hold a smaller seq,
 * then reads forward line by line.
 */
async function lineAt(file: Deno.FsFile, size: number, seq: number): Promise<string | null> {
  let low = 0; // a line start whose seq is below `seq` (or the file's start)
  let high = size; // every line starting at or after `high` has a seq ≥ `seq`
  while (high - low > CHUNK) {
    const middle = Math.floor((low + high) / 2);
    const start = await nextLineStart(file, middle, high);
    if (start === null) {
      high = middle;
      continue;
    }
    const found = await seqAt(file, start);
    if (found !== null && found < seq) low = start;
    else high = start;
  }
  for (let offset = low; offset < size;) {
    const line = await readLine(file, offset, size);
    if (line === null) return null;
    const match = SEQ_PREFIX.exec(line.text);
    const found = match === null ? null : Number(match[1]);
    if (found === seq) return line.text;
    if (found !== null && found > seq) return null;
    offset = line.next;
  }
  return null;
}

/** The offset just after the first newline at or after `from`, if it is before `limit`. */
async function nextLineStart(
  file: Deno.FsFile,
  from: number,
  limit: number,
): Promise<number | null> {
  const buffer = new Uint8Array(CHUNK);
  for (let offset = from; offset < limit;) {
    const read = await readAt(file, offset, buffer);
    if (read === 0) return null;
    const newline = buffer.subarray(0, read).indexOf(0x0a);
    if (newline !== -1) return offset + newline + 1 < limit ? offset + newline + 1 : null;
    offset += read;
  }
  return null;
}

/** The seq of the line starting at `offset` (from its first bytes), or null. */
async function seqAt(file: Deno.FsFile, offset: number): Promise<number | null> {
  const buffer = new Uint8Array(32);
  const read = await readAt(file, offset, buffer);
  const match = SEQ_PREFIX.exec(new TextDecoder().decode(buffer.subarray(0, read)));
  return match === null ? null : Number(match[1]);
}

/** The complete line starting at `offset` and where the next one starts; null when unterminated. */
async function readLine(
  file: Deno.FsFile,
  offset: number,
  size: number,
): Promise<{ text: string; next: number } | null> {
  const parts: Uint8Array[] = [];
  for (let at = offset; at < size;) {
    const buffer = new Uint8Array(Math.min(CHUNK, size - at));
    const read = await readAt(file, at, buffer);
    if (read === 0) return null;
    const newline = buffer.subarray(0, read).indexOf(0x0a);
    if (newline !== -1) {
      parts.push(buffer.subarray(0, newline));
      const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
      let filled = 0;
      for (const part of parts) {
        bytes.set(part, filled);
        filled += part.length;
      }
      return { text: new TextDecoder().decode(bytes), next: at + newline + 1 };
    }
    parts.push(buffer.subarray(0, read));
    at += read;
  }
  return null;
}

/** Reads up to `buffer.length` bytes at `offset`; the count read (0 at the end). */
async function readAt(file: Deno.FsFile, offset: number, buffer: Uint8Array): Promise<number> {
  await file.seek(offset, Deno.SeekMode.Start);
  let filled = 0;
  while (filled < buffer.length) {
    const read = await file.read(buffer.subarray(filled));
    if (read === null) break;
    filled += read;
  }
  return filled;
}

/** The lookup answer for a body kept by another instance's audit folder. */
export function bodyElsewhere(seq: number, instance: string): BodyLookup {
  return {
    found: false,
    code: "elsewhere",
    reason: `the body is in the audit log of instance ${instance} (audit line seq ${seq}), ` +
      "which received the event; ask that instance",
  };
}

function bodyOf(record: AuditRecord, item: WantedBody): BodyLookup {
  if (record.body_sha256 !== item.sha256 || record.body === undefined) {
    return {
      found: false,
      code: "mismatch",
      reason: `audit line seq ${item.seq} holds a different body than the store recorded ` +
        "(the audit folder was replaced or belongs to another store)",
    };
  }
  return { found: true, body: record.body };
}

function removed(seq: number): BodyLookup {
  return {
    found: false,
    code: "removed",
    reason: `audit line seq ${seq} is no longer in the audit folder ` +
      "(its day was archived or deleted by audit.keep_days)",
  };
}

function unreadable(seq: number, error: unknown): BodyLookup {
  return {
    found: false,
    code: "unreadable",
    reason: `audit line seq ${seq} could not be read: ${messageOf(error)}`,
  };
}
