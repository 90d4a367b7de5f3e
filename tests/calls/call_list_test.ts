/**
 * Specification of call pages bounded in bytes (`src/calls/call_list.ts`), the
 * CSV export reader (`src/calls/call_export.ts`) and the bounded history
 * (`src/calls/call_queries.ts`).
 */
import assert from "node:assert/strict";
import { type Client, createClient } from "@libsql/client";
import { applyEventInTransaction } from "../../src/calls/apply_event.ts";
import { classifyEvent } from "../../src/calls/call_event.ts";
import { exportCalls } from "../../src/calls/call_export.ts";
import {
  allCalls,
  CALL_SUMMARY_BYTES,
  callChanges,
  FIELD_INLINE_BYTES,
  listCalls,
  PAGE_BYTES,
} from "../../src/calls/call_list.ts";
import {
  EVENT_BODY_INLINE_BYTES,
  getCallEventBody,
  getCallWithHistory,
} from "../../src/calls/call_queries.ts";
import { migrate } from "../../src/store/migrations.ts";
import { clientExecutor, type SqlExecutor } from "../../src/store/sql.ts";
import { clientWriteTransactions } from "../../src/store/write_transaction.ts";

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);

async function withStore(fn: (client: Client, db: SqlExecutor) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-call-list-" });
  const client = createClient({ url: `file:${dir}/t.db` });
  try {
    await migrate(client);
    await fn(client, clientExecutor(client));
  } finally {
    client.close();
    await Deno.remove(dir, { recursive: true });
  }
}

let seq = 0;

async function deliver(client: Client, data: Record<string, unknown>): Promise<void> {
  seq++;
  const bodyText = JSON.stringify({ id: `e${seq}`, object: "Call", event: "call:updated", data });
  const outcome = await applyEventInTransaction(
    clientWriteTransactions(client),
    classifyEvent(bodyText),
    {
      receivedAt: new Date(T0 + seq),
      auditSeq: seq,
      bodyText,
      bodySha256: `sha-${seq}`,
    },
  );
  assert.equal(outcome.status, "applied");
}

Deno.test("a field larger than the inline limit is left out of pages and named", async () => {
  await withStore(async (client, db) => {
    const big = "x".repeat(FIELD_INLINE_BYTES + 10);
    await deliver(client, { id: "c1", note: "short", transcription: big, n: 1, ok: true });
    await deliver(client, { id: "c2", note: "small" });
    for (
      const page of [
        (await listCalls(db, {}, 10, null)).calls,
        (await callChanges(db, null, 10)).calls,
      ]
    ) {
      const c1 = page.find((call) => call.id === "c1");
      assert.deepEqual(c1?.data, { id: "c1", note: "short", n: 1, ok: true });
      assert.deepEqual(c1?.omitted_fields, ["transcription"]);
      assert.equal(c1?.url, "/api/calls/c1");
      const c2 = page.find((call) => call.id === "c2");
      assert.deepEqual(c2?.data, { id: "c2", note: "small" });
      assert.deepEqual(c2?.omitted_fields, []);
    }
    const whole = await getCallWithHistory(client, "c1");
    assert.equal(whole?.call.data.transcription, big, "the call itself has every field");
  });
});

Deno.test("a call brings at most CALL_SUMMARY_BYTES of data into a page", async () => {
  await withStore(async (client, db) => {
    const fieldBytes = FIELD_INLINE_BYTES - 100;
    const fields = Math.ceil(CALL_SUMMARY_BYTES / fieldBytes) + 1;
    const data: Record<string, unknown> = { id: "wide" };
    for (let i = 0; i < fields; i++) data[`f${i}`] = "y".repeat(fieldBytes - 2);
    await deliver(client, data);
    const [call] = (await listCalls(db, {}, 10, null)).calls;
    assert.ok(call);
    assert.ok(JSON.stringify(call.data).length <= CALL_SUMMARY_BYTES + 1024);
    assert.ok(call.omitted_fields.length >= 1);
    assert.equal(Object.keys(call.data).length + call.omitted_fields.length, fields + 1);
  });
});

Deno.test("a page stops at PAGE_BYTES and its cursor continues where it stopped", async () => {
  await withStore(async (client, db) => {
    const noteBytes = FIELD_INLINE_BYTES - 200;
    const count = Math.ceil(PAGE_BYTES / noteBytes) + 10;
    for (let i = 0; i < count; i++) {
      await deliver(client, { id: `c${String(i).padStart(3, "0")}`, note: "z".repeat(noteBytes) });
    }
    const first = await listCalls(db, {}, 1000, null);
    assert.ok(first.calls.length < count, `${first.calls.length} calls in the first page`);
    assert.ok(JSON.stringify(first).length <= PAGE_BYTES + CALL_SUMMARY_BYTES + 64 * 1024);
    assert.notEqual(first.next_cursor, null);
    const second = await listCalls(db, {}, 1000, first.next_cursor);
    assert.equal(second.next_cursor, null);
    const ids = [...first.calls, ...second.calls].map((call) => call.id);
    assert.equal(new Set(ids).size, count, "every call exactly once");

    const feed1 = await callChanges(db, null, 1000);
    assert.ok(feed1.calls.length < count);
    const feed2 = await callChanges(db, feed1.cursor, 1000);
    const feed3 = await callChanges(db, feed2.cursor, 1000);
    assert.equal(feed1.calls.length + feed2.calls.length, count);
    assert.deepEqual(feed3.calls, []);
  });
});

Deno.test("the row limit still applies, and an exactly full last page has no next cursor", async () => {
  await withStore(async (client, db) => {
    for (let i = 0; i < 4; i++) await deliver(client, { id: `c${i}` });
    const page = await listCalls(db, {}, 2, null);
    assert.deepEqual(page.calls.map((call) => call.id), ["c3", "c2"]);
    const last = await listCalls(db, {}, 2, page.next_cursor);
    assert.deepEqual(last.calls.map((call) => call.id), ["c1", "c0"]);
    assert.equal(last.next_cursor, null);
    const all = [];
    for await (const call of allCalls(db, {}, 3)) all.push(call.id);
    assert.deepEqual(all, ["c0", "c1", "c2", "c3"]);
  });
});

Deno.test("the export reader streams the asked fields, large ones read alone, exactly", async () => {
  await withStore(async (client, db) => {
    const big = "w".repeat(200 * 1024);
    await deliver(client, { id: "c1", note: big, meta: { a: [1, 2] }, n: 12345678901234567890 });
    await deliver(client, { id: "c2", note: "small", "odd key": "v" });
    await db.run(
      "UPDATE calls SET data = ? WHERE id = 'c1'",
      ['{"id":"c1","note":"' + big + '","meta":{"a":[1,2]},"n":12345678901234567890}'],
    );
    const rows = [];
    for await (const row of exportCalls(db, {}, ["note", "meta", "n", "odd key", "missing"])) {
      rows.push(row);
    }
    assert.deepEqual(rows.map((row) => row.call.id), ["c1", "c2"]);
    assert.equal(rows[0]?.fields.note, big);
    assert.deepEqual(rows[0]?.fields.meta, { a: [1, 2] });
    assert.equal(JSON.stringify(rows[0]?.fields.n), "12345678901234567890");
    assert.equal(rows[0]?.fields.missing, undefined);
    assert.equal(rows[1]?.fields["odd key"], "v");
    assert.deepEqual(rows[1]?.call.data, {}, "the export never reads whole data");
  });
});

Deno.test("a call's history leaves out large bodies; each can be read alone", async () => {
  await withStore(async (client) => {
    await deliver(client, { id: "c1", note: "small" });
    await deliver(client, { id: "c1", note: "v".repeat(EVENT_BODY_INLINE_BYTES) });
    const found = await getCallWithHistory(client, "c1");
    assert.ok(found);
    const [small, large] = found.events;
    assert.equal(small?.body_omitted, false);
    assert.deepEqual((small?.body as { data: unknown }).data, { id: "c1", note: "small" });
    assert.equal(large?.body_omitted, true);
    assert.equal(large?.body, null);
    assert.ok((large?.body_bytes ?? 0) > EVENT_BODY_INLINE_BYTES);
    const text = await getCallEventBody(client, "c1", large?.event_key ?? "");
    assert.equal(text?.length, large?.body_bytes);
    assert.equal(await getCallEventBody(client, "c2", large?.event_key ?? ""), null);
  });
});

Deno.test("fields of a large call keep their JSON values exactly in pages", async () => {
  await withStore(async (client, db) => {
    await deliver(client, { id: "c1", note: "n" });
    const big = "b".repeat(FIELD_INLINE_BYTES + 1);
    await db.run("UPDATE calls SET data = ? WHERE id = 'c1'", [
      `{"id":"c1","big":"${big}","s":"q\\"u\\u0000\\n☎","i":9007199254740993,"huge":123456789012345678901234,` +
      `"r":1.5e-7,"t":true,"f":false,"z":null,"o":{"a":[1,{"b":2}]},"a":[],"neg":-3}`,
    ]);
    const [call] = (await listCalls(db, {}, 10, null)).calls;
    assert.ok(call);
    assert.deepEqual(call.omitted_fields, ["big"]);
    assert.equal(
      JSON.stringify(call.data),
      `{"id":"c1","s":"q\\"u\\u0000\\n☎","i":9007199254740993,"huge":123456789012345678901234,` +
        `"r":1.5e-7,"t":true,"f":false,"z":null,"o":{"a":[1,{"b":2}]},"a":[],"neg":-3}`,
    );
  });
});
