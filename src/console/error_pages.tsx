/**
 * The console's error answers as pages (issue 21 item 6): a stale login form,
 * an expired session on a POST, an unknown console path or a missing record
 * answer a styled HTML page with its status, a heading and a way on, not JSON.
 */
import type { JSX } from "hono/jsx/jsx-runtime";
import { HTML_HEADERS } from "./console_headers.ts";
import { Document } from "./layout.tsx";

const TITLES: Readonly<Record<number, string>> = {
  400: "Not accepted",
  401: "Sign in first",
  403: "Refused",
  404: "Not found",
  410: "Gone",
};

/** A styled console page for an error `status`. */
export async function consoleErrorPage(
  status: number,
  message: string,
  options: { signInHref?: string } = {},
): Promise<Response> {
  const title = TITLES[status] ?? "Something went wrong";
  const page: JSX.Element = (
    <Document title={title}>
      <main id="main" class="narrow">
        <h1 tabindex={-1}>{title}</h1>
        <p>{message}</p>
        <p>
          {options.signInHref
            ? <a href={options.signInHref}>Sign in</a>
            : <a href="/console/">Back to the overview</a>}
        </p>
      </main>
    </Document>
  );
  const html = String(
    await (page as unknown as { toString(): string | Promise<string> }).toString(),
  );
  return new Response("<!doctype html>" + html, {
    status,
    headers: HTML_HEADERS,
  });
}
