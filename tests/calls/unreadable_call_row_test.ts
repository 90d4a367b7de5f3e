/**
 * One call row whose data SQLite's JSON functions cannot read (nested 1,001
 * deep, stored before such events were refused) never fails a page of the
 * feed, the list, the console's search or the CSV export (issue 20, item 5).
 */
import { assertEquals } from "../helpers/assert.ts";
import { exportCalls } from "../../src/calls/call_export.ts";
import { callChanges, listCalls } from "../../src/calls/call_list.ts";
import { searchCalls } from "../../src/calls/call_search.ts";
import { openStore, type Store } from "../../src/store/open_store.ts";

const T0 = Date.UTC(2026, 10, 20, 12);
const DEEP = "[".repeat(1001) + "]".repeat(1001);

async function withRows(work: (store: Store) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-unreadable-" });
  const store = await openStore({ url: `file:${dir}/crm.db` });
  const rows: [string, string][] = [
    ["a", JSON.stringify({ note: "demo booked" })],
    ["small-deep", `{"note":"demo too","deep":${DEEP}}`],
    ["large-deep", `{"note":"demo large","pad":"${"x".repeat(100_000)}","deep":${DEEP}}`],
    ["d", JSON.stringify({ note: "another demo" })],
  ];
  try {
    await store.write(async (db) => {
      for (const [i, [id, data]] of rows.entries()) {
        await db.run(
          `INSERT INTO calls (id, data, order_received_ms, order_seq, first_seen_at,
             last_event_at, change_seq) VALUES (?, ?, ?, ?, ?, ?, ?)`,
          [id, data, T0 + i, i + 1, T0 + i, T0 + i, i + 1],
        );
      }
    });
    await work(store);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a call SQLite cannot read fails no page of the feed, list, search or export", async (t) => {
  await withRows(async (store) => {
    await t.step("the change feed and the list answer every row", async () => {
      const feed = await callChanges(store.reader, null, 100);
      assertEquals(feed.calls.map((c) => c.id), ["a", "small-deep", "large-deep", "d"]);
      const large = feed.calls.find((c) => c.id === "large-deep");
      assertEquals(large?.data_unreadable, true);
      assertEquals(large?.data, {});
      const list = await listCalls(store.reader, {}, 100, null);
      assertEquals(list.calls.length, 4);
    });
    await t.step("the console's note search skips the unreadable rows", async () => {
      const found = await searchCalls(store.reader, { note: "demo" }, 50, null);
      assertEquals(found.calls.map((c) => c.id), ["d", "a"]);
    });
    await t.step("the CSV export writes every row, empty cells for the unreadable", async () => {
      const notes: [string, unknown][] = [];
      for await (const row of exportCalls(store.reader, {}, ["note"])) {
        notes.push([row.call.id, row.fields.note]);
      }
      assertEquals(notes, [
        ["a", "demo booked"],
        ["small-deep", undefined],
        ["large-deep", undefined],
        ["d", "another demo"],
      ]);
    });
  });
});
