/** Recent rejected webhooks: when, why, how big, from where (never a body). */
import type { JSX } from "hono/jsx/jsx-runtime";
import { REJECTION_REASON_LABELS, type WebhookRejection } from "../../ops/webhook_rejections.ts";
import { formatTime, Layout } from "../layout.tsx";

/** Shown at `/console/webhooks/rejected`. */
export function WebhookRejectionsPage(props: {
  csrf: string;
  rows: ReadonlyArray<WebhookRejection & { id: number }>;
  total: number;
  nextHref: string | null;
}): JSX.Element {
  return (
    <Layout title="Rejected webhooks" nav="overview" csrf={props.csrf}>
      <p>
        The newest {props.total} rejected webhook request{props.total === 1 ? "" : "s"}{" "}
        kept (at most 1,000), newest first. Bodies of unverified requests are never kept. A wrong
        signature usually means Symbo and this server hold different webhook secrets.
      </p>
      {props.rows.length === 0
        ? <p class="muted">None recorded.</p>
        : (
          <div class="scroll" tabindex={0}>
            <table>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Reason</th>
                  <th scope="col" class="num">Size (bytes)</th>
                  <th scope="col">Source address</th>
                </tr>
              </thead>
              <tbody>
                {props.rows.map((r) => (
                  <tr>
                    <td>{formatTime(r.at)}</td>
                    <td>{REJECTION_REASON_LABELS[r.reason]}</td>
                    <td class="num">
                      {r.bytes === null ? "unknown" : r.bytes.toLocaleString("en")}
                    </td>
                    <td>{r.source ?? "unknown"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      <div class="pager">
        {props.nextHref ? <a href={props.nextHref}>Older →</a> : null}
      </div>
    </Layout>
  );
}
