/**
 * The dialer while an import runs (issues 9 and 12): the real server serves a
 * copy of the N-contact store while `main.ts import` loads N more contacts
 * (the same export with every external_id prefixed, so each row is a real
 * insert) into that same store, as on a 2-core VM. Meanwhile, at a steady
 * moderate rate (wrk's `delay` hook, not flat out):
 *
 * - lookups of existing numbers, 8 connections;
 * - signed webhooks, in order from the event pool, 4 connections;
 * - `GET /metrics` (with the admin token) every 500 ms for the applier's lag
 *   gauge `symbo_crm_applier_lag_seconds` (absent on builds without an applier).
 *
 * With `readCeiling`, the read ceiling (baseline b) answers the lookups and no
 * webhooks are sent: what this machine allows a lookup during the same import.
 *
 * wrk runs in back-to-back rounds of at most `roundSeconds` until the import
 * exits, so the figures cover the import and little else; the p99 reported is
 * the worst round's (conservative), non-2xx answers are summed.
 */
import type { Dataset } from "./dataset.ts";
import { type Pinning, runOrThrow, runTimed } from "./processes.ts";
import { spawnReadCeiling } from "./lookup_bench.ts";
import { mainCommand, NEUTRAL_ENV, startRealServer } from "./real_server.ts";
import { ensureEventPool } from "./webhook_events.ts";
import { pacedScript, type RunSummary, runWrk, summary, writeWrkScripts } from "./wrk.ts";

/** wrk's shape for this step. */
export const DURING_IMPORT_LOOKUP_CONNECTIONS = 8;
export const DURING_IMPORT_LOOKUP_DELAY_MS = 8; // ≈ 1,000 lookups/s
export const DURING_IMPORT_WEBHOOK_CONNECTIONS = 4;
export const DURING_IMPORT_WEBHOOK_DELAY_MS = 40; // ≈ 100 webhooks/s

/** One side (lookups or webhooks) of the step. */
export interface PacedLoad {
  readonly connections: number;
  readonly delayMs: number;
  readonly requests: number;
  /** Answers that were not 2xx (plus socket read errors and timeouts). */
  readonly non2xx: number;
  /** The worst round's p99. */
  readonly p99Ms: number;
  readonly rounds: readonly RunSummary[];
}

/** What the step measured. */
export interface DuringImportResult {
  readonly rows: number;
  readonly importWallSeconds: number;
  readonly importSummaryLine: string;
  readonly importPeakRssMb: number;
  readonly lookup: PacedLoad;
  readonly webhook: PacedLoad;
  /** The largest `symbo_crm_applier_lag_seconds` scraped; null when the gauge is absent. */
  readonly applyLagMaxSeconds: number | null;
  readonly metricsScrapes: number;
}

/** Runs the step; throws when the import fails. */
export async function runDuringImportBench(options: {
  readonly workDir: string;
  readonly cacheDir: string;
  /** The N-contact store (copied, not changed). */
  readonly storePath: string;
  readonly configFor: (dir: string, dbPath: string) => Promise<string>;
  readonly adminToken: string;
  readonly lookupToken: string;
  readonly flags: readonly string[];
  readonly pinning: Pinning;
  readonly dataset: Dataset;
  readonly roundSeconds: number;
  readonly timeoutMs: number;
  readonly log: (line: string) => void;
  /**
   * Serve the lookups with the read ceiling (baseline b) instead of symbo-crm,
   * and send no webhooks: what the machine allows a lookup during the import.
   */
  readonly readCeiling?: boolean;
}): Promise<DuringImportResult> {
  const dir = `${options.workDir}/during_import`;
  await Deno.mkdir(dir, { recursive: true });
  const dbPath = `${dir}/crm.db`;
  await Deno.copyFile(options.storePath, dbPath);
  await Deno.copyFile(`${options.storePath}-wal`, `${dbPath}-wal`).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  const configPath = await options.configFor(dir, dbPath);
  const csvPath = `${dir}/contacts_renamed.csv`;
  await writeRenamedCsv(options.dataset.csvPath, csvPath);

  const scripts = await writeWrkScripts(dir);
  const lookupScript = await pacedScript(scripts.lookup, DURING_IMPORT_LOOKUP_DELAY_MS);
  const webhookScript = await pacedScript(scripts.webhook, DURING_IMPORT_WEBHOOK_DELAY_MS);
  const listFile = `${dir}/lookup_paths.txt`;
  await Deno.writeTextFile(
    listFile,
    options.dataset.lookupList
      .map((n) =>
        `/symbo/lookup?number=${encodeURIComponent(n.e164)}&token=${options.lookupToken}\n`
      )
      .join(""),
  );
  const pool = await ensureEventPool(options.cacheDir, options.dataset.lookupList);

  const ceilingOnly = options.readCeiling === true;
  options.log(
    `  ${options.dataset.rows.toLocaleString("en-US")} more contacts imported by the CLI into ` +
      `the served store, while ~${
        DURING_IMPORT_LOOKUP_CONNECTIONS * 1000 / DURING_IMPORT_LOOKUP_DELAY_MS
      } lookups/s${
        ceilingOnly
          ? " arrive at the read ceiling…"
          : ` and ~${
            DURING_IMPORT_WEBHOOK_CONNECTIONS * 1000 / DURING_IMPORT_WEBHOOK_DELAY_MS
          } webhooks/s arrive…`
      }`,
  );
  const server = ceilingOnly
    ? await spawnReadCeiling(dbPath, options.pinning.server)
    : await startRealServer({
      configPath,
      flags: options.flags,
      prefix: options.pinning.server,
    });
  try {
    let importDone = false;
    const importRun = runTimed(
      mainCommand(options.flags, ["import", csvPath, "--config", configPath]),
      { env: NEUTRAL_ENV, timeoutMs: options.timeoutMs },
    ).finally(() => importDone = true);

    const paced = async (
      url: string,
      script: string,
      args: (round: number, sent: number) => string[],
      connections: number,
    ) => {
      const rounds = [];
      let sent = 0;
      while (!importDone) {
        const run = await runWrk({
          url,
          script,
          scriptArgs: args(rounds.length, sent),
          seconds: options.roundSeconds,
          connections,
          prefix: options.pinning.load,
        });
        rounds.push(run);
        sent += run.requests + connections;
      }
      return rounds;
    };
    let lagMax: number | null = null;
    let scrapes = 0;
    const scraper = (async () => {
      while (!importDone && !ceilingOnly) {
        const lag = await scrapeApplierLag(server.url, options.adminToken);
        scrapes++;
        if (lag !== null) lagMax = Math.max(lagMax ?? 0, lag);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    })();
    const [lookupRounds, webhookRounds, run] = await Promise.all([
      paced(
        server.url,
        lookupScript,
        (round) => [listFile, String(1000 + round)],
        DURING_IMPORT_LOOKUP_CONNECTIONS,
      ),
      ceilingOnly ? Promise.resolve([]) : paced(
        `${server.url}/symbo/webhook`,
        webhookScript,
        (_round, sent) => [pool.measuredPath, String(sent)],
        DURING_IMPORT_WEBHOOK_CONNECTIONS,
      ),
      importRun,
    ]);
    await scraper;
    const summaryLine = run.stdout.split("\n").find((line) => line.startsWith("Imported:")) ?? "";
    if (run.code !== 0 || summaryLine === "") {
      throw new Error(
        `main.ts import (during lookups and webhooks) failed (exit ${run.code}):\n${
          run.stdout.slice(0, 2000)
        }\n${run.stderr.slice(0, 2000)}`,
      );
    }
    const load = (
      rounds: Awaited<ReturnType<typeof runWrk>>[],
      connections: number,
      delayMs: number,
    ): PacedLoad => ({
      connections,
      delayMs,
      requests: rounds.reduce((sum, r) => sum + r.requests, 0),
      non2xx: rounds.reduce(
        (sum, r) =>
          sum + r.errors.status + r.errors.read + r.errors.timeout + (r.outcomes?.non200 ?? 0),
        0,
      ),
      p99Ms: Math.max(0, ...rounds.map((r) => r.latencyMs.p99)),
      rounds: rounds.map(summary),
    });
    return {
      rows: options.dataset.rows,
      importWallSeconds: run.wallSeconds,
      importSummaryLine: summaryLine,
      importPeakRssMb: run.peakRssMb,
      lookup: load(lookupRounds, DURING_IMPORT_LOOKUP_CONNECTIONS, DURING_IMPORT_LOOKUP_DELAY_MS),
      webhook: load(
        webhookRounds,
        DURING_IMPORT_WEBHOOK_CONNECTIONS,
        DURING_IMPORT_WEBHOOK_DELAY_MS,
      ),
      applyLagMaxSeconds: lagMax,
      metricsScrapes: scrapes,
    };
  } finally {
    await server.stop();
    await Deno.remove(csvPath).catch(() => {});
    // The store copy is as large as the store; free the disk now.
    await runOrThrow(["rm", "-rf", dir]).catch(() => {});
  }
}

/**
 * The largest value of the gauge `symbo_crm_applier_lag_seconds` (any labels)
 * in one `GET /metrics`, or null when the gauge is not there.
 */
export async function scrapeApplierLag(url: string, adminToken: string): Promise<number | null> {
  try {
    const response = await fetch(`${url}/metrics`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    const text = await response.text();
    if (response.status !== 200) return null;
    return applierLagOf(text);
  } catch {
    return null;
  }
}

/** Reads `symbo_crm_applier_lag_seconds` samples out of a Prometheus text page (max, or null). */
export function applierLagOf(page: string): number | null {
  let max: number | null = null;
  for (const line of page.split("\n")) {
    if (!line.startsWith("symbo_crm_applier_lag_seconds")) continue;
    const rest = line.slice("symbo_crm_applier_lag_seconds".length);
    if (rest[0] !== " " && rest[0] !== "{") continue;
    const value = Number(rest.slice(rest.lastIndexOf(" ") + 1));
    if (Number.isFinite(value)) max = Math.max(max ?? value, value);
  }
  return max;
}

function quotesIn(line: string): number {
  let n = 0;
  for (let i = line.indexOf('"'); i >= 0; i = line.indexOf('"', i + 1)) n++;
  return n;
}

/** Copies the export with every external_id prefixed by "X" (first column), streaming. */
async function writeRenamedCsv(from: string, to: string): Promise<void> {
  const input = await Deno.open(from);
  const output = await Deno.open(to, { write: true, create: true, truncate: true });
  const encoder = new TextEncoder();
  let header = true;
  let inQuotes = false;
  let pending = "";
  const writer = output.writable.getWriter();
  try {
    for await (const chunk of input.readable.pipeThrough(new TextDecoderStream())) {
      const lines = (pending + chunk).split("\n");
      pending = lines.pop() ?? "";
      const out: string[] = [];
      for (const line of lines) {
        // A line starts a record only outside quotes (notes may hold newlines).
        const startsRecord = !inQuotes && !header && line !== "";
        out.push(startsRecord ? (line.startsWith('"') ? `"X${line.slice(1)}` : `X${line}`) : line);
        header = false;
        if (quotesIn(line) % 2 === 1) inQuotes = !inQuotes;
      }
      if (out.length > 0) await writer.write(encoder.encode(out.join("\n") + "\n"));
    }
    if (pending !== "") {
      await writer.write(encoder.encode(inQuotes ? `${pending}\n` : `X${pending}\n`));
    }
  } finally {
    await writer.close();
  }
}
