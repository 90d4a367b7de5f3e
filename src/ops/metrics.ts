/**
 * In-process metrics in the Prometheus text exposition format: labelled
 * counters, latency histograms, and gauges read at scrape time.
 */

type Labels = Readonly<Record<string, string>>;

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

interface Histogram {
  readonly labels: Labels;
  readonly counts: number[];
  sum: number;
  count: number;
}

/** A gauge whose value is read when /metrics is scraped. */
export type GaugeReader = () => Promise<number> | number;

/** The service's metrics registry. */
export class Metrics {
  readonly #counters = new Map<string, { help: string; values: Map<string, number> }>();
  readonly #histograms = new Map<string, { help: string; series: Map<string, Histogram> }>();
  readonly #gauges = new Map<string, { help: string; read: GaugeReader }>();

  /** Adds `by` to a labelled counter. */
  increment(name: string, help: string, labels: Labels = {}, by = 1): void {
    let counter = this.#counters.get(name);
    if (!counter) {
      counter = { help, values: new Map() };
      this.#counters.set(name, counter);
    }
    const key = labelText(labels);
    counter.values.set(key, (counter.values.get(key) ?? 0) + by);
  }

  /** Records one observation (seconds) in a labelled latency histogram. */
  observe(name: string, help: string, labels: Labels, seconds: number): void {
    let histogram = this.#histograms.get(name);
    if (!histogram) {
      histogram = { help, series: new Map() };
      this.#histograms.set(name, histogram);
    }
    const key = labelText(labels);
    let series = histogram.series.get(key);
    if (!series) {
      series = { labels, counts: LATENCY_BUCKETS_SECONDS.map(() => 0), sum: 0, count: 0 };
      histogram.series.set(key, series);
    }
    for (let i = 0; i < LATENCY_BUCKETS_SECONDS.length; i++) {
      if (seconds <= (LATENCY_BUCKETS_SECONDS[i] ?? Infinity)) series.counts[i] = (series.counts[i] ?? 0) + 1;
    }
    series.sum += seconds;
    series.count += 1;
  }

  /** Registers a gauge read at scrape time. */
  gauge(name: string, help: string, read: GaugeReader): void {
    this.#gauges.set(name, { help, read });
  }

  /** The current value of a counter (tests and the banner use it). */
  counterValue(name: string, labels: Labels = {}): number {
    return this.#counters.get(name)?.values.get(labelText(labels)) ?? 0;
  }

  /** Renders every metric in the Prometheus text format. */
  async render(): Promise<string> {
    const lines: string[] = [];
    for (const [name, counter] of this.#counters) {
      lines.push(`# HELP ${name} ${counter.help}`, `# TYPE ${name} counter`);
      for (const [labels, value] of counter.values) lines.push(`${name}${labels} ${value}`);
    }
    for (const [name, histogram] of this.#histograms) {
      lines.push(`# HELP ${name} ${histogram.help}`, `# TYPE ${name} histogram`);
      for (const series of histogram.series.values()) {
        LATENCY_BUCKETS_SECONDS.forEach((bound, i) => {
          const labels = labelText({ ...series.labels, le: String(bound) });
          lines.push(`${name}_bucket${labels} ${series.counts[i] ?? 0}`);
        });
        lines.push(`${name}_bucket${labelText({ ...series.labels, le: "+Inf" })} ${series.count}`);
        lines.push(`${name}_sum${labelText(series.labels)} ${series.sum}`);
        lines.push(`${name}_count${labelText(series.labels)} ${series.count}`);
      }
    }
    for (const [name, gauge] of this.#gauges) {
      let value: number;
      try {
        value = await gauge.read();
      } catch {
        value = NaN;
      }
      lines.push(`# HELP ${name} ${gauge.help}`, `# TYPE ${name} gauge`, `${name} ${value}`);
    }
    return lines.join("\n") + "\n";
  }
}

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  const parts = entries.map(([key, value]) =>
    `${key}="${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`
  );
  return `{${parts.join(",")}}`;
}
