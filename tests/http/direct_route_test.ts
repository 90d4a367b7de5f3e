/**
 * A route served before the router (`direct`, the lookup's fast path) keeps
 * everything the middleware gives every other route.
 */
import { assertEquals } from "../helpers/assert.ts";
import { createApp, type Route } from "../../src/http/app.ts";
import { HttpError } from "../../src/http/http_error.ts";
import { logger } from "../../src/log/logging.ts";
import { Metrics } from "../../src/ops/metrics.ts";
import { watchedRequest } from "../helpers/watched_request.ts";

function appWith(options: { allow?: boolean } = {}) {
  const metrics = new Metrics();
  const calls: string[] = [];
  const route: Route = {
    method: "GET",
    path: "/symbo/lookup",
    direct: true,
    timeout: false,
    handler: (request) => {
      calls.push(request.url);
      if (new URL(request.url).searchParams.get("token") !== "t") {
        throw new HttpError(401, "unauthorized", "No token.");
      }
      return new Response('{"ok":true}', { headers: { "content-type": "application/json" } });
    },
  };
  const app = createApp({
    routes: [route],
    metrics,
    log: logger("test"),
    requestTimeoutMs: 1000,
    symboAccess: options.allow === undefined ? undefined : () => options.allow === true,
  });
  return { app, metrics, calls };
}

Deno.test("a direct route answers and counts its metrics without reading a request header", async () => {
  const { app, metrics, calls } = appWith();
  const { request, headersRead } = watchedRequest("http://localhost/symbo/lookup?token=t", {
    "x-request-id": "abc-123",
  });
  const response = await app.fetch(request);
  assertEquals(response.status, 200);
  assertEquals(await response.json(), { ok: true });
  // Reading any request header moves Deno.serve off its synchronous answer
  // path: a normal answer does not echo the request id.
  assertEquals(headersRead(), false);
  assertEquals(response.headers.get("x-request-id"), null);
  assertEquals(calls.length, 1);
  const page = await metrics.render();
  assertEquals(
    page.includes(
      'symbo_crm_http_requests_total{route="/symbo/lookup",method="GET",status="200"} 1',
    ),
    true,
    page,
  );
});

Deno.test("a direct route's error answer echoes the caller's request id", async () => {
  const { app } = appWith();
  const response = await app.request("http://localhost/symbo/lookup?token=wrong", {
    headers: { "x-request-id": "abc-123" },
  });
  assertEquals(response.status, 401);
  await response.body?.cancel();
  assertEquals(response.headers.get("x-request-id"), "abc-123");
});

Deno.test("a direct route's thrown HttpError answers as itself, with the security headers", async () => {
  const { app } = appWith();
  const response = await app.request("http://localhost/symbo/lookup?token=wrong");
  assertEquals(response.status, 401);
  assertEquals((await response.json()).error, "unauthorized");
  assertEquals(response.headers.get("x-frame-options"), "DENY");
});

Deno.test("a direct route still obeys the Symbo access check", async () => {
  const { app, calls } = appWith({ allow: false });
  const response = await app.request("http://localhost/symbo/lookup?token=t");
  assertEquals(response.status, 403);
  await response.body?.cancel();
  assertEquals(calls.length, 0);
});

Deno.test("other methods and other paths still go through the router", async () => {
  const { app, calls } = appWith();
  const post = await app.request("http://localhost/symbo/lookup?token=t", { method: "POST" });
  assertEquals(post.status, 405);
  await post.body?.cancel();
  const longer = await app.request("http://localhost/symbo/lookup/more?token=t");
  assertEquals(longer.status, 404);
  await longer.body?.cancel();
  assertEquals(calls.length, 0);
});
