/**
 * The console's outbound pages in a real browser (Debian's chromium, driven by
 * puppeteer-core) against the real server: register an endpoint (its secret
 * shown once), see a call delivered to a receiver on 127.0.0.1 that verifies
 * it with the Standard Webhooks library, open the message's attempts, resend
 * it (same webhook-id), replay the endpoint, all under the strict CSP.
 */
import { type Browser, type Page } from "puppeteer-core";
import { launchBrowser } from "../helpers/browser.ts";
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { callEventBody, postSigned } from "../helpers/events.ts";
import { eventually } from "../helpers/eventually.ts";
import { startServerProcess } from "../helpers/server_process.ts";
import { startReceiver } from "../helpers/webhook_receiver.ts";

const SECRET = "webhook secret for outbound console tests";
const ADMIN = "admin-token-for-outbound-console-0123";

Deno.test({
  name: "the console registers an endpoint, shows a delivery and resends it",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "symbo-crm-outbound-console-" });
    const receiver = startReceiver();
    const server = await startServerProcess({
      dir,
      config: {
        data_dir: `${dir}/data`,
        database: { url: `file:${dir}/data/crm.db` },
        audit: { dir: `${dir}/data/audit` },
        symbo: { webhook_secrets: [SECRET], apply_wait_ms: 2000 },
        admin: { tokens: [ADMIN] },
        log: { level: "warning" },
        outbound: { allow_private_networks: true, allow_http: true, poll_interval_ms: 50 },
      },
    });
    const browser = await launchBrowser();
    const cspViolations: string[] = [];
    try {
      const page = await newPage(browser, cspViolations);
      await page.goto(`${server.url}/console/login?next=/console/endpoints`);
      await page.type('input[name="token"]', ADMIN);
      await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
      assertMatch(page.url(), /\/console\/endpoints$/);

      await t.step("registering an endpoint shows its secret once", async () => {
        await page.type('input[name="url"]', receiver.url);
        await page.type('input[name="description"]', "Our CRM");
        const [response] = await Promise.all([
          page.waitForNavigation(),
          page.click("main form button[type=submit]"),
        ]);
        assertEquals(response?.status(), 201);
        const secret = await page.$eval("#endpoint-secret", (e) => e.textContent ?? "");
        assertMatch(secret, /^whsec_/);
        receiver.secrets = [secret];
        await page.goto(`${server.url}/console/endpoints`);
        assertEquals(await page.$("#endpoint-secret"), null, "never shown again");
        assertMatch(await page.$eval("main table", (e) => e.textContent ?? ""), /Our CRM/);
      });

      let firstId = "";
      await t.step("a call is delivered and its message shows the attempt", async () => {
        const response = await postSigned(
          server.url,
          SECRET,
          callEventBody({ callId: "call-console-1", note: "from the browser test" }),
        );
        assertEquals(response.status, 200);
        await response.body?.cancel();
        await eventually(
          "delivered",
          10_000,
          () => Promise.resolve(receiver.delivered().length === 1),
        );
        firstId = receiver.delivered()[0]!.id;
        await Promise.all([page.waitForNavigation(), page.click("main table a")]);
        assertMatch(page.url(), /\/console\/endpoints\/ep_/);
        await eventually("the page shows it delivered", 10_000, async () => {
          await page.reload();
          const status = await page.$eval("td.message-status", (e) => e.textContent ?? "");
          return status === "delivered";
        });
        await Promise.all([page.waitForNavigation(), page.click("main table code")]);
        const attempts = await page.$eval("main", (e) => e.textContent ?? "");
        assertMatch(attempts, /delivered/);
        assertMatch(attempts, /thanks/, "the answer's first KiB is kept");
      });

      await t.step("Resend sends the same message again", async () => {
        await Promise.all([
          page.waitForNavigation(),
          page.click('main form[action$="/resend"] button'),
        ]);
        assertMatch(page.url(), /done=resent/);
        assertMatch(await page.$eval("[role=status]", (e) => e.textContent ?? ""), /queued/);
        await eventually(
          "resent",
          10_000,
          () => Promise.resolve(receiver.delivered().length === 2),
        );
        assertEquals(receiver.delivered()[1]!.id, firstId);
      });

      await t.step("Replay queues every call changed since a day", async () => {
        await page.$eval('input[name="since"]', (e) => (e.value = "2000-01-01"));
        await Promise.all([
          page.waitForNavigation(),
          page.click('main form[action$="/replay"] button'),
        ]);
        assertMatch(await page.$eval("[role=status]", (e) => e.textContent ?? ""), /1 call/);
        await eventually(
          "replayed",
          10_000,
          () => Promise.resolve(receiver.delivered().length === 3),
        );
        assert(receiver.delivered()[2]!.id !== firstId, "a replay is a new message");
      });

      await t.step("a forged form without the CSRF token is refused", async () => {
        const status = await page.evaluate(async () => {
          const response = await fetch("/console/endpoints", {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: "url=https%3A%2F%2Fevil.example%2F",
          });
          return response.status;
        });
        assertEquals(status, 403);
      });

      await t.step("no page broke the Content-Security-Policy", () => {
        assertEquals(cspViolations, []);
        assert(receiver.received.every((item) => item.verifiedBy.length === 1));
      });
    } finally {
      await browser.close();
      await server.stop();
      await receiver.close();
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
