/** POST /api/contacts/batch (issue 19): NDJSON upserts and deletes in one transaction. */
import { assertEquals, assertMatch } from "../helpers/assert.ts";
import { type ServerProcess, startServerProcess } from "../helpers/server_process.ts";

const ADMIN = "admin-token-0123456789abcdef0123456789";

async function server(): Promise<ServerProcess> {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-batch-" });
  return await startServerProcess({
    dir,
    config: {
      database: { url: `file:${dir}/crm.db` },
      audit: { dir: `${dir}/audit` },
      data_dir: dir,
      admin: { tokens: [ADMIN] },
      log: { level: "warning" },
    },
  });
}

function api(s: ServerProcess, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${s.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${ADMIN}`, ...init.headers },
  });
}

const upsert = (i: number) =>
  JSON.stringify({
    op: "upsert",
    contact: { external_id: `b${i}`, first_name: `Name${i}`, work_phone: `+1 646 ${1000000 + i}` },
  });

Deno.test("the batch API applies 10,000 upserts and deletes in one call, and refuses a batch with one bad line", async (t) => {
  const s = await server();
  try {
    await t.step("10,000 upserts, then deletes in the same kind of call", async () => {
      const lines = Array.from({ length: 10_000 }, (_, i) => upsert(i));
      const response = await api(s, "/api/contacts/batch", {
        method: "POST",
        body: lines.join("\n") + "\n",
      });
      assertEquals(response.status, 200);
      assertMatch(response.headers.get("content-type") ?? "", /^application\/json/);
      const body = await response.json();
      assertEquals([body.lines, body.inserted, body.deleted], [10_000, 10_000, 0]);
      const mixed = [
        ...Array.from(
          { length: 5_000 },
          (_, i) => JSON.stringify({ op: "delete", external_id: `b${i}` }),
        ),
        ...Array.from({ length: 5_000 }, (_, i) => upsert(20_000 + i)),
      ];
      const second = await (await api(s, "/api/contacts/batch", {
        method: "POST",
        body: mixed.join("\n"),
      })).json();
      assertEquals([second.deleted, second.inserted], [5_000, 5_000]);
      assertEquals((await api(s, "/api/contacts/b0")).status, 404);
      assertEquals((await api(s, "/api/contacts/b9999")).status, 200);
    });

    await t.step("one bad line changes nothing and is named", async () => {
      const lines = [
        upsert(30_000),
        upsert(30_001),
        '{"op":"upsert","contact":{"external_id":"x"}}',
      ];
      const response = await api(s, "/api/contacts/batch", {
        method: "POST",
        body: lines.join("\n"),
      });
      assertEquals(response.status, 422);
      const body = await response.json();
      assertEquals(body.error, "invalid_batch");
      assertEquals(body.errors[0].line, 3);
      assertMatch(body.message, /line 3/);
      assertEquals((await api(s, "/api/contacts/b30000")).status, 404);
    });

    await t.step("extra numbers an upsert does not name are kept; PUT keeps them too", async () => {
      const response = await api(s, "/api/contacts/batch", {
        method: "POST",
        body: JSON.stringify({
          op: "upsert",
          contact: {
            external_id: "multi",
            first_name: "Mo",
            work_phone: "+1 646 555 0001, +1 646 555 0002",
          },
        }),
      });
      assertEquals(response.status, 200);
      const put = await api(s, "/api/contacts/multi", {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ first_name: "Moe", work_phone: "+1 646 555 0001" }),
      });
      assertEquals(put.status, 200, await put.clone().text());
      const stored = await (await api(s, "/api/contacts/multi")).json();
      assertEquals([stored.first_name, stored.extra_numbers], ["Moe", ["+16465550002"]]);
    });
  } finally {
    await s.stop();
  }
});
