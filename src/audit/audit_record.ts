/**
 * The audit record: the shape of one line of the JSONL audit log, how it is
 * serialized, how it is hashed into the chain, and how a line read back is
 * validated. Pure functions only; file I/O lives in `audit_log.ts` (writing)
 * and `audit_reader.ts` (reading).
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { messageOf } from "../error_message.ts";

/** The `prev` of the very first line of the log: 64 zeros. */
export const GENESIS_HASH: string = "0".repeat(64);

/** What the webhook handler hands in for one verified request. */
export interface AuditEntryInput {
  readonly receivedAt: Date;
  readonly eventType: string | null;
  readonly eventId: string | null;
  readonly callId: string | null;
  readonly userId: string | null;
  /** The `X-Hmac-Signature` header exactly as received. */
  readonly signature: string;
  /** The exact raw request bytes. */
  readonly body: Uint8Array;
  /** The body's SHA-256 when the caller already computed it (else computed here). */
  readonly bodySha256?: string;
}

/** One line of the audit log (snake_case keys, serialized in this key order). */
export interface AuditRecord {
  readonly seq: number;
  /** ISO 8601 receipt time (UTC). */
  readonly received_at: string;
  readonly event_type: string | null;
  readonly event_id: string | null;
  readonly call_id: string | null;
  readonly user_id: string | null;
  readonly signature: string;
  /** Lowercase hex SHA-256 of the raw body bytes. */
  readonly body_sha256: string;
  /**
   * The exact body when it is valid UTF-8 text that JSON-escapes to no more than
   * its base64 form (exactly one of `body`/`body_base64` is present).
   */
  readonly body?: string;
  /** Base64 of the body bytes otherwise (not UTF-8, or mostly control characters). */
  readonly body_base64?: string;
  /** The previous line's `hash` ({@link GENESIS_HASH} for the first line of the log). */
  readonly prev: string;
  /** SHA-256 over `prev` and this line's content; see {@link computeRecordHash}. */
  readonly hash: string;
}

/**
 * The longest line the writer can write, in bytes: the largest webhook body
 * the config allows (`symbo.max_body_bytes` at most 100 MiB) as base64 (text
 * is kept only when no larger), plus 1 MiB for the other fields. Readers
 * refuse a longer line (a damaged file, or a gzip bomb planted in the audit
 * folder) instead of holding it in memory.
 */
export const MAX_AUDIT_LINE_BYTES: number = Math.ceil(100 * 1024 * 1024 / 3) * 4 + 1024 * 1024;

/** Everything in a record that its `hash` covers. */
export type AuditRecordContent = Omit<AuditRecord, "hash">;

/** A record's fields that do not depend on its place in the chain. */
export type AuditEntryFields = Omit<AuditRecordContent, "seq" | "prev">;

/** A line that is not a valid audit record; `field` names the offending field. */
export class AuditRecordError extends Error {
  override name = "AuditRecordError";
  /** The field at fault, or null when the line as a whole is unusable. */
  readonly field: string | null;

  /** Creates the error; the message names `field` when there is one. */
  constructor(field: string | null, message: string) {
    super(message);
    this.field = field;
  }
}

const HEX_64 = /^[0-9a-f]{64}$/;
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
// A flat character class (a repeated group overflows V8's regexp stack on a multi-MB body).
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const KNOWN_FIELDS: ReadonlySet<string> = new Set([
  "seq",
  "received_at",
  "event_type",
  "event_id",
  "call_id",
  "user_id",
  "signature",
  "body_sha256",
  "body",
  "body_base64",
  "prev",
  "hash",
]);

/** Lowercase hex SHA-256 of `data` (a string is hashed as UTF-8). */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * Turns what the handler hands in into a record's chain-independent fields.
 * The body is kept as a string when it is valid UTF-8 (a leading BOM is kept,
 * so the bytes round-trip exactly), else as base64. Throws on an invalid date.
 */
export function prepareEntry(entry: AuditEntryInput): AuditEntryFields {
  const fields = {
    received_at: entry.receivedAt.toISOString(),
    event_type: entry.eventType,
    event_id: entry.eventId,
    call_id: entry.callId,
    user_id: entry.userId,
    signature: entry.signature,
    body_sha256: entry.bodySha256 ?? sha256Hex(entry.body),
  };
  const text = decodeUtf8Exactly(entry.body);
  return text === null || !keepsAsText(text, entry.body.length)
    ? { ...fields, body_base64: Buffer.from(entry.body).toString("base64") }
    : { ...fields, body: text };
}

/**
 * True when the body as a JSON string is no larger than its base64 form. JSON
 * escapes a control character as `\u00XX` (6 bytes for 1), so a body of
 * control characters would grow 6× as text; base64 caps any body at 4/3.
 * Ordinary JSON bodies escape only their quotes and stay text (readable with grep).
 */
function keepsAsText(text: string, byteLength: number): boolean {
  const base64Length = Math.ceil(byteLength / 3) * 4;
  let escaped = byteLength + 2;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20) escaped += code === 0x0a || code === 0x0d || code === 0x09 ? 1 : 5;
    else if (code === 0x22 || code === 0x5c) escaped += 1;
    else if (code >= 0xd800 && code <= 0xdfff) {
      // A lone surrogate cannot come out of a fatal UTF-8 decode; pairs are kept as is.
      continue;
    }
    if (escaped > base64Length) return false;
  }
  return true;
}

/** Places prepared fields in the chain at `seq` after `prev`, computing the hash. */
export function chainRecord(seq: number, prev: string, fields: AuditEntryFields): AuditRecord {
  const content = orderedContent({ ...fields, seq, prev });
  return { ...content, hash: computeRecordHash(prev, content) };
}

/**
 * The chain hash: SHA-256 hex over `prev + "\n" + canonical JSON of the content`
 * (every field but `hash`, in the fixed key order). Changing any field of the
 * line, or the line it follows, changes the hash.
 */
export function computeRecordHash(prev: string, content: AuditRecordContent): string {
  return sha256Hex(`${prev}\n${JSON.stringify(orderedContent(content))}`);
}

/** The record as one JSON line in the fixed key order, without the trailing newline. */
export function serializeRecord(record: AuditRecord): string {
  return JSON.stringify({ ...orderedContent(record), hash: record.hash });
}

/**
 * Parses and validates one line of the log by hand. Throws an
 * {@link AuditRecordError} whose message names the field at fault. Checks the
 * shape only: hashes and the chain are `verifyAuditLog`'s job.
 */
export function parseRecordLine(line: string): AuditRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    throw new AuditRecordError(null, `line is not valid JSON (${messageOf(error)})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new AuditRecordError(null, "line is not a JSON object");
  }
  const fields = new Map<string, unknown>(Object.entries(parsed));
  for (const key of fields.keys()) {
    // The hash covers known fields only, so an extra one could be slipped in unnoticed.
    if (!KNOWN_FIELDS.has(key)) {
      throw new AuditRecordError(key, `unknown field ${JSON.stringify(key)}`);
    }
  }

  const seq = fields.get("seq");
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 1) {
    throw invalid("seq", "must be a positive integer", seq);
  }
  const receivedAt = fields.get("received_at");
  if (
    typeof receivedAt !== "string" || !ISO_INSTANT.test(receivedAt) ||
    Number.isNaN(Date.parse(receivedAt))
  ) {
    throw invalid("received_at", "must be an ISO 8601 UTC time", receivedAt);
  }
  const common = {
    seq,
    received_at: receivedAt,
    event_type: nullableString(fields, "event_type"),
    event_id: nullableString(fields, "event_id"),
    call_id: nullableString(fields, "call_id"),
    user_id: nullableString(fields, "user_id"),
    signature: requiredString(fields, "signature"),
    body_sha256: hex64(fields, "body_sha256"),
  };

  const body = optionalString(fields, "body");
  const bodyBase64 = optionalString(fields, "body_base64");
  if (body !== undefined && bodyBase64 !== undefined) {
    throw new AuditRecordError("body", 'has both "body" and "body_base64"; exactly one is allowed');
  }
  if (bodyBase64 !== undefined && (bodyBase64.length % 4 !== 0 || !BASE64.test(bodyBase64))) {
    throw invalid("body_base64", "must be standard padded base64", bodyBase64);
  }
  const prev = hex64(fields, "prev");
  const hash = hex64(fields, "hash");
  if (body !== undefined) return { ...common, body, prev, hash };
  if (bodyBase64 !== undefined) return { ...common, body_base64: bodyBase64, prev, hash };
  throw new AuditRecordError("body", 'has neither "body" nor "body_base64"');
}

/** The exact body bytes a record holds. */
export function recordBodyBytes(record: AuditRecord): Uint8Array {
  if (record.body !== undefined) return new TextEncoder().encode(record.body);
  if (record.body_base64 !== undefined) {
    return new Uint8Array(Buffer.from(record.body_base64, "base64"));
  }
  throw new AuditRecordError("body", 'record has neither "body" nor "body_base64"');
}

/** A fresh object with the content fields in the fixed key order (drops `hash`). */
function orderedContent(content: AuditRecordContent): AuditRecordContent {
  // Spreads keep insertion order, and an absent body form adds no key at all.
  return {
    seq: content.seq,
    received_at: content.received_at,
    event_type: content.event_type,
    event_id: content.event_id,
    call_id: content.call_id,
    user_id: content.user_id,
    signature: content.signature,
    body_sha256: content.body_sha256,
    ...(content.body === undefined ? {} : { body: content.body }),
    ...(content.body_base64 === undefined ? {} : { body_base64: content.body_base64 }),
    prev: content.prev,
  };
}

function decodeUtf8Exactly(bytes: Uint8Array): string | null {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return null;
  }
}

function requiredString(fields: Map<string, unknown>, name: string): string {
  const value = fields.get(name);
  if (typeof value === "string") return value;
  throw invalid(name, "must be a string", value);
}

function optionalString(fields: Map<string, unknown>, name: string): string | undefined {
  const value = fields.get(name);
  if (value === undefined || typeof value === "string") return value;
  throw invalid(name, "must be a string", value);
}

function nullableString(fields: Map<string, unknown>, name: string): string | null {
  const value = fields.get(name);
  if (value === null || typeof value === "string") return value;
  throw invalid(name, "must be a string or null", value);
}

function hex64(fields: Map<string, unknown>, name: string): string {
  const value = fields.get(name);
  if (typeof value === "string" && HEX_64.test(value)) return value;
  throw invalid(name, "must be 64 lowercase hex digits", value);
}

function invalid(field: string, rule: string, got: unknown): AuditRecordError {
  const shown = got === undefined ? "it is missing" : `got ${preview(got)}`;
  return new AuditRecordError(field, `field "${field}" ${rule} (${shown})`);
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
