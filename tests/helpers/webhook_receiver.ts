/**
 * A CRM's receiving endpoint for tests, on 127.0.0.1: it verifies every
 * delivery with the Standard Webhooks reference library (`standardwebhooks`,
 * a test-only dependency) against every secret it is told, records what it
 * got, and answers as the test says (200, an error status, a redirect, or
 * never).
 */
import { Webhook } from "standardwebhooks";

/** One request the receiver got. */
export interface Received {
  readonly id: string;
  readonly timestamp: number;
  readonly signature: string;
  /** Which of the receiver's secrets verified it (indexes); empty when none did. */
  readonly verifiedBy: number[];
  readonly body: {
    type: string;
    timestamp: string;
    /** The call as the API shows it; `data` is its merged snapshot. */
    data: { id: string; revision: number; data: Record<string, unknown>; [key: string]: unknown };
  };
  /** The status the receiver answered. */
  readonly answered: number | "hung";
}

/** How the receiver answers the next request. */
export type Answer = number | "hang" | { redirect: string };

/** A running receiver. */
export interface Receiver {
  readonly url: string;
  readonly port: number;
  readonly received: Received[];
  /** Secrets to verify with (set after registering the endpoint). */
  secrets: string[];
  /** Decides the answer of each request (default 200). */
  answer: (received: Omit<Received, "answered">) => Answer;
  /** Verified deliveries answered 2xx. */
  delivered(): Received[];
  /** Releases hanging requests and stops. */
  close(): Promise<void>;
}

/** Starts a receiver on 127.0.0.1 and a free port. */
export function startReceiver(): Receiver {
  const hanging: Array<(response: Response) => void> = [];
  const receiver: Receiver = {
    url: "",
    port: 0,
    received: [],
    secrets: [],
    answer: () => 200,
    delivered() {
      return this.received.filter((item) =>
        typeof item.answered === "number" && item.answered < 300 && item.verifiedBy.length > 0
      );
    },
    async close() {
      hanging.splice(0).forEach((release) => release(new Response("late", { status: 503 })));
      await server.shutdown();
    },
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const text = await request.text();
    const headers = {
      "webhook-id": request.headers.get("webhook-id") ?? "",
      "webhook-timestamp": request.headers.get("webhook-timestamp") ?? "",
      "webhook-signature": request.headers.get("webhook-signature") ?? "",
    };
    const verifiedBy: number[] = [];
    receiver.secrets.forEach((secret, index) => {
      try {
        new Webhook(secret).verify(text, headers);
        verifiedBy.push(index);
      } catch {
        // not signed with this secret
      }
    });
    const item = {
      id: headers["webhook-id"],
      timestamp: Number(headers["webhook-timestamp"]),
      signature: headers["webhook-signature"],
      verifiedBy,
      body: JSON.parse(text),
    };
    const answer = receiver.answer(item);
    if (answer === "hang") {
      receiver.received.push({ ...item, answered: "hung" });
      return await new Promise<Response>((resolve) => hanging.push(resolve));
    }
    if (typeof answer === "object") {
      receiver.received.push({ ...item, answered: 302 });
      return new Response(null, { status: 302, headers: { location: answer.redirect } });
    }
    receiver.received.push({ ...item, answered: answer });
    return new Response(answer < 300 ? "thanks" : "not now", { status: answer });
  });
  Object.assign(receiver, {
    port: server.addr.port,
    url: `http://127.0.0.1:${server.addr.port}/hooks/symbo`,
  });
  return receiver;
}
