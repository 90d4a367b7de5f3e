/**
 * The call activity webhook (DESIGN §5.2). The order of work is the security
 * and durability contract, and it reads top to bottom here:
 * size limit → empty body refused → signature over the raw bytes → parse (once,
 * to name the event in the audit line) → an exact re-delivery answered
 * `duplicate` without a new line → audit line fsync'd (the ack: from here the
 * event will reach the store) → answer 400 if the event is invalid → hand the
 * line to the applier → wait for its apply up to `apply_wait_ms` → answer
 * `applied`/`duplicate`/`ignored`, or `queued`.
 */
import type { AuditLog } from "../audit/audit_log.ts";
import type { AuditRecord } from "../audit/audit_record.ts";
import { sha256Hex } from "../audit/audit_record.ts";
import { DeliveryIndex } from "../audit/delivery_index.ts";
import type { WaitOutcome } from "../calls/applier.ts";
import { type ClassifiedEvent, readEvent } from "../calls/call_event.ts";
import { errorResponse, HttpError } from "../http/http_error.ts";
import { answer, WebhookAnswerBody } from "../http/api_responses.ts";
import { readBodyLimited } from "../http/read_body.ts";
import type { Logger } from "../log/logging.ts";
import type { ConnectionInfo } from "../http/app.ts";
import type { RejectionReason } from "../ops/webhook_rejections.ts";
import { type SigningKey, verifySignature } from "./signature.ts";

/** Every way a webhook request can end, for metrics. */
export type WebhookOutcome =
  | "applied"
  | "duplicate"
  | "ignored"
  | "queued"
  | "redelivered"
  | "empty"
  | "invalid"
  | "signature_missing"
  | "signature_invalid"
  | "too_large"
  | "busy"
  | "audit_failed"
  | "apply_failed"
  | "not_configured";

/** The applier as the webhook sees it. */
export interface WebhookApplier {
  /** Hands in a line just made durable, with the event parsed from its body. */
  offer(record: AuditRecord, event?: ClassifiedEvent): void;
  /** Its outcome once applied, or `queued` after `ms`. */
  waitFor(seq: number, ms: number): Promise<WaitOutcome>;
}

/** What the webhook needs. */
export interface WebhookDeps {
  readonly signingKeys: readonly SigningKey[];
  readonly audit: AuditLog;
  readonly applier: WebhookApplier;
  /** Recent deliveries, shared with whatever rebuilt it at start. */
  readonly deliveries: DeliveryIndex;
  /** How long an answer waits for the store (`symbo.apply_wait_ms`). */
  readonly applyWaitMs: number;
  readonly maxBodyBytes: number;
  readonly clock: () => Date;
  readonly log: Logger;
  readonly onOutcome?: (outcome: WebhookOutcome) => void;
  /**
   * A refused request, for the console's delivery health: its reason, its
   * size when known, and the request (its source is found from it). Never its body.
   */
  readonly onRejected?: (
    reason: RejectionReason,
    bytes: number | null,
    request: Request,
    connection: ConnectionInfo,
  ) => void;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The webhook handler, and how a request refused before it ran is reported. */
export interface WebhookHandler {
  (request: Request, connection?: ConnectionInfo): Promise<Response>;
  /** The body guard refused it (the byte budget was full): counted as `busy`. */
  refusedBusy(request: Request, connection: ConnectionInfo): void;
}

/** Builds the webhook handler. */
export function createWebhookHandler(deps: WebhookDeps): WebhookHandler {
  const report = (
    name: WebhookOutcome,
    bytes: number | null | undefined,
    request: Request,
    connection: ConnectionInfo,
  ) => {
    deps.onOutcome?.(name);
    const reason = rejectionReason(name);
    if (reason !== null && deps.onRejected) {
      deps.onRejected(reason, bytes ?? declaredLength(request), request, connection);
    }
  };
  const handler = async (request: Request, connection: ConnectionInfo = {}) => {
    const outcome = (name: WebhookOutcome, bytes?: number | null) =>
      report(name, bytes, request, connection);
    if (deps.signingKeys.length === 0) {
      outcome("not_configured");
      return errorResponse(
        503,
        "webhook_not_configured",
        "No webhook secret is configured: set symbo.webhook_secrets (or SYMBO_WEBHOOK_SECRETS) to the secret Symbo gave you.",
      );
    }
    let body: Uint8Array<ArrayBuffer>;
    try {
      body = await readBodyLimited(request, deps.maxBodyBytes);
    } catch (error) {
      if (error instanceof HttpError && error.status === 413) outcome("too_large");
      // The shared body budget was full: refused before its bytes were read.
      if (error instanceof HttpError && error.status === 503) outcome("busy");
      throw error;
    }

    if (body.length === 0) {
      // Its signature is a constant (the lookup's): anyone who saw one lookup
      // could otherwise fill the audit log with fsync'd empty lines.
      outcome("empty", 0);
      return errorResponse(400, "empty_body", "The body is empty; a webhook carries an event.");
    }

    const signature = request.headers.get("x-hmac-signature");
    if (signature === null || signature.trim() === "") {
      outcome("signature_missing", body.length);
      return errorResponse(401, "missing_signature", "The X-Hmac-Signature header is missing.");
    }
    if (!(await verifySignature(deps.signingKeys, body, signature))) {
      outcome("signature_invalid", body.length);
      return errorResponse(
        401,
        "invalid_signature",
        "The X-Hmac-Signature header does not match the body under any configured webhook secret.",
      );
    }

    // Parsed here (once) so the audit line can name the event; an invalid body
    // is audited all the same and only then answered 400.
    const receivedAt = deps.clock();
    const bodyText = decodeUtf8(body);
    const { event, invalid, summary } = readEvent(bodyText);
    const bodySha256 = sha256Hex(body);
    const deliveryKey = DeliveryIndex.keyOf(summary.eventId, bodySha256);
    if (deps.deliveries.has(deliveryKey)) {
      // The same bytes under the same id are already in the log (and so will
      // reach the store, once): a retry or a replay, not a new fact. Answered
      // as the first delivery was when that was a 400.
      outcome("redelivered");
      if (event === null || bodyText === null) {
        return errorResponse(
          400,
          "invalid_event",
          invalid?.message ?? "The body is not a valid event.",
        );
      }
      return answer(WebhookAnswerBody, 200, { status: "duplicate" });
    }
    let record: AuditRecord;
    try {
      record = await deps.audit.append({ receivedAt, ...summary, signature, body, bodySha256 });
    } catch (error) {
      outcome("audit_failed", body.length);
      deps.log.error("Audit log append failed; the event was not accepted: {error}", {
        error: String(error),
        eventId: summary.eventId,
      });
      return errorResponse(
        503,
        "audit_unavailable",
        "The audit log cannot be written right now; the event was not accepted. Retry later.",
        { "retry-after": "5" },
      );
    }
    deps.deliveries.add(deliveryKey);

    if (event === null || bodyText === null) {
      outcome("invalid", body.length);
      return errorResponse(
        400,
        "invalid_event",
        invalid?.message ?? "The body is not a valid event.",
      );
    }

    // The parsed event goes along only when the line holds the very text parsed
    // (a leading BOM is dropped by the decoder but kept in the line): the applier
    // must apply what a replay of the line would.
    deps.applier.offer(record, record.body === bodyText ? event : undefined);
    let result: WaitOutcome;
    try {
      result = await deps.applier.waitFor(record.seq, deps.applyWaitMs);
    } catch (error) {
      outcome("apply_failed");
      deps.log.error(
        "Applying a webhook event failed; it is in the audit log (seq {auditSeq}): {error}",
        { auditSeq: record.seq, error: String(error), eventId: summary.eventId },
      );
      return errorResponse(
        500,
        "apply_failed",
        "The event was recorded in the audit log but could not be stored.",
      );
    }
    outcome(result.status);
    return answer(WebhookAnswerBody, 200, { status: result.status });
  };
  return Object.assign(handler, {
    refusedBusy: (request: Request, connection: ConnectionInfo) =>
      report("busy", null, request, connection),
  });
}

/** The console's reason for a refused request's outcome, or null when it was not refused. */
export function rejectionReason(outcome: WebhookOutcome): RejectionReason | null {
  switch (outcome) {
    case "signature_missing":
    case "signature_invalid":
      return "signature";
    case "empty":
    case "invalid":
      return "invalid";
    case "too_large":
      return "too_large";
    case "busy":
    case "audit_failed":
      return "busy";
    default:
      return null;
  }
}

function declaredLength(request: Request): number | null {
  const declared = request.headers.get("content-length");
  return declared !== null && /^\d{1,15}$/.test(declared.trim()) ? Number(declared) : null;
}

function decodeUtf8(body: Uint8Array): string | null {
  try {
    return utf8.decode(body);
  } catch {
    return null;
  }
}
