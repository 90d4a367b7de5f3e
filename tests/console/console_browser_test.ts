/**
 * The operator console in a real browser (Debian's chromium driven by
 * puppeteer-core) against the real server started with the start task's flags:
 * sign in, import a CSV (dry run, then Apply it with the progress bar), find the
 * contact by a formatted number, open a call that arrived by signed webhook, see
 * a dialed unknown number, verify the audit log, log out; and the refusals: no
 * session, a forged form without its CSRF token, wrong tokens rate-limited.
 *
 * Set UPDATE_SCREENSHOT=1 to write the Overview's screenshot to
 * docs/console-overview.png (the README shows it); otherwise it goes to the
 * test's temp folder.
 */
import { type Browser, type Page } from "puppeteer-core";
import { launchBrowser } from "../helpers/browser.ts";
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { callEventBody, postSigned } from "../helpers/events.ts";
import { startServerProcess } from "../helpers/server_process.ts";

const SECRET = "webhook secret for console tests";
const ADMIN = "admin-token-for-console-0123456789";
const TOKEN = "lookup-token-for-console-0123";
const ROOT = new URL("../../", import.meta.url).pathname;

const CSV = [
  "Record ID,First Name,Last Name,Email,Phone Number,Favourite Colour",
  "c-1,Ada,Lovelace,ada@example.com,(415) 555-0134,green",
  "c-2,Alan,Turing,alan@example.com,+44 20 7946 0958,blue",
  "c-3,,NoFirstName,nofirst@example.com,415-555-0199,red",
].join("\n") + "\n";

Deno.test({
  name: "the operator console works end to end in a real browser",
  // The browser's websocket and pipes belong to puppeteer, which closes them itself.
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "symbo-crm-console-" });
    const server = await startServerProcess({
      dir,
      config: {
        data_dir: `${dir}/data`,
        database: { url: `file:${dir}/data/crm.db` },
        audit: { dir: `${dir}/data/audit` },
        symbo: { webhook_secrets: [SECRET], lookup_tokens: [TOKEN] },
        admin: { tokens: [ADMIN] },
        log: { level: "warning" },
      },
    });
    const browser = await launchBrowser();
    const cspViolations: string[] = [];
    try {
      const page = await newPage(browser, cspViolations);
      const csvPath = `${dir}/contacts.csv`;
      await Deno.writeTextFile(csvPath, CSV);

      await t.step("without a session, a console page redirects to the login", async () => {
        const response = await page.goto(`${server.url}/console/calls`);
        assertMatch(page.url(), /\/console\/login\?next=%2Fconsole%2Fcalls$/);
        assertEquals(response?.status(), 200);
        assert(await page.$('input[name="token"]'), "the login form is shown");
      });

      await t.step("a good admin token signs in and lands where it was going", async () => {
        await page.type('input[name="token"]', ADMIN);
        await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
        assertMatch(page.url(), /\/console\/calls$/);
        const cookies = await browser.cookies();
        const session = cookies.find((c) => c.name === "symbo_console");
        assert(session, "a session cookie is set");
        assertEquals(session.httpOnly, true);
        assertEquals(session.sameSite, "Strict");
        assert(session.expires > Date.now() / 1000, "the session cookie expires");
      });

      await t.step("uploading a CSV shows the dry run with its column mapping", async () => {
        await page.goto(`${server.url}/console/import`);
        const input = await page.$('input[type="file"]');
        assert(input, "the upload form has a file field");
        await input.uploadFile(csvPath);
        assert(await page.$eval('input[name="dry_run"]', (e) => e.checked), "dry run by default");
        await Promise.all([page.waitForNavigation(), page.click("#upload button[type=submit]")]);
        await page.waitForSelector('#progress[data-state="succeeded"]', { timeout: 20_000 });
        assertEquals(await page.$eval("#progress progress", (e) => e.value), 1);
        const mapping = await page.$eval("#mapping", (e) => e.textContent ?? "");
        assertMatch(mapping, /Record ID\s*external_id/);
        assertMatch(mapping, /Favourite Colour\s*ignored/);
        assertEquals(await count(page, "rejected"), "1");
        assertEquals(await count(page, "inserted"), "2");
        assert(await page.$('a[href$="/rejects.csv"]'), "the rejects can be downloaded");
      });

      await t.step(
        "Apply this dry run imports the previewed file, chosen once, by keyboard",
        async () => {
          assertEquals(await page.$('input[type="file"]'), null, "no second file choice");
          assertMatch(await page.$eval("#options", (e) => e.textContent ?? ""), /contacts\.csv/);
          await page.focus("#apply button[type=submit]");
          await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
          assertMatch(
            await page.$eval('[data-option="kind"]', (e) => e.textContent ?? ""),
            /^apply$/,
          );
          await page.waitForSelector('#progress[data-state="succeeded"]', { timeout: 20_000 });
          assertEquals(await page.$eval("#progress progress", (e) => e.value), 1);
          assertEquals(await count(page, "inserted"), "2");
          const href = await page.$eval('a[href$="/rejects.csv"]', (a) => a.getAttribute("href"));
          const rejects = await page.evaluate(async (url) => {
            const response = await fetch(url ?? "");
            return { status: response.status, text: await response.text() };
          }, href);
          assertEquals(rejects.status, 200);
          assertMatch(rejects.text, /NoFirstName/);
        },
      );

      await t.step("the contact is found by a differently formatted number", async () => {
        await page.goto(`${server.url}/console/contacts`);
        await page.type('input[name="q"]', "+1 415.555.0134");
        await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
        const table = await page.$eval("main", (e) => e.textContent ?? "");
        assertMatch(table, /Ada Lovelace/);
        await Promise.all([
          page.waitForNavigation(),
          page.click('a[href="/console/contacts/c-1"]'),
        ]);
        assertMatch(await page.$eval("h1", (e) => e.textContent ?? ""), /Ada Lovelace/);
      });

      await t.step(
        "a call posted by signed webhook can be opened with its audit line",
        async () => {
          const body = callEventBody({
            callId: "call-console-1",
            prospectExternalId: "c-1",
            note: "Wants a demo next Tuesday",
            extra: { recording_url: "https://recordings.example.com/call-console-1.mp3" },
          });
          const response = await postSigned(server.url, SECRET, body);
          assertEquals(response.status, 200);
          await response.body?.cancel();
          await page.goto(`${server.url}/console/calls?note=demo+tuesday`);
          await Promise.all([
            page.waitForNavigation(),
            page.click('a[href="/console/calls/call-console-1"]'),
          ]);
          const text = await page.$eval("main", (e) => e.textContent ?? "");
          assertMatch(text, /Snapshots in arrival order \(1\)/);
          assertMatch(text, /Audit lines \(1\)/);
          assert(
            await page.$('a[href="https://recordings.example.com/call-console-1.mp3"]'),
            "the recording is linked",
          );
        },
      );

      await t.step("a dialed number no contact has is listed under unknown numbers", async () => {
        const response = await fetch(
          `${server.url}/symbo/lookup?number=%2B14155550177&token=${TOKEN}`,
        );
        assertEquals(response.status, 404);
        await response.body?.cancel();
        await page.goto(`${server.url}/console/unknown-numbers`);
        const text = await page.$eval("main", (e) => e.textContent ?? "");
        assertMatch(text, /\+14155550177/);
      });

      await t.step("the overview shows the checks and charts (screenshot)", async () => {
        await page.goto(`${server.url}/console/`);
        const checks = await page.$$eval(".check .label", (els) => els.map((e) => e.textContent));
        assertEquals(checks, [
          "Webhook",
          "Store",
          "Last verified webhook",
          "Rejected webhooks",
          "Applier lag",
          "Audit chain last verified",
          "Free disk (data folder)",
        ]);
        assertEquals((await page.$$("svg.chart")).length, 3);
        const path = Deno.env.get("UPDATE_SCREENSHOT") === "1"
          ? `${ROOT}docs/console-overview.png`
          : `${dir}/console-overview.png`;
        await page.screenshot({ path, fullPage: true });
        assert((await Deno.stat(path)).size > 1000, "the screenshot was written");
      });

      await t.step("verify now checks the audit chain", async () => {
        await page.goto(`${server.url}/console/audit`);
        await Promise.all([page.waitForNavigation(), page.click("main form button")]);
        const status = await page.$eval("#verify-result", (e) => e.textContent ?? "");
        assertMatch(status, /1 lines in 1 files, chain intact/);
      });

      await t.step("a forged form without the CSRF token is refused", async () => {
        const status = await page.evaluate(async () => {
          const response = await fetch("/console/audit/verify", {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: "",
          });
          return response.status;
        });
        assertEquals(status, 403);
        const wrong = await page.evaluate(async () => {
          const response = await fetch("/console/logout", {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: "csrf=not-the-token",
          });
          return response.status;
        });
        assertEquals(wrong, 403);
      });

      await t.step("log out ends the session", async () => {
        await Promise.all([page.waitForNavigation(), page.click("header form button")]);
        assertMatch(page.url(), /\/console\/login$/);
        await page.goto(`${server.url}/console/`);
        assertMatch(page.url(), /\/console\/login\?next=/);
      });

      await t.step("wrong tokens are refused and the fifth fast try is rate-limited", async () => {
        const statuses: number[] = [];
        for (let i = 0; i < 5; i++) {
          await page.goto(`${server.url}/console/login`);
          await page.type('input[name="token"]', `wrong-token-${i}-0123456789`);
          const [response] = await Promise.all([
            page.waitForNavigation(),
            page.click("button[type=submit]"),
          ]);
          statuses.push(response?.status() ?? 0);
        }
        assertEquals(statuses, [401, 401, 401, 401, 429]);
        assertMatch(await page.$eval("[role=alert]", (e) => e.textContent ?? ""), /Too many/);
      });

      await t.step("no page broke the Content-Security-Policy", () => {
        assertEquals(cspViolations, []);
      });
    } finally {
      await browser.close();
      await server.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

async function newPage(browser: Browser, cspViolations: string[]): Promise<Page> {
  const page = await browser.newPage();
  page.setDefaultTimeout(15_000);
  await page.setViewport({ width: 1280, height: 900 });
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  return page;
}

function count(page: Page, name: string): Promise<string> {
  return page.$eval(`[data-count="${name}"]`, (e) => e.textContent ?? "");
}
