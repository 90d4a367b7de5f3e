/**
 * Where event bodies live (issue 15): events applied from an audit line keep
 * no copy in the store, events applied without one (and rows written before
 * migration 9) keep theirs, and history reads each from where it is.
 */
import assert from "node:assert/strict";
import { type Client, createClient } from "@libsql/client";
import type { AuditBodySource, BodyLookup, WantedBody } from "../../src/audit/audit_line_lookup.ts";
import { applyEventInTransaction } from "../../src/calls/apply_event.ts";
import { classifyEvent } from "../../src/calls/call_event.ts";
import {
  EventBodyUnavailableError,
  getCallEventBody,
  getCallWithHistory,
} from "../../src/calls/call_queries.ts";
import { migrate, MIGRATIONS } from "../../src/store/migrations.ts";
import { clientWriteTransactions } from "../../src/store/write_transaction.ts";

async function withClient(fn: (client: Client) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  const client = createClient({ url: `file:${dir}/t.db` });
  try {
    await fn(client);
  } finally {
    client.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function body(eventId: string, note: string): string {
  return JSON.stringify({
    id: eventId,
    object: "Call",
    description: "call.updated",
    data: { id: "call-1", note, updated_at: "2024-01-11T20:19:40.000Z" },
  });
}

/** An audit folder stand-in holding the given seq → body lines. */
function fakeAudit(instance: string, lines: ReadonlyMap<number, string>): AuditBodySource {
  return {
    instance,
    read: (wanted: readonly WantedBody[]) => {
      const found = new Map<number, BodyLookup>();
      for (const { seq } of wanted) {
        const text = lines.get(seq);
        found.set(
          seq,
          text === undefined
            ? { found: false, code: "removed", reason: `audit line seq ${seq} is gone` }
            : { found: true, body: text },
        );
      }
      return Promise.resolve(found);
    },
  };
}

async function apply(client: Client, text: string, seq: number, auditInstance?: string) {
  return await applyEventInTransaction(clientWriteTransactions(client), classifyEvent(text), {
    receivedAt: new Date(1_700_000_000_000 + seq),
    auditSeq: seq,
    bodyText: text,
    bodySha256: `sha-${seq}`,
    ...(auditInstance !== undefined ? { auditInstance } : {}),
  });
}

Deno.test("an event applied from an audit line stores no body, and history reads it from the line", async () => {
  await withClient(async (client) => {
    await migrate(client);
    const text = body("e1", "from the log ✓");
    assert.equal((await apply(client, text, 7, "inst-a")).status, "applied");
    const row =
      (await client.execute("SELECT body, body_bytes, audit_instance FROM events")).rows[0];
    assert.equal(row?.body, "");
    assert.equal(row?.body_bytes, new TextEncoder().encode(text).length);
    assert.equal(row?.audit_instance, "inst-a");

    const here = fakeAudit("inst-a", new Map([[7, text]]));
    const found = await getCallWithHistory(client, "call-1", here);
    assert.deepEqual(found?.events[0]?.body, JSON.parse(text));
    assert.equal(found?.events[0]?.body_unavailable, null);
    assert.equal(await getCallEventBody(client, "call-1", "id:e1", here), text);
  });
});

Deno.test("a body in another instance's audit folder, or in a removed line, is null with the reason", async () => {
  await withClient(async (client) => {
    await migrate(client);
    await apply(client, body("e1", "one"), 1, "inst-a");
    const elsewhere = await getCallWithHistory(client, "call-1", fakeAudit("inst-b", new Map()));
    assert.equal(elsewhere?.events[0]?.body, null);
    assert.equal(elsewhere?.events[0]?.body_omitted, false);
    assert.match(elsewhere?.events[0]?.body_unavailable ?? "", /audit log of instance inst-a/);
    await assert.rejects(
      getCallEventBody(client, "call-1", "id:e1", fakeAudit("inst-b", new Map())),
      (error) => error instanceof EventBodyUnavailableError && error.code === "elsewhere",
    );

    const gone = await getCallWithHistory(client, "call-1", fakeAudit("inst-a", new Map()));
    assert.match(gone?.events[0]?.body_unavailable ?? "", /audit line seq 1 is gone/);
    await assert.rejects(
      getCallEventBody(client, "call-1", "id:e1", fakeAudit("inst-a", new Map())),
      (error) => error instanceof EventBodyUnavailableError && error.code === "removed",
    );
  });
});

Deno.test("migration 9 keeps the bodies of events stored before it readable", async () => {
  await withClient(async (client) => {
    // A store as version 3 left it, with one event and its call.
    for (const migration of MIGRATIONS.filter((m) => m.version <= 3)) {
      await client.batch([...migration.statements, `PRAGMA user_version = ${migration.version}`]);
    }
    const text = body("old", "stored before migration 9");
    await client.execute({
      sql: `INSERT INTO events (event_key, event_id, event_type, object, call_id, audit_seq,
        received_at, outcome, body, body_sha256) VALUES ('id:old', 'old', 'call.updated', 'Call',
        'call-1', 1, 1700000000000, 'applied', ?, 'sha-old')`,
      args: [text],
    });
    await client.execute(`INSERT INTO calls (id, order_received_ms, order_seq, data, first_seen_at,
      last_event_at, change_seq) VALUES ('call-1', 1700000000000, 1, '{"id":"call-1"}',
      1700000000000, 1700000000000, 1)`);

    await migrate(client);
    await apply(client, body("new", "after migration 9"), 2, "inst-a");
    const found = await getCallWithHistory(
      client,
      "call-1",
      fakeAudit("inst-a", new Map([[2, body("new", "after migration 9")]])),
    );
    assert.deepEqual(found?.events.map((e) => [e.event_key, e.body_bytes]), [
      ["id:old", new TextEncoder().encode(text).length],
      ["id:new", new TextEncoder().encode(body("new", "after migration 9")).length],
    ]);
    assert.deepEqual(found?.events[0]?.body, JSON.parse(text));
    assert.deepEqual(found?.events[1]?.body, JSON.parse(body("new", "after migration 9")));
    // Read from the store, without an audit folder at all.
    assert.equal(await getCallEventBody(client, "call-1", "id:old"), text);
  });
});
