/** The console's call search and the overview's call aggregates. */
import { assertEquals } from "../helpers/assert.ts";
import { searchCalls } from "../../src/calls/call_search.ts";
import { callFacets, callsPerDay, lastEventReceivedAt } from "../../src/calls/call_stats.ts";
import { openStore, type Store } from "../../src/store/open_store.ts";

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 20, 12);

async function seed(store: Store): Promise<void> {
  const calls: [string, string, string, string, string, number][] = [
    ["a", "rep-1", "answered", "outbound", "Wants a DEMO on Tuesday", T0],
    ["b", "rep-2", "voicemail", "outbound", "left a message", T0 + DAY],
    ["c", "rep-1", "answered", "inbound", "demo booked, 50% off", T0 + 2 * DAY],
  ];
  await store.write(async (db) => {
    let seq = 0;
    for (const [id, user, disposition, direction, note, seen] of calls) {
      seq++;
      await db.run(
        `INSERT INTO calls (id, contact_external_id, user_id, direction, disposition, data,
           order_received_ms, order_seq, first_seen_at, last_event_at, change_seq)
         VALUES (?, 'c-1', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [id, user, direction, disposition, JSON.stringify({ note }), seen, seq, seen, seen, seq],
      );
    }
    await db.run(
      `INSERT INTO events (event_key, call_id, received_at, outcome, body) VALUES ('k', 'a', ?, 'applied', '{}')`,
      [T0 + 5],
    );
  });
}

async function withSeededStore(work: (store: Store) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-search-" });
  const store = await openStore({ url: `file:${dir}/crm.db` });
  try {
    await seed(store);
    await work(store);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("call search filters by rep, disposition, direction, dates and every word of the note", async () => {
  await withSeededStore(async (store) => {
    const ids = async (search: Parameters<typeof searchCalls>[1]) =>
      (await searchCalls(store.reader, search, 10, null)).calls.map((c) => c.id);
    assertEquals(await ids({}), ["c", "b", "a"]);
    assertEquals(await ids({ user: "rep-1" }), ["c", "a"]);
    assertEquals(await ids({ disposition: "voicemail" }), ["b"]);
    assertEquals(await ids({ direction: "inbound" }), ["c"]);
    assertEquals(await ids({ from: T0 + DAY, to: T0 + 2 * DAY }), ["b"]);
    assertEquals(await ids({ note: "demo tuesday" }), ["a"]);
    assertEquals(await ids({ note: "50%" }), ["c"], "LIKE wildcards in the words are literal");
  });
});

Deno.test("call search pages with a token until the end", async () => {
  await withSeededStore(async (store) => {
    const first = await searchCalls(store.reader, {}, 2, null);
    assertEquals(first.calls.map((c) => c.id), ["c", "b"]);
    const second = await searchCalls(store.reader, {}, 2, first.next);
    assertEquals(second.calls.map((c) => c.id), ["a"]);
    assertEquals(second.next, null);
  });
});

Deno.test("calls per day count by disposition with empty days present", async () => {
  await withSeededStore(async (store) => {
    const days = await callsPerDay(store.reader, T0 + 3 * DAY, 4);
    assertEquals(days, [
      { day: "2026-11-20", byDisposition: { answered: 1 } },
      { day: "2026-11-21", byDisposition: { voicemail: 1 } },
      { day: "2026-11-22", byDisposition: { answered: 1 } },
      { day: "2026-11-23", byDisposition: {} },
    ]);
    assertEquals(await lastEventReceivedAt(store.reader), T0 + 5);
  });
});

Deno.test("filter choices leave out labels too long to be one", async () => {
  await withSeededStore(async (store) => {
    await store.write((db) =>
      db.run(
        `INSERT INTO calls (id, user_id, disposition, data, order_received_ms, order_seq,
           first_seen_at, last_event_at, change_seq) VALUES ('long', ?, 'answered', '{}', 1, 9, ?, ?, 9)`,
        ["u".repeat(1_000_000), T0 + 3 * DAY, T0 + 3 * DAY],
      )
    );
    const facets = await callFacets(store.reader);
    assertEquals(facets.users, ["rep-1", "rep-2"]);
    assertEquals(facets.dispositions, ["answered", "voicemail"]);
  });
});
