/** The overview: is it working? The checks, then three charts. */
import type { JSX } from "hono/jsx/jsx-runtime";
import type { CallsOnDay } from "../../calls/call_stats.ts";
import type { HourlyCounts } from "../../ops/hourly_counters.ts";
import { StackedBars } from "../charts.tsx";
import { Layout } from "../layout.tsx";
import { inWords } from "../call_view.ts";
import { useDisplayZone, zonedParts } from "../display_time.ts";

/** One check on the overview. */
export interface OverviewCheck {
  readonly label: string;
  readonly value: string;
  readonly state: "ok" | "warn" | "bad" | "unknown";
  readonly detail?: string | undefined;
  /** Where the operator reads more (the rejected webhooks, the broken audit line). */
  readonly href?: string | undefined;
}

/** What the overview shows. */
export interface OverviewData {
  readonly checks: readonly OverviewCheck[];
  readonly callsPerDay: readonly CallsOnDay[];
  readonly hourly: readonly HourlyCounts[];
}

/** Shown at `/console/`. */
export function OverviewPage(props: { csrf: string; data: OverviewData }): JSX.Element {
  const { checks, callsPerDay, hourly } = props.data;
  const dispositions = [...new Set(callsPerDay.flatMap((d) => Object.keys(d.byDisposition)))]
    .sort();
  const zone = useDisplayZone();
  const hours = hourly.map((h) => {
    const p = zonedParts(h.hour, zone);
    return `${p.date.slice(5)} ${p.time.slice(0, 2)}h`;
  });
  return (
    <Layout title="Overview" nav="overview" csrf={props.csrf}>
      <section aria-labelledby="checks">
        <h2 id="checks">Checks</h2>
        <div class="checks">
          {checks.map((check) => (
            <div class={`check ${check.state}`}>
              <div class="label">{check.label}</div>
              <div class="value">
                {check.href ? <a href={check.href}>{check.value}</a> : check.value}
              </div>
              {check.detail ? <div class="muted">{check.detail}</div> : null}
            </div>
          ))}
        </div>
      </section>
      <section aria-labelledby="activity">
        <h2 id="activity">Activity</h2>
        <div class="charts">
          <StackedBars
            caption={`Calls per day by disposition (last ${callsPerDay.length} days, UTC)`}
            labels={callsPerDay.map((d) => d.day.slice(5))}
            labelHeading="Day (UTC)"
            series={dispositions.map((name) => ({
              name: name === "" ? "No disposition yet" : inWords(name),
              values: callsPerDay.map((d) => d.byDisposition[name] ?? 0),
            }))}
          />
          <StackedBars
            caption={`Lookups per hour (last ${hourly.length} hours, ${zone})`}
            labels={hours}
            series={[
              { name: "Found", values: hourly.map((h) => h.counts.lookup_found) },
              { name: "Unknown", values: hourly.map((h) => h.counts.lookup_unknown) },
            ]}
          />
          <StackedBars
            caption={`Webhooks per hour (last ${hourly.length} hours, ${zone})`}
            labels={hours}
            series={[
              {
                name: "Accepted",
                values: hourly.map((h) => Math.max(0, h.counts.webhook - rejectedIn(h))),
              },
              { name: "Rejected", values: hourly.map(rejectedIn) },
            ]}
          />
        </div>
      </section>
    </Layout>
  );
}

function rejectedIn(h: HourlyCounts): number {
  return h.counts.rejected_signature + h.counts.rejected_invalid + h.counts.rejected_too_large +
    h.counts.rejected_busy;
}
