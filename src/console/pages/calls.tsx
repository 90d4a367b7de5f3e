/** The call list: filters and pages. */
import type { JSX } from "hono/jsx/jsx-runtime";
import type { CallSummary } from "../../calls/call_list.ts";
import { formatTime, Layout } from "../layout.tsx";
import { type CallFilterForm, RANGES } from "../call_filters.ts";
import { useDisplayZone } from "../display_time.ts";
import { type CallNames, callTiming, inWords, prospectNumber } from "../call_view.ts";
import { formatDuration } from "../display_time.ts";

/** What the call list shows. */
export interface CallsData {
  readonly form: CallFilterForm;
  readonly facets: {
    dispositions: string[];
    users: string[];
    directions: string[];
    /** Names of the users in the choice (the rep mapping). */
    userNames?: ReadonlyMap<string, string>;
  };
  readonly calls: readonly CallSummary[];
  readonly names: CallNames;
  /** Calls the filters match in all. */
  readonly total: number;
  /** The CSV of every call the filters match. */
  readonly csvHref: string;
  readonly nextHref: string | null;
  readonly error?: string | undefined;
}

/** Shown at `/console/calls`. */
export function CallsPage(props: { csrf: string; data: CallsData }): JSX.Element {
  const { form, facets, calls, names, nextHref, error, total } = props.data;
  const zone = useDisplayZone();
  const choice = (
    name: keyof CallFilterForm,
    label: string,
    options: readonly string[],
    words: (value: string) => string = inWords,
  ) => (
    <label>
      {label}
      <select name={name}>
        <option value="">any</option>
        {options.map((o) => <option value={o} selected={form[name] === o}>{words(o)}</option>)}
      </select>
    </label>
  );
  return (
    <Layout title="Calls" nav="calls" csrf={props.csrf}>
      <form class="filters" method="get" action="/console/calls" role="search">
        <label>
          When
          <select name="range">
            {RANGES.map(([value, label]) => (
              <option value={value} selected={form.range === value}>{label}</option>
            ))}
          </select>
        </label>
        <label>
          From (date, {zone})
          <input type="date" name="from" value={form.from} />
        </label>
        <label>
          To (inclusive)
          <input type="date" name="to" value={form.to} />
        </label>
        <label>
          Time of
          <select name="by">
            <option value="" selected={form.by !== "received"}>the call</option>
            <option value="received" selected={form.by === "received"}>its arrival</option>
          </select>
        </label>
        <label>
          Phone number (any format)
          <input name="number" value={form.number} inputmode="tel" />
        </label>
        {choice("user", "Rep", facets.users, (id) =>
          names.reps.get(id) ?? facets.userNames?.get(id) ?? id)}
        {choice("disposition", "Disposition", facets.dispositions)}
        {choice("direction", "Direction", facets.directions)}
        <label>
          Contact external id
          <input name="contact" value={form.contact} />
        </label>
        <label>
          Words in the note
          <input name="note" value={form.note} />
        </label>
        <button type="submit">Filter</button>
      </form>
      {error ? <p class="error" role="alert">{error}</p> : null}
      <p role="status">
        <strong>{total.toLocaleString("en")}</strong> call{total === 1 ? "" : "s"}{" "}
        match{total === 1 ? "es" : ""}
        {calls.length < total ? `; the newest ${calls.length} on this page` : ""}.{" "}
        <a href={props.data.csvHref} download>Export CSV</a> (every match, these filters)
      </p>
      <CallTable calls={calls} names={names} />
      <div class="pager">
        {nextHref ? <a href={nextHref}>Older calls →</a> : <span class="muted">End of list</span>}
      </div>
    </Layout>
  );
}

/** A table of calls (also on a contact's page): names, the call's own time, words. */
export function CallTable(props: { calls: readonly CallSummary[]; names: CallNames }): JSX.Element {
  if (props.calls.length === 0) return <p class="muted">No calls match.</p>;
  const { contacts, reps } = props.names;
  return (
    <div class="scroll" tabindex={0}>
      <table>
        <thead>
          <tr>
            <th scope="col">Call time</th>
            <th scope="col">Contact</th>
            <th scope="col">Rep</th>
            <th scope="col">Direction</th>
            <th scope="col">Prospect number</th>
            <th scope="col">State</th>
            <th scope="col">Disposition</th>
            <th scope="col" class="num">Duration</th>
            <th scope="col">Note</th>
          </tr>
        </thead>
        <tbody>
          {props.calls.map((call) => {
            const timing = callTiming(call);
            const contactId = call.contact_external_id;
            return (
              <tr>
                <td>
                  <a href={`/console/calls/${encodeURIComponent(call.id)}`}>
                    {formatTime(timing.at ?? call.first_seen_at)}
                  </a>
                  {timing.at === null ? <span class="muted">(received)</span> : null}
                </td>
                <td>
                  {contactId
                    ? (
                      <a href={`/console/contacts/${encodeURIComponent(contactId)}`}>
                        {contacts.get(contactId) ?? contactId}
                      </a>
                    )
                    : <span class="muted">not linked</span>}
                </td>
                <td>
                  {call.user_id ? reps.get(call.user_id) ?? <ShortId id={call.user_id} /> : ""}
                </td>
                <td>{inWords(call.direction)}</td>
                <td class="nowrap">{prospectNumber(call)}</td>
                <td>{inWords(call.state)}</td>
                <td>{inWords(call.disposition)}</td>
                <td class="num">{formatDuration(timing.durationMs)}</td>
                <td>
                  {call.omitted_fields.includes("note") || call.data_unreadable
                    ? <span class="muted">too large for a list: open the call</span>
                    : String(call.data.note ?? "").slice(0, 120)}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** An id without a name: its first characters, the whole id on hover and for screen readers. */
export function ShortId(props: { id: string }): JSX.Element {
  return props.id.length <= 12
    ? <span>{props.id}</span>
    : <abbr title={props.id}>{props.id.slice(0, 8)}…</abbr>;
}
