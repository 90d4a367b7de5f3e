/** Contact sources: each with its schedule, last run and a Run now button, then a source's runs. */
import type { JSX } from "hono/jsx/jsx-runtime";
import type { SourceStatus } from "../../contacts/sources/source_runner.ts";
import type { SourceRun } from "../../contacts/sources/source_runs.ts";
import { formatTime, Layout } from "../layout.tsx";

/** Shown at `/console/sources`. */
export function SourcesPage(
  props: {
    csrf: string;
    sources: readonly SourceStatus[];
    selected: string | null;
    runs: readonly SourceRun[];
    notice?: string | undefined;
  },
): JSX.Element {
  return (
    <Layout title="Sources" nav="sources" csrf={props.csrf}>
      {props.notice ? <p role="status">{props.notice}</p> : null}
      {props.sources.length === 0
        ? (
          <p class="muted">
            No source is configured. Add contacts.sources to the configuration (see "Keeping
            contacts fresh" in the README).
          </p>
        )
        : (
          <table id="sources">
            <thead>
              <tr>
                <th scope="col">Source</th>
                <th scope="col">From</th>
                <th scope="col">Schedule</th>
                <th scope="col">Next run</th>
                <th scope="col">Last run</th>
                <th scope="col">Outcome</th>
                <th scope="col">Last success</th>
                <th scope="col"></th>
              </tr>
            </thead>
            <tbody>
              {props.sources.map((s) => (
                <tr class={s.failing ? "bad" : undefined} data-source={s.name}>
                  <td>
                    <a href={`/console/sources?name=${encodeURIComponent(s.name)}`}>{s.name}</a>
                    {s.failing ? <div class="error">failing</div> : null}
                  </td>
                  <td>{s.kind === "url" ? s.location : `folder ${s.location}`}</td>
                  <td>{s.schedule}{s.prune ? ", prune" : ""}</td>
                  <td>{s.running ? "running now" : formatTime(Date.parse(s.next_run_at ?? ""))}</td>
                  <td>{s.last_run ? formatTime(Date.parse(s.last_run.started_at)) : "never"}</td>
                  <td data-outcome>
                    {s.last_run ? s.last_run.outcome : "—"}
                    {s.last_run?.message
                      ? <div class="muted">{s.last_run.message.slice(0, 300)}</div>
                      : null}
                  </td>
                  <td>{formatTime(s.last_success_at ? Date.parse(s.last_success_at) : null)}</td>
                  <td>
                    <form
                      method="post"
                      action={`/console/sources/${encodeURIComponent(s.name)}/run`}
                    >
                      <input type="hidden" name="csrf" value={props.csrf} />
                      <button type="submit" disabled={s.running}>Run now</button>
                    </form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      {props.selected
        ? (
          <section aria-labelledby="runs">
            <h2 id="runs">Runs of {props.selected}</h2>
            <RunsTable runs={props.runs} />
          </section>
        )
        : null}
    </Layout>
  );
}

function RunsTable(props: { runs: readonly SourceRun[] }): JSX.Element {
  if (props.runs.length === 0) return <p class="muted">No run yet.</p>;
  return (
    <table id="runs-table">
      <thead>
        <tr>
          <th scope="col" class="num">Run</th>
          <th scope="col">Started</th>
          <th scope="col">Trigger</th>
          <th scope="col">Outcome</th>
          <th scope="col">File</th>
          <th scope="col" class="num">Rows</th>
          <th scope="col" class="num">Inserted</th>
          <th scope="col" class="num">Updated</th>
          <th scope="col" class="num">Pruned</th>
          <th scope="col">Message</th>
        </tr>
      </thead>
      <tbody>
        {props.runs.map((run) => (
          <tr>
            <td class="num">{run.id}</td>
            <td>{formatTime(Date.parse(run.started_at))}</td>
            <td>{run.trigger}</td>
            <td>{run.outcome}</td>
            <td>{run.file ?? ""}</td>
            <td class="num">{run.counts?.rows ?? ""}</td>
            <td class="num">{run.counts?.inserted ?? ""}</td>
            <td class="num">{run.counts?.updated ?? ""}</td>
            <td class="num">{run.counts?.pruned ?? ""}</td>
            <td class="muted">{run.message?.slice(0, 300) ?? ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
