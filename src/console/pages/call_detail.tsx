/** One call: its fields, a page of its snapshots in arrival order, links, audit lines. */
import type { JSX } from "hono/jsx/jsx-runtime";
import type { AuditLineAt } from "../../audit/audit_browse.ts";
import type { CallWithHistory } from "../../calls/call_queries.ts";
import { formatTime, Layout } from "../layout.tsx";

// A note can be megabytes (up to the webhook's body limit): the page shows its start.
const NOTE_CHARS = 20_000;

/** Shown at `/console/calls/:id`. */
export function CallDetailPage(
  props: { csrf: string; data: CallWithHistory; auditLines: readonly AuditLineAt[] },
): JSX.Element {
  const { call, events, events_total: total, events_next_cursor: older } = props.data;
  const note = String(call.data.note ?? "");
  const links = [
    ["Recording", call.data.recording_url],
    ["Transcription", call.data.transcription_url],
  ].filter((pair): pair is [string, string] =>
    typeof pair[1] === "string" && /^https?:\/\//i.test(pair[1])
  );
  return (
    <Layout title={`Call ${call.id}`} nav="calls" csrf={props.csrf}>
      <dl class="pairs">
        <dt>Contact</dt>
        <dd>
          {call.contact_external_id
            ? (
              <a href={`/console/contacts/${encodeURIComponent(call.contact_external_id)}`}>
                {call.contact_external_id}
              </a>
            )
            : "not linked"}
        </dd>
        <dt>Rep</dt>
        <dd>{call.user_id ?? ""}</dd>
        <dt>Direction</dt>
        <dd>{call.direction ?? ""}</dd>
        <dt>State</dt>
        <dd>{call.state ?? ""}</dd>
        <dt>Disposition</dt>
        <dd>{call.disposition ?? ""}</dd>
        <dt>From → to</dt>
        <dd>{call.from_number ?? ""} → {call.to_number ?? ""}</dd>
        <dt>Started</dt>
        <dd>{call.started_at ?? ""}</dd>
        <dt>First seen / last event</dt>
        <dd>{formatTime(call.first_seen_at)} / {formatTime(call.last_event_at)}</dd>
        <dt>Note</dt>
        <dd>
          {note.slice(0, NOTE_CHARS)}
          {note.length > NOTE_CHARS
            ? (
              <span class="muted">
                {` … ${note.length - NOTE_CHARS} more characters (`}
                <code>GET /api/calls/:id</code>
                {" has the whole note)"}
              </span>
            )
            : null}
        </dd>
        <dt>Links</dt>
        <dd>
          {links.length === 0 ? <span class="muted">no recording or transcription</span> : null}
          {links.map(([label, href]) => (
            <>
              <a href={href} rel="noreferrer noopener" target="_blank">{label}</a>
              {" "}
            </>
          ))}
        </dd>
      </dl>
      <h2>
        Snapshots in arrival order ({events.length === total
          ? total
          : `${events.length} of ${total}`})
      </h2>
      <ol>
        {events.map((event) => (
          <li>
            <details>
              <summary>
                {event.received_at} · {event.event_type ?? "?"} · {event.outcome}
                {event.audit_seq !== null ? ` · audit #${event.audit_seq}` : ""}
              </summary>
              <pre>{JSON.stringify(event.body, null, 2).slice(0, 20_000)}</pre>
            </details>
          </li>
        ))}
      </ol>
      <div class="pager">
        {older !== null
          ? (
            <a
              href={`/console/calls/${encodeURIComponent(call.id)}?events_cursor=${
                encodeURIComponent(older)
              }`}
            >
              Older snapshots →
            </a>
          )
          : <span class="muted">First snapshot reached</span>}
      </div>
      <h2>Audit lines ({props.auditLines.length})</h2>
      {props.auditLines.length === 0
        ? <p class="muted">No audit line found for this call's events.</p>
        : null}
      {props.auditLines.map((line) => (
        <details>
          <summary>
            <a href={`/console/audit/${line.file}?from=${line.lineNumber}`}>
              {line.file} line {line.lineNumber}
            </a>
          </summary>
          <pre>{line.text}</pre>
        </details>
      ))}
    </Layout>
  );
}
