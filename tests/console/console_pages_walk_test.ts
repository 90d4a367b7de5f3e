/**
 * Every console page in a real browser (issue 21 item 6), at 1440 px and at a
 * 390 px phone, in light and dark: no sideways scroll (wide tables scroll in
 * their own box), no console error, no Content-Security-Policy violation, no
 * axe-core violation (axe is evaluated through the DevTools protocol, which
 * the page's CSP does not govern, so the page itself stays under its CSP),
 * focus on the main heading. Set UPDATE_SCREENSHOT=1 to refresh the README's
 * screenshots (docs/console-*.png).
 */
import axe from "axe-core";
import { launchBrowser } from "../helpers/browser.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { callEventBody, postSigned } from "../helpers/events.ts";
import { startServerProcess } from "../helpers/server_process.ts";

const SECRET = "webhook secret for the page walk";
const ADMIN = "admin-token-for-the-page-walk-0123456789";
const TOKEN = "lookup-token-for-page-walk-0123";
const ROOT = new URL("../../", import.meta.url).pathname;
const AXE_SOURCE = (axe as unknown as { source: string }).source;

Deno.test({
  name:
    "every console page fits 1440 and 390 px in light and dark, with no error, CSP or axe violation",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "symbo-crm-walk-" });
    const server = await startServerProcess({
      dir,
      config: {
        data_dir: `${dir}/data`,
        database: { url: `file:${dir}/data/crm.db` },
        audit: { dir: `${dir}/data/audit` },
        symbo: { webhook_secrets: [SECRET], lookup_tokens: [TOKEN] },
        admin: { tokens: [ADMIN] },
        log: { level: "error" },
      },
    });
    const browser = await launchBrowser();
    try {
      const seeded = await seed(server.url);
      const page = await browser.newPage();
      page.setDefaultTimeout(20_000);
      const errors: string[] = [];
      page.on("console", (message) => {
        const text = message.text();
        if (/Content Security Policy/i.test(text)) errors.push(`CSP: ${text}`);
        else if (message.type() === "error" && !/Failed to load resource.*40[134]/.test(text)) {
          errors.push(`console: ${text}`);
        }
      });
      page.on("pageerror", (error) => errors.push(`page error: ${String(error)}`));
      await page.goto(`${server.url}/console/login`);
      await page.type('input[name="token"]', ADMIN);
      await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);

      const callHref = "/console/calls/call-walk-1";
      const paths = [
        "/console/",
        "/console/calls",
        "/console/calls?disposition=answered_positive",
        callHref,
        "/console/contacts",
        "/console/contacts?q=Lovelace",
        "/console/contacts/w-1",
        "/console/import",
        // A dry run whose prune is past the guard: options, the confirmation, Apply, the mapping editor.
        `/console/import/${seeded.dryRunId}`,
        // An applied import: what ran, counts, warnings.
        `/console/import/${seeded.importId}`,
        "/console/unknown-numbers",
        "/console/audit",
        `/console/audit/${new Date().toISOString().slice(0, 10)}.jsonl`,
        "/console/api",
        "/console/settings",
        "/console/webhooks/rejected",
        "/console/sources",
        "/console/endpoints",
        "/console/no-such-page",
      ];
      const problems: string[] = [];
      for (const scheme of ["light", "dark"] as const) {
        await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: scheme }]);
        for (const width of [1440, 390]) {
          await page.setViewport({ width, height: 900 });
          for (const path of paths) {
            errors.length = 0;
            await page.goto(`${server.url}${path}`, { waitUntil: "load" });
            const where = `${path} at ${width} px, ${scheme}`;
            // Expressions, not functions: they run in the page (this file has no DOM types).
            const overflow = Number(
              await page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth",
              ),
            );
            if (overflow > 0) problems.push(`${where}: ${overflow} px sideways scroll`);
            const focused = String(await page.evaluate("document.activeElement?.tagName ?? ''"));
            if (focused !== "H1") problems.push(`${where}: focus on ${focused}, not the heading`);
            await page.evaluate(AXE_SOURCE);
            const violations = await page.evaluate(
              `axe.run(document).then((result) => result.violations.map((v) =>
                v.id + " (" + v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ") + ")"))`,
            ) as string[];
            for (const v of violations) problems.push(`${where}: axe ${v}`);
            for (const e of errors) problems.push(`${where}: ${e}`);
            if (Deno.env.get("UPDATE_SCREENSHOT") === "1" && scheme === "light") {
              const name = path === "/console/" ? "overview" : path === callHref ? "call" : null;
              if (name !== null) {
                await page.screenshot({
                  path: `${ROOT}docs/console-${name}${width === 390 ? "-phone" : ""}.png`,
                  fullPage: true,
                });
              }
            }
          }
        }
      }
      assertEquals(problems, []);
      assert(paths.length >= 15);
    } finally {
      await browser.close();
      await server.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

/**
 * A little of everything: contacts, calls (one with a long transcription), a
 * miss, a rejection, and a dry run whose prune needs a confirmation.
 */
async function seed(url: string): Promise<{ importId: string; dryRunId: string }> {
  const imported = await fetch(`${url}/api/contacts/import`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "text/csv" },
    body: [
      "external_id,first_name,last_name,email,work_phone,company_name",
      "w-1,Ada,Lovelace,ada@example.com,+14155550134,Analytical Engines Incorporated International",
      "w-2,Alan,Turing,alan@example.com,+442079460958,Bletchley",
    ].join("\n") + "\n",
  });
  assertEquals(imported.status, 200, await imported.text());
  const dispositions = [
    "answered_positive",
    "answered_negative",
    "no_answer",
    "left_voicemail",
    "busy",
    "wrong_number",
    "gatekeeper",
    "not_interested",
    "meeting_booked",
  ];
  for (let i = 0; i < dispositions.length; i++) {
    const response = await postSigned(
      url,
      SECRET,
      callEventBody({
        callId: i === 0 ? "call-walk-1" : `call-walk-${i + 1}-${"x".repeat(40)}`,
        prospectExternalId: i % 2 === 0 ? "w-1" : "w-2",
        disposition: dispositions[i],
        note: "A long note without spaces: " + "abcdefghij".repeat(30),
        extra: {
          dialed_at: new Date(Date.now() - i * 3_600_000).toISOString(),
          answered_at: new Date(Date.now() - i * 3_600_000 + 5_000).toISOString(),
          completed_at: new Date(Date.now() - i * 3_600_000 + 125_000).toISOString(),
          recording_url: "https://recordings.example.com/" + "r".repeat(120) + ".mp3",
          transcription: "Rep:<br>Hello <b>there</b>.<br>Prospect:<br>" +
            "word ".repeat(400),
        },
      }),
    );
    assertEquals(response.status, 200);
    await response.body?.cancel();
  }
  const miss = await fetch(`${url}/symbo/lookup?number=%2B14155550177&token=${TOKEN}`);
  await miss.body?.cancel();
  const rejected = await postSigned(url, "a wrong secret", callEventBody({ callId: "nope" }));
  await rejected.body?.cancel();
  const dryRun = await fetch(`${url}/api/contacts/import?dry_run=1&prune=1&file_name=cut.csv`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "text/csv" },
    body: "external_id,First Name,Work Phone,Email\nw-1,Ada,+14155550134,not-an-email\n",
  });
  assertEquals(dryRun.status, 200, await dryRun.text());
  const list = await fetch(`${url}/api/imports`, { headers: { authorization: `Bearer ${ADMIN}` } });
  const jobs = (await list.json()).jobs as { id: string; dryRun: boolean }[];
  const dryRunId = jobs.find((job) => job.dryRun)?.id ?? "";
  const importId = jobs.find((job) => !job.dryRun)?.id ?? "";
  return { importId, dryRunId };
}
