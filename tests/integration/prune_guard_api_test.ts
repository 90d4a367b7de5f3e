/** The prune guard on the HTTP import (issue 19): refused with 422 and how to force it; force_prune=true goes through. */
import { assertEquals, assertMatch } from "../helpers/assert.ts";
import { startServerProcess } from "../helpers/server_process.ts";

const ADMIN = "admin-token-0123456789abcdef0123456789";

Deno.test("POST /api/contacts/import?prune=true refuses a cut-off export; force_prune=true applies it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-prune-api-" });
  const server = await startServerProcess({
    dir,
    config: {
      database: { url: `file:${dir}/crm.db` },
      audit: { dir: `${dir}/audit` },
      data_dir: dir,
      admin: { tokens: [ADMIN] },
      log: { level: "warning" },
    },
  });
  const post = (query: string, ids: number[]) =>
    fetch(`${server.url}/api/contacts/import?${query}`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "text/csv" },
      body: "external_id,first_name\n" + ids.map((i) => `g${i},N${i}`).join("\n") + "\n",
    });
  try {
    assertEquals((await (await post("", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])).json()).inserted, 10);
    const refused = await post("prune=true", [0, 1]);
    assertEquals(refused.status, 422);
    const body = await refused.json();
    assertEquals(body.error, "prune_refused");
    assertMatch(body.message, /would delete 8 of the 10 stored contacts/);
    assertMatch(body.message, /force_prune=true/);
    const kept = await fetch(`${server.url}/api/contacts/g9`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    assertEquals(kept.status, 200, "nothing was written");
    await kept.body?.cancel();
    const forced = await post("prune=true&force_prune=true", [0, 1]);
    assertEquals(forced.status, 200);
    assertEquals((await forced.json()).pruned, 8);
  } finally {
    await server.stop();
  }
});
