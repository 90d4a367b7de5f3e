/** The audit log: its files, a file's lines, and verify now (names the broken line). */
import type { JSX } from "hono/jsx/jsx-runtime";
import type { AuditFileInfo, AuditLineAt } from "../../audit/audit_browse.ts";
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
  props: { csrf: string; files: readonly AuditFileInfo[]; verified: VerifyResult | null },
): JSX.Element {
  const v = props.verified;
  return (
    <Layout title="Audit log" nav="audit" csrf={props.csrf}>
      <form method="post" action="/console/audit/verify">
        <input type="hidden" name="csrf" value={props.csrf} />
        <button type="submit">Verify now</button>
      </form>
      {v ? <VerifyOutcome result={v} /> : <p class="muted">Not verified from the console yet.</p>}
      <h2>Files</h2>
      {props.files.length === 0 ? <p class="muted">No audit files yet.</p> : (
        <table>
          <thead>
            <tr>
              <th scope="col">File</th>
              <th scope="col" class="num">Bytes</th>
            </tr>
          </thead>
          <tbody>
            {props.files.map((file) => (
              <tr>
                <td>
                  <a href={`/console/audit/${file.name}`}>{file.name}</a>
                </td>
                <td class="num">{file.bytes}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>
  );
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
            Broken at {report.firstProblem?.file} line {report.firstProblem?.line}:{" "}
            {report.firstProblem?.problem} ({report.lines} good lines before it; checked{" "}
            {formatTime(at)}).
          </p>
        )}
      {report.warnings.map((w) => <p class="muted">{w.file} line {w.line}: {w.problem}</p>)}
    </div>
  );
}

/** Shown at `/console/audit/:file`. */
export function AuditFilePage(
  props: { csrf: string; file: string; lines: readonly AuditLineAt[]; nextFrom: number | null },
): JSX.Element {
  return (
    <Layout title={`Audit file ${props.file}`} nav="audit" csrf={props.csrf}>
      <p>
        <a href="/console/audit">← All files</a>
      </p>
      <table>
        <thead>
          <tr>
            <th scope="col" class="num">Line</th>
            <th scope="col">Content</th>
          </tr>
        </thead>
        <tbody>
          {props.lines.map((line) => (
            <tr id={`line-${line.lineNumber}`}>
              <td class="num">{line.lineNumber}</td>
              <td>
                <pre>{line.text}</pre>
                {line.length > line.text.length
                  ? (
                    <p class="muted">
                      … {line.length - line.text.length} more characters (of {line.length})
                    </p>
                  )
                  : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="pager">
        {props.nextFrom !== null
          ? <a href={`/console/audit/${props.file}?from=${props.nextFrom}`}>More lines →</a>
          : <span class="muted">End of file</span>}
      </div>
    </Layout>
  );
}
