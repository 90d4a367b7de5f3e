/**
 * Reading parts of the audit log for people (the console): the files with
 * their sizes, one page of a file's lines, and the lines of given sequence
 * numbers (a call's events), reading only the daily files they can be in.
 */
import { join } from "node:path";
import { readAuditLinePrefixes } from "./audit_line_prefixes.ts";
import { listAuditFiles } from "./audit_reader.ts";

/** One daily audit file. */
export interface AuditFileInfo {
  readonly name: string;
  readonly bytes: number;
}

/** One raw line, where it is. */
export interface AuditLineAt {
  readonly file: string;
  readonly lineNumber: number;
  /** The line's first characters (the whole line when it is short). */
  readonly text: string;
  /** The whole line's length in characters; more than `text`'s when it was cut. */
  readonly length: number;
}

/** The daily files, newest first; an absent directory reads as none. */
export async function auditFiles(dir: string): Promise<AuditFileInfo[]> {
  let names: string[];
  try {
    names = await listAuditFiles(dir);
  } catch {
    return [];
  }
  const files: AuditFileInfo[] = [];
  for (const name of names.reverse()) {
    const info = await Deno.stat(join(dir, name));
    files.push({ name, bytes: info.size });
  }
  return files;
}

/**
 * Lines `from` (1-based) up to `count` of one file, each cut to `maxChars`
 * while it is read (a whole line is never held).
 */
export async function auditFileLines(
  dir: string,
  file: string,
  from: number,
  count: number,
  maxChars = 4000,
): Promise<{ lines: AuditLineAt[]; more: boolean }> {
  const lines: AuditLineAt[] = [];
  for await (const line of readAuditLinePrefixes(dir, file, maxChars)) {
    if (line.lineNumber < from) continue;
    if (lines.length === count) return { lines, more: true };
    lines.push({ file, lineNumber: line.lineNumber, text: line.prefix, length: line.length });
  }
  return { lines, more: false };
}

/**
 * The lines holding the given audit sequence numbers, looked for in the daily
 * files of the given receipt times (and the day after, for a line written
 * just past midnight).
 */
export async function auditLinesBySeq(
  dir: string,
  wanted: readonly { seq: number; receivedAt: number }[],
  maxChars = 20_000,
): Promise<AuditLineAt[]> {
  const seqs = new Set(wanted.map((w) => w.seq));
  const days = new Set<string>();
  for (const { receivedAt } of wanted) {
    days.add(new Date(receivedAt).toISOString().slice(0, 10));
    days.add(new Date(receivedAt + 86_400_000).toISOString().slice(0, 10));
  }
  // A closed day is compressed (`.jsonl.gz`): either form is the day's file.
  const present = new Map((await auditFiles(dir)).map((f) => [f.name.slice(0, 10), f.name]));
  const found: AuditLineAt[] = [];
  for (const day of [...days].sort()) {
    const file = present.get(day);
    if (file === undefined) continue;
    for await (const line of readAuditLinePrefixes(dir, file, maxChars)) {
      const seq = /^\{"seq":(\d+),/.exec(line.prefix)?.[1];
      if (seq !== undefined && seqs.has(Number(seq))) {
        found.push({ file, lineNumber: line.lineNumber, text: line.prefix, length: line.length });
        seqs.delete(Number(seq));
        if (seqs.size === 0) return found;
      }
    }
  }
  return found;
}
