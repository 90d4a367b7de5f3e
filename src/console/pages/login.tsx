/** The login page: one field for an admin token. */
import type { JSX } from "hono/jsx/jsx-runtime";
import { Document } from "../layout.tsx";

/** Shown at `/console/login`. */
export function LoginPage(
  props: { csrf: string; error?: string | undefined; next?: string },
): JSX.Element {
  return (
    <Document title="Sign in">
      <main class="login" id="main">
        <h1>symbo-crm console</h1>
        {props.error ? <p class="error" role="alert">{props.error}</p> : null}
        <form method="post" action="/console/login">
          <input type="hidden" name="csrf" value={props.csrf} />
          <input type="hidden" name="next" value={props.next ?? "/console/"} />
          <label>
            Admin token
            <input
              type="password"
              name="token"
              autocomplete="current-password"
              required
              autofocus
            />
          </label>
          <button type="submit">Sign in</button>
        </form>
        <p class="muted">Use one of the tokens in admin.tokens (or ADMIN_TOKENS).</p>
      </main>
    </Document>
  );
}
