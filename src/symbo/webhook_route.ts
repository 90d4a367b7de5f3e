/**
 * The call activity webhook (DESIGN §5.2). The order of work is the security
 * and durability contract, and it reads top to bottom here:
 * size limit → signature over the raw bytes → parse (once, to name the event in
 * the audit line) → audit line fsync'd → answer 400 if the event is invalid →
 * apply in one store transaction → answer.
 */
import type { AuditLog } from "../audit/audit_log.ts";
import type { AuditRecord } from "../audit/audit_record.ts";
import type { ApplyContext, ApplyOutcome, EventFlag } from "../calls/apply_event.ts";
import { type ClassifiedEvent, readEvent } from "../calls/call_event.ts";
import { errorResponse, HttpError, jsonResponse } from "../http/http_error.ts";
import { readBodyLimited } from "../http/read_body.ts";
import type { Logger } from "../log/logging.ts";
import { isStoreUnavailable } from "../store/write_transaction.ts";
import { type SigningKey, verifySignature } from "./signature.ts";

/** Every way a webhook request can end, for metrics. */
export type WebhookOutcome =
  | "applied"
  | "duplicate"
  | "ignored"
  | "invalid"
  | "signature_missing"
  | "signature_invalid"
  | "too_large"
  | "audit_failed"
  | "apply_failed"
  | "not_configured";

/** What the webhook needs. */
export interface WebhookDeps {
  readonly signingKeys: readonly SigningKey[];
  readonly audit: AuditLog;
  readonly apply: (event: ClassifiedEvent, context: ApplyContext) => Promise<ApplyOutcome>;
  readonly maxBodyBytes: number;
  readonly clock: () => Date;
  readonly log: Logger;
  readonly onOutcome?: (outcome: WebhookOutcome) => void;
  /** Called once per flag an applied event raised (id conflict, far-future timestamp). */
  readonly onFlag?: (flag: EventFlag) => void;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Builds the webhook handler: `(Request) => Promise<Response>`. */
export function createWebhookHandler(deps: WebhookDeps): (request: Request) => Promise<Response> {
  const outcome = (name: WebhookOutcome) => deps.onOutcome?.(name);
  return async (request) => {
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
      throw error;
    }

    const signature = request.headers.get("x-hmac-signature");
    if (signature === null || signature.trim() === "") {
      outcome("signature_missing");
      return errorResponse(401, "missing_signature", "The X-Hmac-Signature header is missing.");
    }
    if (!(await verifySignature(deps.signingKeys, body, signature))) {
      outcome("signature_invalid");
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
    let record: AuditRecord;
    try {
      record = await deps.audit.append({ receivedAt, ...summary, signature, body });
    } catch (error) {
      outcome("audit_failed");
      deps.log.error("Audit log append failed; the event was not applied: {error}", {
        error: String(error),
        eventId: summary.eventId,
      });
      return errorResponse(
        503,
        "audit_unavailable",
        "The audit log cannot be written right now; the event was not accepted. Retry later.",
      );
    }

    if (event === null || bodyText === null) {
      outcome("invalid");
      return errorResponse(
        400,
        "invalid_event",
        invalid?.message ?? "The body is not a valid event.",
      );
    }

    const auditSeq = record.seq;
    let result: ApplyOutcome;
    try {
      result = await deps.apply(event, {
        receivedAt,
        auditSeq,
        bodyText,
        bodySha256: record.body_sha256,
      });
    } catch (error) {
      outcome("apply_failed");
      deps.log.error(
        "Applying a webhook event failed; it is in the audit log (seq {auditSeq}): {error}",
        {
          auditSeq,
          error: String(error),
          eventId: summary.eventId,
        },
      );
      if (isStoreUnavailable(error)) {
        // Symbo retries a 5xx; the retry is deduplicated, and `audit replay`
        // recovers the event should no retry ever come.
        return errorResponse(
          503,
          "store_unavailable",
          "The event was recorded in the audit log but the database is unavailable right now; retry later.",
          { "retry-after": "5" },
        );
      }
      return errorResponse(
        500,
        "apply_failed",
        "The event was recorded in the audit log but could not be stored; `symbo-crm audit replay` recovers it.",
      );
    }
    outcome(result.status);
    for (const flag of result.flags ?? []) deps.onFlag?.(flag);
    return jsonResponse(200, { status: result.status });
  };
}

function decodeUtf8(body: Uint8Array): string | null {
  try {
    return utf8.decode(body);
  } catch {
    return null;
  }
}
