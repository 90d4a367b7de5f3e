/** Contact search (name, email, any phone format) and one contact with its calls. */
import type { JSX } from "hono/jsx/jsx-runtime";
import type { CallSummary } from "../../calls/call_list.ts";
import type { LookupBody } from "../../contacts/contact.ts";
import { formatTime, Layout } from "../layout.tsx";
import { CallTable } from "./calls.tsx";
import { type CallNames, inWords } from "../call_view.ts";

/** Shown at `/console/contacts`. */
export function ContactsPage(
  props: {
    csrf: string;
    q: string;
    contacts: readonly LookupBody[] | null;
    error?: string;
    /** Matches in all, and where this page starts. */
    total?: number;
    offset?: number;
    limit?: number;
  },
): JSX.Element {
  const offset = props.offset ?? 0;
  const total = props.total ?? props.contacts?.length ?? 0;
  const limit = props.limit ?? 50;
  const pageHref = (at: number) =>
    `/console/contacts?q=${encodeURIComponent(props.q)}${at > 0 ? `&offset=${at}` : ""}`;
  return (
    <Layout title="Contacts" nav="contacts" csrf={props.csrf}>
      <form class="filters" method="get" action="/console/contacts" role="search">
        <label>
          Name, email, external id or phone (any format)
          <input name="q" value={props.q} size={40} />
        </label>
        <button type="submit">Search</button>
      </form>
      {props.error ? <p class="error" role="alert">{props.error}</p> : null}
      {props.contacts === null
        ? null
        : props.contacts.length === 0
        ? <p class="muted">No contact matches.</p>
        : (
          <>
            <p role="status">
              <strong>{total.toLocaleString("en")}</strong> contact{total === 1 ? "" : "s"}{" "}
              match{total === 1 ? "es" : ""}
              {total > props.contacts.length
                ? `; ${offset + 1}–${offset + props.contacts.length} shown`
                : ""}.
            </p>
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">External id</th>
                  <th scope="col">Email</th>
                  <th scope="col">Phones</th>
                  <th scope="col">Account</th>
                </tr>
              </thead>
              <tbody>
                {props.contacts.map((c) => (
                  <tr>
                    <td>
                      <a href={`/console/contacts/${encodeURIComponent(c.external_id)}`}>
                        {`${c.first_name} ${c.last_name}`.trim() || c.external_id}
                      </a>
                    </td>
                    <td>{c.external_id}</td>
                    <td>{c.work_email || c.personal_email}</td>
                    <td>
                      {[c.work_phone, c.mobile_phone, c.home_phone, c.other_phone].filter((p) => p)
                        .join(", ")}
                    </td>
                    <td>{c.account?.name ?? ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <div class="pager">
              {offset > 0 ? <a href={pageHref(Math.max(0, offset - limit))}>← Previous</a> : null}
              {offset + props.contacts.length < total
                ? <a href={pageHref(offset + limit)}>Next →</a>
                : null}
            </div>
          </>
        )}
    </Layout>
  );
}

/** Shown at `/console/contacts/:external_id`. */
export function ContactPage(
  props: {
    csrf: string;
    contact: LookupBody;
    updatedAt: number;
    calls: readonly CallSummary[];
    names: CallNames;
    moreCallsHref: string | null;
  },
): JSX.Element {
  const c = props.contact;
  const fields = Object.entries(c).filter(([key, value]) =>
    key !== "account" && typeof value === "string" && value !== ""
  ) as [string, string][];
  return (
    <Layout
      title={`${c.first_name} ${c.last_name}`.trim() || c.external_id}
      nav="contacts"
      csrf={props.csrf}
    >
      <dl class="pairs">
        {fields.map(([key, value]) => (
          <>
            <dt>{inWords(key)}</dt>
            <dd>{value}</dd>
          </>
        ))}
        {c.account
          ? (
            <>
              <dt>Account</dt>
              <dd>{c.account.name} ({c.account.external_id})</dd>
            </>
          )
          : null}
        <dt>Updated</dt>
        <dd>{formatTime(props.updatedAt)}</dd>
      </dl>
      <h2>Calls</h2>
      <CallTable calls={props.calls} names={props.names} />
      {props.moreCallsHref
        ? (
          <p>
            <a href={props.moreCallsHref}>All calls of this contact →</a>
          </p>
        )
        : null}
    </Layout>
  );
}
