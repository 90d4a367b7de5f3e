/**
 * Specification of the serve supervisor with a fake `Deno.serve`: an accept
 * error is counted, reported at most once per interval, and followed by a new
 * listener on the port first bound; a bind that fails is retried; shutdown
 * stops every generation and the retries.
 */
import { assertEquals, assertMatch } from "../helpers/assert.ts";
import { superviseServer } from "../../src/http/serve_supervisor.ts";

/** A stand-in for one `Deno.serve` generation whose accept loop the test can fail. */
function fakeServer(port: number) {
  const finished = Promise.withResolvers<void>();
  let shutdowns = 0;
  const server = {
    addr: { transport: "tcp", hostname: "127.0.0.1", port } as Deno.NetAddr,
    finished: finished.promise,
    shutdown: () => {
      shutdowns++;
      finished.resolve();
      return Promise.resolve();
    },
    ref: () => {},
    unref: () => {},
    [Symbol.asyncDispose]: () => Promise.resolve(),
  } satisfies Deno.HttpServer<Deno.NetAddr>;
  return {
    server,
    failAccept: () => finished.reject(new Error("Http: Too many open files (os error 24)")),
    get shutdowns() {
      return shutdowns;
    },
  };
}

const tick = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("an accept error is counted, reported once per interval, and the server listens again", async () => {
  const generations: ReturnType<typeof fakeServer>[] = [];
  const ports: number[] = [];
  let failBind = 0;
  let now = 0;
  const errors: unknown[] = [];
  const reports: [string, Record<string, unknown>][] = [];
  const supervised = superviseServer({
    port: 0,
    listen: (port) => {
      ports.push(port);
      if (failBind > 0) {
        failBind--;
        throw new Error("Too many open files (os error 24)");
      }
      const generation = fakeServer(port === 0 ? 41234 : port);
      generations.push(generation);
      return generation.server;
    },
    onAcceptError: (error) => errors.push(error),
    warn: (message, properties) => reports.push([message, properties]),
    logIntervalMs: 60_000,
    retryMs: 1,
    now: () => now,
  });
  assertEquals(supervised.addr.port, 41234);

  generations[0]?.failAccept();
  while (generations.length < 2) await tick();
  assertEquals(errors.length, 1);
  assertEquals(reports.length, 1);
  assertMatch(reports[0]?.[0] ?? "", /listening again/);
  assertMatch(String(reports[0]?.[1].error), /Too many open files/);

  // Within the interval: counted, not reported; a failed bind is retried.
  now = 30_000;
  failBind = 2;
  generations[1]?.failAccept();
  while (generations.length < 3) await tick();
  assertEquals(errors.length, 4);
  assertEquals(reports.length, 1);

  // After the interval: one report that sums up what was not reported.
  now = 61_000;
  generations[2]?.failAccept();
  while (generations.length < 4) await tick();
  assertEquals(reports.length, 2);
  assertEquals(reports[1]?.[1].count, 4);
  // Every new listener takes the port the first one bound, not "any free port".
  assertEquals(ports, [0, 41234, 41234, 41234, 41234, 41234]);

  await supervised.shutdown();
  await supervised.finished;
  assertEquals(generations[3]?.shutdowns, 1);
  // No listener is started after shutdown, even when the last one fails.
  generations[3]?.failAccept();
  await tick(20);
  assertEquals(generations.length, 4);
});

Deno.test("the first listener's own error (the port is taken) reaches the caller", () => {
  let threw = false;
  try {
    superviseServer({
      port: 8787,
      listen: () => {
        throw new Deno.errors.AddrInUse("Address already in use");
      },
      onAcceptError: () => {},
      warn: () => {},
    });
  } catch (error) {
    threw = error instanceof Deno.errors.AddrInUse;
  }
  assertEquals(threw, true);
});
