/**
 * Compression of closed audit days: `YYYY-MM-DD.jsonl` → `YYYY-MM-DD.jsonl.gz`
 * once the UTC day is over. The bytes inside are exactly the plain file's,
 * so the hash chain is untouched. Crash-safe by order: write a temp file,
 * fsync it, check it decompresses to the very same bytes (count of lines and
 * the last line's hash too), rename it into place, fsync the folder, and only
 * then remove the plain file. A crash at any point leaves the plain file, or
 * a verified compressed one (with, at worst, the plain one beside it, which
 * the readers prefer and the next run removes).
 *
 * gzip, not zstd: on realistic Symbo bodies both shrink a day ~7.7× at their
 * default levels (zstd -9 gains 8%, zstd -19 reaches ~10× but at under
 * 1 MB/s; `bench/audit_footprint.ts`), and gzip files open with `zcat`/`zgrep`
 * on any machine and stream through the standard `CompressionStream` in small
 * chunks, never holding the event loop for long.
 */
import { createHash } from "node:crypto";
import { dayToWrite, MAX_DAYS_AHEAD, utcDay } from "./audit_clock.ts";
import { join } from "node:path";
import {
  type AuditDayFile,
  compressedDayFileName,
  listAllDayFiles,
  openDayBytes,
  openRegularFile,
  syncDirectory,
} from "./audit_files.ts";
import { MAX_AUDIT_LINE_BYTES, parseRecordLine } from "./audit_record.ts";
import { messageOf } from "../error_message.ts";
import { pathExists } from "../owner_only_file.ts";

/** A day is closed this long after its UTC midnight, so an append begun at 23:59:59 has landed. */
export const DEFAULT_CLOSE_GRACE_MS = 5 * 60 * 1000;

const TEMP_SUFFIX = ".tmp";
const TEMP_NAME = /^\d{4}-\d{2}-\d{2}\.jsonl\.gz\.tmp$/;

/** Options for {@link compressClosedDays}. */
export interface CompactionOptions {
  /** The audit folder. */
  readonly dir: string;
  /** Now; days that ended more than `graceMs` before it are compressed. */
  readonly now: Date;
  /** Defaults to {@link DEFAULT_CLOSE_GRACE_MS}. */
  readonly graceMs?: number;
  /** Told about days left plain and why. */
  readonly onWarning?: (message: string) => void;
  /**
   * Test hook: runs after the named step for a day; throwing from it simulates
   * a crash at that point.
   */
  readonly afterStep?: (step: CompactionStep, day: string) => Promise<void> | void;
}

/** The points of a day's compression where a crash can be simulated. */
export type CompactionStep = "temp-written" | "renamed" | "plain-removed";

/** What one run did. */
export interface CompactionReport {
  /** Days compressed by this run, with their sizes. */
  readonly compressed: readonly { day: string; plainBytes: number; compressedBytes: number }[];
  /** Closed days left plain, with the reason (also warned about). */
  readonly skipped: readonly { day: string; reason: string }[];
}

/** What a stream of day bytes holds, compared between the plain and compressed forms. */
interface Summary {
  readonly bytes: number;
  readonly sha256: string;
  readonly lines: number;
  readonly endsWithNewline: boolean;
  /** The last line's text (without its newline), or null when empty. */
  readonly lastLine: string | null;
}

/**
 * Compresses every closed plain day in `dir` (see the module comment for the
 * order of steps), and finishes a run a crash interrupted. A day whose plain
 * file does not end in a complete, parseable line is left alone with a
 * warning: that is damage for `audit verify` to name, not something to seal.
 */
export async function compressClosedDays(options: CompactionOptions): Promise<CompactionReport> {
  const { dir } = options;
  const warn = options.onWarning ?? (() => {});
  const graceMs = options.graceMs ?? DEFAULT_CLOSE_GRACE_MS;
  await removeStaleTemps(dir);

  const files = await listAllDayFiles(dir);
  const compressed = new Set(files.filter((f) => f.compressed).map((f) => f.day));
  const report: {
    compressed: { day: string; plainBytes: number; compressedBytes: number }[];
    skipped: { day: string; reason: string }[];
  } = { compressed: [], skipped: [] };

  const newestDay = files.at(-1)?.day ?? null;
  for (const file of files) {
    if (file.compressed || !isClosed(file.day, options.now, graceMs)) continue;
    if (file.day === newestDay && dayToWrite(utcDay(options.now), newestDay).refused !== null) {
      // The writer does not open a day that far past the newest: it still appends here.
      const reason = `the writer still appends to it: the clock reads ${
        utcDay(options.now)
      }, more than ${MAX_DAYS_AHEAD} days after it (a clock that jumped forward?)`;
      report.skipped.push({ day: file.day, reason });
      warn(`audit file ${join(dir, file.name)} left uncompressed: ${reason}`);
      continue;
    }
    try {
      const done = await compressDay(dir, file, compressed.has(file.day), options);
      if (typeof done === "string") {
        report.skipped.push({ day: file.day, reason: done });
        warn(`audit file ${join(dir, file.name)} left uncompressed: ${done}`);
      } else if (done !== null) {
        report.compressed.push({ day: file.day, ...done });
      }
    } catch (error) {
      const reason = messageOf(error);
      report.skipped.push({ day: file.day, reason });
      warn(`audit file ${join(dir, file.name)} could not be compressed: ${reason}`);
    }
  }
  return report;
}

/** True once `day` (UTC) ended more than `graceMs` before `now`. */
export function isClosed(day: string, now: Date, graceMs: number): boolean {
  const end = Date.parse(`${day}T00:00:00Z`) + 86_400_000;
  return now.getTime() >= end + graceMs;
}

/**
 * Compresses one day. Returns the sizes, a reason to leave it plain, or null
 * for an empty file (nothing to gain).
 */
async function compressDay(
  dir: string,
  file: AuditDayFile,
  hasCompressed: boolean,
  options: CompactionOptions,
): Promise<{ plainBytes: number; compressedBytes: number } | string | null> {
  const plainPath = join(dir, file.name);
  const target = compressedDayFileName(file.day);
  const before = await Deno.lstat(plainPath);
  if (before.size === 0) return null;
  const plain = await summarize(await openDayBytes(dir, file.name));
  if (!plain.endsWithNewline) return "its last line has no trailing newline (torn)";
  try {
    parseRecordLine(plain.lastLine ?? "");
  } catch (error) {
    return `its last line is not a valid audit record (${messageOf(error)})`;
  }

  // An earlier run got as far as the rename: keep its file if it is right.
  if (hasCompressed) {
    const problem = await compare(plain, dir, target);
    if (problem !== null) {
      await Deno.remove(join(dir, target));
      await syncDirectory(dir);
    }
  }
  if (!hasCompressed || !(await pathExists(join(dir, target)))) {
    const temp = `${target}${TEMP_SUFFIX}`;
    await writeCompressed(dir, file.name, temp);
    await options.afterStep?.("temp-written", file.day);
    const problem = await compare(plain, dir, temp);
    if (problem !== null) {
      await Deno.remove(join(dir, temp));
      return `the compressed copy did not verify (${problem}); kept plain`;
    }
    await Deno.rename(join(dir, temp), join(dir, target));
    await syncDirectory(dir);
    await options.afterStep?.("renamed", file.day);
  }

  // The writer never returns to a closed day; a change here means something else wrote to it.
  const after = await Deno.lstat(plainPath);
  if (after.size !== before.size || after.mtime?.getTime() !== before.mtime?.getTime()) {
    await Deno.remove(join(dir, target));
    await syncDirectory(dir);
    return "the plain file changed while it was being compressed; will retry";
  }
  await Deno.remove(plainPath);
  await syncDirectory(dir);
  await options.afterStep?.("plain-removed", file.day);
  return { plainBytes: plain.bytes, compressedBytes: (await Deno.lstat(join(dir, target))).size };
}

/** Streams the plain file through gzip into `temp` (0600) and fsyncs it. */
async function writeCompressed(dir: string, source: string, temp: string): Promise<void> {
  const input = await openRegularFile(dir, source);
  // createNew (O_EXCL) never follows a link planted at the temp name.
  const output = await Deno.open(join(dir, temp), { write: true, createNew: true, mode: 0o600 });
  try {
    // Written by hand, not piped: the output is fsync'd before it is closed.
    for await (const chunk of input.readable.pipeThrough(new CompressionStream("gzip"))) {
      for (let offset = 0; offset < chunk.length;) {
        offset += await output.write(chunk.subarray(offset));
      }
    }
    await output.syncData();
  } finally {
    output.close();
  }
}

/** Null when the compressed file decompresses to exactly the plain summary, else what differs. */
async function compare(plain: Summary, dir: string, compressed: string): Promise<string | null> {
  let got: Summary;
  try {
    got = await summarize(await openDayBytes(dir, compressed, true));
  } catch (error) {
    return `it does not decompress: ${messageOf(error)}`;
  }
  if (got.lines !== plain.lines) return `${got.lines} lines instead of ${plain.lines}`;
  if (got.lastLine === null || plain.lastLine === null) return "no last line";
  if (parseRecordLine(got.lastLine).hash !== parseRecordLine(plain.lastLine).hash) {
    return "the last line's chain hash differs";
  }
  if (got.bytes !== plain.bytes || got.sha256 !== plain.sha256) return "the bytes differ";
  return null;
}

/** Reads a stream of day bytes once: size, SHA-256, newline count and the last line. */
async function summarize(stream: ReadableStream<Uint8Array>): Promise<Summary> {
  const hash = createHash("sha256");
  let bytes = 0;
  let lines = 0;
  // The last line can span chunks; keep the bytes since the last newline, and the line before.
  let tail: Uint8Array[] = [];
  let previousLine: Uint8Array[] = [];
  let tailBytes = 0;
  let lastByte = -1;
  for await (const chunk of stream) {
    if (chunk.length === 0) continue;
    hash.update(chunk);
    bytes += chunk.length;
    let start = 0;
    for (let index = chunk.indexOf(0x0a); index !== -1; index = chunk.indexOf(0x0a, start)) {
      lines++;
      tail.push(chunk.subarray(start, index));
      previousLine = tail;
      tail = [];
      tailBytes = 0;
      start = index + 1;
    }
    if (start < chunk.length) {
      tail.push(chunk.slice(start));
      tailBytes += chunk.length - start;
    }
    if (tailBytes > MAX_AUDIT_LINE_BYTES) {
      throw new Error(
        `line ${lines + 1} is longer than ${MAX_AUDIT_LINE_BYTES} bytes, more than the writer ` +
          `ever writes (damaged or planted)`,
      );
    }
    lastByte = chunk[chunk.length - 1] ?? -1;
  }
  const endsWithNewline = lastByte === 0x0a;
  const last = endsWithNewline ? previousLine : tail;
  const lastLine = bytes === 0 ? null : new TextDecoder().decode(concat(last));
  return { bytes, sha256: hash.digest("hex"), lines, endsWithNewline, lastLine };
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Temp files from a run a crash interrupted are never part of the log: remove
 * them (a symlink by that name too, so the temp file is never written through one).
 */
async function removeStaleTemps(dir: string): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isDirectory && TEMP_NAME.test(entry.name)) await Deno.remove(join(dir, entry.name));
  }
}
