/** The audit log: its files, a file's lines, and verify now (names the broken line). */
import type { JSX } from "hono/jsx/jsx-runtime";
import type { AuditFileInfo } from "../../audit/audit_browse.ts";
import { type AuditDayPage, seqOfLine } from "../../audit/audit_day_pages.ts";
import type { AuditVerifyReport } from "../../audit/audit_verify.ts";
import { formatTime, Layout } from "../layout.tsx";

/** The outcome of the last "verify now". */
export interface VerifyResult {
  readonly at: number;
  readonly report: AuditVerifyReport | null;
  readonly error: string | null;
}

/** Shown at `/console/audit`. */
export function AuditPage(
  props: {
    csrf: string;
    files: readonly AuditFileInfo[];
    verified: VerifyResult | null;
    seqError?: string | undefined;
  },
): JSX.Element {
  const v = props.verified;
  return (
    <Layout title="Audit log" nav="audit" csrf={props.csrf}>
      <form method="post" action="/console/audit/verify">
        <input type="hidden" name="csrf" value={props.csrf} />
        <button type="submit">Verify now</button>
      </form>
      {v ? <VerifyOutcome result={v} /> : <p class="muted">Not verified from the console yet.</p>}
      <form class="filters" method="get" action="/console/audit">
        <label>
          Jump to audit seq
          <input name="seq" inputmode="numeric" pattern="[0-9]{1,12}" required />
        </label>
        <button type="submit">Find</button>
      </form>
      {props.seqError ? <p class="error" role="alert">{props.seqError}</p> : null}
      <h2>Days</h2>
      {props.files.length === 0
        ? <p class="muted">No audit files yet.</p>
        : (
          <div class="scroll" tabindex={0}>
            <table>
              <thead>
                <tr>
                  <th scope="col">Day (UTC)</th>
                  <th scope="col">Form</th>
                  <th scope="col" class="num">Size (bytes)</th>
                </tr>
              </thead>
              <tbody>
                {props.files.map((file) => (
                  <tr>
                    <td>
                      <a href={`/console/audit/${file.name}`}>{file.name.slice(0, 10)}</a>
                    </td>
                    <td>{file.name.endsWith(".gz") ? "closed, compressed" : "open"}</td>
                    <td class="num">{file.bytes.toLocaleString("en")}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
    </Layout>
  );
}

/** The console page of an audit line (a file named by path or by name). */
export function auditLineHref(file: string, line: number): string {
  return `/console/audit/${encodeURIComponent(baseName(file))}?line=${line}#line-${line}`;
}

function baseName(file: string): string {
  return file.slice(file.lastIndexOf("/") + 1);
}

function VerifyOutcome(props: { result: VerifyResult }) {
  const { report, error, at } = props.result;
  if (error !== null) {
    return <p class="error" role="status">Could not verify ({formatTime(at)}): {error}</p>;
  }
  if (report === null) return null;
  return (
    <div role="status" id="verify-result">
      {report.ok
        ? (
          <p class="okay">
            Verified {formatTime(at)}: {report.lines} lines in {report.files}{" "}
            files, chain intact (last seq {report.lastSeq}).
          </p>
        )
        : (
          <p class="error">
            Broken at {report.firstProblem
              ? (
                <a href={auditLineHref(report.firstProblem.file, report.firstProblem.line)}>
                  {baseName(report.firstProblem.file)} line {report.firstProblem.line}
                </a>
              )
              : "an unknown line"}: {report.firstProblem?.problem} ({report.lines}{" "}
            good lines before it; checked {formatTime(at)}).
          </p>
        )}
      {report.warnings.map((w) => <p class="muted">{w.file} line {w.line}: {w.problem}</p>)}
    </div>
  );
}

/** Shown at `/console/audit/:file`: newest lines first, a page at a time. */
export function AuditFilePage(
  props: {
    csrf: string;
    file: string;
    page: AuditDayPage;
    /** The line asked for (`?line=`, `?seq=`), marked. */
    mark: number | null;
  },
): JSX.Element {
  const { page, file } = props;
  const href = (before: number) => `/console/audit/${file}?before=${before}`;
  const pager = (
    <div class="pager">
      {page.newerBefore !== null
        ? <a href={href(page.newerBefore)}>← Newer lines</a>
        : <span class="muted">Newest line</span>}
      {page.olderBefore !== null
        ? <a href={href(page.olderBefore)}>Older lines →</a>
        : <span class="muted">First line</span>}
    </div>
  );
  return (
    <Layout title={`Audit day ${file.slice(0, 10)}`} nav="audit" csrf={props.csrf}>
      <p>
        <a href="/console/audit">← All days</a> · {file}
        {file.endsWith(".gz") ? " (closed day, compressed)" : ""} · {page.total}{" "}
        lines, newest first.
      </p>
      <form class="filters" method="get" action="/console/audit">
        <label>
          Jump to audit seq
          <input name="seq" inputmode="numeric" pattern="[0-9]{1,12}" required />
        </label>
        <button type="submit">Find</button>
      </form>
      {pager}
      {page.lines.length === 0
        ? <p class="muted">This day has no lines.</p>
        : (
          <ol class="lines" reversed start={page.lines[0]?.lineNumber}>
            {page.lines.map((line) => (
              <li
                id={`line-${line.lineNumber}`}
                class={line.lineNumber === props.mark ? "marked" : undefined}
                value={line.lineNumber}
              >
                <div class="muted">
                  Line {line.lineNumber}
                  {seqOfLine(line.text) !== null ? ` · seq ${seqOfLine(line.text)}` : ""}
                  {line.lineNumber === props.mark ? " · the line asked for" : ""}
                </div>
                <pre tabindex={0}>{line.text}</pre>
                {line.length > line.text.length
                  ? (
                    <p class="muted">
                      … {(line.length - line.text.length).toLocaleString("en")} more characters (of
                      {" "}
                      {line.length.toLocaleString("en")})
                    </p>
                  )
                  : null}
              </li>
            ))}
          </ol>
        )}
      {pager}
    </Layout>
  );
}
