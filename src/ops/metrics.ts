/**
 * The service's metrics on prom-client: labelled counters, latency histograms
 * and gauges read at scrape time, in a registry of their own (so several
 * servers in one process never share series), plus, when asked, the standard
 * process and runtime metrics every Node/Deno operator expects.
 *
 * Recording runs on every request (the lookup is the hot path), so counters
 * and histograms count into plain per-series state found by one map lookup,
 * and prom-client reads that state when /metrics is scraped. Callers must pass
 * label values from a bounded set (see `boundedMethod` in http/app.ts): every
 * distinct set of values is a series kept for the life of the process.
 */
import {
  collectDefaultMetrics,
  Counter as PromCounter,
  Gauge as PromGauge,
  type Metric,
  Registry,
} from "prom-client";

const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
];

/** Default metrics that prom-client reads from /proc/self (see #collectProcessMetrics). */
const PROC_SELF_METRICS = [
  "process_resident_memory_bytes",
  "process_virtual_memory_bytes",
  "process_heap_bytes",
  "process_open_fds",
  "process_max_fds",
];

/** A labelled counter: `inc("GET", "200")` with values in label-name order. */
export interface Counter {
  inc(...labelValues: string[]): void;
  /** The current value for these label values (tests and tools). */
  value(...labelValues: string[]): number;
}

/** A labelled latency histogram (seconds). */
export interface Histogram {
  observe(seconds: number, ...labelValues: string[]): void;
}

/** A gauge whose value is read when /metrics is scraped. */
export type GaugeReader = () => Promise<number> | number;

/** Options of the registry. */
export interface MetricsOptions {
  /**
   * Also expose prom-client's default process and runtime metrics
   * (`process_resident_memory_bytes`, `nodejs_eventloop_lag_seconds`, …).
   * The server turns this on; unit tests usually leave it off.
   */
  readonly processMetrics?: boolean;
}

/** The service's metrics registry. */
export class Metrics {
  readonly #registry = new Registry();

  constructor(options: MetricsOptions = {}) {
    if (options.processMetrics) this.#collectProcessMetrics();
  }

  #collectProcessMetrics(): void {
    collectDefaultMetrics({ register: this.#registry });
    // These read /proc/self, which Deno opens only under --allow-all: under the
    // start task's flags they would always say 0, which is worse than absent.
    for (const name of PROC_SELF_METRICS) this.#registry.removeSingleMetric(name);
    // Resident memory matters most (the heap cap is the service's limit), and
    // Deno reports it without any permission.
    new PromGauge({
      name: "process_resident_memory_bytes",
      help: "Resident memory size in bytes.",
      registers: [this.#registry],
      collect() {
        this.set(Deno.memoryUsage().rss);
      },
    });
  }

  /** The Content-Type of `render()`'s text. */
  get contentType(): string {
    return this.#registry.contentType;
  }

  /** Declares a counter. */
  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    // Counted here (one map lookup and an addition on the hot path) and handed
    // to prom-client's counter when it is scraped: prom-client's own `inc`
    // hashes and validates the labels on every call, ~10× the cost.
    const series = new Map<string, { readonly labels: Labels; count: number; synced: number }>();
    new PromCounter({
      name,
      help,
      labelNames: [...labelNames],
      registers: [this.#registry],
      collect() {
        for (const entry of series.values()) {
          const delta = entry.count - entry.synced;
          if (delta > 0) this.inc(entry.labels, delta);
          entry.synced = entry.count;
        }
      },
    });
    return {
      inc(...values) {
        const key = seriesKey(values);
        const found = series.get(key);
        if (found) {
          found.count++;
          return;
        }
        series.set(key, { labels: labelsOf(name, labelNames, values), count: 1, synced: 0 });
      },
      value: (...values) => series.get(seriesKey(values))?.count ?? 0,
    };
  }

  /** Declares a latency histogram. */
  histogram(name: string, help: string, labelNames: readonly string[] = []): Histogram {
    const metric = new BucketHistogram(name, help, LATENCY_BUCKETS_SECONDS);
    this.#registry.registerMetric(metric as unknown as Metric);
    return {
      observe(seconds, ...values) {
        const key = seriesKey(values);
        let found = metric.series.get(key);
        if (!found) {
          found = {
            labels: labelsOf(name, labelNames, values),
            counts: LATENCY_BUCKETS_SECONDS.map(() => 0),
            sum: 0,
            count: 0,
          };
          metric.series.set(key, found);
        }
        const bounds = LATENCY_BUCKETS_SECONDS;
        let i = 0;
        while (i < bounds.length && seconds > bounds[i]!) i++;
        if (i < bounds.length) found.counts[i]!++;
        found.sum += seconds;
        found.count++;
      },
    };
  }

  /** Declares a gauge read at scrape time; a reader that fails reports NaN. */
  gauge(name: string, help: string, read: GaugeReader): void {
    new PromGauge({
      name,
      help,
      registers: [this.#registry],
      async collect() {
        let value: number;
        try {
          value = await read();
        } catch {
          value = NaN;
        }
        this.set(value);
      },
    });
  }

  /**
   * Declares a counter whose total is kept elsewhere (a count since start in
   * some component's stats) and read at scrape time. The total only grows; a
   * reader that fails leaves the counter where it was.
   */
  counterOf(name: string, help: string, read: GaugeReader): void {
    let counted = 0;
    new PromCounter({
      name,
      help,
      registers: [this.#registry],
      async collect() {
        let total: number;
        try {
          total = await read();
        } catch {
          return;
        }
        if (total > counted) {
          this.inc(total - counted);
          counted = total;
        }
      },
    });
  }

  /**
   * Declares a labelled gauge read at scrape time: `read` lists each series'
   * label values (from a fixed set, e.g. configured source names) and value.
   */
  labelledGauge(
    name: string,
    help: string,
    labelNames: readonly string[],
    read: () => Promise<[string[], number][]> | [string[], number][],
  ): void {
    new PromGauge({
      name,
      help,
      labelNames: [...labelNames],
      registers: [this.#registry],
      async collect() {
        this.reset();
        for (const [values, value] of await Promise.resolve().then(read).catch(() => [])) {
          this.set(labelsOf(name, labelNames, values), value);
        }
      },
    });
  }

  /** Renders every metric in the Prometheus text format. */
  render(): Promise<string> {
    return this.#registry.metrics();
  }
}

type Labels = Readonly<Record<string, string>>;

/** What prom-client's registry reads from a metric (its typings say enum; the runtime uses strings). */
interface RenderedMetric {
  readonly name: string;
  readonly help: string;
  readonly type: "histogram";
  readonly aggregator: "sum";
  readonly values: readonly {
    readonly metricName: string;
    readonly labels: Readonly<Record<string, string | number>>;
    readonly value: number;
  }[];
}

interface HistogramSeries {
  readonly labels: Labels;
  /** Observations per bucket, not cumulative (the cumulative sums are made at scrape time). */
  readonly counts: number[];
  sum: number;
  count: number;
}

/**
 * A histogram whose observations are counted in plain arrays and handed to
 * prom-client's registry as a metric: the registry renders what `get()`
 * returns, in the same shape prom-client's own Histogram returns. prom-client's
 * Histogram hashes and validates the labels on every `observe` (~0.6 µs, about
 * 2% of a lookup); this costs a map lookup and a short loop.
 */
class BucketHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  readonly series = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly bounds: readonly number[],
  ) {}

  get(): Promise<RenderedMetric> {
    const values: RenderedMetric["values"][number][] = [];
    for (const { labels, counts, sum, count } of this.series.values()) {
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += counts[i] ?? 0;
        values.push({
          metricName: `${this.name}_bucket`,
          labels: { le: bound, ...labels },
          value: cumulative,
        });
      });
      values.push({
        metricName: `${this.name}_bucket`,
        labels: { le: "+Inf", ...labels },
        value: count,
      });
      values.push({ metricName: `${this.name}_sum`, labels, value: sum });
      values.push({ metricName: `${this.name}_count`, labels, value: count });
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: "histogram",
      aggregator: "sum",
      values,
    });
  }

  reset(): void {
    this.series.clear();
  }
}

function seriesKey(values: readonly string[]): string {
  return values.length === 1 ? values[0]! : values.join("\u0000");
}

/** The label object of a new series; refuses the wrong number of values. */
function labelsOf(name: string, labelNames: readonly string[], values: readonly string[]): Labels {
  if (values.length !== labelNames.length) {
    throw new Error(
      `Metric ${name} takes ${labelNames.length} label value(s) (${
        labelNames.join(", ")
      }), got ${values.length}.`,
    );
  }
  return Object.fromEntries(labelNames.map((label, i) => [label, values[i]!]));
}
