/**
 * The console's Sources page in a real browser (issue 19): a source is listed
 * with its last run; Run now starts one (with the session's CSRF token); a
 * run refused by the prune guard shows with its reason; a source failing for
 * three periods is a warning on the Overview.
 */
import { type Page } from "puppeteer-core";
import { launchBrowser } from "../helpers/browser.ts";
import { assertEquals, assertMatch } from "../helpers/assert.ts";
import { eventually } from "../helpers/eventually.ts";
import { startServerProcess } from "../helpers/server_process.ts";

const ADMIN = "admin-token-for-sources-0123456789";

function exportOf(n: number): string {
  return "external_id,first_name\n" +
    Array.from({ length: n }, (_, i) => `s${i},Name${i}`).join("\n") + "\n";
}

Deno.test({
  name: "the console lists a source with its last run, and Run now starts one",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    let body = exportOf(10);
    const crm = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => new Response(body, { headers: { "content-type": "text/csv" } }),
    );
    const dir = await Deno.makeTempDir({ prefix: "symbo-crm-sources-console-" });
    const server = await startServerProcess({
      dir,
      config: {
        data_dir: dir,
        database: { url: `file:${dir}/crm.db` },
        audit: { dir: `${dir}/audit` },
        admin: { tokens: [ADMIN] },
        contacts: {
          sources: [{
            name: "crm",
            url: `http://127.0.0.1:${crm.addr.port}/export.csv`,
            allow_private_networks: true,
            every: "1d",
            prune: true,
          }],
        },
        log: { level: "warning" },
      },
    });
    const browser = await launchBrowser();
    const cspViolations: string[] = [];
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(15_000);
      page.on("console", (message) => {
        if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
      });
      await page.goto(`${server.url}/console/sources`);
      await page.type('input[name="token"]', ADMIN);
      await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
      assertMatch(page.url(), /\/console\/sources$/);

      await t.step("the source is listed with its last run", async () => {
        await eventually("the first scheduled run is shown", 30_000, async () => {
          await page.goto(`${server.url}/console/sources`);
          return (await outcome(page)).startsWith("imported");
        }, 200);
        const row = await page.$eval('tr[data-source="crm"]', (e) => e.textContent ?? "");
        assertMatch(row, /every 1d, prune/);
        assertMatch(row, /127\.0\.0\.1:\d+\/export\.csv/);
        const runs = await page.$eval("#runs-table", (e) => e.textContent ?? "");
        assertMatch(runs, /schedule\s*imported/);
      });

      await t.step(
        "Run now starts a run; the prune guard's refusal shows with its reason",
        async () => {
          body = exportOf(2); // cut off: it would delete 8 of 10
          await Promise.all([
            page.waitForNavigation(),
            page.click('tr[data-source="crm"] button[type=submit]'),
          ]);
          assertMatch(page.url(), /\/console\/sources\?name=crm&started=\d+$/);
          assertMatch(
            await page.$eval("[role=status]", (e) => e.textContent ?? ""),
            /Run \d+ started/,
          );
          await eventually("the refused run is shown", 30_000, async () => {
            await page.goto(`${server.url}/console/sources?name=crm`);
            return (await outcome(page)).startsWith("refused");
          }, 200);
          assertMatch(
            await outcome(page),
            /would delete 8 of the 10 stored contacts.*--force-prune/,
          );
          const runs = await page.$eval("#runs-table", (e) => e.textContent ?? "");
          assertMatch(runs, /manual\s*refused/);
        },
      );

      await t.step("a source refused three times is a warning on the Overview", async () => {
        for (let i = 0; i < 2; i++) {
          await page.goto(`${server.url}/console/sources`);
          await eventually("Run now is enabled", 30_000, async () => {
            await page.goto(`${server.url}/console/sources`);
            return await page.$('tr[data-source="crm"] button[type=submit]:not([disabled])') !==
              null;
          }, 200);
          await Promise.all([
            page.waitForNavigation(),
            page.click('tr[data-source="crm"] button[type=submit]'),
          ]);
        }
        await eventually("the overview warns", 30_000, async () => {
          await page.goto(`${server.url}/console/`);
          const checks = await page.$eval(".checks", (e) => e.textContent ?? "");
          return /Source crm\s*failing/.test(checks);
        }, 300);
      });

      await t.step("a Run now without the CSRF token is refused", async () => {
        const status = await page.evaluate(async () => {
          const response = await fetch("/console/sources/crm/run", {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: "csrf=forged",
          });
          return response.status;
        });
        assertEquals(status, 403);
      });
      assertEquals(cspViolations, []);
    } finally {
      await browser.close();
      await server.stop();
      await crm.shutdown();
    }
  },
});

async function outcome(page: Page): Promise<string> {
  return await page.$eval('tr[data-source="crm"] [data-outcome]', (e) => e.textContent ?? "")
    .catch(() => "");
}
