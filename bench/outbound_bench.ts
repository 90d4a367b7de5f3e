/**
 * Outbound deliveries (issue 23, DESIGN §11), in two parts:
 *
 * 1. `webhook_ratio_with_outbound`: the durable webhook measurement (wrk, 64
 *    senders, the same pre-signed pool) against two copies of the real
 *    server over copies of the N-contact store, one with no endpoint and one
 *    with one enabled endpoint delivering every change to a local receiver
 *    (`outbound_receiver.ts`, on the load core), in alternating rounds; the
 *    fastest round of each counts. Ratio: with ÷ without (target ≥ 0.90).
 * 2. `outbound_deliveries_per_s` and `outbound_cpu_us_per_delivery`: the
 *    server with the endpoint, once its backlog is empty, is asked to replay
 *    the endpoint from the beginning (every call its store holds is queued
 *    again); from then until nothing is pending, deliveries the receiver got
 *    ÷ seconds, and the server process's CPU time ÷ deliveries.
 */
import type { Dataset } from "./dataset.ts";
import { type Pinning, procCpuSeconds, ROOT, spawnServer } from "./processes.ts";
import { startRealServer } from "./real_server.ts";
import { WEBHOOK_CONCURRENCY, webhookWrk } from "./webhook_bench.ts";
import { ensureEventPool } from "./webhook_events.ts";
import { fastest, type RunSummary, summary, writeWrkScripts, type WrkResult } from "./wrk.ts";

/** What the outbound benchmark measured. */
export interface OutboundBenchResult {
  readonly concurrency: number;
  readonly seconds: number;
  readonly rounds: number;
  readonly withoutEndpointRuns: readonly RunSummary[];
  readonly withEndpointRuns: readonly RunSummary[];
  readonly withoutEndpoint: WrkResult;
  readonly withEndpoint: WrkResult;
  /** Webhook req/s with one endpoint enabled ÷ without (fastest rounds). */
  readonly webhookRatioWithOutbound: number;
  /** Deliveries the receiver got while the webhook rounds ran (coalesced changes). */
  readonly deliveredDuringRounds: number;
  readonly drain: {
    readonly queued: number;
    readonly delivered: number;
    readonly seconds: number;
    readonly deliveriesPerSecond: number;
    readonly serverCpuSeconds: number;
    readonly cpuUsPerDelivery: number;
  };
}

/** Runs the outbound benchmark. */
export async function runOutboundBench(options: {
  readonly workDir: string;
  readonly cacheDir: string;
  readonly storePath: string;
  readonly configFor: (dir: string, dbPath: string) => Promise<string>;
  readonly adminToken: string;
  readonly flags: readonly string[];
  readonly pinning: Pinning;
  readonly dataset: Dataset;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly rounds: number;
  readonly drainTimeoutMs: number;
  readonly log: (line: string) => void;
}): Promise<OutboundBenchResult> {
  const pool = await ensureEventPool(options.cacheDir, options.dataset.lookupList);
  const { webhook: script } = await writeWrkScripts(options.workDir);
  const wrk = webhookWrk(script, options.pinning);
  const prepare = async (name: string) => {
    const dir = `${options.workDir}/${name}`;
    await Deno.mkdir(dir, { recursive: true });
    const dbPath = `${dir}/crm.db`;
    await Deno.copyFile(options.storePath, dbPath);
    await Deno.copyFile(`${options.storePath}-wal`, `${dbPath}-wal`).catch(() => {});
    const configPath = await options.configFor(dir, dbPath);
    const config = JSON.parse(await Deno.readTextFile(configPath));
    // The receiver is on this machine (127.0.0.1, plain http); a replay of the
    // whole store runs inside one admin request.
    config.outbound = { allow_private_networks: true, allow_http: true };
    config.server = { ...config.server, request_timeout_ms: 600_000 };
    await Deno.writeTextFile(configPath, JSON.stringify(config, null, 2));
    return configPath;
  };

  const receiver = await spawnServer({
    name: "outbound receiver",
    command: [
      ...options.pinning.load,
      Deno.execPath(),
      "run",
      "--allow-net",
      `${ROOT}/bench/outbound_receiver.ts`,
    ],
    listening: /receiver listening on (\S+)/,
    timeoutMs: 30_000,
  });
  const received = async () => Number(await (await fetch(`${receiver.url}/count`)).text());
  const admin = (server: { url: string }, path: string, body: unknown) =>
    fetch(`${server.url}${path}`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${options.adminToken}`,
        "content-type": "application/json",
      },
      body: JSON.stringify(body),
    });
  try {
    options.log(
      `  symbo-crm POST /symbo/webhook without and with one endpoint delivering to a local ` +
        `receiver: ${options.rounds} alternating rounds of wrk ${options.seconds}s…`,
    );
    const without = await startRealServer({
      configPath: await prepare("outbound_without"),
      flags: options.flags,
      prefix: options.pinning.server,
    });
    const withRuns: WrkResult[] = [];
    const withoutRuns: WrkResult[] = [];
    let delivering: Awaited<ReturnType<typeof startRealServer>> | null = null;
    try {
      delivering = await startRealServer({
        configPath: await prepare("outbound_with"),
        flags: options.flags,
        prefix: options.pinning.server,
      });
      const created = await admin(delivering, "/api/endpoints", { url: `${receiver.url}/hook` });
      const endpoint = await created.json();
      if (created.status !== 201) {
        throw new Error(`registering the endpoint: ${JSON.stringify(endpoint)}`);
      }
      await wrk(without, pool.warmupPath, options.warmupSeconds, 0);
      await wrk(delivering, pool.warmupPath, options.warmupSeconds, 0);
      const before = await received();
      let offset = 0;
      for (let round = 0; round < options.rounds; round++) {
        const plain = await wrk(without, pool.measuredPath, options.seconds, offset);
        const real = await wrk(delivering, pool.measuredPath, options.seconds, offset);
        withoutRuns.push(plain);
        withRuns.push(real);
        offset += Math.max(plain.requests, real.requests) + WEBHOOK_CONCURRENCY;
      }
      await waitDrained(delivering.url, options.drainTimeoutMs);
      const deliveredDuringRounds = await received() - before;

      options.log("  replay of the whole store to the endpoint, until nothing is pending…");
      const startCount = await received();
      const cpuBefore = await procCpuSeconds(delivering.pid);
      const started = performance.now();
      const replay = await admin(delivering, `/api/endpoints/${endpoint.id}/replay`, { since: 0 });
      const replayed = await replay.json();
      if (replay.status !== 202) throw new Error(`replay: ${JSON.stringify(replayed)}`);
      await waitDrained(delivering.url, options.drainTimeoutMs);
      const seconds = (performance.now() - started) / 1000;
      const serverCpuSeconds = await procCpuSeconds(delivering.pid) - cpuBefore;
      const delivered = await received() - startCount;
      for (const [name, result] of [...withoutRuns, ...withRuns].entries()) {
        const failed = result.errors.status + result.errors.read + result.errors.timeout +
          (result.outcomes?.non200 ?? 0);
        if (failed > 0) {
          throw new Error(`outbound webhook round ${name}: ${failed} not answered 200`);
        }
      }
      const plain = fastest(withoutRuns);
      const real = fastest(withRuns);
      return {
        concurrency: WEBHOOK_CONCURRENCY,
        seconds: options.seconds,
        rounds: options.rounds,
        withoutEndpointRuns: withoutRuns.map(summary),
        withEndpointRuns: withRuns.map(summary),
        withoutEndpoint: plain,
        withEndpoint: real,
        webhookRatioWithOutbound: real.requestsPerSecond / plain.requestsPerSecond,
        deliveredDuringRounds,
        drain: {
          queued: Number(replayed.queued),
          delivered,
          seconds,
          deliveriesPerSecond: delivered / seconds,
          serverCpuSeconds,
          cpuUsPerDelivery: serverCpuSeconds * 1e6 / delivered,
        },
      };
    } finally {
      await without.stop();
      await delivering?.stop();
    }
  } finally {
    await receiver.stop();
  }
}

/** Polls `/readyz` until the server reports nothing pending for the endpoint. */
async function waitDrained(url: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const body = await (await fetch(`${url}/readyz`)).json();
    if (body?.outbound?.pending === 0 && body?.outbound?.in_flight === 0) return;
    if (performance.now() > deadline) {
      throw new Error(
        `outbound messages still pending after ${timeoutMs} ms: ${JSON.stringify(body?.outbound)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
