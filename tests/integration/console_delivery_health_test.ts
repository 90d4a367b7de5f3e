/**
 * Delivery health on the console (issue 21 item 1) against the real server:
 * rejected webhooks are counted by reason on the Overview, which turns red,
 * and listed (time, reason, size, source; never a body) on their own page.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { consolePage, signIn } from "../helpers/console_session.ts";
import { callEventBody, postSigned } from "../helpers/events.ts";
import { startServerProcess } from "../helpers/server_process.ts";

const ADMIN = "admin-token-delivery-health-0123456789";
const SECRET = "webhook secret for delivery health";

Deno.test("rejected webhooks are counted by reason on the overview and listed without bodies", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-delivery-" });
  const server = await startServerProcess({
    dir,
    config: {
      data_dir: `${dir}/data`,
      database: { url: `file:${dir}/data/crm.db` },
      audit: { dir: `${dir}/data/audit` },
      symbo: { webhook_secrets: [SECRET], max_body_bytes: 64 * 1024 },
      admin: { tokens: [ADMIN] },
      server: { trust_proxy: true },
      log: { level: "error" },
    },
  });
  try {
    const cookie = await signIn(server.url, ADMIN);
    const before = await consolePage(server.url, cookie, "/console/");
    assertMatch(before.text, /0 in the last hour, 0 in 24 h/);
    assertMatch(before.text, /class="check ok"><div class="label">Rejected webhooks/);

    const secretBody = callEventBody({ callId: "wrong-secret", note: "SECRET-BODY-TEXT" });
    const signedWrong = await postSigned(server.url, "not the secret", secretBody, {
      "x-forwarded-for": "203.0.113.7",
    });
    assertEquals(signedWrong.status, 401);
    await signedWrong.body?.cancel();
    const unsigned = await fetch(`${server.url}/symbo/webhook`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": "203.0.113.8" },
      body: secretBody,
    });
    assertEquals(unsigned.status, 401);
    await unsigned.body?.cancel();
    const invalid = await postSigned(server.url, SECRET, "this is not JSON");
    assertEquals(invalid.status, 400);
    await invalid.body?.cancel();
    const big = await postSigned(server.url, SECRET, "x".repeat(70 * 1024));
    assertEquals(big.status, 413);
    await big.body?.cancel();
    const good = await postSigned(server.url, SECRET, callEventBody({ callId: "fine" }));
    assertEquals(good.status, 200);
    await good.body?.cancel();

    const overview = await consolePage(server.url, cookie, "/console/");
    assertMatch(overview.text, /4 in the last hour, 4 in 24 h/);
    assertMatch(overview.text, /class="check bad"><div class="label">Rejected webhooks/);
    assertMatch(overview.text, /Signature missing or wrong: 2 \(last hour 2\)/);
    assertMatch(overview.text, /Not a valid event: 1/);
    assertMatch(overview.text, /Body too large: 1/);
    assertMatch(overview.text, /Last: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, Body too large/);
    assertMatch(overview.text, /href="\/console\/webhooks\/rejected"/);

    const list = await consolePage(server.url, cookie, "/console/webhooks/rejected");
    assertEquals(list.status, 200);
    const rows = [
      ...list.text.matchAll(
        /<tr><td>([^<]+)<\/td><td>([^<]+)<\/td><td class="num">([^<]+)<\/td><td>([^<]+)<\/td><\/tr>/g,
      ),
    ]
      .map((m) => [m[2], m[3], m[4]]);
    assertEquals(rows, [
      ["Body too large", String((70 * 1024).toLocaleString("en")), "127.0.0.1"],
      ["Not a valid event", "16", "127.0.0.1"],
      ["Signature missing or wrong", String(secretBody.length), "203.0.113.8"],
      ["Signature missing or wrong", String(secretBody.length), "203.0.113.7"],
    ]);
    assert(!list.text.includes("SECRET-BODY-TEXT"), "no body of a rejected request is shown");
    const kept = await Deno.readTextFile(`${dir}/data/crm.db`).catch(() => "");
    assert(!kept.includes("SECRET-BODY-TEXT"), "no body of a rejected request is kept");
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
