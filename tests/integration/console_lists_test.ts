/**
 * The console's lists answer "how many" (issue 21 item 4): a contact search
 * has a total and a pager; unknown numbers take a date range.
 */
import { assertEquals, assertMatch } from "../helpers/assert.ts";
import { consolePage, signIn } from "../helpers/console_session.ts";
import { startServerProcess } from "../helpers/server_process.ts";

const ADMIN = "admin-token-console-lists-0123456789";
const TOKEN = "lookup-token-console-lists-0123";

Deno.test("a contact search has a total and a pager; unknown numbers take a date range", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-lists-" });
  const server = await startServerProcess({
    dir,
    config: {
      data_dir: `${dir}/data`,
      database: { url: `file:${dir}/data/crm.db` },
      audit: { dir: `${dir}/data/audit` },
      symbo: { lookup_tokens: [TOKEN] },
      admin: { tokens: [ADMIN] },
      log: { level: "error" },
    },
  });
  try {
    const rows = Array.from(
      { length: 120 },
      (_, i) => `p-${i},Pat,Pager${i},+1415555${String(1000 + i)}`,
    );
    // Contacts whose phone cannot be read: imported, each with a warning.
    const odd = Array.from({ length: 30 }, (_, i) => `w-${i},Wes,Warned${i},not a phone`);
    const imported = await fetch(`${server.url}/api/contacts/import`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "text/csv" },
      body: ["external_id,first_name,last_name,work_phone", ...rows, ...odd].join("\n") + "\n",
    });
    assertEquals(imported.status, 200, await imported.text());
    // Every warning of an import downloads, not only the 20 the page shows.
    const jobs = await (await fetch(`${server.url}/api/imports`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    })).json();
    const jobId = String((jobs.jobs ?? jobs)[0]?.id);
    const signedIn = await signIn(server.url, ADMIN);
    const warnings = await fetch(`${server.url}/console/import/${jobId}/warnings.csv`, {
      headers: { cookie: signedIn },
    });
    assertEquals(warnings.status, 200);
    const warningLines = (await warnings.text()).trim().split("\r\n");
    assertEquals(warningLines.length, 1 + 30);
    const jobPage = await consolePage(server.url, signedIn, `/console/import/${jobId}`);
    assertMatch(jobPage.text, /Download the warnings as CSV<\/a> \(30 of 30/);

    for (const number of ["%2B14155550177", "%2B14155550178"]) {
      const miss = await fetch(`${server.url}/symbo/lookup?number=${number}&token=${TOKEN}`);
      assertEquals(miss.status, 404);
      await miss.body?.cancel();
    }
    const cookie = await signIn(server.url, ADMIN);

    const first = await consolePage(server.url, cookie, "/console/contacts?q=pager");
    assertMatch(first.text, /<strong>120<\/strong> contacts match; 1–50 shown/);
    assertMatch(first.text, /href="\/console\/contacts\?q=pager&amp;offset=50">Next/);
    const last = await consolePage(server.url, cookie, "/console/contacts?q=pager&offset=100");
    assertMatch(last.text, /101–120 shown/);
    assertEquals([...last.text.matchAll(/<a href="\/console\/contacts\/p-/g)].length, 20);
    assertMatch(last.text, /href="\/console\/contacts\?q=pager&amp;offset=50">← Previous/);

    const today = await consolePage(server.url, cookie, "/console/unknown-numbers?range=today");
    assertMatch(today.text, /2 dialed numbers/);
    assertMatch(today.text, /href="\/console\/calls\?number=%2B14155550177"/);
    const past = await consolePage(
      server.url,
      cookie,
      "/console/unknown-numbers?from=2001-01-01&to=2001-01-31",
    );
    assertMatch(past.text, /0 dialed numbers/);
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
