/**
 * Retention of the audit log (`audit.keep_days`): the oldest days are moved
 * to `audit.archive_dir`, or deleted when there is none. Only a prefix of the
 * log goes (the chain must stay one unbroken run), never the newest day that
 * holds lines (the writer continues the chain from it) nor a day after it,
 * and never a line the applier has not applied. Days age from the day after
 * the newest audited day when the clock reads later (a clock that jumped forward). Before anything goes, the first kept line's `seq` and `prev` are
 * recorded in `chain-start.json`, signed with the current webhook secret, so
 * `audit verify` still checks the kept part from its first line and notices
 * a kept day that disappears (and a hand-made chain start is refused).
 */
import { join, resolve } from "node:path";
import {
  type AuditDayFile,
  listAllDayFiles,
  openRegularFile,
  syncDirectory,
} from "./audit_files.ts";
import { readAuditFileLines } from "./audit_reader.ts";
import { GENESIS_HASH, parseRecordLine } from "./audit_record.ts";
import {
  CHAIN_START_FILE,
  readTrustedChainStart,
  signChainStart,
  writeChainStart,
} from "./chain_start.ts";
import { messageOf } from "../error_message.ts";
import type { SigningKey } from "../symbo/signature.ts";

/** How far the applier has applied the log: the last applied line's file and seq. */
export interface AppliedPosition {
  /**
   * The audit file of that line (its `YYYY-MM-DD` day is what counts; either
   * form). When it names no day (e.g. `""`: the applier records only the seq),
   * the seq alone decides.
   */
  readonly file: string;
  readonly seq: number;
}

/** Where the applier stands; null when it has applied nothing yet. */
export type AppliedThrough = () => Promise<AppliedPosition | null>;

/** Options for {@link applyRetention}. */
export interface RetentionOptions {
  /** The audit folder. */
  readonly dir: string;
  /** Days to keep before today (UTC); older days go. */
  readonly keepDays: number;
  /** Where old days are moved; null deletes them. */
  readonly archiveDir: string | null;
  readonly now: Date;
  /** The applier's position (the inbox applier provides it). */
  readonly appliedThrough: AppliedThrough;
  /**
   * Signs `chain-start.json` (the current webhook secret); null holds every
   * day back, since an unsigned chain start is not trusted.
   */
  readonly signingKey: SigningKey | null;
  /**
   * The secrets a `chain-start.json` already there may be signed with
   * (current and retired); defaults to `signingKey` alone.
   */
  readonly trustKeys?: readonly SigningKey[];
  /** Renames a file; `Deno.rename` by default (tests make it fail as across disks, EXDEV). */
  readonly rename?: (from: string, to: string) => Promise<void>;
}

/** What one run did. */
export interface RetentionReport {
  /** Days moved to the archive or deleted, oldest first. */
  readonly removed: readonly string[];
  /** Bytes those days took in the audit folder. */
  readonly removedBytes: number;
  /** Why an expired day was kept, when one was (null when none was held back). */
  readonly heldBack: string | null;
}

/**
 * Moves or deletes the expired days of `dir` (see the module comment).
 * Throws when a file cannot be moved or removed; what went before stays done
 * and the chain start already covers it.
 */
export async function applyRetention(options: RetentionOptions): Promise<RetentionReport> {
  const { dir } = options;
  if (options.archiveDir !== null && resolve(options.archiveDir) === resolve(dir)) {
    throw new Error(`audit.archive_dir must not be audit.dir itself (${dir})`);
  }
  const days = groupByDay(await listAllDayFiles(dir));
  // Never the newest day holding lines, nor any after it: the writer continues
  // the chain from its last line (and a later, empty file says nothing about time).
  const newest = await newestWithLines(dir, days);
  if (newest === -1) return { removed: [], removedBytes: 0, heldBack: null };
  // Age counts back from the day after the newest audited day when the clock reads
  // later (that day may have no line yet), so a clock that jumped forward cannot
  // make today's lines look expired; a quiet spell only keeps days longer.
  const newestEnd = Date.parse(`${days[newest]?.day}T23:59:59.999Z`) + 86_400_000;
  const reference = new Date(Math.min(options.now.getTime(), newestEnd));
  const cutoff = dayBefore(reference, options.keepDays);
  const expired = days.slice(0, newest).filter((group) => group.day < cutoff);
  if (expired.length === 0) return { removed: [], removedBytes: 0, heldBack: null };

  const applied = await options.appliedThrough();
  const removable: DayGroup[] = [];
  let heldBack: string | null = null;
  if (applied === null) {
    heldBack = "the applier has not applied any line yet";
  } else {
    const appliedDay = /(\d{4}-\d{2}-\d{2})/.exec(applied.file)?.[1] ?? null;
    for (const group of expired) {
      const last = await lastSeq(dir, group.read);
      if (last === null || last > applied.seq || (appliedDay !== null && group.day > appliedDay)) {
        heldBack = `${group.day} holds lines after the applied position (seq ${applied.seq})`;
        break;
      }
      removable.push(group);
    }
  }
  if (removable.length === 0) return { removed: [], removedBytes: 0, heldBack };

  // Never seal a gap: if the log's first line neither starts the chain nor is
  // the start a signed chain-start.json records, lines were removed by hand,
  // and a chain start written now would make that look like retention.
  const trustKeys = options.trustKeys ??
    (options.signingKey === null ? [] : [options.signingKey]);
  const unanchored = await unanchoredStart(dir, days, trustKeys);
  if (unanchored !== null) return { removed: [], removedBytes: 0, heldBack: unanchored };

  const start = await firstKeptLine(dir, days.slice(removable.length));
  if (start === null) {
    return { removed: [], removedBytes: 0, heldBack: "no kept day holds a line to anchor on" };
  }
  if (options.signingKey === null) {
    return {
      removed: [],
      removedBytes: 0,
      heldBack: "no webhook secret is configured to sign chain-start.json with " +
        "(symbo.webhook_secrets)",
    };
  }
  const written_at = options.now.toISOString();
  await writeChainStart(dir, await signChainStart({ ...start, written_at }, options.signingKey));

  let removedBytes = 0;
  const removed: string[] = [];
  for (const group of removable) {
    for (const file of group.files) {
      removedBytes += (await Deno.lstat(join(dir, file.name))).size;
      if (options.archiveDir === null) await Deno.remove(join(dir, file.name));
      else await archive(dir, options.archiveDir, file.name, options.rename ?? Deno.rename);
    }
    removed.push(group.day);
  }
  await syncDirectory(dir);
  return { removed, removedBytes, heldBack };
}

interface DayGroup {
  readonly day: string;
  /** Every form of the day present (both after an interrupted compaction). */
  readonly files: readonly AuditDayFile[];
  /** The form the readers use. */
  readonly read: AuditDayFile;
}

function groupByDay(files: readonly AuditDayFile[]): DayGroup[] {
  const groups: DayGroup[] = [];
  for (const file of files) {
    const last = groups.at(-1);
    if (last?.day === file.day) {
      groups[groups.length - 1] = { ...last, files: [...last.files, file] };
    } else groups.push({ day: file.day, files: [file], read: file });
  }
  return groups;
}

/** The index of the newest day with a non-empty file (-1 when none has one). */
async function newestWithLines(dir: string, days: readonly DayGroup[]): Promise<number> {
  for (let index = days.length - 1; index >= 0; index--) {
    for (const file of days[index]?.files ?? []) {
      if ((await Deno.lstat(join(dir, file.name))).size > 0) return index;
    }
  }
  return -1;
}

/** The UTC day `keepDays` days before `now`'s (`YYYY-MM-DD`); days before it expire. */
export function dayBefore(now: Date, keepDays: number): string {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return new Date(today - keepDays * 86_400_000).toISOString().slice(0, 10);
}

/** The seq of a day's last complete line (null when it has none). */
async function lastSeq(dir: string, file: AuditDayFile): Promise<number | null> {
  let last: string | null = null;
  for await (const line of readAuditFileLines(dir, file.name)) {
    if (line.endsWithNewline && line.text !== "") last = line.text;
  }
  return last === null ? null : parseRecordLine(last).seq;
}

/**
 * Null when the log's first line starts the chain (seq 1 after the genesis)
 * or is the start a trusted `chain-start.json` records; else why not.
 */
async function unanchoredStart(
  dir: string,
  days: readonly DayGroup[],
  keys: readonly SigningKey[],
): Promise<string | null> {
  const first = await firstKeptLine(dir, days);
  if (first === null || (first.seq === 1 && first.prev === GENESIS_HASH)) return null;
  const trusted = await readTrustedChainStart(dir, keys);
  if (trusted.start?.seq === first.seq && trusted.start.prev === first.prev) return null;
  return `the log starts at seq ${first.seq} (day ${first.day}) but ${
    trusted.problem ?? `no ${CHAIN_START_FILE} records that start`
  }: lines were removed outside retention; run "symbo-crm audit verify"`;
}

/** The day, seq and prev of the first line of the first kept day that has one. */
async function firstKeptLine(
  dir: string,
  kept: readonly DayGroup[],
): Promise<{ day: string; seq: number; prev: string } | null> {
  for (const group of kept) {
    for await (const line of readAuditFileLines(dir, group.read.name)) {
      if (!line.endsWithNewline) break;
      try {
        const record = parseRecordLine(line.text);
        return { day: group.day, seq: record.seq, prev: record.prev };
      } catch (error) {
        throw new Error(
          `audit file ${join(dir, group.read.name)} line 1 is not a valid audit record ` +
            `(${messageOf(error)}); retention needs it to record where the chain starts`,
          { cause: error },
        );
      }
    }
  }
  return null;
}

/** Moves one file to the archive durably: a rename, or a copy across file systems. */
async function archive(
  dir: string,
  archiveDir: string,
  name: string,
  rename: (from: string, to: string) => Promise<void>,
): Promise<void> {
  await Deno.mkdir(archiveDir, { recursive: true, mode: 0o700 });
  const source = join(dir, name);
  const target = join(archiveDir, name);
  try {
    // rename replaces a link planted at the target; it never writes through one.
    await rename(source, target);
  } catch (error) {
    // EXDEV: another file system; copy, make it durable, then remove the source.
    if (!(error instanceof Error && "code" in error && error.code === "EXDEV")) throw error;
    await copyIntoArchive(dir, name, `${target}.tmp`);
    await Deno.rename(`${target}.tmp`, target);
    await Deno.remove(source);
  }
  await syncDirectory(archiveDir);
}

/**
 * Copies `name` to `temp` and fsyncs it, never through a link: a leftover
 * temp (or a symlink planted by that name, which would make the copy
 * overwrite whatever it points at) is removed first, the temp is created
 * with `createNew` (O_EXCL, which does not follow a link), and the source is
 * opened only as the regular file it was listed as.
 */
async function copyIntoArchive(dir: string, name: string, temp: string): Promise<void> {
  await Deno.remove(temp).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  const input = await openRegularFile(dir, name);
  let output: Deno.FsFile;
  try {
    output = await Deno.open(temp, { write: true, createNew: true, mode: 0o600 });
  } catch (error) {
    input.close();
    throw new Error(`cannot create ${temp}: ${messageOf(error)}`, { cause: error });
  }
  try {
    for await (const chunk of input.readable) {
      for (let offset = 0; offset < chunk.length;) {
        offset += await output.write(chunk.subarray(offset));
      }
    }
    await output.syncData();
  } finally {
    output.close();
  }
}
