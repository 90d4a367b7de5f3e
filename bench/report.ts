/**
 * The benchmark's outputs: the results record (what goes to
 * `bench/results/<UTC timestamp>.json`), the targets of issue #5, and the
 * one table printed at the end (each ratio next to its target).
 */
import type { DuringImportResult } from "./during_import_bench.ts";
import type { ImportBenchResult } from "./import_bench.ts";
import type { LookupBenchResult } from "./lookup_bench.ts";
import type { WebhookBenchResult } from "./webhook_bench.ts";
import type { OutboundBenchResult } from "./outbound_bench.ts";
import type { MixedLoadResult } from "./mixed_load_bench.ts";

/** Start-up over the 200,000-event audit log (issue 22). */
export interface BigLogStartup {
  readonly events: number;
  readonly audit_bytes: number;
  readonly from_cache: boolean;
  /** With the re-delivery snapshot the previous stop wrote (median of these is the figure). */
  readonly startup_ms_runs: readonly number[];
  readonly startup_ms: number;
  /** The first start, with no snapshot (the window read from the audit files, as after a crash). */
  readonly startup_ms_without_snapshot: number;
}

/** The machine the numbers were taken on. */
export interface Machine {
  readonly cores: number;
  readonly deno: string;
  readonly v8: string;
  readonly typescript: string;
  readonly os: string;
  readonly cpu: string;
  readonly memory_gib: number;
  readonly wrk: string;
  readonly sqlite3: string;
  readonly pinning: string;
}

/** A target: the figure, its limit, and which way is good. */
export interface Target {
  readonly key: string;
  readonly value: number | null;
  readonly limit: number;
  readonly kind: "min" | "max";
  readonly met: boolean | null;
}

/** Everything one run measured. */
export interface Results {
  readonly timestamp: string;
  readonly quick: boolean;
  readonly rows: number;
  readonly lookup_ratio: number;
  readonly lookup_p99_ms: number;
  /** Baseline (b): the lookup's one read behind a bare `Deno.serve` (issue 12). */
  readonly lookup_read_ceiling_rps: number;
  /** symbo-crm lookup req/s ÷ (b). */
  readonly lookup_vs_read_ceiling: number;
  /** Lookup req/s with 1 in 10 numbers unknown ÷ all known (issue 11: what a miss costs). */
  readonly lookup_unknown_mix_vs_known: number;
  /** p99 of paced (open-loop) lookups at half the lookup's capacity (issue 22); null when skipped. */
  readonly lookup_p99_at_half_load_ms: number | null;
  /** The same pace against the read ceiling (b). */
  readonly read_ceiling_p99_at_half_load_ms: number | null;
  /** lookup ÷ (b) p99 at half load. */
  readonly lookup_p99_at_half_load_vs_read_ceiling: number | null;
  readonly webhook_ratio: number;
  readonly webhook_p99_ms: number;
  /** Server CPU µs per webhook answered 2xx (issue 22), ours and (c)'s, and ours ÷ (c)'s. */
  readonly webhook_cpu_us_per_ack: number;
  readonly webhook_baseline_cpu_us_per_ack: number;
  readonly webhook_cpu_vs_baseline: number;
  /** Webhook req/s with one outbound endpoint enabled ÷ without (issue 23); null when skipped. */
  readonly webhook_ratio_with_outbound: number | null;
  /** Deliveries per second to a local receiver while a replay drains (issue 23). */
  readonly outbound_deliveries_per_s: number | null;
  /** symbo-crm's CPU time per delivery during that drain, in µs. */
  readonly outbound_cpu_us_per_delivery: number | null;
  /** The step "during an import" (null when skipped): the worst round's p99, summed non-2xx. */
  readonly during_import_lookup_p99_ms: number | null;
  readonly during_import_lookup_non2xx: number | null;
  /**
   * The same step with the read ceiling (b) serving the lookups and no
   * webhooks: what this machine allows a lookup during the import (issue 12).
   */
  readonly during_import_read_ceiling_p99_ms: number | null;
  /** during_import_lookup_p99_ms ÷ during_import_read_ceiling_p99_ms (issue 22: ≤ 2). */
  readonly during_import_lookup_vs_read_ceiling_p99: number | null;
  readonly during_import_webhook_p99_ms: number | null;
  readonly during_import_webhook_non2xx: number | null;
  /** The largest applier lag scraped from /metrics; null when the gauge is absent. */
  readonly during_import_apply_lag_max_s: number | null;
  /** The store after the import ÷ the CSV (issue 15); null with `--reuse-store`. */
  readonly store_bytes_vs_csv: number | null;
  /** (store growth + audit bytes) ÷ bytes of the bodies posted, by the webhook step. */
  readonly disk_bytes_per_event_vs_body: number;
  readonly import_ratio: number | null;
  readonly import_peak_rss_mb: number | null;
  readonly server_rss_mb: number;
  readonly startup_ms: number;
  /** Start-up with 200,000 events in the newest two audit days (issue 22); null when skipped. */
  readonly startup_ms_big_log: number | null;
  /** VmRSS and JS heap used at steady state under the mixed load (issue 22); null when skipped. */
  readonly mixed_rss_mb: number | null;
  readonly mixed_heap_used_mb: number | null;
  readonly machine: Machine;
  /** The commit measured; `changed_files` > 0 means uncommitted changes were measured too. */
  readonly source: { readonly commit: string; readonly changed_files: number };
  readonly targets: readonly Target[];
  readonly missed: readonly string[];
  readonly dataset: {
    readonly csv_bytes: number;
    readonly phone_cells: number;
    readonly invalid_phone_cells: number;
    readonly from_cache: boolean;
  };
  readonly lookup: LookupBenchResult;
  readonly webhook: WebhookBenchResult;
  /** null with `--no-outbound`. */
  readonly outbound: OutboundBenchResult | null;
  /** null with `--no-big-log`. */
  readonly big_log: BigLogStartup | null;
  /** null with `--no-mixed`. */
  readonly mixed: MixedLoadResult | null;
  /** null when `--reuse-store` skipped the import. */
  readonly import: ImportBenchResult | null;
  /** null with `--no-during-import`. */
  readonly during_import: DuringImportResult | null;
  /** The same step served by the read ceiling (b), lookups only; null when skipped. */
  readonly during_import_read_ceiling: DuringImportResult | null;
  readonly footprint: {
    readonly server_rss_mb: number;
    readonly server_hwm_mb: number;
    readonly lookups_served: number;
    readonly startup_ms_runs: readonly number[];
  };
  /** Load average before and after (anything else running skews the figures). */
  readonly load_average_1m: { readonly start: number; readonly end: number };
  readonly total_seconds: number;
}

/** The targets (issues 5, 9, 12, 15, 22, 23) for the measured figures. */
export function evaluateTargets(figures: {
  lookup_ratio: number;
  lookup_p99_ms: number;
  lookup_vs_read_ceiling: number;
  lookup_p99_at_half_load_ms: number | null;
  lookup_p99_at_half_load_vs_read_ceiling: number | null;
  webhook_ratio: number;
  webhook_cpu_vs_baseline: number;
  during_import_lookup_vs_read_ceiling_p99: number | null;
  server_rss_mb: number;
  startup_ms_big_log: number | null;
  mixed_rss_mb: number | null;
  webhook_ratio_with_outbound: number | null;
  import_ratio: number | null;
  import_peak_rss_mb: number | null;
  during_import_lookup_p99_ms: number | null;
  during_import_lookup_non2xx: number | null;
  during_import_webhook_non2xx: number | null;
  store_bytes_vs_csv: number | null;
  disk_bytes_per_event_vs_body: number;
}): Target[] {
  const target = (
    key: string,
    value: number | null,
    limit: number,
    kind: "min" | "max",
  ): Target => ({
    key,
    value,
    limit,
    kind,
    met: value === null || Number.isNaN(value)
      ? null
      : kind === "min"
      ? value >= limit
      : value <= limit,
  });
  return [
    target("lookup_ratio", figures.lookup_ratio, 0.6, "min"),
    target("lookup_p99_ms", figures.lookup_p99_ms, 1.5, "max"),
    target("lookup_vs_read_ceiling", figures.lookup_vs_read_ceiling, 0.9, "min"),
    target("lookup_p99_at_half_load_ms", figures.lookup_p99_at_half_load_ms, 2, "max"),
    target(
      "lookup_p99_at_half_load_vs_read_ceiling",
      figures.lookup_p99_at_half_load_vs_read_ceiling,
      1.5,
      "max",
    ),
    // Issue 22: ≥ 1.5× now; the goal beyond it stays 3.0× (issue 9).
    target("webhook_ratio", figures.webhook_ratio, 1.5, "min"),
    target("webhook_cpu_vs_baseline", figures.webhook_cpu_vs_baseline, 1.5, "max"),
    target("webhook_ratio_with_outbound", figures.webhook_ratio_with_outbound, 0.9, "min"),
    target("import_ratio", figures.import_ratio, 2.5, "max"),
    target("import_peak_rss_mb", figures.import_peak_rss_mb, 300, "max"),
    target("during_import_lookup_p99_ms", figures.during_import_lookup_p99_ms, 5, "max"),
    target(
      "during_import_lookup_vs_read_ceiling_p99",
      figures.during_import_lookup_vs_read_ceiling_p99,
      2,
      "max",
    ),
    target("during_import_lookup_non2xx", figures.during_import_lookup_non2xx, 0, "max"),
    target("during_import_webhook_non2xx", figures.during_import_webhook_non2xx, 0, "max"),
    target("store_bytes_vs_csv", figures.store_bytes_vs_csv, 2.5, "max"),
    target("disk_bytes_per_event_vs_body", figures.disk_bytes_per_event_vs_body, 1.2, "max"),
    target("server_rss_mb", figures.server_rss_mb, 150, "max"),
    target("startup_ms_big_log", figures.startup_ms_big_log, 1000, "max"),
    target("mixed_rss_mb", figures.mixed_rss_mb, 150, "max"),
  ];
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const ms = (n: number) => `${n < 10 ? n.toFixed(2) : n.toFixed(0)} ms`;
const mb = (n: number) => `${n.toFixed(0)} MB`;
const s = (n: number) => `${n.toFixed(1)} s`;
const x = (n: number) => `${n.toFixed(2)}×`;
const cores = (
  n: number | null | undefined,
) => (n === null || n === undefined ? "—" : n.toFixed(2));

/** What else ran during the counted rounds (symbo-crm / baseline). */
function others(a: DisturbanceFigures, b: DisturbanceFigures): string {
  const fmt = (n: number | undefined) => (n === undefined ? "?" : n.toFixed(2));
  return `others: core ${fmt(a.othersOnServerCore)}/${fmt(b.othersOnServerCore)}, ` +
    `all ${fmt(a.othersOnMachine)}/${fmt(b.othersOnMachine)}`;
}

interface DisturbanceFigures {
  readonly othersOnServerCore?: number;
  readonly othersOnMachine?: number;
}

/** Above this many cores used by other processes, a round counts as disturbed. */
const DISTURBED = 0.1;

/**
 * Warnings about counted rounds that something else on the machine
 * disturbed (other processes used more than 0.1 core).
 */
export function disturbances(results: Results): string[] {
  const warnings: string[] = [];
  const check = (name: string, run: DisturbanceFigures) => {
    const worst = Math.max(run.othersOnServerCore ?? 0, run.othersOnMachine ?? 0);
    if (worst > DISTURBED) {
      warnings.push(
        `${name}: other processes used ${worst.toFixed(2)} cores during the counted round; ` +
          "re-run on an idle machine for clean figures.",
      );
    }
  };
  check("lookup (a) bare Deno.serve", results.lookup.baseline);
  check("lookup (b) read ceiling", results.lookup.readCeiling);
  check("lookup symbo-crm", results.lookup.server);
  check("webhook (c) baseline", results.webhook.baselineHttp);
  check("webhook symbo-crm", results.webhook.server);
  return warnings;
}

function verdict(results: Results, key: string): string {
  const target = results.targets.find((t) => t.key === key);
  if (!target) return "";
  const limit = /_ms(_|$)/.test(key)
    ? `${target.limit} ms`
    : key.endsWith("_mb")
    ? `${target.limit} MB`
    : key.endsWith("_s")
    ? `${target.limit} s`
    : key.endsWith("non2xx")
    ? String(target.limit)
    : `${target.limit.toFixed(2)}×`;
  const sign = target.kind === "min" ? "≥" : "≤";
  const ok = target.met === null ? "—" : target.met ? "ok" : "MISSED";
  return `${sign} ${limit}\t${ok}`;
}

/** The table printed at the end of a run. */
export function formatTable(results: Results): string {
  const { lookup, webhook } = results;
  const imp = results.import;
  const rows: string[][] = [
    ["measurement", "symbo-crm", "baseline", "", "ratio", "target", ""],
    [
      `1 lookup req/s (wrk -c${lookup.connections}, ${lookup.seconds} s)`,
      int(lookup.server.requestsPerSecond),
      int(lookup.baseline.requestsPerSecond),
      "(a) bare Deno.serve, 600 B",
      x(lookup.ratio),
      ...verdict(results, "lookup_ratio").split("\t"),
    ],
    [
      "  lookup req/s vs the read ceiling",
      int(lookup.server.requestsPerSecond),
      int(lookup.readCeiling.requestsPerSecond),
      "(b) Deno.serve + 1 prepared read",
      x(lookup.ratioToReadCeiling),
      ...verdict(results, "lookup_vs_read_ceiling").split("\t"),
    ],
    [
      "  lookup req/s, 1 in 10 numbers unknown",
      int(lookup.unknownMix.requestsPerSecond),
      int(lookup.server.requestsPerSecond),
      "the same lookup, all known",
      x(lookup.unknownMixRatio),
      "",
      "",
    ],
    [
      "  lookup latency p50 / p99",
      `${ms(lookup.server.latencyMs.p50)} / ${ms(lookup.server.latencyMs.p99)}`,
      `${ms(lookup.baseline.latencyMs.p50)} / ${ms(lookup.baseline.latencyMs.p99)}`,
      "",
      "",
      ...verdict(results, "lookup_p99_ms").split("\t"),
    ],
    ...(lookup.halfLoad
      ? [[
        `  lookup p99, paced at half capacity (${int(lookup.halfLoad.rate)}/s)`,
        ms(lookup.halfLoad.server.latencyMs.p99),
        ms(lookup.halfLoad.readCeiling.latencyMs.p99),
        "(b) read ceiling, same pace",
        x(lookup.halfLoad.p99VsReadCeiling),
        ...verdict(results, "lookup_p99_at_half_load_vs_read_ceiling").split("\t"),
      ], [
        "  lookup p50 / p99 at half capacity",
        `${ms(lookup.halfLoad.server.latencyMs.p50)} / ${ms(lookup.halfLoad.server.latencyMs.p99)}`,
        `${ms(lookup.halfLoad.readCeiling.latencyMs.p50)} / ${
          ms(lookup.halfLoad.readCeiling.latencyMs.p99)
        }`,
        `sent ${int(lookup.halfLoad.server.achievedRate)}/s, ${
          int(lookup.halfLoad.readCeiling.achievedRate)
        }/s; generator stalls ≤ ${ms(lookup.halfLoad.server.generatorGapMaxMs)}`,
        "",
        ...verdict(results, "lookup_p99_at_half_load_ms").split("\t"),
      ]]
      : []),
    [
      "  server CPU during the run (cores)",
      cores(lookup.server.serverCpuCores),
      cores(lookup.baseline.serverCpuCores),
      others(lookup.server, lookup.baseline),
      "",
      "",
      "",
    ],
    [
      `2 webhook req/s (${webhook.concurrency} senders, ~2 KB)`,
      int(webhook.server.requestsPerSecond),
      int(webhook.baselineHttp.requestsPerSecond),
      "(c) JSONL+syncData over HTTP",
      x(webhook.ratio),
      ...verdict(results, "webhook_ratio").split("\t"),
    ],
    [
      "  webhook latency p50 / p99",
      `${ms(webhook.server.latencyMs.p50)} / ${ms(webhook.server.latencyMs.p99)}`,
      `${ms(webhook.baselineHttp.latencyMs.p50)} / ${ms(webhook.baselineHttp.latencyMs.p99)}`,
      "",
      "",
      "",
      "",
    ],
    [
      "  server CPU during the run (cores)",
      cores(webhook.server.serverCpuCores),
      cores(webhook.baselineHttp.serverCpuCores),
      others(webhook.server, webhook.baselineHttp),
      "",
      "",
      "",
    ],
    [
      "  server CPU per request answered (µs)",
      int(results.webhook_cpu_us_per_ack),
      int(results.webhook_baseline_cpu_us_per_ack),
      "(c), all measured rounds",
      x(results.webhook_cpu_vs_baseline),
      ...verdict(results, "webhook_cpu_vs_baseline").split("\t"),
    ],
    [
      "  (same JSONL+syncData loop, no HTTP)",
      "",
      int(webhook.rawLoop.linesPerSecond),
      "lines/s, for reference",
      x(webhook.ratioVsRawLoop),
      "",
      "",
    ],
  ];
  const out = results.outbound;
  if (out) {
    rows.push(
      [
        "  webhook req/s with one outbound endpoint",
        int(out.withEndpoint.requestsPerSecond),
        int(out.withoutEndpoint.requestsPerSecond),
        "the same server, no endpoint",
        x(out.webhookRatioWithOutbound),
        ...verdict(results, "webhook_ratio_with_outbound").split("\t"),
      ],
      [
        "  outbound deliveries/s (replay drain)",
        int(out.drain.deliveriesPerSecond),
        "",
        `${Math.round(out.drain.cpuUsPerDelivery)} µs CPU per delivery`,
        "",
        "",
        "",
      ],
    );
  }
  if (imp) {
    rows.push(
      [
        `3 import wall (${int(results.rows)} rows)`,
        s(imp.server.wallSeconds),
        s(imp.baseline.wallSeconds),
        "(d) sqlite3 .import --csv",
        x(imp.ratio),
        ...verdict(results, "import_ratio").split("\t"),
      ],
      [
        "  import CPU (cores)",
        cores(imp.server.cpuCores),
        cores(imp.baseline.cpuCores),
        "",
        "",
        "",
        "",
      ],
      [
        "  import peak RSS",
        mb(imp.server.peakRssMb),
        mb(imp.baseline.peakRssMb),
        "",
        "",
        ...verdict(results, "import_peak_rss_mb").split("\t"),
      ],
    );
    rows.push([
      "  store size ÷ CSV size",
      mb(imp.server.storeBytes / 2 ** 20),
      mb(results.dataset.csv_bytes / 2 ** 20),
      "the CSV",
      x(imp.storeBytesVsCsv),
      ...verdict(results, "store_bytes_vs_csv").split("\t"),
    ]);
  } else {
    rows.push(["3 import", "skipped", "", "--reuse-store", "", "", ""]);
  }
  rows.push([
    "  webhook disk ÷ body bytes",
    mb((webhook.disk.storeGrowthBytes + webhook.disk.auditBytes) / 2 ** 20),
    mb(webhook.disk.bodyBytes / 2 ** 20),
    "bodies posted (store + audit)",
    x(webhook.disk.perEventVsBody),
    ...verdict(results, "disk_bytes_per_event_vs_body").split("\t"),
  ]);
  rows.push(
    [
      `4 server RSS after ${int(results.footprint.lookups_served)} lookups`,
      mb(results.server_rss_mb),
      "",
      `(peak ${mb(results.footprint.server_hwm_mb)})`,
      "",
      ...verdict(results, "server_rss_mb").split("\t"),
    ],
    [
      "  start-up to GET /readyz 200",
      ms(results.startup_ms),
      "",
      `median of ${results.footprint.startup_ms_runs.length}`,
      "",
      "",
      "",
    ],
  );
  const big = results.big_log;
  if (big) {
    rows.push([
      `  start-up, ${int(big.events)} events in the audit log`,
      ms(big.startup_ms),
      "",
      `without a snapshot ${ms(big.startup_ms_without_snapshot)}`,
      "",
      ...verdict(results, "startup_ms_big_log").split("\t"),
    ]);
  }
  const mixed = results.mixed;
  if (mixed) {
    rows.push(
      [
        `  RSS under a mixed load (${mixed.seconds} s, steady state)`,
        mb(mixed.steadyRssMb),
        "",
        `${int(mixed.webhooksPerSecond)} webhooks/s, ${
          int(mixed.lookupsPerSecond)
        } lookups/s, feed`,
        "",
        ...verdict(results, "mixed_rss_mb").split("\t"),
      ],
      [
        "  JS heap used under that load",
        mixed.steadyHeapUsedMb === null ? "—" : mb(mixed.steadyHeapUsedMb),
        "",
        `(peak RSS ${mb(mixed.peakRssMb)})`,
        "",
        "",
        "",
      ],
    );
  }
  const during = results.during_import;
  if (during) {
    const lag = during.applyLagMaxSeconds;
    rows.push(
      [
        `5 during an import of ${int(during.rows)} more rows (${s(during.importWallSeconds)})`,
        "",
        "",
        "",
        "",
        "",
        "",
      ],
      [
        `  lookups (~${int(during.lookup.connections * 1000 / during.lookup.delayMs)}/s) p99`,
        ms(during.lookup.p99Ms),
        "",
        `${int(during.lookup.requests)} answered, ${during.lookup.non2xx} non-2xx`,
        "",
        ...verdict(results, "during_import_lookup_p99_ms").split("\t"),
      ],
      ...(results.during_import_read_ceiling
        ? [[
          "  (b) read ceiling, same import, lookups only: p99",
          ms(results.during_import_read_ceiling.lookup.p99Ms),
          "",
          `${int(results.during_import_read_ceiling.lookup.requests)} answered, ` +
          `${results.during_import_read_ceiling.lookup.non2xx} non-2xx`,
          results.during_import_lookup_vs_read_ceiling_p99 === null
            ? ""
            : x(results.during_import_lookup_vs_read_ceiling_p99),
          ...verdict(results, "during_import_lookup_vs_read_ceiling_p99").split("\t"),
        ]]
        : []),
      [
        `  webhooks (~${int(during.webhook.connections * 1000 / during.webhook.delayMs)}/s) p99`,
        ms(during.webhook.p99Ms),
        "",
        `${int(during.webhook.requests)} answered, ${during.webhook.non2xx} non-2xx`,
        "",
        ...verdict(results, "during_import_webhook_non2xx").split("\t").map((cell, i) =>
          i === 0 ? `non-2xx ${cell}` : cell
        ),
      ],
      [
        "  applier lag, max",
        lag === null ? "—" : s(lag),
        "",
        lag === null ? "no symbo_crm_applier_lag_seconds gauge" : "from /metrics",
        "",
        "",
        "",
      ],
    );
  }
  const widths =
    rows[0]?.map((_, col) => Math.max(...rows.map((row) => (row[col] ?? "").length))) ?? [];
  const lines = rows.map((row) =>
    row.map((
      cell,
      col,
    ) => (col === 1 || col === 2 ? cell.padStart(widths[col] ?? 0) : cell.padEnd(widths[col] ?? 0)))
      .join("  ").trimEnd()
  );
  const rule = "-".repeat(Math.max(...lines.map((line) => line.length)));
  const header = lines.shift() ?? "";
  return [header, rule, ...lines].join("\n");
}
