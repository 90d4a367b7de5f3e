/**
 * A signed event nested deeper than the store's JSON functions can read
 * (SQLite stops at 1,000 levels) is refused before it is stored, still
 * audited, and the change feed, the list and the CSV keep answering
 * (issue 20, item 5).
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { callEventBody, postSigned } from "../helpers/events.ts";
import { startServerProcess } from "../helpers/server_process.ts";

const SECRET = "webhook secret for nesting tests";
const ADMIN = "admin-token-nesting-0123456789";

function nested(depth: number): unknown {
  let value: unknown = [];
  for (let i = 1; i < depth; i++) value = [value];
  return value;
}

Deno.test("an event nested 1,001 deep is refused, audited, and breaks no feed, list or CSV", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-nested-" });
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
    return { status: response.status, text: await response.text() };
  };
  try {
    for (const callId of ["before", "deep", "after"]) {
      const extra = callId === "deep" ? { custom: nested(1001) } : {};
      const response = await postSigned(
        server.url,
        SECRET,
        callEventBody({ callId, note: `note of ${callId}`, extra }),
      );
      const text = await response.text();
      if (callId === "deep") {
        assertEquals(response.status, 400, text);
        assertEquals(JSON.parse(text).error, "invalid_event");
        assert(/nest/i.test(JSON.parse(text).message), text);
      } else {
        assertEquals(response.status, 200, text);
      }
    }
    const audit = [];
    for await (const entry of Deno.readDir(`${dir}/audit`)) {
      if (entry.name.endsWith(".jsonl")) {
        audit.push(await Deno.readTextFile(`${dir}/audit/${entry.name}`));
      }
    }
    assertEquals(audit.join("").trimEnd().split("\n").length, 3, "all three are audited");

    const feed = await api("/api/calls?since=");
    assertEquals(feed.status, 200, feed.text);
    assertEquals(JSON.parse(feed.text).calls.map((c: { id: string }) => c.id), [
      "before",
      "after",
    ]);
    const list = await api("/api/calls");
    assertEquals(list.status, 200, list.text);
    assertEquals(JSON.parse(list.text).calls.length, 2);
    const csv = await api("/api/calls.csv");
    assertEquals(csv.status, 200);
    assertEquals(csv.text.trimEnd().split("\r\n").length, 3, csv.text);
    assertEquals((await api("/api/calls/deep")).status, 404);
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
