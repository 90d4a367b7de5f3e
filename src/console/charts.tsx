/**
 * Charts as server-rendered SVG: a stacked bar chart is a few rectangles, so
 * it needs no library, no client script and no CSP exception, works without
 * JavaScript and prints. Each bar carries a <title> with its exact numbers.
 */

import type { JSX } from "hono/jsx/jsx-runtime";

/** One series of a chart. */
export interface Series {
  readonly name: string;
  readonly values: readonly number[];
}

const WIDTH = 480;
const HEIGHT = 180;
const LEFT = 34;
const BOTTOM = 20;
// Distinct series colours in the stylesheet.
const PALETTE = 10;

/**
 * Stacked bars, one per label; series colours from the stylesheet (`.s0`…`.s9`,
 * each ≥ 3:1 against the background in light and dark, one per series). The
 * legend names each series with its total in stacking order (bottom first), and
 * the numbers are also a table: nothing relies on colour alone.
 */
export function StackedBars(
  props: {
    caption: string;
    labels: readonly string[];
    series: readonly Series[];
    every?: number;
    labelHeading?: string;
  },
): JSX.Element {
  const totals = props.labels.map((_, i) =>
    props.series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0)
  );
  const max = Math.max(1, ...totals);
  const plotW = WIDTH - LEFT - 4;
  const plotH = HEIGHT - BOTTOM - 6;
  const slot = plotW / Math.max(1, props.labels.length);
  const barW = Math.max(1, slot * 0.8);
  const every = props.every ?? Math.ceil(props.labels.length / 8);
  const y = (value: number) => 6 + plotH - (value / max) * plotH;
  return (
    <figure>
      <figcaption>{props.caption}</figcaption>
      <svg
        class="chart"
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={`${props.caption}: total ${totals.reduce((a, b) => a + b, 0)}`}
      >
        <line class="axis" x1={LEFT} y1={6 + plotH} x2={WIDTH - 4} y2={6 + plotH} />
        <text x={LEFT - 4} y={10} text-anchor="end">{max}</text>
        <text x={LEFT - 4} y={6 + plotH} text-anchor="end">0</text>
        {props.labels.map((label, i) => {
          let base = 0;
          const x = LEFT + i * slot + (slot - barW) / 2;
          return (
            <g>
              <title>
                {label}: {props.series.map((s) => `${s.name} ${s.values[i] ?? 0}`).join(", ")}
              </title>
              {props.series.map((s, k) => {
                const value = s.values[i] ?? 0;
                if (value === 0) return null;
                const top = y(base + value);
                const h = y(base) - top;
                base += value;
                return <rect class={`s${k % PALETTE}`} x={x} y={top} width={barW} height={h} />;
              })}
              {(props.labels.length - 1 - i) % every === 0
                ? <text x={x + barW / 2} y={HEIGHT - 6} text-anchor="middle">{label}</text>
                : null}
            </g>
          );
        })}
      </svg>
      <ul class="legend" aria-label="Series, bottom of each bar first">
        {props.series.map((s, k) => (
          <li>
            <svg viewBox="0 0 10 10" aria-hidden="true">
              <rect class={`s${k % PALETTE}`} width="10" height="10" />
            </svg>
            {k + 1}. {s.name}: {s.values.reduce((a, b) => a + b, 0)}
          </li>
        ))}
      </ul>
      <details>
        <summary>The numbers as a table</summary>
        <div class="scroll" tabindex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">{props.labelHeading ?? "When"}</th>
                {props.series.map((s) => <th scope="col" class="num">{s.name}</th>)}
              </tr>
            </thead>
            <tbody>
              {props.labels.map((label, i) =>
                totals[i] === 0 ? null : (
                  <tr>
                    <th scope="row">{label}</th>
                    {props.series.map((s) => <td class="num">{s.values[i] ?? 0}</td>)}
                  </tr>
                )
              )}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
