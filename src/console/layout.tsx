/**
 * The console's page frame: head (stylesheet, script, icon from the embedded
 * assets), a skip link, the navigation and the logout form.
 */
import type { JSX } from "hono/jsx/jsx-runtime";
import type { Child } from "hono/jsx";
import { ICON_ASSET, SCRIPT, STYLESHEET } from "./assets.ts";
import { formatTimeIn, useDisplayZone } from "./display_time.ts";

/** The pages in the navigation, in order. */
export const NAV = [
  ["overview", "/console/", "Overview"],
  ["calls", "/console/calls", "Calls"],
  ["contacts", "/console/contacts", "Contacts"],
  ["import", "/console/import", "Import"],
  ["sources", "/console/sources", "Sources"],
  ["unknown", "/console/unknown-numbers", "Unknown numbers"],
  ["endpoints", "/console/endpoints", "Endpoints"],
  ["audit", "/console/audit", "Audit"],
  ["api", "/console/api", "API"],
  ["settings", "/console/settings", "Settings"],
] as const;

/** Which navigation entry is current. */
export type NavKey = typeof NAV[number][0];

/** The frame of every signed-in page. */
export function Layout(
  props: { title: string; nav: NavKey; csrf: string; children?: Child; refresh?: boolean },
): JSX.Element {
  return (
    <Document title={props.title} refresh={props.refresh}>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <a class="brand" href="/console/">symbo-crm</a>
        <nav aria-label="Console">
          <ul>
            {NAV.map(([key, href, label]) => (
              <li>
                <a href={href} aria-current={key === props.nav ? "page" : undefined}>{label}</a>
              </li>
            ))}
          </ul>
        </nav>
        <form method="post" action="/console/logout">
          <input type="hidden" name="csrf" value={props.csrf} />
          <button type="submit" class="quiet">Log out</button>
        </form>
      </header>
      <main id="main">
        <h1>{props.title}</h1>
        {props.children}
      </main>
    </Document>
  );
}

/** The HTML document around any console page (the login page uses it bare). */
export function Document(
  props: { title: string; children?: Child; refresh?: boolean },
): JSX.Element {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title} · symbo-crm</title>
        <link rel="stylesheet" href={STYLESHEET.path} />
        <link rel="icon" href={ICON_ASSET.path} type="image/svg+xml" />
        <script src={SCRIPT.path} defer></script>
        {props.refresh
          ? (
            <noscript>
              <meta http-equiv="refresh" content="2" />
            </noscript>
          )
          : null}
      </head>
      <body>{props.children}</body>
    </html>
  );
}

/**
 * A time as people read it, to the second, in the page's display time zone
 * (one format on every page: `2026-12-03 14:05:09 Europe/Berlin`), or "never".
 * Called while a page renders: the zone comes from its `DisplayZone` context.
 */
export function formatTime(ms: number | null | undefined): string {
  return formatTimeIn(ms, useDisplayZone());
}

/** How long ago, roughly ("42 s ago", "3 h ago"). */
export function formatAge(ms: number, now: number): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}
