/** The call list: filters and pages. */
import type { JSX } from "hono/jsx/jsx-runtime";
import type { CallSummary } from "../../calls/call_list.ts";
import { formatTime, Layout } from "../layout.tsx";

/** The filter form's values as typed (echoed back into the form). */
export interface CallFilterForm {
  readonly from: string;
  readonly to: string;
  readonly user: string;
  readonly disposition: string;
  readonly direction: string;
  readonly contact: string;
  readonly note: string;
}

/** What the call list shows. */
export interface CallsData {
  readonly form: CallFilterForm;
  readonly facets: { dispositions: string[]; users: string[]; directions: string[] };
  readonly calls: readonly CallSummary[];
  readonly nextHref: string | null;
  readonly error?: string | undefined;
}

/** Shown at `/console/calls`. */
export function CallsPage(props: { csrf: string; data: CallsData }): JSX.Element {
  const { form, facets, calls, nextHref, error } = props.data;
  const choice = (name: keyof CallFilterForm, label: string, options: readonly string[]) => (
    <label>
      {label}
      <select name={name}>
        <option value="">any</option>
        {options.map((o) => <option value={o} selected={form[name] === o}>{o}</option>)}
      </select>
    </label>
  );
  return (
    <Layout title="Calls" nav="calls" csrf={props.csrf}>
      <form class="filters" method="get" action="/console/calls" role="search">
        <label>
          From (UTC date)
          <input type="date" name="from" value={form.from} />
        </label>
        <label>
          To (inclusive)
          <input type="date" name="to" value={form.to} />
        </label>
        {choice("user", "Rep", facets.users)}
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
      <CallTable calls={calls} />
      <div class="pager">
        {nextHref ? <a href={nextHref}>Older calls →</a> : <span class="muted">End of list</span>}
      </div>
    </Layout>
  );
}

/** A table of calls (also on a contact's page). */
export function CallTable(props: { calls: readonly CallSummary[] }): JSX.Element {
  if (props.calls.length === 0) return <p class="muted">No calls match.</p>;
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">First seen</th>
          <th scope="col">Call</th>
          <th scope="col">Contact</th>
          <th scope="col">Rep</th>
          <th scope="col">Direction</th>
          <th scope="col">Disposition</th>
          <th scope="col">To</th>
          <th scope="col">Note</th>
        </tr>
      </thead>
      <tbody>
        {props.calls.map((call) => (
          <tr>
            <td>{formatTime(call.first_seen_at)}</td>
            <td>
              <a href={`/console/calls/${encodeURIComponent(call.id)}`}>{call.id}</a>
            </td>
            <td>
              {call.contact_external_id
                ? (
                  <a href={`/console/contacts/${encodeURIComponent(call.contact_external_id)}`}>
                    {call.contact_external_id}
                  </a>
                )
                : <span class="muted">—</span>}
            </td>
            <td>{call.user_id ?? ""}</td>
            <td>{call.direction ?? ""}</td>
            <td>{call.disposition ?? ""}</td>
            <td>{call.to_number ?? ""}</td>
            <td>
              {call.omitted_fields.includes("note") || call.data_unreadable
                ? <span class="muted">too large for a list: open the call</span>
                : String(call.data.note ?? "").slice(0, 120)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
