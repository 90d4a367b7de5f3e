/** Numbers Symbo asked about that no contact has, so the CRM team can fix its data. */
import type { JSX } from "hono/jsx/jsx-runtime";
import type { UnknownNumberPage } from "../../contacts/unknown_numbers.ts";
import { formatTime, Layout } from "../layout.tsx";
import { RANGES } from "../call_filters.ts";
import { useDisplayZone } from "../display_time.ts";

/** Shown at `/console/unknown-numbers`. */
export function UnknownNumbersPage(
  props: {
    csrf: string;
    page: UnknownNumberPage;
    offset: number;
    limit: number;
    /** The date range as typed (last dialed within it). */
    range: { range: string; from: string; to: string };
    error?: string | undefined;
  },
): JSX.Element {
  const { page } = props;
  const zone = useDisplayZone();
  const query = new URLSearchParams(
    Object.entries(props.range).filter(([, v]) => v !== ""),
  );
  const pageHref = (offset: number) => {
    const params = new URLSearchParams(query);
    params.set("offset", String(offset));
    return `/console/unknown-numbers?${params}`;
  };
  return (
    <Layout title="Unknown numbers" nav="unknown" csrf={props.csrf}>
      <form class="filters" method="get" action="/console/unknown-numbers" role="search">
        <label>
          Last dialed
          <select name="range">
            {RANGES.map(([value, label]) => (
              <option value={value} selected={props.range.range === value}>{label}</option>
            ))}
          </select>
        </label>
        <label>
          From (date, {zone})
          <input type="date" name="from" value={props.range.from} />
        </label>
        <label>
          To (inclusive)
          <input type="date" name="to" value={props.range.to} />
        </label>
        <button type="submit">Show</button>
      </form>
      {props.error ? <p class="error" role="alert">{props.error}</p> : null}
      <p>
        {page.total} dialed number{page.total === 1 ? "" : "s"}{" "}
        no contact has, most recently asked first; a number opens the calls that dialed it.{" "}
        <a href="/console/unknown-numbers.csv" download>Download as CSV</a>
      </p>
      {page.numbers.length === 0 ? <p class="muted">None recorded.</p> : (
        <table>
          <thead>
            <tr>
              <th scope="col">Number</th>
              <th scope="col" class="num">Lookups</th>
              <th scope="col">First seen</th>
              <th scope="col">Last seen</th>
            </tr>
          </thead>
          <tbody>
            {page.numbers.map((n) => (
              <tr>
                <td>
                  <a href={`/console/calls?number=${encodeURIComponent(n.number)}`}>
                    {n.number}
                    <span class="visually-hidden">: the calls that dialed it</span>
                  </a>
                </td>
                <td class="num">{n.count}</td>
                <td>{formatTime(n.first_seen_at)}</td>
                <td>{formatTime(n.last_seen_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div class="pager">
        {props.offset > 0
          ? (
            <a href={pageHref(Math.max(0, props.offset - props.limit))}>
              ← Newer
            </a>
          )
          : null}
        {page.next_offset !== null ? <a href={pageHref(page.next_offset)}>Older →</a> : null}
      </div>
    </Layout>
  );
}
