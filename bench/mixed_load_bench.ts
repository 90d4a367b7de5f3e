/**
 * Memory at steady state under a mixed load (issue 22): the real server over
 * a copy of the N-contact store takes, at once and for `seconds`,
 *
 * - ~200 signed webhooks/s of ~2.3 KB (the pool, in order: wrk, 16
 *   connections, each waiting 80 ms before its next request),
 * - lookups of existing numbers at 8,000/s, or half the lookup's measured
 *   capacity when that is lower (`paced_load.ts`: open loop, 32 sockets),
 * - the change feed (`GET /api/calls?since=…`, followed page by page until
 *   a page is short) every 2 s, as an integration would poll it,
 *
 * while its VmRSS (/proc) and JS heap used (`nodejs_heap_size_used_bytes`
 * from /metrics) are sampled every 2 s. The steady-state figure is the median
 * of the last third of the samples. Every answer must be 2xx.
 */
import type { Dataset } from "./dataset.ts";
import { type Pinning, procMemory } from "./processes.ts";
import { startRealServer } from "./real_server.ts";
import { ensureEventPool } from "./webhook_events.ts";
import { type PacedResult, runPaced } from "./paced_load.ts";
import { pacedScript, type RunSummary, runWrk, summary, writeWrkScripts } from "./wrk.ts";

const WEBHOOK_CONNECTIONS = 16;
const WEBHOOK_DELAY_MS = 80;
const LOOKUP_CONNECTIONS = 32;
const MAX_LOOKUPS_PER_SECOND = 8_000;
const SAMPLE_EVERY_MS = 2_000;
const FEED_EVERY_MS = 2_000;
const FEED_PAGE = 1_000;

/** One memory sample. */
export interface MemorySample {
  readonly atSeconds: number;
  readonly rssMb: number;
  /** Null when /metrics has no `nodejs_heap_size_used_bytes`. */
  readonly heapUsedMb: number | null;
}

/** What the mixed-load pass measured. */
export interface MixedLoadResult {
  readonly seconds: number;
  readonly webhooksPerSecond: number;
  readonly lookupsPerSecond: number;
  readonly lookupTargetPerSecond: number;
  readonly webhook: RunSummary & { readonly requests: number; readonly non2xx: number };
  /** The paced lookups (open loop): rate achieved, p50/p99 from each scheduled time. */
  readonly lookup: PacedResult;
  readonly feed: { readonly polls: number; readonly pages: number; readonly calls: number };
  readonly samples: readonly MemorySample[];
  /** Median of the last third of the samples. */
  readonly steadyRssMb: number;
  readonly steadyHeapUsedMb: number | null;
  readonly peakRssMb: number;
}

/** Runs the mixed-load pass; throws when an answer was not 2xx. */
export async function runMixedLoadBench(options: {
  readonly workDir: string;
  readonly cacheDir: string;
  readonly storePath: string;
  readonly configFor: (dir: string, dbPath: string) => Promise<string>;
  readonly adminToken: string;
  readonly lookupToken: string;
  readonly flags: readonly string[];
  readonly pinning: Pinning;
  readonly dataset: Dataset;
  /** The real lookup's measured capacity (req/s, 32 connections flat out). */
  readonly lookupCapacity: number;
  readonly seconds: number;
  readonly log: (line: string) => void;
}): Promise<MixedLoadResult> {
  const dir = `${options.workDir}/mixed`;
  await Deno.mkdir(dir, { recursive: true });
  const dbPath = `${dir}/crm.db`;
  await Deno.copyFile(options.storePath, dbPath);
  await Deno.copyFile(`${options.storePath}-wal`, `${dbPath}-wal`).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  const configPath = await options.configFor(dir, dbPath);
  const pool = await ensureEventPool(options.cacheDir, options.dataset.lookupList);
  const scripts = await writeWrkScripts(dir);
  const lookupTarget = Math.min(MAX_LOOKUPS_PER_SECOND, options.lookupCapacity / 2);
  const webhookScript = await pacedScript(scripts.webhook, WEBHOOK_DELAY_MS);
  const listFile = `${dir}/lookup_paths.txt`;
  await Deno.writeTextFile(
    listFile,
    options.dataset.lookupList
      .map((n) =>
        `/symbo/lookup?number=${encodeURIComponent(n.e164)}&token=${options.lookupToken}\n`
      )
      .join(""),
  );
  options.log(
    `  ~${WEBHOOK_CONNECTIONS * 1000 / WEBHOOK_DELAY_MS} webhooks/s, ${
      Math.round(lookupTarget)
    } lookups/s and the change feed every ${FEED_EVERY_MS / 1000} s for ${options.seconds} s; ` +
      `RSS and heap sampled every ${SAMPLE_EVERY_MS / 1000} s…`,
  );
  const server = await startRealServer({
    configPath,
    flags: options.flags,
    prefix: options.pinning.server,
  });
  const auth = { authorization: `Bearer ${options.adminToken}` };
  try {
    let running = true;
    const started = performance.now();
    const samples: MemorySample[] = [];
    const sampler = (async () => {
      while (running) {
        await new Promise((resolve) => setTimeout(resolve, SAMPLE_EVERY_MS));
        if (!running) break;
        const memory = await procMemory(server.pid);
        const heap = await heapUsedBytes(server.url, auth);
        if (memory) {
          samples.push({
            atSeconds: (performance.now() - started) / 1000,
            rssMb: memory.rssMb,
            heapUsedMb: heap === null ? null : heap / 2 ** 20,
          });
        }
      }
    })();
    const feed = { polls: 0, pages: 0, calls: 0 };
    const poller = (async () => {
      let since = "";
      while (running) {
        await new Promise((resolve) => setTimeout(resolve, FEED_EVERY_MS));
        if (!running) break;
        feed.polls++;
        for (let page = 0; page < 50; page++) {
          const response = await fetch(
            `${server.url}/api/calls?since=${encodeURIComponent(since)}&limit=${FEED_PAGE}`,
            { headers: auth },
          );
          const body = await response.json();
          if (response.status !== 200) {
            throw new Error(`the change feed answered ${response.status}: ${JSON.stringify(body)}`);
          }
          feed.pages++;
          feed.calls += body.calls.length;
          since = body.cursor;
          if (body.calls.length < FEED_PAGE) break;
        }
      }
    })();
    let webhookRun, lookupRun;
    try {
      [webhookRun, lookupRun] = await Promise.all([
        runWrk({
          url: `${server.url}/symbo/webhook`,
          script: webhookScript,
          scriptArgs: [pool.measuredPath, "0"],
          seconds: options.seconds,
          connections: WEBHOOK_CONNECTIONS,
          prefix: options.pinning.load,
        }),
        runPaced({
          url: server.url,
          pathsFile: listFile,
          rate: lookupTarget,
          seconds: options.seconds,
          connections: LOOKUP_CONNECTIONS,
          prefix: options.pinning.load,
          seed: 7,
        }),
      ]);
    } finally {
      running = false;
      await sampler;
      await poller;
    }
    const webhookNon2xx = webhookRun.errors.status + webhookRun.errors.read +
      webhookRun.errors.timeout + (webhookRun.outcomes?.non200 ?? 0);
    if (webhookNon2xx + lookupRun.non2xx > 0) {
      throw new Error(
        `mixed load: ${webhookNon2xx} webhooks and ${lookupRun.non2xx} lookups not 2xx`,
      );
    }
    const steady = samples.slice(samples.length - Math.max(1, Math.floor(samples.length / 3)));
    const heaps = steady.map((s) => s.heapUsedMb).filter((h): h is number => h !== null);
    return {
      seconds: options.seconds,
      webhooksPerSecond: webhookRun.requestsPerSecond,
      lookupsPerSecond: lookupRun.achievedRate,
      lookupTargetPerSecond: lookupTarget,
      webhook: { ...summary(webhookRun), requests: webhookRun.requests, non2xx: 0 },
      lookup: lookupRun,
      feed,
      samples,
      steadyRssMb: median(steady.map((s) => s.rssMb)),
      steadyHeapUsedMb: heaps.length === 0 ? null : median(heaps),
      peakRssMb: Math.max(...samples.map((s) => s.rssMb)),
    };
  } finally {
    await server.stop();
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? sorted[middle] ?? NaN
    : ((sorted[middle - 1] ?? NaN) + (sorted[middle] ?? NaN)) / 2;
}

/** `nodejs_heap_size_used_bytes` from /metrics (prom-client's default metrics); null when absent. */
async function heapUsedBytes(
  url: string,
  headers: Record<string, string>,
): Promise<number | null> {
  try {
    const response = await fetch(`${url}/metrics`, { headers });
    const text = await response.text();
    if (response.status !== 200) return null;
    const line = text.split("\n").find((l) => l.startsWith("nodejs_heap_size_used_bytes "));
    return line === undefined ? null : Number(line.slice(line.lastIndexOf(" ") + 1));
  } catch {
    return null;
  }
}
