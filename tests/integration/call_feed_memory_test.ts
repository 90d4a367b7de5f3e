/**
 * The documented call feed, list, export and call view stay within the start
 * task's heap (`--max-old-space-size=192`) when calls carry megabytes of text
 * (issue 13, item 2): 40 calls with a 4.8 MB transcription each, under the
 * default `max_body_bytes`.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { callEventBody, postSigned } from "../helpers/events.ts";
import { type ServerProcess, startServerProcess } from "../helpers/server_process.ts";

const SECRET = "webhook secret for tests";
const ADMIN = "admin-token-0123456789abcdef";
const CALLS = 40;
const TRANSCRIPTION_BYTES = 4_800_000;

function api(server: ServerProcess, path: string): Promise<Response> {
  return fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } });
}

/** A transcription of `bytes` ASCII characters, distinct per call. */
function transcription(i: number, bytes: number): string {
  const line = `Rep ${i}: thanks for taking the call, shall we book the demo? `;
  return line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes);
}

async function expectHealthy(server: ServerProcess): Promise<void> {
  const health = await fetch(`${server.url}/healthz`);
  assertEquals(health.status, 200, `the server is down:\n${server.output.join("\n")}`);
  await health.body?.cancel();
}

Deno.test("calls with megabytes of text: feed, list, CSV and call view answer within the heap cap", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-feed-memory-" });
  const server = await startServerProcess({
    dir,
    config: {
      database: { url: `file:${dir}/crm.db` },
      audit: { dir: `${dir}/audit` },
      data_dir: dir,
      symbo: { webhook_secrets: [SECRET] },
      admin: { tokens: [ADMIN] },
      log: { level: "warning" },
    },
  });
  try {
    for (let i = 0; i < CALLS; i++) {
      const response = await postSigned(
        server.url,
        SECRET,
        callEventBody({
          callId: `big-${String(i).padStart(2, "0")}`,
          note: `note ${i}`,
          extra: { transcription: transcription(i, TRANSCRIPTION_BYTES) },
        }),
      );
      assertEquals(response.status, 200);
      await response.body?.cancel();
    }

    await t.step(
      "the change feed (limit=100) pages through every call, large fields left out",
      async () => {
        const seen = new Set<string>();
        let cursor = "";
        for (let pages = 0; pages < 50; pages++) {
          const response = await api(server, `/api/calls?since=${cursor}&limit=100`);
          assertEquals(response.status, 200);
          const text = await response.text();
          assert(text.length < 8 * 1024 * 1024, `a page of ${text.length} bytes`);
          const feed = JSON.parse(text);
          for (const call of feed.calls) {
            seen.add(call.id);
            assertEquals(call.omitted_fields, ["transcription"]);
            assertEquals(call.data.transcription, undefined);
            assertEquals(
              call.data.note,
              call.id.replace("big-", "note ").replace(/note 0(\d)/, "note $1"),
            );
            assertEquals(call.url, `/api/calls/${call.id}`);
          }
          cursor = feed.cursor;
          if (feed.calls.length === 0) break;
        }
        assertEquals(seen.size, CALLS);
      },
    );
    await expectHealthy(server);

    await t.step(
      "the filtered list (limit=100, and limit=20) pages through every call",
      async () => {
        for (const limit of [100, 20]) {
          const seen = new Set<string>();
          let cursor: string | null = null;
          for (let pages = 0; pages < 50; pages++) {
            const query: string = cursor === null ? "" : `&cursor=${cursor}`;
            const response = await api(server, `/api/calls?limit=${limit}${query}`);
            assertEquals(response.status, 200);
            const page = await response.json();
            for (const call of page.calls) seen.add(call.id);
            cursor = page.next_cursor;
            if (cursor === null) break;
          }
          assertEquals(seen.size, CALLS, `limit=${limit}`);
        }
      },
    );
    await expectHealthy(server);

    await t.step("the CSV export streams every call", async () => {
      const response = await api(server, "/api/calls.csv");
      assertEquals(response.status, 200);
      const text = await response.text();
      const lines = text.trimEnd().split("\r\n");
      assertEquals(lines.length, CALLS + 1);
      assert(lines[1]?.includes("note 0"), lines[1] ?? "no line");
    });
    await expectHealthy(server);

    await t.step("one call answers with its full transcription", async () => {
      const response = await api(server, "/api/calls/big-07");
      assertEquals(response.status, 200);
      const found = await response.json();
      assertEquals(found.call.data.transcription, transcription(7, TRANSCRIPTION_BYTES));
      assertEquals(found.events.length, 1);
      const [event] = found.events;
      assertEquals(event.body_omitted, true, "a 4.8 MB body is left out of the history");
      assertEquals(event.body, null);
      const raw = await api(
        server,
        `/api/calls/big-07/events/${encodeURIComponent(event.event_key)}`,
      );
      assertEquals(raw.status, 200);
      const body = JSON.parse(await raw.text());
      assertEquals(body.data.transcription, transcription(7, TRANSCRIPTION_BYTES));
    });
    await expectHealthy(server);
  } finally {
    await server.stop();
  }
});
