/** Builders for Symbo webhook deliveries in tests. */
import { signBody } from "../../src/symbo/signature.ts";

/** Options of a generated call event. */
export interface CallEventOptions {
  readonly eventId?: string | null;
  readonly callId: string;
  readonly type?: string;
  readonly updatedAt?: string;
  readonly createdAt?: string;
  readonly disposition?: string;
  readonly note?: string;
  readonly prospectExternalId?: string;
  readonly to?: string;
  readonly extra?: Record<string, unknown>;
}

/** A call event body in the shape of Symbo's guide. */
export function callEventBody(options: CallEventOptions): string {
  const envelope: Record<string, unknown> = {
    object: "Call",
    description: options.type ?? "call.created",
    user_id: "35904adb-e732-4ee7-a450-a87dfbe8a7f5",
    created_at: options.createdAt ?? "2024-01-11T20:19:40.000Z",
    data: {
      prospect: {
        id: `prospect-${options.callId}`,
        external_id: options.prospectExternalId ?? "",
        first_name: "Sally",
      },
      id: options.callId,
      call_disposition: options.disposition ?? "answered_positive",
      direction: "outbound",
      from: "+19897189159",
      to: options.to ?? "+15178626434",
      note: options.note ?? "",
      recording_url: "",
      state: "completed",
      updated_at: options.updatedAt ?? "2024-01-11T20:19:40.000Z",
      ...options.extra,
    },
  };
  if (options.eventId !== null) envelope.id = options.eventId ?? crypto.randomUUID();
  return JSON.stringify(envelope);
}

/** POSTs a signed body to the webhook. */
export async function postSigned(
  baseUrl: string,
  secret: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return await fetch(`${baseUrl}/symbo/webhook`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-hmac-signature": await signBody(secret, body),
      ...headers,
    },
    body,
  });
}
