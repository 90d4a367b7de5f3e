/**
 * In-process metrics in the Prometheus text exposition format: labelled
 * counters, latency histograms, and gauges read at scrape time. Metrics are
 * declared once with their label names; recording is a map lookup on the
 * joined label values (it runs on every request), and label text is only built
 * when /metrics is scraped.
 */

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
] as const;

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

interface Series<T> {
  readonly labelValues: readonly string[];
  state: T;
}

interface HistogramState {
  readonly counts: number[];
  sum: number;
  count: number;
}

type Renderer = () => Promise<string[]> | string[];

/** The service's metrics registry. */
export class Metrics {
  readonly #renderers: Renderer[] = [];

  /** Declares a counter. */
  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    const series = new Map<string, Series<number>>();
    const find = (values: string[]) => {
      const key = values.join("\u0000");
      let found = series.get(key);
      if (!found) {
        found = { labelValues: values, state: 0 };
        series.set(key, found);
      }
      return found;
    };
    this.#renderers.push(() => [
      `# HELP ${name} ${help}`,
      `# TYPE ${name} counter`,
      ...[...series.values()].map((s) =>
        `${name}${labelText(labelNames, s.labelValues)} ${s.state}`
      ),
    ]);
    return {
      inc: (...values) => void find(values).state++,
      value: (...values) => series.get(values.join("\u0000"))?.state ?? 0,
    };
  }

  /** Declares a latency histogram. */
  histogram(name: string, help: string, labelNames: readonly string[] = []): Histogram {
    const series = new Map<string, Series<HistogramState>>();
    this.#renderers.push(() => {
      const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
      for (const { labelValues, state } of series.values()) {
        LATENCY_BUCKETS_SECONDS.forEach((bound, i) => {
          const labels = labelText([...labelNames, "le"], [...labelValues, String(bound)]);
          lines.push(`${name}_bucket${labels} ${state.counts[i] ?? 0}`);
        });
        lines.push(
          `${name}_bucket${
            labelText([...labelNames, "le"], [...labelValues, "+Inf"])
          } ${state.count}`,
        );
        lines.push(`${name}_sum${labelText(labelNames, labelValues)} ${state.sum}`);
        lines.push(`${name}_count${labelText(labelNames, labelValues)} ${state.count}`);
      }
      return lines;
    });
    return {
      observe(seconds, ...values) {
        const key = values.join("\u0000");
        let found = series.get(key);
        if (!found) {
          found = {
            labelValues: values,
            state: { counts: LATENCY_BUCKETS_SECONDS.map(() => 0), sum: 0, count: 0 },
          };
          series.set(key, found);
        }
        const state = found.state;
        // Buckets are cumulative: count this observation in its bucket and every larger one.
        for (let i = 0; i < LATENCY_BUCKETS_SECONDS.length; i++) {
          if (seconds <= LATENCY_BUCKETS_SECONDS[i]!) state.counts[i]!++;
        }
        state.sum += seconds;
        state.count++;
      },
    };
  }

  /** Declares a gauge read at scrape time. */
  gauge(name: string, help: string, read: GaugeReader): void {
    this.#renderers.push(async () => {
      let value: number;
      try {
        value = await read();
      } catch {
        value = NaN;
      }
      return [`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${value}`];
    });
  }

  /** Renders every metric in the Prometheus text format. */
  async render(): Promise<string> {
    const lines: string[] = [];
    for (const render of this.#renderers) lines.push(...await render());
    return lines.join("\n") + "\n";
  }
}

function labelText(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return "";
  const parts = names.map((name, i) =>
    `${name}="${
      (values[i] ?? "").replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")
    }"`
  );
  return `{${parts.join(",")}}`;
}
