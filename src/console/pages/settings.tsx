/** The console's settings: the display time zone, and the names of Symbo's user ids. */
import type { JSX } from "hono/jsx/jsx-runtime";
import type { RepName } from "../../calls/rep_names.ts";
import { Layout } from "../layout.tsx";

/** Shown at `/console/settings`. */
export function SettingsPage(props: {
  csrf: string;
  zone: string;
  defaultZone: string;
  zones: readonly string[];
  reps: readonly RepName[];
  /** Users seen on recent calls without a name. */
  unnamed: readonly string[];
  /** A user id to fill in (from a call's "Name this rep"). */
  userId: string;
  message?: string | undefined;
  error?: string | undefined;
}): JSX.Element {
  return (
    <Layout title="Settings" nav="settings" csrf={props.csrf}>
      {props.message ? <p class="okay" role="status">{props.message}</p> : null}
      {props.error ? <p class="error" role="alert">{props.error}</p> : null}
      <h2 id="zone">Display time zone</h2>
      <p>
        Every time in the console is shown in this zone. The configured default is{" "}
        <code>{props.defaultZone}</code>.
      </p>
      <form class="filters" method="post" action="/console/settings/time-zone">
        <input type="hidden" name="csrf" value={props.csrf} />
        <label>
          Time zone
          <input name="time_zone" value={props.zone} list="zones" required maxlength={64} />
        </label>
        <datalist id="zones">
          {props.zones.map((z) => <option value={z} />)}
        </datalist>
        <button type="submit">Save time zone</button>
      </form>
      <h2 id="reps">Rep names</h2>
      <p>
        Symbo names a rep by a user id. Give each one a name: call lists and call pages show it. An
        empty name removes the mapping.
      </p>
      <form class="filters" method="post" action="/console/settings/reps">
        <input type="hidden" name="csrf" value={props.csrf} />
        <label>
          User id
          <input name="user_id" value={props.userId} list="unnamed" required maxlength={200} />
        </label>
        <datalist id="unnamed">
          {props.unnamed.map((id) => <option value={id} />)}
        </datalist>
        <label>
          Name
          <input name="name" maxlength={200} />
        </label>
        <button type="submit">Save name</button>
      </form>
      {props.reps.length === 0
        ? <p class="muted">No rep has a name yet.</p>
        : (
          <div class="scroll" tabindex={0}>
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">User id</th>
                  <th scope="col">Calls</th>
                </tr>
              </thead>
              <tbody>
                {props.reps.map((r) => (
                  <tr>
                    <td>{r.name}</td>
                    <td class="id">{r.user_id}</td>
                    <td>
                      <a href={`/console/calls?user=${encodeURIComponent(r.user_id)}`}>
                        Calls by {r.name}
                      </a>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      {props.unnamed.length > 0
        ? (
          <>
            <h3>Seen on recent calls without a name</h3>
            <ul>
              {props.unnamed.map((id) => (
                <li>
                  <a href={`/console/settings?user_id=${encodeURIComponent(id)}#reps`}>{id}</a>
                </li>
              ))}
            </ul>
          </>
        )
        : null}
    </Layout>
  );
}
