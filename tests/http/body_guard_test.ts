import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { createApp, type Route } from "../../src/http/app.ts";
import { BodyBudget } from "../../src/http/body_guard.ts";
import { readBodyLimited } from "../../src/http/read_body.ts";
import { jsonResponse } from "../../src/http/http_error.ts";
import { configureLogging, logger } from "../../src/log/logging.ts";
import type { LogRecord } from "@logtape/logtape";
import { Metrics } from "../../src/ops/metrics.ts";

/** An app with one POST route that reads its body, then waits for `gate` before answering. */
function appWith(budget: BodyBudget, options: { stallMs?: number; gate?: Promise<void> } = {}) {
  const metrics = new Metrics();
  const route: Route = {
    method: "POST",
    path: "/in",
    handler: async (request) => {
      const body = await readBodyLimited(request, 1024 * 1024);
      await options.gate;
      return jsonResponse(200, { bytes: body.byteLength });
    },
  };
  const app = createApp({
    routes: [route],
    metrics,
    log: logger("test"),
    requestTimeoutMs: 5_000,
    bodyBudget: budget,
    bodyStallMs: options.stallMs ?? 5_000,
  });
  return { app, metrics };
}

const post = (bytes: number) =>
  new Request("http://x/in", {
    method: "POST",
    body: new Uint8Array(bytes),
    headers: { "content-length": String(bytes) },
  });

/** A body that sends `first` bytes, then nothing (or fails, when `thenFail`). */
function stallingBody(first: number, thenFail = false): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream({
    pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(new Uint8Array(first));
        return;
      }
      if (thenFail) controller.error(new TypeError("connection reset by peer"));
      return new Promise(() => {}); // never sends more
    },
  });
}

Deno.test("bodies beyond the shared byte budget are refused at once with 503 and Retry-After", async () => {
  const budget = new BodyBudget(10_000);
  const gate = Promise.withResolvers<void>();
  const { app } = appWith(budget, { gate: gate.promise });
  const first = app.fetch(post(6_000), {});
  // Let the first request reserve its bytes and read its body.
  while (budget.inFlight === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  const refused = await app.fetch(post(6_000), {});
  assertEquals(refused.status, 503);
  assertEquals(refused.headers.get("retry-after"), "2");
  assertEquals(refused.headers.get("connection"), "close");
  assertEquals((await refused.json()).error, "busy");
  gate.resolve();
  assertEquals((await first).status, 200);
  assertEquals(budget.inFlight, 0);
  const later = await app.fetch(post(6_000), {});
  assertEquals(later.status, 200);
  assertEquals(await later.json(), { bytes: 6_000 });
  assertEquals(budget.inFlight, 0);
});

Deno.test("a body without a length is charged as it arrives and refused beyond the budget", async () => {
  const budget = new BodyBudget(4_096);
  const { app } = appWith(budget);
  const chunks = [new Uint8Array(3_000), new Uint8Array(3_000)];
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = chunks.shift();
      if (next) controller.enqueue(next);
      else controller.close();
    },
  });
  const response = await app.fetch(new Request("http://x/in", { method: "POST", body }), {});
  assertEquals(response.status, 503);
  assertEquals(response.headers.get("retry-after"), "2");
  await response.body?.cancel();
  assertEquals(budget.inFlight, 0);
});

Deno.test("a body that stalls is aborted with 408, the connection closed and its bytes released", async () => {
  const budget = new BodyBudget(1024 * 1024);
  const { app } = appWith(budget, { stallMs: 150 });
  const response = await app.fetch(
    new Request("http://x/in", { method: "POST", body: stallingBody(1_000) }),
    {},
  );
  assertEquals(response.status, 408);
  assertEquals(response.headers.get("connection"), "close");
  assertMatch((await response.json()).message, /sent nothing for 150 ms/);
  assertEquals(budget.inFlight, 0);
});

Deno.test("a client that hangs up mid-body is counted as 499 and not logged as an error", async () => {
  const records: LogRecord[] = [];
  configureLogging({ level: "debug", sink: (record) => records.push(record) });
  try {
    const budget = new BodyBudget(1024 * 1024);
    const { app, metrics } = appWith(budget);
    const response = await app.fetch(
      new Request("http://x/in", { method: "POST", body: stallingBody(1_000, true) }),
      {},
    );
    assertEquals(response.status, 499);
    await response.body?.cancel();
    assertEquals(budget.inFlight, 0);
    assertEquals(records.filter((record) => record.level === "error").length, 0);
    assert(records.some((record) => record.level === "info"), "the request is logged at info");
    const text = await metrics.render();
    assertMatch(text, /symbo_crm_http_requests_total\{route="\/in",method="POST",status="499"\} 1/);
    assert(!text.includes('status="500"'));
  } finally {
    configureLogging({ level: "warning", sink: () => {} });
  }
});

Deno.test("methods and routes a client invents are counted as OTHER and unmatched", async () => {
  const budget = new BodyBudget(1024 * 1024);
  const { app, metrics } = appWith(budget);
  for (let i = 0; i < 50; i++) {
    const response = await app.fetch(
      new Request(`http://x/made-up-${i}`, { method: `M${"X".repeat(300)}${i}` }),
      {},
    );
    await response.body?.cancel();
  }
  const text = await metrics.render();
  assertMatch(
    text,
    /symbo_crm_http_requests_total\{route="unmatched",method="OTHER",status="404"\} 50/,
  );
  assert(!text.includes("XXXX"));
  assert(!text.includes("made-up"));
});

Deno.test("a route that streams its body is not charged to the budget, but still stalls out", async () => {
  const budget = new BodyBudget(4_096);
  let seen = 0;
  const route: Route = {
    method: "POST",
    path: "/stream",
    streamsBody: true,
    handler: async (request) => {
      for await (const chunk of request.body!) {
        seen += chunk.byteLength;
        assertEquals(budget.inFlight, 0);
      }
      return jsonResponse(200, { bytes: seen });
    },
  };
  const app = createApp({
    routes: [route],
    metrics: new Metrics(),
    log: logger("test"),
    requestTimeoutMs: 5_000,
    bodyBudget: budget,
    bodyStallMs: 150,
  });
  const large = await app.fetch(
    new Request("http://x/stream", {
      method: "POST",
      body: new Uint8Array(64 * 1024),
      headers: { "content-length": String(64 * 1024) },
    }),
    {},
  );
  assertEquals(large.status, 200);
  assertEquals(await large.json(), { bytes: 64 * 1024 });
  const stalled = await app.fetch(
    new Request("http://x/stream", { method: "POST", body: stallingBody(100) }),
    {},
  );
  assertEquals(stalled.status, 408);
  await stalled.body?.cancel();
});
