/**
 * Pages of one audit day for people (issue 21 item 3), plain or compressed
 * alike: the newest page first, any line's page, and the line holding a given
 * sequence number across all days. Built on the bounded prefix reader: every
 * line is cut to its first characters while it is read.
 */
import { listAuditDayFiles, parseDayFileName } from "./audit_files.ts";
import type { AuditLineAt } from "./audit_browse.ts";
import { readAuditLinePrefixes } from "./audit_line_prefixes.ts";

/** One page of a day file, newest line first. */
export interface AuditDayPage {
  readonly lines: AuditLineAt[];
  /** Lines in the file. */
  readonly total: number;
  /** `before` of the page of older lines, or null at the file's start. */
  readonly olderBefore: number | null;
  /** `before` of the page of newer lines, or null when this page holds the newest. */
  readonly newerBefore: number | null;
}

const SEQ_PREFIX = /^\{"seq":(\d+),/;

/**
 * The `size` lines just before line `before` (1-based, exclusive; the end of
 * the file when null), newest first, each cut to `maxChars`. One pass over
 * the file; memory holds one page.
 */
export async function auditDayPage(
  dir: string,
  file: string,
  before: number | null,
  size: number,
  maxChars: number,
): Promise<AuditDayPage> {
  const ring: AuditLineAt[] = [];
  let total = 0;
  for await (const line of readAuditLinePrefixes(dir, file, maxChars)) {
    total = line.lineNumber;
    if (before !== null && line.lineNumber >= before) continue;
    ring.push({ file, lineNumber: line.lineNumber, text: line.prefix, length: line.length });
    if (ring.length > size) ring.shift();
  }
  const first = ring[0]?.lineNumber ?? 1;
  const last = ring.at(-1)?.lineNumber ?? 0;
  return {
    lines: ring.reverse(),
    total,
    olderBefore: first > 1 ? first : null,
    newerBefore: last < total ? Math.min(total + 1, last + 1 + size) : null,
  };
}

/** The audit sequence number a line starts with, or null. */
export function seqOfLine(text: string): number | null {
  const seq = SEQ_PREFIX.exec(text)?.[1];
  return seq === undefined ? null : Number(seq);
}

/**
 * Where the line of audit sequence number `seq` is: the day whose first line
 * is the last at or below `seq` (sequence numbers grow across days), then
 * that day's line. Null when no day holds it.
 */
export async function findAuditSeq(
  dir: string,
  seq: number,
): Promise<{ file: string; lineNumber: number } | null> {
  let candidate: string | null = null;
  for (const day of await listAuditDayFiles(dir)) {
    const first = await firstSeq(dir, day.name);
    if (first !== null && first > seq) break;
    if (first !== null) candidate = day.name;
  }
  if (candidate === null) return null;
  for await (const line of readAuditLinePrefixes(dir, candidate, 40)) {
    const at = seqOfLine(line.prefix);
    if (at === seq) return { file: candidate, lineNumber: line.lineNumber };
    if (at !== null && at > seq) return null;
  }
  return null;
}

/** Whether `name` is a day file of the audit folder, plain or compressed. */
export function isDayFileName(name: string): boolean {
  return parseDayFileName(name) !== null;
}

async function firstSeq(dir: string, file: string): Promise<number | null> {
  for await (const line of readAuditLinePrefixes(dir, file, 40)) {
    // Leaving the loop cancels the stream, which closes the file.
    return seqOfLine(line.prefix);
  }
  return null;
}
