/** One call: its fields, a page of its snapshots in arrival order, links, audit lines. */
import type { JSX } from "hono/jsx/jsx-runtime";
import type { AuditLineAt } from "../../audit/audit_browse.ts";
import type { CallWithHistory } from "../../calls/call_queries.ts";
import { formatTime, Layout } from "../layout.tsx";
import {
  type CallNames,
  callTiming,
  inWords,
  prospectNumber,
  transcriptionLines,
} from "../call_view.ts";
import { formatDuration } from "../display_time.ts";
import { auditLineHref } from "./audit.tsx";

// A note can be megabytes (up to the webhook's body limit): the page shows its start.
const NOTE_CHARS = 20_000;
const TRANSCRIPTION_CHARS = 200_000;

/** Shown at `/console/calls/:id`. */
export function CallDetailPage(
  props: {
    csrf: string;
    data: CallWithHistory;
    auditLines: readonly AuditLineAt[];
    names: CallNames;
  },
): JSX.Element {
  const { call, events, events_total: total, events_next_cursor: older } = props.data;
  const note = String(call.data.note ?? "");
  const names = props.names;
  const timing = callTiming(call);
  const transcription = transcriptionLines(call.data.transcription, TRANSCRIPTION_CHARS);
  const links = [
    ["Recording", call.data.recording_url],
    ["Transcription (Symbo)", call.data.transcription_url],
  ].filter((pair): pair is [string, string] =>
    typeof pair[1] === "string" && /^https?:\/\//i.test(pair[1])
  );
  const contactId = call.contact_external_id;
  const title = contactId
    ? `Call with ${names.contacts.get(contactId) ?? contactId}`
    : `Call ${call.id}`;
  return (
    <Layout title={title} nav="calls" csrf={props.csrf}>
      <dl class="pairs">
        <dt>Contact</dt>
        <dd>
          {contactId
            ? (
              <a href={`/console/contacts/${encodeURIComponent(contactId)}`}>
                {names.contacts.get(contactId) ?? contactId}
              </a>
            )
            : "not linked"}
        </dd>
        <dt>Rep</dt>
        <dd>
          {call.user_id
            ? (
              <>
                {names.reps.get(call.user_id) ?? "no name yet"}{" "}
                <span class="muted">({call.user_id})</span>{" "}
                <a href={`/console/settings?user_id=${encodeURIComponent(call.user_id)}#reps`}>
                  {names.reps.has(call.user_id) ? "Rename" : "Name this rep"}
                </a>
              </>
            )
            : ""}
        </dd>
        <dt>Call time</dt>
        <dd>{timing.at === null ? "not sent" : formatTime(timing.at)}</dd>
        <dt>Duration</dt>
        <dd>{formatDuration(timing.durationMs) || "unknown"}</dd>
        <dt>Direction</dt>
        <dd>{inWords(call.direction)}</dd>
        <dt>Prospect number</dt>
        <dd>{prospectNumber(call)}</dd>
        <dt>From → to</dt>
        <dd>{call.from_number ?? ""} → {call.to_number ?? ""}</dd>
        <dt>State</dt>
        <dd>{inWords(call.state)}</dd>
        <dt>Disposition</dt>
        <dd>{inWords(call.disposition)}</dd>
        <dt>Received</dt>
        <dd>first {formatTime(call.first_seen_at)}, last {formatTime(call.last_event_at)}</dd>
        <dt>Call id</dt>
        <dd>{call.id}</dd>
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
          {links.length === 0 ? <span class="muted">no recording link</span> : null}
          {links.map(([label, href]) => (
            <>
              <a href={href} rel="noreferrer noopener" target="_blank">{label}</a>
              {" "}
            </>
          ))}
        </dd>
      </dl>
      <h2 id="transcription">Transcription</h2>
      {transcription.lines.length === 0
        ? <p class="muted">Symbo sent no transcription for this call.</p>
        : (
          <div class="transcript" tabindex={0}>
            {transcription.lines.map((line, i) => (
              <>
                {i > 0 ? <br /> : null}
                {line}
              </>
            ))}
            {transcription.cut > 0
              ? <p class="muted">… {transcription.cut} more characters (the raw body has them)</p>
              : null}
          </div>
        )}
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
                {formatTime(Date.parse(event.received_at))} · {inWords(event.event_type) || "?"} ·
                {" "}
                {inWords(event.outcome)}
                {event.audit_seq !== null ? ` · audit #${event.audit_seq}` : ""}
              </summary>
              <p>
                <a
                  href={`/console/calls/${encodeURIComponent(call.id)}/events/${
                    encodeURIComponent(event.event_key)
                  }/body`}
                >
                  Raw body ({event.body_bytes.toLocaleString("en")} bytes)
                </a>
                {event.body_omitted ? <span class="muted">: too large for this page</span> : null}
              </p>
              {event.body_omitted || event.body === null
                ? null
                : <pre tabindex={0}>{JSON.stringify(event.body, null, 2).slice(0, 20_000)}</pre>}
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
          <summary>{line.file} line {line.lineNumber}</summary>
          <p>
            <a href={auditLineHref(line.file, line.lineNumber)}>
              Open {line.file} at line {line.lineNumber}
            </a>
          </p>
          <pre tabindex={0}>{line.text}</pre>
        </details>
      ))}
    </Layout>
  );
}
