/**
 * Finding audit lines by seq, to read an event's raw body back from the log
 * (the store keeps one copy of each body: the audit line's). A day file holds
 * a contiguous run of seqs, so the file of a seq is the last one whose first
 * line's seq is not above it; the first seq of each day is read once (one
 * line, cheap even gzip'd) and remembered. Within the day, lines are scanned
 * with a prefix match on `{"seq":N,` and only the wanted ones are parsed, and
 * every wanted seq of one day is found in one pass, so a call's history costs
 * one scan per day it spans, whether the day is plain or compressed.
 */
import { listAuditDayFiles } from "./audit_files.ts";
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
        await this.#scan(name, seqs, results);
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
