/**
 * A call's history comes a page at a time, newest page first, bounded in rows
 * and bytes (issue 20, item 9: 39,128 events for one call made its page and
 * `GET /api/calls/:id` run for 30 s).
 */
import assert from "node:assert/strict";
import { type Client, createClient } from "@libsql/client";
import { applyEventInTransaction } from "../../src/calls/apply_event.ts";
import { classifyEvent } from "../../src/calls/call_event.ts";
import {
  getCallWithHistory,
  HISTORY_BODY_COUNT,
  HISTORY_META_BYTES,
  HistoryCursorError,
} from "../../src/calls/call_queries.ts";
import { migrate } from "../../src/store/migrations.ts";
import { clientWriteTransactions } from "../../src/store/write_transaction.ts";

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);

async function withStore(fn: (client: Client) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-history-" });
  const client = createClient({ url: `file:${dir}/t.db` });
  try {
    await migrate(client);
    await fn(client);
  } finally {
    client.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function deliver(client: Client, n: number, eventId: string): Promise<void> {
  const bodyText = JSON.stringify({
    id: eventId,
    object: "Call",
    event: "call:updated",
    data: { id: "c1", note: `update ${n}` },
  });
  const outcome = await applyEventInTransaction(
    clientWriteTransactions(client),
    classifyEvent(bodyText),
    // Two events share each receipt millisecond: the audit sequence orders them.
    { receivedAt: new Date(T0 + Math.floor(n / 2)), auditSeq: n, bodyText, bodySha256: `s${n}` },
  );
  assert.equal(outcome.status, "applied");
}

const noteOf = (event: { body: unknown }) => (event.body as { data: { note: string } }).data.note;

Deno.test("a call's history pages newest first, each page in arrival order, until the first event", async () => {
  await withStore(async (client) => {
    for (let n = 1; n <= 250; n++) await deliver(client, n, `e${n}`);
    const first = await getCallWithHistory(client, "c1");
    assert.ok(first);
    assert.equal(first.events.length, 100, "the default page");
    assert.equal(first.events_total, 250);
    assert.deepEqual(
      [noteOf(first.events[0]!), noteOf(first.events[99]!)],
      ["update 151", "update 250"],
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 10; pages++) {
      const page: Awaited<ReturnType<typeof getCallWithHistory>> = await getCallWithHistory(
        client,
        "c1",
        undefined,
        { limit: 40, cursor },
      );
      assert.ok(page);
      seen.unshift(...page.events.map(noteOf));
      cursor = page.events_next_cursor;
      if (cursor === null) break;
    }
    assert.deepEqual(seen, Array.from({ length: 250 }, (_, i) => `update ${i + 1}`));
    const large = await getCallWithHistory(client, "c1", undefined, { limit: 250, cursor: null });
    assert.equal(large?.events.filter((e) => !e.body_omitted).length, HISTORY_BODY_COUNT);
    assert.equal(large?.events.at(-1)?.body_omitted, false, "the newest have their bodies");
    assert.equal(large?.events[0]?.body_omitted, true);
    await assert.rejects(
      getCallWithHistory(client, "c1", undefined, { limit: 10, cursor: "bm9wZQ" }),
      HistoryCursorError,
    );
  });
});

Deno.test("a page of history stops at its metadata byte bound", async () => {
  await withStore(async (client) => {
    // Event ids are the client's: 200 KB each.
    for (let n = 1; n <= 12; n++) await deliver(client, n, `${n}-`.padEnd(200_000, "x"));
    const page = await getCallWithHistory(client, "c1", undefined, { limit: 1000, cursor: null });
    assert.ok(page);
    const bytes = page.events.reduce((sum, e) => sum + e.event_key.length + e.event_id!.length, 0);
    assert.ok(page.events.length < 12, `${page.events.length} events`);
    assert.ok(bytes <= HISTORY_META_BYTES + 400_000, `${bytes} bytes`);
    assert.notEqual(page.events_next_cursor, null);
  });
});
