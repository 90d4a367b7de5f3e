/** Numbers Symbo asked about that no contact has, so the CRM team can fix its data. */
import type { JSX } from "hono/jsx/jsx-runtime";
import type { UnknownNumberPage } from "../../contacts/unknown_numbers.ts";
import { formatTime, Layout } from "../layout.tsx";

/** Shown at `/console/unknown-numbers`. */
export function UnknownNumbersPage(
  props: { csrf: string; page: UnknownNumberPage; offset: number; limit: number },
): JSX.Element {
  const { page } = props;
  return (
    <Layout title="Unknown numbers" nav="unknown" csrf={props.csrf}>
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
            <a href={`/console/unknown-numbers?offset=${Math.max(0, props.offset - props.limit)}`}>
              ← Newer
            </a>
          )
          : null}
        {page.next_offset !== null
          ? <a href={`/console/unknown-numbers?offset=${page.next_offset}`}>Older →</a>
          : null}
      </div>
    </Layout>
  );
}
