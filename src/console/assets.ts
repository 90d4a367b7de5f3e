/**
 * The console's static assets, embedded as text so `deno compile` carries them
 * (nothing from a CDN): one stylesheet (light and dark by
 * `prefers-color-scheme`), one small script (the import progress bar), one icon.
 * Served under `/console/assets/` with a content hash in the URL.
 */

const CSS = `
:root { color-scheme: light dark; --bg: #fbfbfa; --fg: #1d1f21; --muted: #5f6368; --line: #d9dcdf;
  --panel: #ffffff; --accent: #1a5fb4; --ok: #1e7b34; --warn: #9a6700; --bad: #b42318;
  --c1: #1a5fb4; --c2: #1e7b34; --c3: #b35c00; --c4: #c01c28; --c5: #813d9c; --c6: #63452c;
  --c7: #007b83; --c8: #a3306b; --c9: #5d6b00; --c10: #5e5c64; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #17191c; --fg: #e8eaed; --muted: #a0a4a8; --line: #3a3e43; --panel: #1f2226;
    --accent: #78aeed; --ok: #57e389; --warn: #f6d32d; --bad: #ff7b72;
    --c1: #78aeed; --c2: #57e389; --c3: #f6d32d; --c4: #ff7b72; --c5: #dc8add; --c6: #cdab8f;
    --c7: #5bd8d8; --c8: #ffa348; --c9: #b5c94f; --c10: #c0bfbc; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  background: var(--bg); color: var(--fg); }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, summary:focus-visible {
  outline: 3px solid var(--accent); outline-offset: 2px; }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 8px; top: 8px; background: var(--panel); padding: 6px 10px; z-index: 2; }
header.top { display: flex; align-items: center; gap: 18px; padding: 10px 20px;
  border-bottom: 1px solid var(--line); background: var(--panel); flex-wrap: wrap; }
header.top .brand { font-weight: 700; text-decoration: none; color: var(--fg); }
header.top nav ul { list-style: none; display: flex; gap: 4px; margin: 0; padding: 0; flex-wrap: wrap; }
header.top nav a { display: block; padding: 5px 10px; border-radius: 6px; text-decoration: none; }
header.top nav a[aria-current="page"] { background: var(--accent); color: var(--bg); }
header.top form { margin-left: auto; }
main { max-width: 1200px; margin: 0 auto; padding: 16px 20px 40px; }
h1 { font-size: 1.5rem; margin: 8px 0 16px; }
h2 { font-size: 1.15rem; margin: 24px 0 8px; }
table { border-collapse: collapse; width: 100%; background: var(--panel); }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 0.85rem; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.checks { display: grid; grid-template-columns: repeat(auto-fill, minmax(250px, 1fr)); gap: 10px; }
.check { background: var(--panel); border: 1px solid var(--line); border-left: 5px solid var(--muted);
  border-radius: 6px; padding: 10px 12px; }
.check.ok { border-left-color: var(--ok); } .check.warn { border-left-color: var(--warn); }
.check.bad { border-left-color: var(--bad); }
.check .label { color: var(--muted); font-size: 0.85rem; } .check .value { font-weight: 600; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap: 14px; }
figure { margin: 0; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px; }
figcaption { font-weight: 600; margin-bottom: 6px; }
svg.chart { width: 100%; height: auto; display: block; }
svg.chart text { fill: var(--muted); font-size: 10px; }
svg.chart .axis { stroke: var(--line); }
.s0 { fill: var(--c1); } .s1 { fill: var(--c2); } .s2 { fill: var(--c3); } .s3 { fill: var(--c4); }
.s4 { fill: var(--c5); } .s5 { fill: var(--c6); } .s6 { fill: var(--c7); } .s7 { fill: var(--c8); }
.s8 { fill: var(--c9); } .s9 { fill: var(--c10); }
.legend { display: flex; gap: 12px; flex-wrap: wrap; font-size: 0.85rem; margin-top: 6px; padding: 0; list-style: none; }
.legend svg { width: 10px; height: 10px; vertical-align: middle; margin-right: 4px; }
form.filters { display: flex; flex-wrap: wrap; gap: 10px; align-items: end; margin-bottom: 14px; }
label { display: flex; flex-direction: column; gap: 2px; font-size: 0.85rem; color: var(--muted); }
label.inline { flex-direction: row; align-items: center; gap: 6px; }
input, select, button { font: inherit; padding: 5px 8px; border: 1px solid var(--line); border-radius: 5px;
  background: var(--bg); color: var(--fg); }
button { background: var(--accent); color: var(--bg); border-color: var(--accent); cursor: pointer; }
button.quiet { background: transparent; color: var(--accent); }
.pager { display: flex; gap: 12px; margin-top: 12px; }
.muted { color: var(--muted); }
.error { color: var(--bad); font-weight: 600; }
.okay { color: var(--ok); font-weight: 600; }
pre { background: var(--panel); border: 1px solid var(--line); padding: 8px; overflow-x: auto;
  font-size: 0.8rem; max-height: 360px; }
progress { width: 100%; height: 18px; }
.login { max-width: 380px; margin: 60px auto; background: var(--panel); padding: 20px;
  border: 1px solid var(--line); border-radius: 8px; }
.login form { display: flex; flex-direction: column; gap: 12px; }
dl.pairs { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; }
dl.pairs dt { color: var(--muted); } dl.pairs dd { margin: 0; overflow-wrap: anywhere; }
.scroll { overflow-x: auto; max-width: 100%; }
.transcript { white-space: pre-wrap; overflow-wrap: anywhere; background: var(--panel);
  border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; max-height: 480px; overflow-y: auto; }
.nowrap { white-space: nowrap; }
td.id { overflow-wrap: anywhere; }
main.narrow { max-width: 640px; }
ol.lines { list-style: none; padding: 0; margin: 0; }
ol.lines li { border-bottom: 1px solid var(--line); padding: 6px 0; }
ol.lines li.marked { border-left: 5px solid var(--warn); padding-left: 8px; }
ol.lines pre { max-height: 240px; overflow-y: auto; margin: 4px 0; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%);
  white-space: nowrap; }
abbr[title] { text-decoration: underline dotted; cursor: help; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; }
input, select { max-width: 100%; }
.charts { grid-template-columns: repeat(auto-fill, minmax(min(360px, 100%), 1fr)); }
.checks { grid-template-columns: repeat(auto-fill, minmax(min(250px, 100%), 1fr)); }
code { overflow-wrap: anywhere; }
h1:focus { outline: none; }
h1:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
@media (max-width: 700px) {
  /* A wide table scrolls inside its own box, never the page. */
  table { display: block; overflow-x: auto; max-width: 100%; }
}
@media (max-width: 600px) {
  main { padding: 12px 12px 32px; }
  header.top { padding: 8px 12px; gap: 8px; }
  dl.pairs { grid-template-columns: 1fr; } dl.pairs dd { margin-bottom: 6px; }
}
`;

// Polls an import job's JSON and moves the progress bar; reloads the page when
// the job ends so the server renders its summary. Without script, the page's
// <noscript> refresh does the same more coarsely.
const JS = `
"use strict";
(function () {
  // Focus starts on the page's heading (not 25 Tabs away), unless the address
  // points at a part of the page or a field asks for it.
  var heading = document.querySelector("main h1");
  if (heading && !location.hash && !document.querySelector("[autofocus]")) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
})();
(function () {
  var box = document.querySelector("[data-poll]");
  if (!box) return;
  var bar = box.querySelector("progress");
  var text = box.querySelector("[data-progress-text]");
  var url = box.getAttribute("data-poll");
  function tick() {
    fetch(url, { credentials: "same-origin", headers: { accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (job) {
        if (job.bytesTotal > 0) bar.value = job.bytesRead / job.bytesTotal;
        if (text) text.textContent = job.rowsRead + " rows read";
        if (job.state !== "running") { bar.value = 1; location.reload(); }
        else setTimeout(tick, 400);
      })
      .catch(function () { setTimeout(tick, 2000); });
  }
  setTimeout(tick, 200);
})();
`;

const ICON =
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#1a5fb4"/><path d="M10 8c1.5 0 3 3.5 3 5s-2 2-2 3 3 5 5 5 2-2 3-2 5 1.5 5 3-2 3-4 3C14 25 7 18 7 12c0-2 1.5-4 3-4z" fill="#fff"/></svg>`;

/** One embedded asset. */
export interface Asset {
  readonly path: string;
  readonly type: string;
  readonly body: string;
}

function hashed(name: string, ext: string, type: string, body: string): Asset {
  // A short content hash in the URL lets the browser cache it for good.
  let h = 2166136261;
  for (let i = 0; i < body.length; i++) h = Math.imul(h ^ body.charCodeAt(i), 16777619);
  return { path: `/console/assets/${name}.${(h >>> 0).toString(36)}.${ext}`, type, body };
}

/** The stylesheet. */
export const STYLESHEET: Asset = hashed("console", "css", "text/css; charset=utf-8", CSS);
/** The script. */
export const SCRIPT: Asset = hashed("console", "js", "text/javascript; charset=utf-8", JS);
/** The icon. */
export const ICON_ASSET: Asset = hashed("icon", "svg", "image/svg+xml", ICON);
/** Every asset. */
export const ASSETS: readonly Asset[] = [STYLESHEET, SCRIPT, ICON_ASSET];
