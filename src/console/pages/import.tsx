/** Import: upload a CSV, see the dry run (options, mapping, counts, warnings, rejects), edit the mapping, apply it with a progress bar. */
import type { JSX } from "hono/jsx/jsx-runtime";
import { ALL_CONTACT_FIELDS } from "../../contacts/contact.ts";
import type { ImportJobView } from "../../contacts/import_history.ts";
import { MAPPING_AUTO, MAPPING_IGNORE, MAX_MAPPING_COLUMNS } from "../import_mapping_form.ts";
import { formatTime, Layout } from "../layout.tsx";

type Json = Record<string, unknown>;

/** Shown at `/console/import`. */
export function ImportPage(
  props: {
    csrf: string;
    jobs: readonly ImportJobView[] | null;
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
        : <UploadForm csrf={props.csrf} defaultRegion={props.defaultRegion} />}
      <p class="muted">
        Up to {Math.floor(props.maxBytes / 1024 / 1024)}{" "}
        MiB (admin.max_import_bytes). A dry run reads the whole file and writes nothing; its page
        shows the column mapping (which you can change) and applies exactly that file with those
        options. Apply imports it in one transaction.
      </p>
      {props.jobs && props.jobs.length > 0
        ? (
          <>
            <h2>Recent imports</h2>
            <div class="scroll" tabindex={0}>
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
                      <td class="nowrap">{formatTime(Date.parse(job.startedAt))}</td>
                      <td class="id">
                        <a href={`/console/import/${job.id}`}>{job.fileName}</a>
                      </td>
                      <td>{job.dryRun ? "dry run" : "apply"}</td>
                      <td>{STATE_LABELS[job.state]}</td>
                      <td class="num">{job.rowsRead}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        )
        : null}
    </Layout>
  );
}

const STATE_LABELS: Readonly<Record<ImportJobView["state"], string>> = {
  running: "running",
  succeeded: "finished",
  failed: "failed",
  interrupted: "interrupted by a restart",
};

function UploadForm(props: { csrf: string; defaultRegion: string }) {
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
        <input type="checkbox" name="dry_run" value="1" checked /> Dry run
      </label>
      <label class="inline">
        <input type="checkbox" name="prune" value="1" /> Prune absent contacts
      </label>
      <label class="inline">
        <input type="checkbox" name="strict" value="1" /> Strict
      </label>
      <button type="submit">Upload</button>
    </form>
  );
}

/** Shown at `/console/import/:id`. */
export function ImportJobPage(
  props: {
    csrf: string;
    job: ImportJobView;
    /** An error of the last form sent from this page (apply, mapping). */
    error?: string | undefined;
  },
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
        {job.fromJob
          ? (
            <>
              {" · "}
              <a href={`/console/import/${job.fromJob}`}>
                the dry run this {job.dryRun ? "re-runs" : "applies"}
              </a>
            </>
          )
          : null}
      </p>
      {props.error ? <p class="error" role="alert" id="form-error">{props.error}</p> : null}
      <div
        id="progress"
        data-poll={running ? `/console/import/${job.id}/status` : undefined}
        data-state={job.state}
      >
        <label>
          {running
            ? "Importing…"
            : job.state === "succeeded"
            ? "Finished"
            : job.state === "interrupted"
            ? "Interrupted"
            : "Failed"}
          <progress
            max="1"
            value={running ? (job.bytesTotal > 0 ? job.bytesRead / job.bytesTotal : 0) : 1}
          >
          </progress>
        </label>
        <p class="muted" data-progress-text>{job.rowsRead} rows read</p>
      </div>
      {job.error ? <p class="error" role="alert">{job.error.message} ({job.error.code})</p> : null}
      <Options job={job} />
      {job.pruneCheck ? <PruneCheckNote check={job.pruneCheck} /> : null}
      {!running && job.dryRun && job.state !== "interrupted"
        ? <ApplyForm csrf={props.csrf} job={job} />
        : null}
      {job.summary
        ? <Summary summary={summary} warningsHref={`/console/import/${job.id}/warnings.csv`} />
        : null}
      {job.summary && Number(summary.rejected ?? 0) > 0
        ? job.hasRejects
          ? (
            <p>
              <a href={`/console/import/${job.id}/rejects.csv`} download>
                Download all {String(summary.rejected)} rejected rows as CSV
              </a>
            </p>
          )
          : (
            <p class="muted">
              The file of rejected rows is kept for the newest 20 imports while the server runs;
              this one's is gone.
            </p>
          )
        : null}
      {!running && job.dryRun && job.uploadKeptUntil !== null && job.headerRow
        ? <MappingEditor csrf={props.csrf} job={job} />
        : null}
    </Layout>
  );
}

const percent = (n: number) => `${Math.round(n * 1000) / 10}%`;

/** The options the job ran with (issue 21: the result shows what was run). */
function Options(props: { job: ImportJobView }) {
  const { job } = props;
  const o = job.options;
  const map = o.userMap ? Object.entries(o.userMap) : [];
  return (
    <section id="options">
      <h2>What ran</h2>
      <dl class="pairs">
        <dt>File</dt>
        <dd data-option="file">{job.fileName}</dd>
        <dt>Size</dt>
        <dd data-option="size">{formatBytes(job.bytesTotal)}</dd>
        <dt>Rows</dt>
        <dd data-option="rows">{job.rowsRead}</dd>
        <dt>Kind</dt>
        <dd data-option="kind">{job.dryRun ? "dry run (nothing written)" : "apply"}</dd>
        <dt>Started</dt>
        <dd>{formatTime(Date.parse(job.startedAt))}</dd>
        {job.finishedAt
          ? (
            <>
              <dt>Ended</dt>
              <dd>{formatTime(Date.parse(job.finishedAt))}</dd>
            </>
          )
          : null}
        <dt>Default region</dt>
        <dd data-option="region">{o.region ?? "the server's default"}</dd>
        <dt>Encoding</dt>
        <dd data-option="encoding">{o.encoding ?? "detected"}</dd>
        <dt>Id from column</dt>
        <dd data-option="id_from">{o.idFrom ?? "the id column"}</dd>
        <dt>Prune absent contacts</dt>
        <dd data-option="prune">{o.prune ? "yes" : "no"}</dd>
        <dt>Prune past the guard</dt>
        <dd data-option="force_prune">{o.forcePrune ? "yes (confirmed)" : "no"}</dd>
        <dt>Strict</dt>
        <dd data-option="strict">{o.strict ? "yes" : "no"}</dd>
        <dt>Column mapping</dt>
        <dd data-option="mapping">
          {map.length === 0
            ? "automatic (no mapping given)"
            : map.map(([header, field]) => `${header} → ${field ?? "ignored"}`).join("; ")}
        </dd>
      </dl>
    </section>
  );
}

function PruneCheckNote(props: { check: NonNullable<ImportJobView["pruneCheck"]> }) {
  const c = props.check;
  const share = c.storedBefore > 0 ? percent(c.wouldDelete / c.storedBefore) : "0%";
  return (
    <p id="prune-check" class={c.exceedsGuard ? "error" : undefined}>
      The prune would delete {c.wouldDelete} of the {c.storedBefore} stored contacts ({share}),{" "}
      {c.exceedsGuard
        ? `more than contacts.max_prune_fraction (${
          percent(c.maxFraction)
        }): the file may be cut off. Applying it needs your confirmation.`
        : `within contacts.max_prune_fraction (${percent(c.maxFraction)}).`}
    </p>
  );
}

function ApplyForm(props: { csrf: string; job: ImportJobView }) {
  const { job } = props;
  if (job.uploadKeptUntil === null) {
    return (
      <p class="muted" id="apply-gone">
        This dry run's file is no longer kept (uploads are kept for a while after their dry run,
        never across a restart); upload it again to apply it.
      </p>
    );
  }
  if (job.state !== "succeeded") return null;
  const check = job.pruneCheck;
  return (
    <section id="apply">
      <h2>Apply</h2>
      <form method="post" action={`/console/import/${job.id}/apply`} class="filters">
        <input type="hidden" name="csrf" value={props.csrf} />
        <p>
          Imports exactly this file ({job.fileName},{" "}
          {formatBytes(job.bytesTotal)}) with the options and mapping above. Kept until{" "}
          {formatTime(Date.parse(job.uploadKeptUntil))}.
        </p>
        {check?.exceedsGuard
          ? (
            <label class="inline">
              <input
                type="checkbox"
                name="confirm_prune"
                value={String(check.wouldDelete)}
                required
              />{" "}
              I checked the file: delete {check.wouldDelete} of the {check.storedBefore} contacts
            </label>
          )
          : null}
        <button type="submit">Apply this dry run</button>
      </form>
    </section>
  );
}

/** The column mapping editor: the file's headers and the field each should feed (`--map`'s rules). */
function MappingEditor(props: { csrf: string; job: ImportJobView }) {
  const { job } = props;
  const headers = job.headerRow ?? [];
  const shown = headers.slice(0, MAX_MAPPING_COLUMNS);
  const current = new Map((job.summary?.mapping ?? []).map((m) => [m.header, m.field]));
  const userMap = job.options.userMap ?? {};
  return (
    <section id="mapping-editor">
      <h2>Change the column mapping</h2>
      <p class="muted">
        The same rules as the command line's{" "}
        <code>--map</code>: a column you set feeds that field (or nothing); the others are mapped by
        their names. Sending it runs the dry run again on the same file.
        {headers.length > shown.length
          ? ` The file has ${headers.length} columns; the first ${shown.length} are shown, the rest keep their mapping.`
          : ""}
      </p>
      <form method="post" action={`/console/import/${job.id}/mapping`}>
        <input type="hidden" name="csrf" value={props.csrf} />
        <div class="scroll" tabindex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">Column in the file</th>
                <th scope="col">Feeds now</th>
                <th scope="col">Map to</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((header, i) => {
                const chosen = Object.hasOwn(userMap, header)
                  ? (userMap[header] ?? MAPPING_IGNORE)
                  : MAPPING_AUTO;
                const now = current.get(header);
                return (
                  <tr>
                    <th scope="row" class="id" id={`col-${i}`}>{header}</th>
                    <td class="muted">{now ?? "nothing"}</td>
                    <td>
                      <select name={`col_${i}`} aria-labelledby={`col-${i}`}>
                        <option value={MAPPING_AUTO} selected={chosen === MAPPING_AUTO}>
                          by its name
                        </option>
                        <option value={MAPPING_IGNORE} selected={chosen === MAPPING_IGNORE}>
                          ignore the column
                        </option>
                        {ALL_CONTACT_FIELDS.map((field) => (
                          <option value={field} selected={chosen === field}>{field}</option>
                        ))}
                      </select>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
        <p>
          <button type="submit">Run the dry run again with this mapping</button>
        </p>
      </form>
    </section>
  );
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
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
          <table id="mapping" tabindex={0}>
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
          <table id="mapping" tabindex={0}>
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
