/**
 * A call with more events than a page: `GET /api/calls/:id` and the console's
 * call page answer one bounded page, newest first, with a cursor to the older
 * ones (issue 20, item 9).
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { consolePage, signIn } from "../helpers/console_session.ts";
import { callEventBody, postSigned } from "../helpers/events.ts";
import { startServerProcess } from "../helpers/server_process.ts";

const SECRET = "webhook secret for history tests";
const ADMIN = "admin-token-history-0123456789";
const EVENTS = 1_200;

Deno.test("a call's history is paged newest first in the API and the console", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-history-" });
  const server = await startServerProcess({
    dir,
    config: {
      database: { url: `file:${dir}/crm.db` },
      audit: { dir: `${dir}/audit` },
      data_dir: dir,
      symbo: { webhook_secrets: [SECRET] },
      admin: { tokens: [ADMIN] },
      log: { level: "error" },
    },
  });
  const api = async (path: string) => {
    const response = await fetch(`${server.url}${path}`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    return { status: response.status, json: await response.json() };
  };
  try {
    const post = async (n: number) => {
      const second = String(n % 60).padStart(2, "0");
      const minute = String(Math.floor(n / 60)).padStart(2, "0");
      const response = await postSigned(
        server.url,
        SECRET,
        callEventBody({
          callId: "busy",
          note: `update ${n}`,
          updatedAt: `2024-01-11T20:${minute}:${second}.000Z`,
        }),
      );
      assertEquals(response.status, 200);
      await response.body?.cancel();
    };
    for (let n = 0; n < EVENTS; n += 8) {
      await Promise.all(Array.from({ length: 8 }, (_, i) => post(n + i)));
    }

    await t.step("the API answers the newest 100 events and a cursor", async () => {
      const first = await api("/api/calls/busy");
      assertEquals(first.status, 200);
      assertEquals(first.json.events.length, 100);
      assertEquals(first.json.events_total, EVENTS);
      assertEquals(first.json.call.data.note, `update ${EVENTS - 1}`);
      assert(typeof first.json.events_next_cursor === "string");
    });

    await t.step("walking the cursor reads every event once", async () => {
      const seen = new Set<string>();
      let query = "events_limit=1000";
      for (let pages = 0; pages < 5; pages++) {
        const page = await api(`/api/calls/busy?${query}`);
        assertEquals(page.status, 200);
        assert(page.json.events.length <= 1000);
        for (const event of page.json.events) seen.add(event.event_key);
        if (page.json.events_next_cursor === null) break;
        query = `events_limit=1000&events_cursor=${page.json.events_next_cursor}`;
      }
      assertEquals(seen.size, EVENTS);
      assertEquals((await api("/api/calls/busy?events_cursor=bm9wZQ")).status, 400);
      assertEquals((await api("/api/calls/busy?events_limit=1001")).status, 400);
    });

    await t.step("the console's call page shows one page and links the older one", async () => {
      const cookie = await signIn(server.url, ADMIN);
      const page = await consolePage(server.url, cookie, "/console/calls/busy");
      assertEquals(page.status, 200);
      assert(page.text.includes(`100 of ${EVENTS}`), "the page says how many it shows");
      const older = /href="(\/console\/calls\/busy\?events_cursor=[^"]+)"/.exec(page.text)?.[1];
      assert(older, "a link to older snapshots");
      const next = await consolePage(server.url, cookie, older.replaceAll("&amp;", "&"));
      assertEquals(next.status, 200);
    });

    await t.step("the console's call page shows the start of a 3 MB note", async () => {
      const note = "n".repeat(3_000_000);
      const response = await postSigned(
        server.url,
        SECRET,
        callEventBody({ callId: "long", note }),
      );
      assertEquals(response.status, 200);
      await response.body?.cancel();
      const cookie = await signIn(server.url, ADMIN);
      const page = await consolePage(server.url, cookie, "/console/calls/long");
      assertEquals(page.status, 200);
      assert(page.text.length < 200_000, `a page of ${page.text.length} characters`);
      assert(page.text.includes(`${3_000_000 - 20_000} more characters`));
    });
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
