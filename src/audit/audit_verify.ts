/**
 * `audit verify`: walks the whole audit log in order, streaming, and checks
 * each line's body hash, chain hash, `prev` link and `seq`, so an edited,
 * removed, inserted or reordered line is found and named. Also formats the
 * report for the command line.
 */
import {
  type AuditLine,
  listAuditFiles,
  readAuditFileLines,
  TORN_AT_THE_END,
  TORN_IN_THE_MIDDLE,
} from "./audit_reader.ts";
import {
  type AuditRecord,
  computeRecordHash,
  GENESIS_HASH,
  parseRecordLine,
  recordBodyBytes,
  serializeRecord,
  sha256Hex,
} from "./audit_record.ts";
import {
  CHAIN_START_FILE,
  type ChainStart,
  readChainStart,
  readTrustedChainStart,
} from "./chain_start.ts";
import { messageOf } from "../error_message.ts";
import { type SigningKey, verifySignature } from "../symbo/signature.ts";

/** What {@link verifyAuditLog} checks besides the chain. */
export interface VerifyOptions {
  /**
   * Current and retired webhook secrets: every line's `X-Hmac-Signature` must
   * verify under one of them (a chain can be recomputed around a forged line;
   * a signature cannot). Omitted: signatures are not checked.
   */
  readonly keys?: readonly SigningKey[];
  /**
   * A line the store recorded as applied (its applier position): the log must
   * reach it with that hash, else lines were cut off or a file is missing.
   */
  readonly anchor?: { readonly seq: number; readonly hash: string } | null;
  /** Where the kept log starts, taken as given instead of reading `chain-start.json`. */
  readonly chainStart?: ChainStart;
}

/** A line of the log that is wrong (or, as a warning, suspicious). */
export interface AuditProblem {
  /** The file's name inside the audit directory. */
  readonly file: string;
  /** 1-based line number within the file. */
  readonly line: number;
  /** What is wrong, as a plain sentence. */
  readonly problem: string;
}

/** The outcome of {@link verifyAuditLog}. */
export interface AuditVerifyReport {
  /** True when every line checked out (warnings allowed). */
  readonly ok: boolean;
  /** How many audit files the log has. */
  readonly files: number;
  /** How many lines were verified good (up to the first problem). */
  readonly lines: number;
  /** The seq of the last good line (0 when there is none). */
  readonly lastSeq: number;
  /** The first bad line; verification stops there. */
  readonly firstProblem: AuditProblem | null;
  /** Harmless findings, such as a torn last line left by a crash. */
  readonly warnings: AuditProblem[];
}

/**
 * Checks every line of the audit log in `dir` in file order and stops at the
 * first bad one. A torn last line of the whole log (no trailing newline) is a
 * warning, not a failure: it was never acknowledged. An empty directory is ok.
 * Throws only when the directory or a file cannot be read.
 */
export async function verifyAuditLog(
  dir: string,
  options: VerifyOptions = {},
): Promise<AuditVerifyReport> {
  const files = await listAuditFiles(dir);
  // After retention the kept chain starts at a recorded line, not at the genesis;
  // with the secrets at hand, only a chain start retention signed is trusted.
  const trusted = options.chainStart !== undefined
    ? { start: options.chainStart, problem: null }
    : options.keys === undefined
    ? { start: await readChainStart(dir), problem: null }
    : await readTrustedChainStart(dir, options.keys);
  const chainStart = trusted.start;
  let lines = 0;
  let lastSeq = 0;
  let lastHash = GENESIS_HASH;
  let torn: AuditLine | null = null;
  const report = (firstProblem: AuditProblem | null, warnings: AuditProblem[]) => ({
    ok: firstProblem === null,
    files: files.length,
    lines,
    lastSeq,
    firstProblem,
    warnings,
  });

  if (trusted.problem !== null) {
    return report({ file: CHAIN_START_FILE, line: 1, problem: trusted.problem }, []);
  }
  for (const file of files) {
    for await (const line of readAuditFileLines(dir, file)) {
      if (torn !== null) return report(problemAt(torn, TORN_IN_THE_MIDDLE), []);
      if (!line.endsWithNewline) {
        torn = line;
        continue;
      }
      if (lines === 0 && chainStart !== null && startsAtChainStart(line.text, chainStart)) {
        lastSeq = chainStart.seq - 1;
        lastHash = chainStart.prev;
      }
      let checked = checkAuditLine(line.text, lastSeq, lastHash);
      if (typeof checked === "string" && line.lineNumber === 1 && lastSeq > 0) {
        checked = `${checked} (is an audit file missing before ${file}?)`;
      }
      if (typeof checked === "string") return report(problemAt(line, checked), []);
      if (
        chainStart !== null && checked.seq === chainStart.seq && checked.prev !== chainStart.prev
      ) {
        return report(problemAt(line, CHAIN_START_MISMATCH), []);
      }
      if (options.keys !== undefined) {
        const body = new Uint8Array(recordBodyBytes(checked));
        if (!(await verifySignature(options.keys, body, checked.signature))) {
          return report(
            problemAt(
              line,
              "the X-Hmac-Signature does not verify under any configured or retired webhook " +
                "secret (a forged line, or a secret missing from the config)",
            ),
            [],
          );
        }
      }
      const anchor = options.anchor;
      if (anchor && checked.seq === anchor.seq && checked.hash !== anchor.hash) {
        return report(
          problemAt(
            line,
            `the store recorded seq ${anchor.seq} as applied with another hash: this line ` +
              `was replaced after it was applied`,
          ),
          [],
        );
      }
      lines++;
      lastSeq = checked.seq;
      lastHash = checked.hash;
    }
  }
  const warnings = torn === null ? [] : [problemAt(torn, TORN_AT_THE_END)];
  if (chainStart !== null && lastSeq < chainStart.seq) {
    const problem =
      `${CHAIN_START_FILE} records that the kept log starts at seq ${chainStart.seq} ` +
      `(day ${chainStart.day}) but ${
        lines === 0 ? "no line is left" : `the log ends at seq ${lastSeq}`
      }: audit files are missing`;
    return report({ file: CHAIN_START_FILE, line: 1, problem }, []);
  }
  const anchor = options.anchor;
  if (anchor && anchor.seq > lastSeq) {
    const last = files.at(-1) ?? "(no file)";
    return report({
      file: last,
      line: 0,
      problem: `the log ends at seq ${lastSeq} but the store recorded seq ${anchor.seq} as ` +
        `applied: its last lines were cut off, or audit files were deleted`,
    }, warnings);
  }
  return report(null, warnings);
}

const CHAIN_START_MISMATCH = `prev does not match the hash recorded in ${CHAIN_START_FILE} ` +
  "for the first kept line: a line before it was replaced";

/** True when the log's first line is the one retention recorded as the kept chain's start. */
function startsAtChainStart(text: string, chainStart: ChainStart): boolean {
  try {
    return parseRecordLine(text).seq === chainStart.seq;
  } catch {
    return false; // checkAuditLine names the problem
  }
}

/**
 * Checks one newline-terminated line against the line before it (`lastSeq` 0
 * and the genesis hash for the first line); returns its record, or what is
 * wrong as a sentence. Shared with the applier, which checks as it reads.
 */
export function checkAuditLine(
  text: string,
  lastSeq: number,
  lastHash: string,
): AuditRecord | string {
  if (text === "") return "the line is empty";
  let record: AuditRecord;
  try {
    record = parseRecordLine(text);
  } catch (error) {
    return `the line is not a valid audit record: ${messageOf(error)}`;
  }
  if (sha256Hex(recordBodyBytes(record)) !== record.body_sha256) {
    return "body_sha256 does not match the body (body edited?)";
  }
  if (computeRecordHash(record.prev, record) !== record.hash) {
    return "hash does not match the line's content (edited?)";
  }
  const first = lastSeq === 0;
  if (record.seq !== lastSeq + 1) {
    return first
      ? `the log starts at seq ${record.seq}, not 1: its beginning is missing`
      : `seq ${record.seq} follows seq ${lastSeq}: a line is missing or out of order`;
  }
  if (record.prev !== lastHash) {
    return first
      ? "prev is not the genesis hash although this is the first line: the log's beginning is missing"
      : "prev does not match the previous line's hash: a line before it was replaced";
  }
  // The hash covers the fields, not their spelling; this catches any other byte changed.
  if (serializeRecord(record) !== text) {
    return "the line is not byte-for-byte what the writer wrote (reformatted or hand-edited?)";
  }
  return record;
}

function problemAt(line: AuditLine, problem: string): AuditProblem {
  return { file: line.file, line: line.lineNumber, problem };
}

/** The report as text for the command line (no trailing newline). */
export function formatVerifyReport(report: AuditVerifyReport): string {
  const out: string[] = [];
  const counted = `${plural(report.lines, "line")} in ${plural(report.files, "file")}`;
  if (report.firstProblem === null) {
    out.push(
      report.lines === 0
        ? `audit log OK: empty (${plural(report.files, "file")})`
        : `audit log OK: ${counted}, last seq ${report.lastSeq}, hash chain intact`,
    );
  } else {
    const { file, line, problem } = report.firstProblem;
    out.push(
      line === 0
        ? `audit log FAILED: ${problem} (last file: ${file})`
        : `audit log FAILED at ${file} line ${line}: ${problem}`,
    );
    out.push(
      `${plural(report.lines, "line")} before it verified (last good seq ${report.lastSeq}); ` +
        `lines after it were not checked.`,
    );
  }
  for (const warning of report.warnings) {
    out.push(`warning: ${warning.file} line ${warning.line}: ${warning.problem}`);
  }
  return out.join("\n");
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
