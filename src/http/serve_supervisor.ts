/**
 * Keeps the HTTP server accepting whatever `accept()` says. In Deno 2.9.6 an
 * accept error (`EMFILE`: "Too many open files", when idle connections have
 * used up the process's file descriptors) ends `Deno.serve`'s accept loop: its
 * `finished` promise rejects and its listener is closed, while the
 * connections it already accepted are still served. Unhandled, that rejection
 * ended the process (issue 20). Here it never does: the error is counted,
 * logged at most once per interval, the failed generation is shut down
 * gracefully (its requests in flight finish; its idle connections, the ones
 * that used up the descriptors, are closed: measured, 56 of 56 under a limit
 * of 64) and the server listens again on the same address after a short pause.
 *
 * Deno.serve offers no way to see a connection before its first request (no
 * listener of our own, no idle or header timeout), so what one client address
 * holds open cannot be bounded in-process: the deployment bounds it
 * (examples/Caddyfile, `LimitNOFILE` in examples/symbo-crm.service).
 */

/** Starts one server generation on `port` (the first with the configured port, then the bound one). */
export type ListenFn = (port: number) => Deno.HttpServer<Deno.NetAddr>;

/** What the supervisor needs. */
export interface ServeSupervisorOptions {
  /** The configured port (0: any free port; later generations reuse the one bound). */
  readonly port: number;
  readonly listen: ListenFn;
  /** Called for each accept error (the metric). */
  readonly onAcceptError: (error: unknown) => void;
  /** Where the throttled report goes. */
  readonly warn: (message: string, properties: Record<string, unknown>) => void;
  /** At most one log line per this many ms (default 60 s). */
  readonly logIntervalMs?: number;
  /** Pause before listening again (default 250 ms). */
  readonly retryMs?: number;
  readonly now?: () => number;
}

/** A supervised server: like `Deno.HttpServer`, across generations. */
export interface SupervisedServer {
  readonly addr: Deno.NetAddr;
  /** Stops listening and lets every generation's in-flight requests finish. */
  shutdown(): Promise<void>;
  /** Resolves once `shutdown()` has finished (never rejects on an accept error). */
  readonly finished: Promise<void>;
}

/** Serves with `options.listen`, listening again after every accept error. */
export function superviseServer(options: ServeSupervisorOptions): SupervisedServer {
  const now = options.now ?? (() => Date.now());
  const logIntervalMs = options.logIntervalMs ?? 60_000;
  const retryMs = options.retryMs ?? 250;
  const servers = new Set<Deno.HttpServer<Deno.NetAddr>>();
  const finished = Promise.withResolvers<void>();
  let stopping: Promise<void> | null = null;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let lastLoggedAt = -Infinity;
  let unlogged = 0;

  const report = (error: unknown) => {
    options.onAcceptError(error);
    unlogged++;
    const at = now();
    if (at - lastLoggedAt < logIntervalMs) return;
    options.warn(
      "Accepting a connection failed {count} time(s) since the last report: {error}; " +
        "listening again in {retryMs} ms (requests in flight finish; idle connections are closed). " +
        "Too many open files means clients hold too many connections: see LimitNOFILE and the proxy.",
      { count: unlogged, error: String(error).slice(0, 200), retryMs },
    );
    lastLoggedAt = at;
    unlogged = 0;
  };

  const watch = (server: Deno.HttpServer<Deno.NetAddr>, port: number) => {
    servers.add(server);
    server.finished.then(
      () => servers.delete(server),
      (error) => {
        // Its accepted connections go on being served; only the listener is gone.
        report(error);
        retry(port);
        void server.shutdown().catch(() => {}).finally(() => servers.delete(server));
      },
    );
  };

  const retry = (port: number) => {
    if (stopping) return;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      if (stopping) return;
      try {
        watch(options.listen(port), port);
      } catch (error) {
        // Binding needs a descriptor too: with none free, try again later.
        report(error);
        retry(port);
      }
    }, retryMs);
  };

  // The first generation's errors (port in use, bad address) are the caller's to see.
  const first = options.listen(options.port);
  const addr = first.addr;
  watch(first, addr.port);

  return {
    addr,
    finished: finished.promise,
    shutdown() {
      stopping ??= (async () => {
        clearTimeout(retryTimer);
        await Promise.all([...servers].map((server) => server.shutdown().catch(() => {})));
        finished.resolve();
      })();
      return stopping;
    },
  };
}
