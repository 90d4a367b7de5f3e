import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { createApp, type Route } from "../../src/http/app.ts";
import { BodyBudget } from "../../src/http/body_guard.ts";
import { readBodyLimited } from "../../src/http/read_body.ts";
import { jsonResponse } from "../../src/http/http_error.ts";
import { configureLogging, logger } from "../../src/log/logging.ts";
import type { LogRecord } from "@logtape/logtape";
import { Metrics } from "../../src/ops/metrics.ts";

/** An app with one POST route that reads its body, then waits for `gate` before answering. */
function appWith(
  budget: BodyBudget,
  options: { stallMs?: number; gate?: Promise<void>; minBytesPerSecond?: number } = {},
) {
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
    bodyMinBytesPerSecond: options.minBytesPerSecond,
    // Tests name their client in a header.
    clientOf: (request) => request.headers.get("x-client") ?? "one",
  });
  return { app, metrics };
}

const post = (bytes: number, client = "one") =>
  new Request("http://x/in", {
    method: "POST",
    body: new Uint8Array(bytes),
    headers: { "content-length": String(bytes), "x-client": client },
  });

/** Waits until `budget` holds at least `bytes`. */
async function holding(budget: BodyBudget, bytes: number): Promise<void> {
  while (budget.inFlight < bytes) await new Promise((resolve) => setTimeout(resolve, 1));
}

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

Deno.test("bodies beyond the shared byte budget are refused with 503 and Retry-After as their bytes arrive", async () => {
  const budget = new BodyBudget(10_000, { smallLaneBytes: 0 });
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
  const budget = new BodyBudget(4_096, { smallLaneBytes: 0 });
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

/** A body that sends `first` bytes, then `each` bytes every `everyMs` until `chunks` are sent. */
function tricklingBody(first: number, each: number, everyMs: number, chunks: number) {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent === 0) {
        sent++;
        controller.enqueue(new Uint8Array(first));
        return;
      }
      if (sent++ > chunks) {
        controller.close();
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
      controller.enqueue(new Uint8Array(each));
    },
  });
}

Deno.test("slow bodies declaring the whole budget hold only the bytes they sent: normal bodies get through", async () => {
  const budget = new BodyBudget(4 * 1024 * 1024, { smallLaneBytes: 0 });
  const { app } = appWith(budget);
  // The attack, scaled to the test route's 1 MiB limit: 6 × 1 MiB and 1 × ½ MiB
  // declared (more than the budget), one byte sent.
  const slow = [1024, 1024, 1024, 1024, 1024, 1024, 512].map((kib, i) =>
    app.fetch(
      new Request("http://x/in", {
        method: "POST",
        body: stallingBody(1),
        headers: { "content-length": String(kib * 1024), "x-client": `slow-${i}` },
      }),
      {},
    )
  );
  await holding(budget, 7);
  for (let i = 0; i < 20; i++) {
    const response = await app.fetch(post(4_000, "symbo"), {});
    assertEquals(response.status, 200);
    assertEquals(await response.json(), { bytes: 4_000 });
  }
  assertEquals(budget.inFlight, 7);
  // (The slow ones stall out at the test app's 5 s stall timeout.)
  for (const response of await Promise.all(slow)) await response.body?.cancel();
  assertEquals(budget.inFlight, 0);
});

Deno.test("small bodies have a lane large ones cannot fill", async () => {
  const budget = new BodyBudget(100_000, { smallLaneBytes: 10_000, smallBodyBytes: 1_000 });
  const gate = Promise.withResolvers<void>();
  const { app } = appWith(budget, { gate: gate.promise });
  const large = [app.fetch(post(60_000, "a"), {}), app.fetch(post(40_000, "b"), {})];
  await holding(budget, 100_000);
  const refused = await app.fetch(post(5_000, "c"), {});
  assertEquals(refused.status, 503);
  assertEquals((await refused.json()).error, "busy");
  // Small ones still get in (held at the gate, within their lane).
  const small = Array.from({ length: 10 }, (_, i) => app.fetch(post(1_000, `s${i}`), {}));
  await holding(budget, 110_000);
  assertEquals(budget.inFlight, 110_000);
  gate.resolve();
  for (const response of await Promise.all([...large, ...small])) {
    assertEquals(response.status, 200);
    await response.body?.cancel();
  }
  assertEquals(budget.inFlight, 0);
});

Deno.test("a body without a length leaves the small lane once it grows past a small body", () => {
  const budget = new BodyBudget(100_000, { smallLaneBytes: 10_000, smallBodyBytes: 1_000 });
  const charge = budget.open("one", null);
  assertEquals(charge.charge(800), null);
  assertEquals(budget.inFlight, 800);
  assertEquals(charge.charge(800), null); // now 1,600: a large body, all in the shared pool
  const small = budget.open("two", 500);
  // The small lane is whole again for small bodies.
  for (let i = 0; i < 10; i++) assertEquals(budget.open(`s${i}`, 1_000).charge(1_000), null);
  assertEquals(small.charge(500), null); // and a full lane overflows into the shared pool
  assertEquals(budget.inFlight, 1_600 + 10_000 + 500);
  charge.release();
  small.release();
  assertEquals(budget.inFlight, 10_000);
});

Deno.test("one client address holds at most perClientBytes at once (429), others are not held up", async () => {
  const budget = new BodyBudget(100_000, { perClientBytes: 30_000, smallLaneBytes: 0 });
  const gate = Promise.withResolvers<void>();
  const { app } = appWith(budget, { gate: gate.promise });
  const first = app.fetch(post(20_000, "greedy"), {});
  await holding(budget, 20_000);
  const refused = await app.fetch(post(20_000, "greedy"), {});
  assertEquals(refused.status, 429);
  assertEquals(refused.headers.get("retry-after"), "2");
  assertEquals((await refused.json()).error, "client_busy");
  const other = app.fetch(post(20_000, "other"), {});
  await holding(budget, 40_000);
  gate.resolve();
  assertEquals((await first).status, 200);
  assertEquals((await other).status, 200);
  assertEquals(budget.inFlight, 0);
  assertEquals(budget.clients, 0);
});

Deno.test("a body slower than the minimum rate after the grace period is aborted with 408", async () => {
  const budget = new BodyBudget(1024 * 1024);
  // 10 bytes every 20 ms (500 B/s): never stalls, but is below 2,000 B/s after 200 ms.
  const { app } = appWith(budget, { stallMs: 200, minBytesPerSecond: 2_000 });
  const response = await app.fetch(
    new Request("http://x/in", { method: "POST", body: tricklingBody(10, 10, 20, 10_000) }),
    {},
  );
  assertEquals(response.status, 408);
  assertEquals(response.headers.get("connection"), "close");
  const body = await response.json();
  assertEquals(body.error, "body_too_slow");
  assertMatch(body.message, /slower than 2000 bytes\/s after the first 200 ms/);
  assertEquals(budget.inFlight, 0);
  // A body at the rate gets through.
  const fast = await app.fetch(
    new Request("http://x/in", { method: "POST", body: tricklingBody(1_000, 100, 10, 20) }),
    {},
  );
  assertEquals(fast.status, 200);
  assertEquals(await fast.json(), { bytes: 3_000 });
});
