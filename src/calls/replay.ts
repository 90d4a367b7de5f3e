/**
 * `audit replay`: feeds every audited event, in log order, through the same
 * classify-and-apply code as the live webhook. Applying is idempotent (events
 * are deduplicated by id or body hash), so replaying twice changes nothing.
 */
import { readAuditRecords } from "../audit/audit_reader.ts";
import { type AuditRecord, recordBodyBytes } from "../audit/audit_record.ts";
import type { EventApplier } from "./event_applier.ts";
import { classifyEvent, InvalidEventError } from "./call_event.ts";
import { messageOf } from "../error_message.ts";

/** What a replay did. */
export interface ReplaySummary {
  lines: number;
  applied: number;
  duplicate: number;
  ignored: number;
  invalid: number;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The body text of an audit record, or null when it is not UTF-8. */
export function recordBodyText(record: AuditRecord): string | null {
  if (record.body !== undefined) return record.body;
  try {
    return utf8.decode(recordBodyBytes(record));
  } catch {
    return null;
  }
}

/** Replays the log in `dir` into the store; throws on the first unreadable line or failed apply. */
export async function replayAuditLog(
  apply: EventApplier,
  dir: string,
  options: { onWarning?: (message: string) => void; onProgress?: (lines: number) => void } = {},
): Promise<ReplaySummary> {
  const summary: ReplaySummary = { lines: 0, applied: 0, duplicate: 0, ignored: 0, invalid: 0 };
  for await (
    const { file, lineNumber, record } of readAuditRecords(dir, { onWarning: options.onWarning })
  ) {
    summary.lines++;
    const bodyText = recordBodyText(record);
    let event;
    try {
      if (bodyText === null) throw new InvalidEventError("body", "the body is not valid UTF-8");
      event = classifyEvent(bodyText);
    } catch (error) {
      if (!(error instanceof InvalidEventError)) throw error;
      summary.invalid++;
      continue;
    }
    try {
      const outcome = await apply(event, {
        receivedAt: new Date(record.received_at),
        auditSeq: record.seq,
        bodyText: bodyText ?? "",
        bodySha256: record.body_sha256,
      });
      summary[outcome.status]++;
    } catch (error) {
      throw new Error(
        `audit file ${file} line ${lineNumber}: applying the event failed: ${messageOf(error)}`,
        { cause: error },
      );
    }
    options.onProgress?.(summary.lines);
  }
  return summary;
}
