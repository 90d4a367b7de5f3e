/**
 * `deno task bench [--quick]`: measures symbo-crm's hot paths, each as a
 * ratio to a baseline run in the same benchmark run on the same machine
 * (DESIGN §7, issue #5), prints one table and writes
 * `bench/results/<UTC timestamp>.json`. See bench/README.md.
 *
 * 1. CSV import of N generated rows (the store it builds is the lookup store)
 *    vs `sqlite3 .import`;
 * 2. lookup over HTTP (wrk, 32 connections) vs a bare `Deno.serve`;
 * 3. durable webhook (64 senders) vs a JSONL append + syncData server;
 * 4. footprint: server RSS after the lookups, start-up to ready.
 *
 * Every phase has a deadline; all children are stopped before exit.
 */
import { parseArgs } from "node:util";
import { ensureDataset } from "./dataset.ts";
import { type DuringImportResult, runDuringImportBench } from "./during_import_bench.ts";
import { type ImportBenchResult, runImportBench } from "./import_bench.ts";
import { runLookupBench } from "./lookup_bench.ts";
import {
  choosePinning,
  hasCommand,
  readProcFile,
  ROOT,
  runOrThrow,
  startTaskFlags,
} from "./processes.ts";
import { measureStartup, newCredentials, writeConfig } from "./real_server.ts";
import { BIG_LOG_EVENTS, copyBigLog, ensureBigLog } from "./big_audit_log.ts";
import { type MixedLoadResult, runMixedLoadBench } from "./mixed_load_bench.ts";
import {
  type BigLogStartup,
  disturbances,
  evaluateTargets,
  formatTable,
  type Machine,
  type Results,
} from "./report.ts";
import { runWebhookBench } from "./webhook_bench.ts";
import { type OutboundBenchResult, runOutboundBench } from "./outbound_bench.ts";
import { ensureWrk } from "./wrk.ts";

const USAGE = `Usage: deno task bench [--quick] [--rows N] [--reuse-store] [--no-during-import]
                        [--no-outbound] [--no-half-load] [--no-big-log] [--no-mixed]
                        [--mixed-seconds N]

  --quick             100,000 contacts (default: 1,000,000)
  --rows N            any other number of contacts
  --reuse-store       skip the import measurement and serve the store the last
                      run built for this N (for iterating on the lookup)
  --no-during-import  skip the step that imports N more contacts while lookups
                      and webhooks arrive
  --no-outbound       skip the outbound deliveries step
  --no-half-load      skip the paced lookups at half the measured capacity
  --no-big-log        skip the start-up over a 200,000-event audit log
  --no-mixed          skip the mixed-load memory pass
  --mixed-seconds N   length of the mixed-load pass (default 60, 20 with --quick)`;

const FULL_ROWS = 1_000_000;
const QUICK_ROWS = 100_000;

function log(line: string): void {
  console.error(line);
}

async function machineInfo(wrk: string, pinning: string): Promise<Machine> {
  const cpuinfo = await readProcFile("/proc/cpuinfo") ?? "";
  const sqlite = (await runOrThrow(["sqlite3", "--version"]).catch(() => "")).split(" ")[0] ?? "";
  return {
    cores: navigator.hardwareConcurrency,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    os: `${Deno.build.os} ${Deno.osRelease()} ${Deno.build.arch}`,
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    memory_gib: Math.round(Deno.systemMemoryInfo().total / 2 ** 30),
    wrk,
    sqlite3: sqlite.trim(),
    pinning,
  };
}

/** The commit measured, and whether the working tree had changes (read-only git). */
async function sourceInfo(): Promise<{ commit: string; changed_files: number }> {
  const commit = (await runOrThrow(["git", "-C", ROOT, "rev-parse", "HEAD"]).catch(() => ""))
    .trim();
  const status = await runOrThrow([
    "git",
    "-C",
    ROOT,
    "status",
    "--porcelain",
    "--",
    ".",
    ":!bench/results",
  ])
    .catch(() => "");
  return {
    commit: commit === "" ? "unknown" : commit,
    changed_files: status.split("\n").filter((line) => line.trim() !== "").length,
  };
}

/** The 1-minute load average: other work on the machine disturbs every figure. */
async function loadAverage(): Promise<number> {
  const text = await readProcFile("/proc/loadavg") ?? "";
  return Number(text.split(" ")[0] ?? NaN);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Runs the benchmark; returns the process exit code. */
async function main(args: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        quick: { type: "boolean", default: false },
        rows: { type: "string" },
        "reuse-store": { type: "boolean", default: false },
        "no-during-import": { type: "boolean", default: false },
        "no-outbound": { type: "boolean", default: false },
        "no-half-load": { type: "boolean", default: false },
        "no-big-log": { type: "boolean", default: false },
        "no-mixed": { type: "boolean", default: false },
        "mixed-seconds": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const rows = values.rows !== undefined
    ? Number(values.rows)
    : values.quick
    ? QUICK_ROWS
    : FULL_ROWS;
  if (!Number.isInteger(rows) || rows < 1000 || rows > 20_000_000) {
    console.error(`--rows must be a whole number from 1000 to 20000000\n\n${USAGE}`);
    return 2;
  }
  const quick = values.quick;
  const mixedSeconds = values["mixed-seconds"] !== undefined
    ? Number(values["mixed-seconds"])
    : quick
    ? 20
    : 60;
  if (!Number.isInteger(mixedSeconds) || mixedSeconds < 6 || mixedSeconds > 3600) {
    console.error(`--mixed-seconds must be a whole number from 6 to 3600\n\n${USAGE}`);
    return 2;
  }
  const started = performance.now();
  const timestamp = new Date().toISOString().replace(/\.\d+Z$/, "Z");

  if (!await hasCommand("sqlite3")) {
    console.error("The import baseline needs the sqlite3 shell: sudo apt-get install -y sqlite3");
    return 1;
  }
  const wrkVersion = await ensureWrk();
  const flags = await startTaskFlags();
  const cores = navigator.hardwareConcurrency;
  const pinning = await choosePinning(cores);
  const machine = await machineInfo(wrkVersion, pinning.description);
  const credentials = newCredentials();
  const loadAtStart = await loadAverage();
  const source = await sourceInfo();
  log(
    `symbo-crm bench — ${rows.toLocaleString("en-US")} contacts${quick ? " (--quick)" : ""}, ` +
      `${cores} cores, Deno ${machine.deno}; ${pinning.description}`,
  );

  const cacheDir = `${ROOT}/bench/.cache/${rows}`;
  log(`dataset: bench/.cache/${rows}/contacts.csv…`);
  const dataset = await ensureDataset(cacheDir, rows);
  log(
    dataset.cached
      ? `  from the cache (${(dataset.csvBytes / 2 ** 20).toFixed(0)} MiB)`
      : `  generated in ${dataset.generatedSeconds.toFixed(1)} s (${
        (dataset.csvBytes / 2 ** 20).toFixed(0)
      } MiB)`,
  );

  const storeDir = `${cacheDir}/store`;
  const storeDb = `${storeDir}/crm.db`;
  const workDir = `${ROOT}/bench/.cache/run-${Deno.pid}`;
  await Deno.remove(workDir, { recursive: true }).catch(() => {});
  await Deno.mkdir(workDir, { recursive: true });
  try {
    let importResult: ImportBenchResult | null = null;
    if (values["reuse-store"] && await exists(storeDb)) {
      log("import: skipped (--reuse-store); serving the store of an earlier run");
    } else {
      log("import:");
      const buildDir = `${cacheDir}/store.new`;
      await Deno.remove(buildDir, { recursive: true }).catch(() => {});
      await Deno.mkdir(buildDir, { recursive: true });
      importResult = await runImportBench({
        workDir,
        dataset,
        configPath: await writeConfig(`${workDir}/import`, `${buildDir}/crm.db`, credentials),
        storePath: `${buildDir}/crm.db`,
        flags,
        timeoutMs: Math.max(600_000, rows * 2),
        log,
      });
      log(`  ${importResult.server.summaryLine}`);
      await Deno.remove(storeDir, { recursive: true }).catch(() => {});
      await Deno.rename(buildDir, storeDir);
    }

    const lookupConfig = await writeConfig(`${workDir}/lookup`, storeDb, credentials);
    log("start-up: spawn → GET /readyz 200…");
    const startupRuns = await measureStartup({ configPath: lookupConfig, flags, runs: 3 });
    const startupMs = [...startupRuns].sort((a, b) => a - b)[1] ?? NaN;

    let bigLog: BigLogStartup | null = null;
    if (!values["no-big-log"]) {
      log(`start-up over a ${BIG_LOG_EVENTS.toLocaleString("en-US")}-event audit log:`);
      const built = await ensureBigLog({
        prospects: dataset.lookupList,
        configFor: (dir, dbPath) => writeConfig(dir, dbPath, credentials),
        flags,
        log,
      });
      const copy = `${workDir}/big_log`;
      await copyBigLog(built, copy);
      const config = await writeConfig(copy, `${copy}/crm.db`, credentials);
      // The first start has no snapshot of the re-delivery window (as after a
      // crash before the first one was written): it reads the audit files and
      // writes the snapshot when it stops; the measured starts use it.
      const first: number[] = [];
      const runs = await measureStartup({
        configPath: config,
        flags,
        runs: 3,
        onUnmeasured: (ms) => first.push(ms),
      });
      bigLog = {
        events: built.events,
        audit_bytes: built.auditBytes,
        from_cache: built.cached,
        startup_ms_runs: runs,
        startup_ms: [...runs].sort((a, b) => a - b)[1] ?? NaN,
        startup_ms_without_snapshot: first[0] ?? NaN,
      };
      await Deno.remove(copy, { recursive: true }).catch(() => {});
      log(
        `  ${Math.round(bigLog.startup_ms)} ms (without a snapshot: ${
          Math.round(bigLog.startup_ms_without_snapshot)
        } ms)`,
      );
    }

    log("lookup:");
    const lookup = await runLookupBench({
      workDir,
      configPath: lookupConfig,
      storePath: storeDb,
      flags,
      pinning,
      token: credentials.lookupToken,
      dataset,
      seconds: 10,
      warmupSeconds: 2,
      minLookups: 100_000,
      rounds: 3,
      halfLoadSeconds: values["no-half-load"] ? 0 : 8,
      halfLoadRounds: 2,
      log,
    });
    log(`  agreement: ${lookup.agreement.found}/${lookup.agreement.checked} sampled numbers found`);

    log("webhook:");
    const webhook = await runWebhookBench({
      workDir,
      cacheDir,
      storePath: storeDb,
      configFor: (dir, dbPath) => writeConfig(dir, dbPath, credentials),
      flags,
      pinning,
      dataset,
      seconds: 10,
      warmupSeconds: 2,
      rounds: 2,
      log,
    });
    log(
      `  answers: ${webhook.server.outcomes?.applied ?? "?"} applied, ` +
        `${webhook.server.outcomes?.duplicate ?? "?"} duplicate; ` +
        `${webhook.server.auditLines} audit lines`,
    );

    let outbound: OutboundBenchResult | null = null;
    if (!values["no-outbound"]) {
      log("outbound deliveries:");
      outbound = await runOutboundBench({
        workDir,
        cacheDir,
        storePath: storeDb,
        configFor: (dir, dbPath) => writeConfig(dir, dbPath, credentials),
        adminToken: credentials.adminToken,
        flags,
        pinning,
        dataset,
        seconds: 10,
        warmupSeconds: 2,
        rounds: 2,
        drainTimeoutMs: 600_000,
        log,
      });
      log(
        `  ${outbound.deliveredDuringRounds} deliveries during the rounds; replay: ` +
          `${outbound.drain.delivered} in ${outbound.drain.seconds.toFixed(1)} s`,
      );
    }

    let mixed: MixedLoadResult | null = null;
    if (!values["no-mixed"]) {
      log("mixed load (memory at steady state):");
      mixed = await runMixedLoadBench({
        workDir,
        cacheDir,
        storePath: storeDb,
        configFor: (dir, dbPath) => writeConfig(dir, dbPath, credentials),
        adminToken: credentials.adminToken,
        lookupToken: credentials.lookupToken,
        flags,
        pinning,
        dataset,
        lookupCapacity: lookup.server.requestsPerSecond,
        seconds: mixedSeconds,
        log,
      });
      log(
        `  ${Math.round(mixed.webhooksPerSecond)} webhooks/s, ${
          Math.round(mixed.lookupsPerSecond)
        } lookups/s, ${mixed.feed.polls} feed polls; RSS ${
          mixed.steadyRssMb.toFixed(0)
        } MB at steady state`,
      );
    }

    let duringImport: DuringImportResult | null = null;
    let duringImportCeiling: DuringImportResult | null = null;
    if (!values["no-during-import"]) {
      log("during an import:");
      const step = {
        workDir,
        cacheDir,
        storePath: storeDb,
        configFor: (dir: string, dbPath: string) => writeConfig(dir, dbPath, credentials),
        adminToken: credentials.adminToken,
        lookupToken: credentials.lookupToken,
        flags,
        pinning,
        dataset,
        roundSeconds: 5,
        timeoutMs: Math.max(600_000, rows * 2),
        log,
      };
      duringImport = await runDuringImportBench(step);
      log(`  ${duringImport.importSummaryLine}`);
      log("during the same import, the read ceiling (b) answering the lookups (no webhooks):");
      duringImportCeiling = await runDuringImportBench({ ...step, readCeiling: true });
    }

    const figures = {
      lookup_ratio: lookup.ratio,
      lookup_p99_ms: lookup.server.latencyMs.p99,
      lookup_read_ceiling_rps: lookup.readCeiling.requestsPerSecond,
      lookup_vs_read_ceiling: lookup.ratioToReadCeiling,
      lookup_unknown_mix_vs_known: lookup.unknownMixRatio,
      lookup_p99_at_half_load_ms: lookup.halfLoad?.server.latencyMs.p99 ?? null,
      read_ceiling_p99_at_half_load_ms: lookup.halfLoad?.readCeiling.latencyMs.p99 ?? null,
      lookup_p99_at_half_load_vs_read_ceiling: lookup.halfLoad?.p99VsReadCeiling ?? null,
      webhook_ratio: webhook.ratio,
      webhook_p99_ms: webhook.server.latencyMs.p99,
      webhook_cpu_us_per_ack: webhook.cpuUsPerAck.server,
      webhook_baseline_cpu_us_per_ack: webhook.cpuUsPerAck.baselineHttp,
      webhook_cpu_vs_baseline: webhook.cpuVsBaseline,
      webhook_ratio_with_outbound: outbound?.webhookRatioWithOutbound ?? null,
      outbound_deliveries_per_s: outbound?.drain.deliveriesPerSecond ?? null,
      outbound_cpu_us_per_delivery: outbound?.drain.cpuUsPerDelivery ?? null,
      during_import_lookup_p99_ms: duringImport?.lookup.p99Ms ?? null,
      during_import_lookup_non2xx: duringImport?.lookup.non2xx ?? null,
      during_import_read_ceiling_p99_ms: duringImportCeiling?.lookup.p99Ms ?? null,
      during_import_lookup_vs_read_ceiling_p99: duringImport && duringImportCeiling
        ? duringImport.lookup.p99Ms / duringImportCeiling.lookup.p99Ms
        : null,
      during_import_webhook_p99_ms: duringImport?.webhook.p99Ms ?? null,
      during_import_webhook_non2xx: duringImport?.webhook.non2xx ?? null,
      during_import_apply_lag_max_s: duringImport?.applyLagMaxSeconds ?? null,
      store_bytes_vs_csv: importResult?.storeBytesVsCsv ?? null,
      disk_bytes_per_event_vs_body: webhook.disk.perEventVsBody,
      import_ratio: importResult?.ratio ?? null,
      import_peak_rss_mb: importResult?.server.peakRssMb ?? null,
      server_rss_mb: lookup.footprint.rssMb,
      startup_ms_big_log: bigLog?.startup_ms ?? null,
      mixed_rss_mb: mixed?.steadyRssMb ?? null,
      mixed_heap_used_mb: mixed?.steadyHeapUsedMb ?? null,
    };
    const targets = evaluateTargets(figures);
    const results: Results = {
      timestamp,
      quick,
      rows,
      ...figures,
      startup_ms: startupMs,
      machine,
      source,
      targets,
      missed: targets.filter((t) => t.met === false).map((t) => t.key),
      dataset: {
        csv_bytes: dataset.csvBytes,
        phone_cells: dataset.phoneCells,
        invalid_phone_cells: dataset.invalidPhoneCells,
        from_cache: dataset.cached,
      },
      lookup,
      webhook,
      outbound,
      big_log: bigLog,
      mixed,
      import: importResult,
      during_import: duringImport,
      during_import_read_ceiling: duringImportCeiling,
      footprint: {
        server_rss_mb: lookup.footprint.rssMb,
        server_hwm_mb: lookup.footprint.hwmMb,
        lookups_served: lookup.footprint.lookupsServed,
        startup_ms_runs: startupRuns,
      },
      load_average_1m: { start: loadAtStart, end: await loadAverage() },
      total_seconds: (performance.now() - started) / 1000,
    };
    const resultsPath = `${ROOT}/bench/results/${timestamp.replaceAll(":", "")}.json`;
    await Deno.mkdir(`${ROOT}/bench/results`, { recursive: true });
    await Deno.writeTextFile(resultsPath, JSON.stringify(results, null, 2) + "\n");

    console.log("");
    console.log(
      `symbo-crm bench — ${rows.toLocaleString("en-US")} contacts${quick ? " (--quick)" : ""} · ` +
        `${machine.cores} cores · Deno ${machine.deno} · ${timestamp}`,
    );
    console.log("");
    console.log(formatTable(results));
    console.log("");
    for (const warning of disturbances(results)) console.log(`WARNING: ${warning}`);
    console.log(
      results.missed.length === 0
        ? "All targets met."
        : `Targets missed: ${results.missed.join(", ")}.`,
    );
    console.log(
      `Results: ${resultsPath.slice(ROOT.length + 1)} (${results.total_seconds.toFixed(0)} s)`,
    );
    return 0;
  } finally {
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`\nbench failed: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exit(1);
  }
}
