/**
 * Measurement 1 (lookup over HTTP) and 4a (server footprint): wrk at 32
 * connections against (a) a bare `Deno.serve` answering a fixed 600-byte
 * contact, (b) the read ceiling (bench/read_ceiling_server.ts: a bare
 * `Deno.serve` running the lookup's one query on the same store) and the real
 * `GET /symbo/lookup` over the N-contact store — plus the real lookup with one
 * number in ten unknown to the store (what a miss costs, e.g. recording it) —
 * each server in its own process on the same CPU, in alternating rounds (the
 * fastest round of each side counts, so a neighbour's burst of CPU use does
 * not decide the ratio; every round is in the results). Before wrk, the real
 * server must find every number of the agreement sample. After it, the real
 * server's RSS is read from /proc (it has served at least `minLookups`).
 */
import type { Dataset } from "./dataset.ts";
import { type Pinning, procMemory, ROOT, type ServerProcess, spawnServer } from "./processes.ts";
import { type PacedResult, runPaced } from "./paced_load.ts";
import { type Agreement, checkAgreement, startRealServer } from "./real_server.ts";
import {
  fastest,
  type RunSummary,
  runWrk,
  summary,
  writeWrkScripts,
  type WrkResult,
} from "./wrk.ts";

/** wrk's shape for this benchmark (issue #5). */
export const WRK_CONNECTIONS = 32;

/** What the lookup benchmark measured. */
export interface LookupBenchResult {
  readonly connections: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly listSize: number;
  readonly rounds: number;
  /** The fastest round of each side (the least disturbed by anything else on the machine). */
  readonly baseline: WrkResult;
  /** Baseline (b): the lookup's one read behind a bare `Deno.serve`, same store. */
  readonly readCeiling: WrkResult;
  readonly server: WrkResult;
  /** The real lookup with `unknownShare` of the numbers unknown to the store (404s). */
  readonly unknownMix: WrkResult;
  readonly unknownShare: number;
  /** Every round, in order. */
  readonly baselineRuns: readonly RunSummary[];
  readonly readCeilingRuns: readonly RunSummary[];
  readonly serverRuns: readonly RunSummary[];
  readonly unknownMixRuns: readonly RunSummary[];
  /** server ÷ (a). */
  readonly ratio: number;
  /** server ÷ (b). */
  readonly ratioToReadCeiling: number;
  /** unknown mix ÷ server (all known): below 1 by what a miss costs more than a hit. */
  readonly unknownMixRatio: number;
  readonly agreement: Agreement;
  /**
   * Latency where it matters (issue 22): an open-loop, paced load
   * (`paced_load.ts`) at half the real lookup's measured capacity, against
   * the real lookup and the read ceiling (b) at the same rate, in alternating
   * rounds; the round with the lower p99 of each side counts. Null when skipped.
   */
  readonly halfLoad: {
    readonly rate: number;
    readonly seconds: number;
    readonly server: PacedResult;
    readonly readCeiling: PacedResult;
    readonly serverRuns: readonly PacedResult[];
    readonly readCeilingRuns: readonly PacedResult[];
    /** server p99 ÷ (b)'s p99. */
    readonly p99VsReadCeiling: number;
  } | null;
  readonly footprint: {
    readonly rssMb: number;
    readonly hwmMb: number;
    /** Lookups the server had answered when its RSS was read. */
    readonly lookupsServed: number;
  };
}

/** Runs the lookup benchmark; throws when the agreement check fails. */
export async function runLookupBench(options: {
  readonly workDir: string;
  readonly configPath: string;
  /** The store the real server serves (the read ceiling reads it too). */
  readonly storePath: string;
  readonly flags: readonly string[];
  readonly pinning: Pinning;
  readonly token: string;
  readonly dataset: Dataset;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly minLookups: number;
  readonly rounds: number;
  /** Seconds of each paced round at half load (0 skips the pass). */
  readonly halfLoadSeconds: number;
  readonly halfLoadRounds: number;
  readonly log: (line: string) => void;
}): Promise<LookupBenchResult> {
  const listFile = `${options.workDir}/lookup_paths.txt`;
  await Deno.writeTextFile(
    listFile,
    options.dataset.lookupList
      .map((n) => `/symbo/lookup?number=${encodeURIComponent(n.e164)}&token=${options.token}\n`)
      .join(""),
  );
  // One number in ten unknown to the store: London 0204 numbers, which the
  // generator never writes (its London heads are 3, 7 and 8).
  const mixFile = `${options.workDir}/lookup_paths_unknown_mix.txt`;
  const mixLines: string[] = [];
  options.dataset.lookupList.forEach((n, i) => {
    const e164 = i % 10 === 9 ? `+44204${String(i % 10_000_000).padStart(7, "0")}` : n.e164;
    mixLines.push(`/symbo/lookup?number=${encodeURIComponent(e164)}&token=${options.token}\n`);
  });
  await Deno.writeTextFile(mixFile, mixLines.join(""));
  const { lookup: script } = await writeWrkScripts(options.workDir);
  const wrk = (
    server: { url: string; pid: number },
    seconds: number,
    seed: number,
    list = listFile,
  ) =>
    runWrk({
      url: server.url,
      serverPid: server.pid,
      serverCore: options.pinning.serverCore,
      script,
      scriptArgs: [list, String(seed)],
      seconds,
      connections: WRK_CONNECTIONS,
      prefix: options.pinning.load,
    });

  options.log(
    `  (a) bare Deno.serve (600-byte contact), (b) read ceiling (one prepared read), ` +
      `symbo-crm GET /symbo/lookup, and it with 1 in 10 numbers unknown: ` +
      `${options.rounds} alternating rounds of wrk ${options.seconds}s…`,
  );
  const bare = await spawnServer({
    name: "bare Deno.serve (lookup baseline)",
    command: [
      ...options.pinning.server,
      Deno.execPath(),
      "run",
      "--allow-net",
      `${ROOT}/bench/baseline_server.ts`,
      "lookup",
    ],
    listening: /baseline listening on (\S+)/,
    timeoutMs: 30_000,
  });
  const ceiling = await spawnReadCeiling(options.storePath, options.pinning.server).catch(
    async (error) => {
      await bare.stop();
      throw error;
    },
  );
  const baselineRuns: WrkResult[] = [];
  const ceilingRuns: WrkResult[] = [];
  const serverRuns: WrkResult[] = [];
  const mixRuns: WrkResult[] = [];
  let agreement: Agreement;
  let served = 0;
  let memory;
  const pacedServerRuns: PacedResult[] = [];
  const pacedCeilingRuns: PacedResult[] = [];
  let halfLoad: LookupBenchResult["halfLoad"] = null;
  try {
    const real = await startRealServer({
      configPath: options.configPath,
      flags: options.flags,
      prefix: options.pinning.server,
    });
    try {
      agreement = await checkAgreement(real.url, options.token, options.dataset.agreement);
      served += agreement.checked;
      if (agreement.found !== agreement.checked) {
        throw new Error(
          `AGREEMENT FAILED: ${agreement.checked - agreement.found} of ${agreement.checked} ` +
            `numbers from the CSV were not found by the lookup:\n  ` +
            agreement.failures.slice(0, 10).join("\n  "),
        );
      }
      await wrk(bare, options.warmupSeconds, 1);
      await wrk(ceiling, options.warmupSeconds, 1);
      served += (await wrk(real, options.warmupSeconds, 1)).requests;
      for (let round = 0; round < options.rounds; round++) {
        baselineRuns.push(await wrk(bare, options.seconds, 2 + round));
        ceilingRuns.push(await wrk(ceiling, options.seconds, 2 + round));
        const run = await wrk(real, options.seconds, 2 + round);
        serverRuns.push(run);
        served += run.requests;
        const mix = await wrk(real, options.seconds, 2 + round, mixFile);
        mixRuns.push(mix);
        served += mix.requests;
      }
      for (let extra = 0; served < options.minLookups && extra < 5; extra++) {
        served += (await wrk(real, 5, 100 + extra)).requests;
      }
      memory = await procMemory(real.pid);
      if (options.halfLoadSeconds > 0) {
        const rate = fastest(serverRuns).requestsPerSecond / 2;
        options.log(
          `  paced (open loop) at half the lookup's capacity, ${Math.round(rate)}/s: (b) and ` +
            `symbo-crm, ${options.halfLoadRounds} alternating rounds of ${options.halfLoadSeconds}s…`,
        );
        const paced = (server: { url: string }, seed: number) =>
          runPaced({
            url: server.url,
            pathsFile: listFile,
            rate,
            seconds: options.halfLoadSeconds,
            connections: WRK_CONNECTIONS,
            prefix: options.pinning.load,
            seed,
          });
        for (let round = 0; round < options.halfLoadRounds; round++) {
          pacedCeilingRuns.push(await paced(ceiling, 200 + round));
          pacedServerRuns.push(await paced(real, 200 + round));
        }
        const calmest = (runs: readonly PacedResult[]) =>
          runs.reduce((a, b) => (b.latencyMs.p99 < a.latencyMs.p99 ? b : a));
        const server = calmest(pacedServerRuns);
        const readCeiling = calmest(pacedCeilingRuns);
        halfLoad = {
          rate,
          seconds: options.halfLoadSeconds,
          server,
          readCeiling,
          serverRuns: pacedServerRuns,
          readCeilingRuns: pacedCeilingRuns,
          p99VsReadCeiling: server.latencyMs.p99 / readCeiling.latencyMs.p99,
        };
      }
    } finally {
      await real.stop();
    }
  } finally {
    await ceiling.stop();
    await bare.stop();
  }
  const baseline = fastest(baselineRuns);
  const readCeiling = fastest(ceilingRuns);
  const server = fastest(serverRuns);
  const unknownMix = fastest(mixRuns);
  for (const run of [...ceilingRuns, ...mixRuns]) {
    if (run.errors.read + run.errors.timeout + run.errors.connect > 0) {
      throw new Error(
        `a lookup round had ${run.errors.read} read errors, ${run.errors.timeout} timeouts and ` +
          `${run.errors.connect} connect errors`,
      );
    }
  }
  for (const run of serverRuns) {
    const bad = run.errors.status + run.errors.read + run.errors.timeout;
    if (bad > 0) {
      throw new Error(
        `the real lookup answered ${run.errors.status} non-2xx and had ${run.errors.read} read ` +
          `errors and ${run.errors.timeout} timeouts under wrk; every number in the list exists`,
      );
    }
  }
  return {
    connections: WRK_CONNECTIONS,
    seconds: options.seconds,
    warmupSeconds: options.warmupSeconds,
    listSize: options.dataset.lookupList.length,
    rounds: options.rounds,
    baseline,
    readCeiling,
    server,
    unknownMix,
    unknownShare: 0.1,
    baselineRuns: baselineRuns.map(summary),
    readCeilingRuns: ceilingRuns.map(summary),
    serverRuns: serverRuns.map(summary),
    unknownMixRuns: mixRuns.map(summary),
    ratio: server.requestsPerSecond / baseline.requestsPerSecond,
    ratioToReadCeiling: server.requestsPerSecond / readCeiling.requestsPerSecond,
    unknownMixRatio: unknownMix.requestsPerSecond / server.requestsPerSecond,
    agreement,
    halfLoad,
    footprint: { rssMb: memory?.rssMb ?? NaN, hwmMb: memory?.hwmMb ?? NaN, lookupsServed: served },
  };
}

/** Starts the read ceiling (baseline b, `read_ceiling_server.ts`) over `storePath`, behind `prefix`. */
export function spawnReadCeiling(
  storePath: string,
  prefix: readonly string[],
): Promise<ServerProcess> {
  return spawnServer({
    name: "read ceiling (lookup baseline b)",
    command: [
      ...prefix,
      Deno.execPath(),
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-env",
      "--allow-ffi",
      "--allow-sys",
      `${ROOT}/bench/read_ceiling_server.ts`,
      storePath,
    ],
    listening: /baseline listening on (\S+)/,
    timeoutMs: 30_000,
  });
}
