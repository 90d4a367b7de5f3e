import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { callEventBody, postSigned } from "../helpers/events.ts";
import { type ServerProcess, startServerProcess } from "../helpers/server_process.ts";

const SECRET = "webhook secret for tests";
const ADMIN = "admin-token-0123456789abcdef0123456789";
const TOKEN = "lookup-token-0123456789abcdef0123456789";

async function adminServer(): Promise<ServerProcess> {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-admin-" });
  return await startServerProcess({
    dir,
    config: {
      database: { url: `file:${dir}/crm.db` },
      audit: { dir: `${dir}/audit` },
      data_dir: dir,
      symbo: { webhook_secrets: [SECRET], lookup_tokens: [TOKEN] },
      admin: { tokens: [ADMIN] },
      log: { level: "warning" },
    },
  });
}

function api(server: ServerProcess, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${ADMIN}`,
      "content-type": "application/json",
      ...init.headers,
    },
  });
}

Deno.test("admin contacts API", async (t) => {
  const server = await adminServer();
  try {
    await t.step(
      "PUT creates a contact with the import's normalization, then replaces it",
      async () => {
        const created = await api(server, "/api/contacts/c-1", {
          method: "PUT",
          body: JSON.stringify({
            first_name: "Ada",
            last_name: "Lovelace",
            work_email: "ada@example.com",
            work_phone: "020 7946 0958",
            address_country: "GB",
            account: { external_id: "acc-1", name: "Analytical Engines" },
          }),
        });
        assertEquals(created.status, 201);
        const body = await created.json();
        assertEquals(body.status, "inserted");
        assertEquals(body.contact.work_phone, "+442079460958");

        const lookup = await fetch(
          `${server.url}/symbo/lookup?number=%2B442079460958&token=${TOKEN}`,
        );
        assertEquals((await lookup.json()).external_id, "c-1");

        const replaced = await api(server, "/api/contacts/c-1", {
          method: "PUT",
          body: JSON.stringify({ first_name: "Ada", mobile_phone: "+1 (415) 555-0134" }),
        });
        assertEquals(replaced.status, 200);
        assertEquals((await replaced.json()).status, "updated");
        const gone = await fetch(
          `${server.url}/symbo/lookup?number=%2B442079460958&token=${TOKEN}`,
        );
        assertEquals(gone.status, 404, "the replaced number left the phone index");
        await gone.body?.cancel();
      },
    );

    await t.step("GET by external id answers the lookup shape plus updated_at", async () => {
      const response = await api(server, "/api/contacts/c-1");
      assertEquals(response.status, 200);
      const body = await response.json();
      assertEquals(body.external_id, "c-1");
      assertEquals(body.mobile_phone, "+14155550134");
      assertEquals(body.account, undefined);
      assertMatch(body.updated_at, /^\d{4}-/);
      assertEquals((await api(server, "/api/contacts/nope")).status, 404);
    });

    await t.step("search finds by name, email and any phone format", async () => {
      await (await api(server, "/api/contacts/c-2", {
        method: "PUT",
        body: JSON.stringify({
          first_name: "Grace",
          last_name: "Hopper",
          work_email: "grace@navy.mil",
        }),
      })).body?.cancel();
      for (const q of ["ada", "ADA", "(415) 555-0134", "+14155550134", "415.555.0134"]) {
        const response = await api(server, `/api/contacts?q=${encodeURIComponent(q)}`);
        const ids = (await response.json()).contacts.map((c: { external_id: string }) =>
          c.external_id
        );
        assertEquals(ids, ["c-1"], q);
      }
      const byName = await (await api(server, "/api/contacts?q=grace%20HOP")).json();
      assertEquals(byName.contacts.map((c: { external_id: string }) => c.external_id), ["c-2"]);
      const byEmail = await (await api(server, "/api/contacts?q=navy.mil")).json();
      assertEquals(byEmail.contacts.map((c: { external_id: string }) => c.external_id), ["c-2"]);
      const wildcard = await (await api(server, "/api/contacts?q=%25")).json();
      assertEquals(wildcard.contacts, [], "LIKE wildcards are searched literally");
    });

    await t.step(
      "DELETE removes the contact and its numbers; its calls stay unlinked",
      async () => {
        const call = await postSigned(
          server.url,
          SECRET,
          callEventBody({ callId: "call-of-c1", prospectExternalId: "c-1" }),
        );
        assertEquals(call.status, 200);
        await call.body?.cancel();
        const deleted = await api(server, "/api/contacts/c-1", { method: "DELETE" });
        assertEquals(deleted.status, 204);
        assertEquals((await api(server, "/api/contacts/c-1", { method: "DELETE" })).status, 404);
        const lookup = await fetch(
          `${server.url}/symbo/lookup?number=%2B14155550134&token=${TOKEN}`,
        );
        assertEquals(lookup.status, 404);
        await lookup.body?.cancel();
        const stored = await (await api(server, "/api/calls/call-of-c1")).json();
        assertEquals(stored.call.contact_external_id, null);
      },
    );
  } finally {
    await server.stop();
  }
});

Deno.test("admin calls API: filters, cursor pages, change feed and CSV export", async (t) => {
  const server = await adminServer();
  try {
    for (let i = 0; i < 25; i++) {
      const response = await postSigned(
        server.url,
        SECRET,
        callEventBody({
          callId: `call-${String(i).padStart(2, "0")}`,
          disposition: i % 2 === 0 ? "answered_positive" : "no_answer",
          prospectExternalId: i < 5 ? "contact-a" : "",
          note: i === 3 ? '=HYPERLINK("http://evil")' : "",
        }),
      );
      assertEquals(response.status, 200);
      await response.body?.cancel();
    }

    await t.step("list pages through every call exactly once", async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor ? `&cursor=${cursor}` : "";
        const page = await (await api(server, `/api/calls?limit=10${query}`)).json();
        seen.push(...page.calls.map((c: { id: string }) => c.id));
        cursor = page.next_cursor;
      } while (cursor);
      assertEquals(seen.length, 25);
      assertEquals(new Set(seen).size, 25);
    });

    await t.step("filters by contact and disposition", async () => {
      const byContact = await (await api(server, "/api/calls?contact=contact-a")).json();
      assertEquals(byContact.calls.length, 5);
      const byDisposition = await (await api(server, "/api/calls?disposition=no_answer")).json();
      assertEquals(byDisposition.calls.length, 12);
      const future = await (await api(server, "/api/calls?from=2999-01-01T00:00:00Z")).json();
      assertEquals(future.calls.length, 0);
    });

    await t.step("the change feed misses nothing under concurrent writes", async () => {
      const collected = new Map<string, number>();
      let cursor = "";
      const pull = async () => {
        const feed = await (await api(server, `/api/calls?since=${cursor}&limit=7`)).json();
        for (const call of feed.calls) collected.set(call.id, call.change_seq);
        cursor = feed.cursor;
        return feed.calls.length;
      };
      const writers = (async () => {
        const sends = [];
        for (let i = 0; i < 60; i++) {
          sends.push(
            postSigned(
              server.url,
              SECRET,
              callEventBody({
                callId: `feed-${i % 30}`,
                eventId: `feed-event-${i}`,
                updatedAt: `2024-02-01T00:00:${String(i % 60).padStart(2, "0")}.000Z`,
              }),
            ).then((r) => r.body?.cancel()),
          );
        }
        await Promise.all(sends);
      })();
      let done = false;
      void writers.then(() => done = true);
      while (!done) await pull();
      while ((await pull()) > 0) { /* drain */ }
      for (let i = 0; i < 30; i++) assert(collected.has(`feed-${i}`), `feed-${i}`);
      for (let i = 0; i < 25; i++) assert(collected.has(`call-${String(i).padStart(2, "0")}`));
      const last = await (await api(server, `/api/calls?since=${cursor}`)).json();
      assertEquals(last.calls, []);
      assertEquals(last.cursor, cursor);
    });

    await t.step("the CSV export neutralizes formula cells", async () => {
      const response = await api(server, "/api/calls.csv?contact=contact-a");
      assertEquals(response.status, 200);
      assertEquals(response.headers.get("content-type"), "text/csv; charset=utf-8");
      const text = await response.text();
      const lines = text.trim().split("\r\n");
      assertEquals(lines.length, 6);
      assertMatch(lines[0] ?? "", /^id,contact_external_id,/);
      assert(text.includes(`"'=HYPERLINK(""http://evil"")"`), text);
    });

    await t.step(
      "the CSV export writes objects as JSON and neutralizes formulas after blanks",
      async () => {
        const response = await postSigned(
          server.url,
          SECRET,
          callEventBody({
            callId: "call-csv",
            prospectExternalId: "contact-csv",
            extra: {
              note: { text: "call back", tags: ["a", "b"] },
              recording_url: "\u00A0\u200B=cmd|' /C calc'!A0",
              total_talk_time_millis: "\uFF0B1+1",
            },
          }),
        );
        assertEquals(response.status, 200);
        await response.body?.cancel();
        const csv = await (await api(server, "/api/calls.csv?contact=contact-csv")).text();
        const row = csv.trimEnd().split("\r\n")[1] ?? "";
        assert(row.includes(`"{""text"":""call back"",""tags"":[""a"",""b""]}"`), row);
        assert(!row.includes("[object Object]"), row);
        assert(row.includes(`,'\u00A0\u200B=cmd|' /C calc'!A0,`), row);
        assert(row.endsWith(`,'\uFF0B1+1`), row);
      },
    );

    await t.step(
      "pages name omitted fields and link each call; an event body is served exactly",
      async () => {
        const page = await (await api(server, "/api/calls?contact=contact-csv")).json();
        assertEquals(page.calls.length, 1);
        assertEquals(page.calls[0].omitted_fields, []);
        assertEquals(page.calls[0].url, "/api/calls/call-csv");
        const found = await (await api(server, page.calls[0].url)).json();
        const [event] = found.events;
        assertEquals(event.body_omitted, false);
        assertEquals(event.flags, []);
        const raw = await api(
          server,
          `/api/calls/call-csv/events/${encodeURIComponent(event.event_key)}`,
        );
        assertEquals(raw.status, 200);
        assertEquals(raw.headers.get("content-type"), "application/json; charset=utf-8");
        const text = await raw.text();
        assertEquals(new TextEncoder().encode(text).length, event.body_bytes);
        assertEquals(JSON.parse(text), event.body);
        const missing = await api(server, "/api/calls/call-csv/events/nope");
        assertEquals(missing.status, 404);
        await missing.body?.cancel();
      },
    );
  } finally {
    await server.stop();
  }
});
