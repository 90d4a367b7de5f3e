/** Import: upload a CSV, see the dry run (mapping, counts, warnings, rejects), apply with a progress bar. */
import type { JSX } from "hono/jsx/jsx-runtime";
import type { ImportJob } from "../../contacts/import_jobs.ts";
import { Layout } from "../layout.tsx";

type Json = Record<string, unknown>;

/** Shown at `/console/import`. */
export function ImportPage(
  props: {
    csrf: string;
    jobs: readonly ImportJob[] | null;
    maxBytes: number;
    defaultRegion: string;
    error?: string | undefined;
  },
): JSX.Element {
  return (
    <Layout title="Import contacts" nav="import" csrf={props.csrf}>
      {props.error ? <p class="error" role="alert">{props.error}</p> : null}
      {props.jobs === null
        ? (
          <p class="error">
            Import jobs are not wired into this server; use <code>POST /api/contacts/import</code>
            {" "}
            or <code>symbo-crm import</code>.
          </p>
        )
        : <UploadForm csrf={props.csrf} dryRun defaultRegion={props.defaultRegion} />}
      <p class="muted">
        Up to {Math.floor(props.maxBytes / 1024 / 1024)}{" "}
        MiB (admin.max_import_bytes). A dry run reads the whole file and writes nothing; apply
        imports it in one transaction.
      </p>
      {props.jobs && props.jobs.length > 0
        ? (
          <>
            <h2>Recent imports</h2>
            <table>
              <thead>
                <tr>
                  <th scope="col">Started</th>
                  <th scope="col">File</th>
                  <th scope="col">Kind</th>
                  <th scope="col">State</th>
                  <th scope="col" class="num">Rows</th>
                </tr>
              </thead>
              <tbody>
                {props.jobs.map((job) => (
                  <tr>
                    <td>{job.startedAt}</td>
                    <td>
                      <a href={`/console/import/${job.id}`}>{job.fileName}</a>
                    </td>
                    <td>{job.dryRun ? "dry run" : "apply"}</td>
                    <td>{job.state}</td>
                    <td class="num">{job.rowsRead}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )
        : null}
    </Layout>
  );
}

function UploadForm(props: { csrf: string; dryRun: boolean; defaultRegion: string }) {
  return (
    <form
      method="post"
      action="/console/import"
      enctype="multipart/form-data"
      class="filters"
      id="upload"
    >
      <input type="hidden" name="csrf" value={props.csrf} />
      <label>
        CSV file
        <input type="file" name="file" accept=".csv,.tsv,.txt,text/csv" required />
      </label>
      <label>
        Default region
        <input name="region" value={props.defaultRegion} size={3} maxlength={2} />
      </label>
      <label>
        Encoding (blank: detect)
        <input name="encoding" size={12} />
      </label>
      <label>
        Id from column
        <input name="id_from" size={12} />
      </label>
      <label class="inline">
        <input type="checkbox" name="dry_run" value="1" checked={props.dryRun} /> Dry run
      </label>
      <label class="inline">
        <input type="checkbox" name="prune" value="1" /> Prune absent contacts
      </label>
      <label
        class="inline"
        title="Prune even past contacts.max_prune_fraction (check the file first)"
      >
        <input type="checkbox" name="force_prune" value="1" /> Force prune
      </label>
      <label class="inline">
        <input type="checkbox" name="strict" value="1" /> Strict
      </label>
      <button type="submit">{props.dryRun ? "Upload" : "Apply"}</button>
    </form>
  );
}

/** Shown at `/console/import/:id`. */
export function ImportJobPage(
  props: { csrf: string; job: ImportJob; defaultRegion: string },
): JSX.Element {
  const { job } = props;
  const summary = (job.summary ?? {}) as Json;
  const running = job.state === "running";
  return (
    <Layout
      title={`${job.dryRun ? "Dry run" : "Import"} of ${job.fileName}`}
      nav="import"
      csrf={props.csrf}
      refresh={running}
    >
      <p>
        <a href="/console/import">← Imports</a>
      </p>
      <div
        id="progress"
        data-poll={running ? `/console/import/${job.id}/status` : undefined}
        data-state={job.state}
      >
        <label>
          {running ? "Importing…" : job.state === "succeeded" ? "Finished" : "Failed"}
          <progress
            max="1"
            value={running ? (job.bytesTotal > 0 ? job.bytesRead / job.bytesTotal : 0) : 1}
          >
          </progress>
        </label>
        <p class="muted" data-progress-text>{job.rowsRead} rows read</p>
      </div>
      {job.error ? <p class="error" role="alert">{job.error.message} ({job.error.code})</p> : null}
      {job.summary
        ? <Summary summary={summary} warningsHref={`/console/import/${job.id}/warnings.csv`} />
        : null}
      {job.hasRejects
        ? (
          <p>
            <a href={`/console/import/${job.id}/rejects.csv`} download>
              Download the rejected rows
            </a>
          </p>
        )
        : null}
      {!running && job.dryRun && job.state === "succeeded"
        ? (
          <>
            <h2>Apply</h2>
            <p>Choose the same file again to import it for real.</p>
            <UploadForm csrf={props.csrf} dryRun={false} defaultRegion={props.defaultRegion} />
          </>
        )
        : null}
    </Layout>
  );
}

// The counts in words (issue 21: no raw keys as labels).
const COUNT_LABELS: Readonly<Record<string, string>> = {
  rows: "Rows read",
  inserted: "Inserted",
  updated: "Updated",
  unchanged: "Unchanged",
  rejected: "Rejected",
  pruned: "Pruned (deleted, not in the file)",
  warningCount: "Warnings",
};

function Summary(props: { summary: Json; warningsHref?: string }) {
  const s = props.summary;
  const counts = ["rows", "inserted", "updated", "unchanged", "rejected", "pruned", "warningCount"]
    .filter((key) => typeof s[key] === "number");
  const headers = (s.headers ?? {}) as Json;
  const matched = Object.entries((headers.matched ?? {}) as Record<string, string>);
  const unknown = (headers.unknown ?? []) as string[];
  const ignored = (headers.ignored ?? []) as Json[];
  const warnings = ((s.warnings ?? []) as Json[]).slice(0, 20);
  const rejects = ((s.rejects ?? []) as Json[]).slice(0, 20);
  return (
    <section id="summary">
      <h2>Counts</h2>
      <dl class="pairs">
        {counts.map((key) => (
          <>
            <dt>{COUNT_LABELS[key] ?? key}</dt>
            <dd data-count={key}>{String(s[key])}</dd>
          </>
        ))}
        {typeof s.encoding === "string"
          ? (
            <>
              <dt>Encoding</dt>
              <dd>{s.encoding}</dd>
            </>
          )
          : null}
      </dl>
      <h2>Column mapping</h2>
      {Array.isArray(s.mapping)
        ? (
          // The import's own table (header, field, why), when it gives one.
          <table id="mapping">
            <thead>
              <tr>
                <th scope="col">Column in the file</th>
                <th scope="col">Feeds</th>
                <th scope="col">Why</th>
              </tr>
            </thead>
            <tbody>
              {(s.mapping as Json[]).map((entry) => (
                <tr>
                  <td>{String(entry.header ?? "")}</td>
                  <td>{entry.field === null ? "ignored" : String(entry.field ?? "")}</td>
                  <td class="muted">{String(entry.reason ?? "")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )
        : (
          <table id="mapping">
            <thead>
              <tr>
                <th scope="col">Column in the file</th>
                <th scope="col">Feeds</th>
              </tr>
            </thead>
            <tbody>
              {matched.map(([field, header]) => (
                <tr>
                  <td>{header}</td>
                  <td>{field}</td>
                </tr>
              ))}
              {ignored.map((i) => (
                <tr>
                  <td>{String(i.header ?? "")}</td>
                  <td class="muted">
                    ignored: {String(i.keptHeader ?? "another column")} feeds{" "}
                    {String(i.field ?? "")}
                  </td>
                </tr>
              ))}
              {unknown.map((header) => (
                <tr>
                  <td>{header}</td>
                  <td class="muted">ignored: no field has this name</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      {warnings.length > 0
        ? (
          <>
            <h2>First warnings</h2>
            <ul>
              {warnings.map((w) => <li>line {String(w.line)}: {String(w.message)}</li>)}
            </ul>
            {props.warningsHref
              ? (
                <p>
                  <a href={props.warningsHref} download>Download the warnings as CSV</a>{" "}
                  ({Math.min(Number(s.warningCount ?? 0), ((s.warnings ?? []) as Json[]).length)} of
                  {" "}
                  {String(s.warningCount ?? 0)}: the summary keeps the first 1,000)
                </p>
              )
              : null}
          </>
        )
        : null}
      {rejects.length > 0
        ? (
          <>
            <h2>First rejected rows</h2>
            <ul>
              {rejects.map((r) => <li>line {String(r.line)}: {String(r.reason)}</li>)}
            </ul>
          </>
        )
        : null}
    </section>
  );
}
