/**
 * Outbound endpoints in the console (DESIGN §11): the list with each
 * endpoint's health and a form to register one; an endpoint's messages with
 * filters, Resend and Replay; one message's attempts.
 */
import type { JSX } from "hono/jsx/jsx-runtime";
import type { Endpoint } from "../../outbound/endpoints.ts";
import { OUTBOUND_EVENT_TYPES } from "../../outbound/endpoints.ts";
import type {
  EndpointHealth,
  MessagePage,
  MessageRecord,
} from "../../outbound/outbound_queries.ts";
import { MESSAGE_STATUSES } from "../../outbound/outbox.ts";
import { formatTime, Layout } from "../layout.tsx";

/** An endpoint with its health. */
export type EndpointRow = Endpoint & { health: EndpointHealth };

/** A one-time note at the top of a page (a secret shown once, an error, a done action). */
export interface Flash {
  readonly kind: "ok" | "error";
  readonly text: string;
  /** A secret to copy now (shown only this once). */
  readonly secret?: string;
}

function FlashNote(props: { flash: Flash | undefined }): JSX.Element | null {
  const { flash } = props;
  if (!flash) return null;
  return (
    <div class={flash.kind === "error" ? "error" : "okay"} role="status">
      <p>{flash.text}</p>
      {flash.secret
        ? (
          <p>
            Signing secret (shown only now; give it to the receiving code):{" "}
            <code id="endpoint-secret">{flash.secret}</code>
          </p>
        )
        : null}
    </div>
  );
}

function age(seconds: number): string {
  if (seconds <= 0) return "—";
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function rate(health: EndpointHealth): string {
  return health.success_rate_24h === null
    ? "no attempts"
    : `${Math.round(health.success_rate_24h * 100)}% of ${health.attempts_24h}`;
}

/** Shown at `/console/endpoints`. */
export function EndpointsPage(
  props: { csrf: string; endpoints: EndpointRow[]; flash?: Flash | undefined },
): JSX.Element {
  return (
    <Layout title="Endpoints" nav="endpoints" csrf={props.csrf}>
      <p>
        Where calls are sent as they change: signed Standard Webhooks deliveries, retried for about
        a day.
      </p>
      <FlashNote flash={props.flash} />
      {props.endpoints.length === 0 ? <p class="muted">No endpoint registered.</p> : (
        <table>
          <thead>
            <tr>
              <th scope="col">Endpoint</th>
              <th scope="col">State</th>
              <th scope="col" class="num">Pending</th>
              <th scope="col">Oldest pending</th>
              <th scope="col">Delivered (24 h)</th>
              <th scope="col">Last error</th>
            </tr>
          </thead>
          <tbody>
            {props.endpoints.map((endpoint) => (
              <tr>
                <td>
                  <a href={`/console/endpoints/${encodeURIComponent(endpoint.id)}`}>
                    {endpoint.url}
                  </a>
                  {endpoint.description ? <div class="muted">{endpoint.description}</div> : null}
                </td>
                <td>
                  {endpoint.enabled
                    ? endpoint.failing_since ? "failing" : "enabled"
                    : `disabled${endpoint.disabled_reason ? `: ${endpoint.disabled_reason}` : ""}`}
                </td>
                <td class="num">{endpoint.health.pending}</td>
                <td>{age(endpoint.health.oldest_pending_seconds)}</td>
                <td>{rate(endpoint.health)}</td>
                <td>
                  {endpoint.last_error
                    ? `${endpoint.last_error} (${formatTime(Date.parse(endpoint.last_error_at!))})`
                    : "—"}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Register an endpoint</h2>
      <form method="post" action="/console/endpoints" class="filters">
        <input type="hidden" name="csrf" value={props.csrf} />
        <label>
          URL
          <input type="url" name="url" required placeholder="https://crm.example.com/hooks/symbo" />
        </label>
        <label>
          Description
          <input type="text" name="description" maxlength={500} />
        </label>
        <fieldset>
          <legend>Events</legend>
          {OUTBOUND_EVENT_TYPES.map((type) => (
            <label class="inline">
              <input
                type="checkbox"
                name="types"
                value={type}
                checked={type !== "unknown_number.first_dialed"}
              />
              {type}
            </label>
          ))}
        </fieldset>
        <button type="submit">Register</button>
      </form>
    </Layout>
  );
}

/** Shown at `/console/endpoints/:id`. */
export function EndpointDetailPage(
  props: {
    csrf: string;
    endpoint: Endpoint;
    health: EndpointHealth;
    page: MessagePage;
    status: string;
    flash?: Flash | undefined;
  },
): JSX.Element {
  const { endpoint, health } = props;
  const base = `/console/endpoints/${encodeURIComponent(endpoint.id)}`;
  return (
    <Layout title={`Endpoint ${endpoint.url}`} nav="endpoints" csrf={props.csrf}>
      <FlashNote flash={props.flash} />
      <dl class="pairs">
        <dt>Id</dt>
        <dd>
          <code>{endpoint.id}</code>
        </dd>
        <dt>Description</dt>
        <dd>{endpoint.description || "—"}</dd>
        <dt>Events</dt>
        <dd>{endpoint.types.join(", ")}</dd>
        <dt>State</dt>
        <dd>
          {endpoint.enabled
            ? "enabled"
            : `disabled${endpoint.disabled_reason ? `: ${endpoint.disabled_reason}` : ""}`}
        </dd>
        <dt>Pending</dt>
        <dd>{health.pending} (oldest {age(health.oldest_pending_seconds)})</dd>
        <dt>Delivered (24 h)</dt>
        <dd>{rate(health)}</dd>
        <dt>Last success</dt>
        <dd>
          {endpoint.last_success_at ? formatTime(Date.parse(endpoint.last_success_at)) : "never"}
        </dd>
        <dt>Last error</dt>
        <dd>{endpoint.last_error ?? "—"}</dd>
      </dl>
      <form method="post" action={`${base}/enabled`} class="inline">
        <input type="hidden" name="csrf" value={props.csrf} />
        <input type="hidden" name="enabled" value={endpoint.enabled ? "false" : "true"} />
        <button type="submit" class="quiet">{endpoint.enabled ? "Disable" : "Enable"}</button>
      </form>
      <h2>Replay</h2>
      <form method="post" action={`${base}/replay`} class="filters">
        <input type="hidden" name="csrf" value={props.csrf} />
        <label>
          Send again every call changed since (UTC date)
          <input type="date" name="since" required />
        </label>
        <button type="submit">Replay</button>
      </form>
      <h2>Messages</h2>
      <p role="navigation" aria-label="Message status">
        Show: {["", ...MESSAGE_STATUSES].map((status, index) => (
          <>
            {index > 0 ? " · " : ""}
            <a
              href={status ? `${base}?status=${status}` : base}
              aria-current={status === props.status ? "page" : undefined}
            >
              {status || "all"}
            </a>
          </>
        ))}
      </p>
      {props.page.messages.length === 0
        ? <p class="muted">No messages.</p>
        : <MessageTable csrf={props.csrf} messages={props.page.messages} back={base} />}
      <div class="pager">
        {props.page.next_cursor
          ? (
            <a
              href={`${base}?${new URLSearchParams({
                ...(props.status ? { status: props.status } : {}),
                cursor: props.page.next_cursor,
              })}`}
            >
              Older →
            </a>
          )
          : null}
      </div>
    </Layout>
  );
}

function MessageTable(
  props: { csrf: string; messages: MessageRecord[]; back: string },
): JSX.Element {
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">Message</th>
          <th scope="col">Call</th>
          <th scope="col">Type</th>
          <th scope="col" class="num">Revision</th>
          <th scope="col">Status</th>
          <th scope="col" class="num">Attempts</th>
          <th scope="col">Last answer</th>
          <th scope="col">Action</th>
        </tr>
      </thead>
      <tbody>
        {props.messages.map((message) => (
          <tr>
            <td>
              <a href={`/console/messages/${encodeURIComponent(message.id)}`}>
                <code>{message.id}</code>
              </a>
            </td>
            <td>
              {message.call_id
                ? (
                  <a href={`/console/calls/${encodeURIComponent(message.call_id)}`}>
                    {message.call_id}
                  </a>
                )
                : "—"}
            </td>
            <td>{message.type}</td>
            <td class="num">{message.revision}</td>
            <td class="message-status">{message.in_flight ? "sending" : message.status}</td>
            <td class="num">{message.attempts}</td>
            <td>{lastAnswer(message)}</td>
            <td>
              {message.status === "superseded" || message.in_flight ? null : (
                <form
                  method="post"
                  action={`/console/messages/${encodeURIComponent(message.id)}/resend`}
                  class="inline"
                >
                  <input type="hidden" name="csrf" value={props.csrf} />
                  <input type="hidden" name="back" value={props.back} />
                  <button type="submit" class="quiet">Resend</button>
                </form>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function lastAnswer(message: MessageRecord): string {
  const attempt = message.attempt_log[0];
  if (!attempt) return "—";
  return attempt.status_code !== null
    ? `${attempt.status_code} in ${attempt.latency_ms} ms`
    : attempt.error ?? attempt.outcome;
}

/** Shown at `/console/messages/:id`. */
export function MessageDetailPage(
  props: { csrf: string; message: MessageRecord; flash?: Flash | undefined },
): JSX.Element {
  const { message } = props;
  const back = `/console/endpoints/${encodeURIComponent(message.endpoint_id)}`;
  return (
    <Layout title={`Message ${message.id}`} nav="endpoints" csrf={props.csrf}>
      <FlashNote flash={props.flash} />
      <p>
        <a href={back}>← Endpoint</a>
      </p>
      <MessageTable csrf={props.csrf} messages={[message]} back={back} />
      <h2>Attempts</h2>
      {message.attempt_log.length === 0 ? <p class="muted">Not tried yet.</p> : (
        <table>
          <thead>
            <tr>
              <th scope="col">At</th>
              <th scope="col">Outcome</th>
              <th scope="col" class="num">Status</th>
              <th scope="col" class="num">Latency</th>
              <th scope="col">Error — answer (first KiB)</th>
            </tr>
          </thead>
          <tbody>
            {message.attempt_log.map((attempt) => (
              <tr>
                <td>{formatTime(Date.parse(attempt.at))}</td>
                <td>{attempt.outcome}</td>
                <td class="num">{attempt.status_code ?? "—"}</td>
                <td class="num">{attempt.latency_ms} ms</td>
                <td>
                  <code>
                    {[attempt.error, attempt.response].filter((text) => text).join(" — ")}
                  </code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>
  );
}
