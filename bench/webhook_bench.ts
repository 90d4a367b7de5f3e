/**
 * Measurement 2 (webhook, durable): wrk with 64 connections (64 concurrent
 * senders, each waiting for its answer) posts the same pre-signed pool of
 * ~2 KB call events, in the same order, to
 *
 * - the real `POST /symbo/webhook` (signature check, audit line fsync'd, store
 *   transaction committed — group commit on both) over a copy of the
 *   N-contact store, and
 * - (c) the baseline: a bare `Deno.serve` that verifies nothing and appends
 *   each body to a JSONL file with `syncData()` after every line, one
 *   request at a time.
 *
 * Both servers are up at once and measured in alternating rounds, each round
 * sending the next unsent part of the pool; the fastest round of each side
 * counts. The ratio is real ÷ (c), both over HTTP. The same append + syncData loop
 * without HTTP (in this process) is reported too: the ceiling of
 * one-fsync-per-event on this disk.
 */
import { compressClosedDays } from "../src/audit/audit_compaction.ts";
import type { Dataset } from "./dataset.ts";
import { fileSize } from "./import_bench.ts";
import { type Pinning, ROOT, runOrThrow, spawnServer } from "./processes.ts";
import { startRealServer } from "./real_server.ts";
import { ensureEventPool, type EventPool, readPoolBodies } from "./webhook_events.ts";
import {
  fastest,
  type RunSummary,
  runWrk,
  summary,
  writeWrkScripts,
  type WrkResult,
} from "./wrk.ts";

/** Concurrent senders (issue #5). */
export const WEBHOOK_CONCURRENCY = 64;

/** What the webhook benchmark measured. */
export interface WebhookBenchResult {
  readonly concurrency: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly loadGenerator: string;
  readonly pool: Omit<EventPool, "warmupPath" | "measuredPath">;
  /** Append + syncData per line, no HTTP, one after the other. */
  readonly rawLoop: {
    readonly lines: number;
    readonly seconds: number;
    readonly linesPerSecond: number;
  };
  readonly rounds: number;
  /** Every round, in order (the fastest of each side is reported below). */
  readonly baselineRuns: readonly RunSummary[];
  readonly serverRuns: readonly RunSummary[];
  /** (c) over HTTP; `linesWritten` counts its JSONL file afterwards (warm-up included). */
  readonly baselineHttp: WrkResult & { readonly linesWritten: number };
  /** The real server; `auditLines` counts its audit log afterwards (warm-up included). */
  readonly server: WrkResult & { readonly auditLines: number };
  /** server req/s ÷ baselineHttp req/s. */
  readonly ratio: number;
  readonly ratioAgainst: "baseline_http";
  /**
   * Server CPU time (user + system, /proc/<pid>/stat, all threads) per request
   * answered 2xx, in µs, over every measured round of each side (issue 22).
   */
  readonly cpuUsPerAck: { readonly server: number; readonly baselineHttp: number };
  /** server ÷ (c) CPU per request. */
  readonly cpuVsBaseline: number;
  /** server req/s ÷ raw loop lines/s (for reference). */
  readonly ratioVsRawLoop: number;
  /**
   * What the real server's events cost on disk (issue 15): the store's growth
   * (checkpointed, after the server stopped) plus the audit folder's bytes
   * (plain and compressed days, whatever the build writes), over the bytes of
   * the bodies it answered (answers × the pool's mean body size). The audit
   * folder is measured after its days are closed and compressed, as the server
   * does once a day is over (`auditBytesOpen`: the same folder before that).
   */
  readonly disk: {
    readonly storeGrowthBytes: number;
    readonly auditBytesOpen: number;
    readonly auditBytes: number;
    readonly eventsAnswered: number;
    readonly bodyBytes: number;
    readonly perEventVsBody: number;
  };
}

/**
 * wrk posting the signed events of `file` (from line `offset`) to a server's
 * webhook with the benchmark's senders, pinned as the run is.
 */
export function webhookWrk(
  script: string,
  pinning: Pinning,
): (
  server: { url: string; pid: number },
  file: string,
  seconds: number,
  offset: number,
) => ReturnType<typeof runWrk> {
  return (server, file, seconds, offset) =>
    runWrk({
      url: `${server.url}/symbo/webhook`,
      serverPid: server.pid,
      serverCore: pinning.serverCore,
      script,
      scriptArgs: [file, String(offset)],
      seconds,
      connections: WEBHOOK_CONCURRENCY,
      prefix: pinning.load,
    });
}

/** Runs the webhook benchmark; throws when a request was not answered 200. */
export async function runWebhookBench(options: {
  readonly workDir: string;
  readonly cacheDir: string;
  readonly storePath: string;
  readonly configFor: (dir: string, dbPath: string) => Promise<string>;
  readonly flags: readonly string[];
  readonly pinning: Pinning;
  readonly dataset: Dataset;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly rounds: number;
  readonly log: (line: string) => void;
}): Promise<WebhookBenchResult> {
  const pool = await ensureEventPool(options.cacheDir, options.dataset.lookupList);
  const { webhook: script } = await writeWrkScripts(options.workDir);
  const wrk = webhookWrk(script, options.pinning);

  options.log("  raw loop: append + syncData per line, no HTTP, 5 s…");
  const rawLoop = await appendLoop(
    `${options.workDir}/raw_loop.jsonl`,
    await readPoolBodies(pool.measuredPath, 50_000),
    5,
  );

  options.log(
    `  (c) Deno.serve + JSONL append + syncData per request, and symbo-crm POST /symbo/webhook ` +
      `(audit fsync + store commit): ${options.rounds} alternating rounds of wrk ${options.seconds}s…`,
  );
  const jsonlPath = `${options.workDir}/baseline_http.jsonl`;
  const serverDir = `${options.workDir}/webhook_server`;
  await Deno.mkdir(serverDir, { recursive: true });
  const dbPath = `${serverDir}/crm.db`;
  await Deno.copyFile(options.storePath, dbPath);
  try {
    await Deno.copyFile(`${options.storePath}-wal`, `${dbPath}-wal`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const configPath = await options.configFor(serverDir, dbPath);
  const storeBefore = await fileSize(dbPath) + await fileSize(`${dbPath}-wal`);
  let answered = 0;

  const baselineRuns: WrkResult[] = [];
  const serverRuns: WrkResult[] = [];
  const baselineServer = await spawnServer({
    name: "JSONL + syncData server (webhook baseline)",
    command: [
      ...options.pinning.server,
      Deno.execPath(),
      "run",
      "--allow-net",
      `--allow-write=${jsonlPath}`,
      `--allow-read=${jsonlPath}`,
      `${ROOT}/bench/baseline_server.ts`,
      "jsonl",
      jsonlPath,
    ],
    listening: /baseline listening on (\S+)/,
    timeoutMs: 30_000,
  });
  try {
    const server = await startRealServer({
      configPath,
      flags: options.flags,
      prefix: options.pinning.server,
    });
    try {
      await wrk(baselineServer, pool.warmupPath, options.warmupSeconds, 0);
      answered += (await wrk(server, pool.warmupPath, options.warmupSeconds, 0)).requests;
      // Each round sends the next, unsent part of the pool to both sides (the
      // 64 requests still in flight when wrk stopped are skipped too).
      let offset = 0;
      for (let round = 0; round < options.rounds; round++) {
        const base = await wrk(baselineServer, pool.measuredPath, options.seconds, offset);
        const real = await wrk(server, pool.measuredPath, options.seconds, offset);
        baselineRuns.push(base);
        serverRuns.push(real);
        answered += real.requests;
        offset += Math.max(base.requests, real.requests) + WEBHOOK_CONCURRENCY;
      }
    } finally {
      await server.stop();
    }
  } finally {
    await baselineServer.stop();
  }
  await runOrThrow(["sqlite3", dbPath, "PRAGMA wal_checkpoint(TRUNCATE);"]);
  const storeGrowthBytes = await fileSize(dbPath) + await fileSize(`${dbPath}-wal`) - storeBefore;
  const auditBytesOpen = await folderBytes(`${serverDir}/audit`);
  const bodyBytes = answered * pool.mix.meanBodyBytes;
  const linesWritten = await countLines([jsonlPath]);
  const auditLines = await countLines(await jsonlFiles(`${serverDir}/audit`));
  // What the days cost once they are over: the server's own compaction, run as
  // it would run the next day (two days on, past any grace period).
  await compressClosedDays({
    dir: `${serverDir}/audit`,
    now: new Date(Date.now() + 2 * 86_400_000),
  });
  const auditBytes = await folderBytes(`${serverDir}/audit`);
  const baseline = fastest(baselineRuns);
  const real = fastest(serverRuns);

  const all = [
    ...baselineRuns.map((r) => ["(c) baseline", r] as const),
    ...serverRuns.map((r) => ["symbo-crm", r] as const),
  ];
  for (const [name, result] of all) {
    const failed = result.errors.status + result.errors.read + result.errors.timeout +
      (result.outcomes?.non200 ?? 0);
    if (failed > 0) {
      throw new Error(
        `webhook ${name}: ${failed} of ${result.requests} requests were not answered 200 ` +
          `(${JSON.stringify(result.errors)})`,
      );
    }
    if ((result.poolWraps ?? 0) > 0) {
      options.log(
        `  WARNING: ${name} went through the whole pool of ${pool.measured} events; ` +
          "the rest were re-deliveries (raise MEASURED_EVENTS in bench/webhook_events.ts)",
      );
    }
  }
  const cpuUsPerAck = {
    server: cpuMicrosPerAck(serverRuns),
    baselineHttp: cpuMicrosPerAck(baselineRuns),
  };
  return {
    concurrency: WEBHOOK_CONCURRENCY,
    seconds: options.seconds,
    warmupSeconds: options.warmupSeconds,
    loadGenerator: `wrk -t1 -c${WEBHOOK_CONCURRENCY}, pre-signed pool sent in order`,
    pool: { warmup: pool.warmup, measured: pool.measured, mix: pool.mix, cached: pool.cached },
    rounds: options.rounds,
    baselineRuns: baselineRuns.map(summary),
    serverRuns: serverRuns.map(summary),
    rawLoop,
    baselineHttp: { ...baseline, linesWritten },
    server: { ...real, auditLines },
    ratio: real.requestsPerSecond / baseline.requestsPerSecond,
    ratioAgainst: "baseline_http",
    cpuUsPerAck,
    cpuVsBaseline: cpuUsPerAck.server / cpuUsPerAck.baselineHttp,
    ratioVsRawLoop: real.requestsPerSecond / rawLoop.linesPerSecond,
    disk: {
      storeGrowthBytes,
      auditBytesOpen,
      auditBytes,
      eventsAnswered: answered,
      bodyBytes,
      perEventVsBody: (storeGrowthBytes + auditBytes) / bodyBytes,
    },
  };
}

/**
 * The server's CPU time per request answered 2xx over `runs`, in µs (from
 * each run's `serverCpuCores`, which `runWrk` reads from /proc/<pid>/stat).
 */
export function cpuMicrosPerAck(runs: readonly WrkResult[]): number {
  let cpuSeconds = 0;
  let acks = 0;
  for (const run of runs) {
    cpuSeconds += (run.serverCpuCores ?? NaN) * run.seconds;
    acks += run.requests - run.errors.status;
  }
  return cpuSeconds * 1e6 / acks;
}

/** Appends each body plus `\n` and `syncData()`s, one after the other, for at most `maxSeconds`. */
async function appendLoop(path: string, bodies: readonly Uint8Array[], maxSeconds: number) {
  const file = await Deno.open(path, { append: true, create: true });
  const started = performance.now();
  const deadline = started + maxSeconds * 1000;
  let lines = 0;
  try {
    for (const body of bodies) {
      if (performance.now() > deadline) break;
      const line = new Uint8Array(body.length + 1);
      line.set(body);
      line[body.length] = 10;
      for (let written = 0; written < line.length;) {
        written += await file.write(line.subarray(written));
      }
      await file.syncData();
      lines++;
    }
  } finally {
    file.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return { lines, seconds, linesPerSecond: lines / seconds };
}

/** Bytes of every file under `dir`, recursively (plain and compressed audit days alike). */
async function folderBytes(dir: string): Promise<number> {
  let bytes = 0;
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) bytes += await folderBytes(path);
    else if (entry.isFile) bytes += (await Deno.stat(path)).size;
  }
  return bytes;
}

async function jsonlFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && entry.name.endsWith(".jsonl")) files.push(`${dir}/${entry.name}`);
  }
  return files;
}

async function countLines(paths: readonly string[]): Promise<number> {
  let lines = 0;
  for (const path of paths) {
    // The readable closes the file once read to the end.
    const file = await Deno.open(path, { read: true });
    for await (const chunk of file.readable) {
      for (const byte of chunk) if (byte === 10) lines++;
    }
  }
  return lines;
}
