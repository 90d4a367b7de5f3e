import { join } from "node:path";
import { assertEquals } from "../helpers/assert.ts";
import { openStore } from "../../src/store/open_store.ts";

Deno.test("a new store file uses 16 KB pages (a ~2 KB call row would waste half a 4 KB page)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-page-size-" });
  const url = `file:${join(dir, "crm.db")}`;
  const created = await openStore({ url });
  try {
    assertEquals((await created.client.execute("PRAGMA page_size")).rows[0]?.[0], 16384);
  } finally {
    created.close();
  }
  // Reopening keeps it (and never tries to change an existing file's page size).
  const reopened = await openStore({ url });
  try {
    assertEquals((await reopened.client.execute("PRAGMA page_size")).rows[0]?.[0], 16384);
  } finally {
    reopened.close();
  }
});
