/**
 * The service's metrics on prom-client: labelled counters, latency histograms
 * and gauges read at scrape time, in a registry of their own (so several
 * servers in one process never share series), plus, when asked, the standard
 * process and runtime metrics every Node/Deno operator expects.
 *
 * Recording runs on every request, so each series' prom-client child is bound
 * once per distinct label values and kept in a map: after the first call a
 * recording is one map lookup and the child's own update. Callers must pass
 * label values from a bounded set (see `boundedMethod` in http/app.ts).
 */
import {
  collectDefaultMetrics,
  Counter as PromCounter,
  Gauge as PromGauge,
  Histogram as PromHistogram,
  Registry,
} from "prom-client";

const LATENCY_BUCKETS_SECONDS = [
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
    const metric = new PromCounter({
      name,
      help,
      labelNames: [...labelNames],
      registers: [this.#registry],
    });
    // The bound child and a synchronous copy of its value (prom-client's `get()` is async).
    const series = new Map<string, { readonly child: { inc(): void }; count: number }>();
    const find = (values: string[]) => {
      const key = values.length === 1 ? values[0]! : values.join("\u0000");
      let found = series.get(key);
      if (!found) {
        checkArity(name, labelNames, values);
        found = { child: metric.labels(...values), count: 0 };
        series.set(key, found);
      }
      return found;
    };
    return {
      inc(...values) {
        const found = find(values);
        found.child.inc();
        found.count++;
      },
      value: (...values) =>
        series.get(values.length === 1 ? values[0]! : values.join("\u0000"))?.count ?? 0,
    };
  }

  /** Declares a latency histogram. */
  histogram(name: string, help: string, labelNames: readonly string[] = []): Histogram {
    const metric = new PromHistogram({
      name,
      help,
      labelNames: [...labelNames],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [this.#registry],
    });
    const series = new Map<string, { observe(value: number): void }>();
    return {
      observe(seconds, ...values) {
        const key = values.length === 1 ? values[0]! : values.join("\u0000");
        let child = series.get(key);
        if (!child) {
          checkArity(name, labelNames, values);
          child = metric.labels(...values);
          series.set(key, child);
        }
        child.observe(seconds);
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

  /** Renders every metric in the Prometheus text format. */
  render(): Promise<string> {
    return this.#registry.metrics();
  }
}

function checkArity(name: string, labelNames: readonly string[], values: readonly string[]): void {
  if (values.length !== labelNames.length) {
    throw new Error(
      `Metric ${name} takes ${labelNames.length} label value(s) (${
        labelNames.join(", ")
      }), got ${values.length}.`,
    );
  }
}
