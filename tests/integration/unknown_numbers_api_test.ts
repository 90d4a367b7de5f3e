/** The unknown-numbers admin API and the OpenAPI document, over HTTP against the real server. */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { eventually } from "../helpers/eventually.ts";
import { startServerProcess } from "../helpers/server_process.ts";

const ADMIN = "admin-token-unknown-0123456789";
const TOKEN = "lookup-token-unknown-0123456789";

Deno.test("lookups that miss are listed by /api/unknown-numbers and its CSV", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-unknown-api-" });
  const server = await startServerProcess({
    dir,
    config: {
      data_dir: dir,
      database: { url: `file:${dir}/crm.db` },
      audit: { dir: `${dir}/audit` },
      symbo: { lookup_tokens: [TOKEN] },
      admin: { tokens: [ADMIN] },
      log: { level: "warning" },
    },
  });
  const admin = (path: string) =>
    fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } });
  try {
    for (const number of ["%2B14155550177", "(415)%20555-0177", "%2B442079460958"]) {
      const response = await fetch(`${server.url}/symbo/lookup?number=${number}&token=${TOKEN}`);
      assertEquals(response.status, 404);
      await response.body?.cancel();
    }
    // Recorded in memory and written by the background flusher (every 5 s).
    let body: { numbers: { number: string; count: number }[]; total: number } | null = null;
    await eventually("the unknown numbers are written", 15_000, async () => {
      const response = await admin("/api/unknown-numbers?limit=1");
      body = await response.json();
      return body !== null && body.total === 2;
    }, 250);
    assertEquals(body!.numbers.length, 1, "paged by limit");
    const all = await (await admin("/api/unknown-numbers")).json();
    assertEquals(
      all.numbers.map((n: { number: string; count: number }) => [n.number, n.count]).sort(),
      [["+14155550177", 2], ["+442079460958", 1]],
    );
    const csv = await admin("/api/unknown-numbers.csv");
    assertEquals(csv.headers.get("content-type"), "text/csv; charset=utf-8");
    const text = await csv.text();
    assertMatch(text, /^number,count,first_seen_at,last_seen_at\r\n/);
    assertMatch(text, /'\+14155550177,2,/);

    const refused = await fetch(`${server.url}/api/unknown-numbers`);
    assertEquals(refused.status, 401);
    await refused.body?.cancel();
    const invalid = await admin("/api/unknown-numbers?limit=0");
    assertEquals(invalid.status, 400);
    assertMatch((await invalid.json()).message, /limit/);

    const openapi = await fetch(`${server.url}/api/openapi.json`);
    assertEquals(openapi.status, 200);
    const doc = await openapi.json();
    assertEquals(doc.openapi, "3.1.0");
    assert(doc.paths["/api/unknown-numbers"], "the document describes the route");
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
