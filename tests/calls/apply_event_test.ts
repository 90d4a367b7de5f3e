/**
 * Specification of applying webhook events to the store (`src/calls/apply_event.ts`)
 * and reading a call back with its history (`src/calls/call_queries.ts`).
 */
import assert from "node:assert/strict";
import { type Client, createClient } from "@libsql/client";
import { applyEventInTransaction, type ApplyOutcome } from "../../src/calls/apply_event.ts";
import { classifyEvent } from "../../src/calls/call_event.ts";
import { type CallWithHistory, getCallWithHistory } from "../../src/calls/call_queries.ts";
import { migrate } from "../../src/store/migrations.ts";
import { clientExecutor } from "../../src/store/sql.ts";
import { emptyContact } from "../../src/contacts/contact.ts";
import { saveContact } from "../../src/contacts/contact_store.ts";
import { clientWriteTransactions } from "../../src/store/write_transaction.ts";
import { callEventBody } from "../helpers/events.ts";

const GUIDE_FIXTURE = new URL("../fixtures/symbo_guide_call_created.json", import.meta.url);
const GUIDE_CALL_ID = "2dc92583-0376-469b-9909-3a020b75d777";
const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);

/** Runs `fn` against a freshly migrated store in its own temp folder. */
async function withStore(fn: (client: Client) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-calls-" });
  const client = createClient({ url: `file:${dir}/t.db` });
  try {
    await migrate(client);
    await fn(client);
  } finally {
    client.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Applies a body as the webhook would, received at `T0 + seq` seconds unless told. */
async function deliver(
  client: Client,
  body: unknown,
  seq: number,
  receivedMs = T0 + seq * 1000,
): Promise<ApplyOutcome> {
  const bodyText = typeof body === "string" ? body : JSON.stringify(body);
  return await applyEventInTransaction(clientWriteTransactions(client), classifyEvent(bodyText), {
    receivedAt: new Date(receivedMs),
    auditSeq: seq,
    bodyText,
    bodySha256: await sha256Hex(bodyText),
  });
}

async function insertContact(
  client: Client,
  externalId: string,
  updatedAt: number,
  phones: string[],
): Promise<void> {
  const [work_phone = "", mobile_phone = "", home_phone = "", other_phone = ""] = phones;
  const contact = {
    ...emptyContact(),
    external_id: externalId,
    first_name: "Name " + externalId,
    work_phone,
    mobile_phone,
    home_phone,
    other_phone,
  };
  await saveContact(clientExecutor(client), contact, updatedAt);
}

async function mustGetCall(client: Client, callId: string): Promise<CallWithHistory> {
  const found = await getCallWithHistory(client, callId);
  assert.ok(found, `call ${callId} should be stored`);
  return found;
}

async function count(client: Client, sql: string): Promise<number> {
  const result = await client.execute(sql);
  return Number(result.rows[0]?.[0] ?? -1);
}

function callEvent(
  id: string | null,
  type: string,
  data: Record<string, unknown>,
  createdAt: string | undefined = undefined,
): Record<string, unknown> {
  return {
    ...(id !== null ? { id } : {}),
    object: "Call",
    event: type,
    user_id: "u1",
    ...(createdAt !== undefined ? { created_at: createdAt } : {}),
    data: { id: "c1", direction: "outbound", from: "+19897189159", to: "+15178626434", ...data },
  };
}

Deno.test("the guide's example applies, keeping its malformed created_at raw", async () => {
  await withStore(async (client) => {
    const bodyText = await Deno.readTextFile(GUIDE_FIXTURE);
    const outcome = await deliver(client, bodyText, 1);
    assert.deepEqual(outcome, {
      status: "applied",
      callId: GUIDE_CALL_ID,
      prospectId: "f0111f41-53c5-4d39-bfa1-447caa17b732",
    });
    const { call, events } = await mustGetCall(client, GUIDE_CALL_ID);
    assert.equal(call.user_id, "35904adb-e732-4ee7-a450-a87dfbe8a7f5");
    assert.equal(call.direction, "outbound");
    assert.equal(call.state, "completed");
    assert.equal(call.disposition, "answered_positive");
    assert.equal(call.from_number, "+19897189159");
    assert.equal(call.to_number, "+15178626434");
    assert.equal(call.started_at, "2023-01-11T20:19:25.000Z");
    assert.equal(call.prospect_id, "f0111f41-53c5-4d39-bfa1-447caa17b732");
    assert.equal(call.order_created_ms, null, "the malformed created_at orders nothing");
    assert.equal(call.order_updated_ms, Date.UTC(2022, 9, 21, 17, 35, 20));
    assert.equal(call.first_seen_at, T0 + 1000);
    assert.equal(call.data.transcription_completed_at, "2022-10-21T17:35:20.000Z");
    assert.equal(events.length, 1);
    const [event] = events;
    assert.equal(event?.event_key, "id:ecc25304-ad56-4f73-b75c-77f3165c6c65");
    assert.equal(event?.event_type, "call.created");
    assert.equal(event?.outcome, "applied");
    assert.equal(event?.received_at, new Date(T0 + 1000).toISOString());
    assert.deepEqual(event?.body, JSON.parse(bodyText));
    const body = event?.body;
    assert.ok(typeof body === "object" && body !== null && "created_at" in body);
    assert.equal(body.created_at, "023-01-11T20:19:40.000Z");
  });
});

Deno.test("the guide's example links to contact 12345, known or not yet", async (t) => {
  const bodyText = await Deno.readTextFile(GUIDE_FIXTURE);
  await t.step("when the contact exists", async () => {
    await withStore(async (client) => {
      await insertContact(client, "12345", T0, []);
      await insertContact(client, "other", T0 + 1, ["+15178626434"]);
      await deliver(client, bodyText, 1);
      const { call } = await mustGetCall(client, GUIDE_CALL_ID);
      assert.equal(call.contact_external_id, "12345", "external_id beats the phone number");
    });
  });
  await t.step("when no such contact is known yet", async () => {
    await withStore(async (client) => {
      await deliver(client, bodyText, 1);
      const { call } = await mustGetCall(client, GUIDE_CALL_ID);
      assert.equal(call.contact_external_id, "12345");
    });
  });
});

Deno.test("both event spellings upsert the same call by data.id", async () => {
  await withStore(async (client) => {
    assert.equal((await deliver(client, callEvent("e1", "call.created", {}), 1)).status, "applied");
    const second = await deliver(
      client,
      callEvent("e2", "call:updated", { call_disposition: "answered_positive" }),
      2,
    );
    assert.equal(second.status, "applied");
    assert.equal(await count(client, "SELECT COUNT(*) FROM calls"), 1);
    const { call, events } = await mustGetCall(client, "c1");
    assert.equal(call.disposition, "answered_positive");
    assert.deepEqual(events.map((e) => e.event_type), ["call.created", "call:updated"]);
  });
});

Deno.test("an event delivered twice is answered duplicate and applied once", async () => {
  await withStore(async (client) => {
    const body = callEvent("e1", "call:created", { note: "first" });
    assert.equal((await deliver(client, body, 1)).status, "applied");
    const before = await mustGetCall(client, "c1");
    const again = await deliver(client, body, 2);
    assert.deepEqual(again, { status: "duplicate", callId: "c1" });
    const after = await mustGetCall(client, "c1");
    assert.deepEqual(after, before);
    assert.equal(await count(client, "SELECT COUNT(*) FROM events"), 1);
  });
});

Deno.test("bodies without an id are deduplicated by their SHA-256", async () => {
  await withStore(async (client) => {
    const body = callEvent(null, "call:updated", { note: "a" });
    assert.equal((await deliver(client, body, 1)).status, "applied");
    assert.equal((await deliver(client, body, 2)).status, "duplicate");
    const other = callEvent(null, "call:updated", { note: "b" });
    assert.equal((await deliver(client, other, 3)).status, "applied");
    const { events } = await mustGetCall(client, "c1");
    assert.equal(events.length, 2);
    assert.ok(events.every((e) => e.event_key.startsWith("sha256:") && e.event_id === null));
  });
});

Deno.test("an older snapshot arriving after a newer one keeps the newer fields", async () => {
  await withStore(async (client) => {
    const updated = callEvent("e2", "call:updated", {
      call_disposition: "answered_positive",
      note: "wants a demo",
      recording_url: "https://rec.example/1.mp3",
      state: "completed",
      updated_at: "2024-05-01T10:05:00.000Z",
    });
    const created = callEvent("e1", "call:created", {
      call_disposition: null,
      note: "",
      recording_url: "",
      state: "completed",
      answered_at: "2024-05-01T10:00:05.000Z",
      updated_at: "2024-05-01T10:01:00.000Z",
    });
    assert.equal((await deliver(client, updated, 1)).status, "applied");
    assert.equal((await deliver(client, created, 2)).status, "applied");
    const { call, events } = await mustGetCall(client, "c1");
    assert.equal(call.disposition, "answered_positive");
    assert.equal(call.data.note, "wants a demo");
    assert.equal(call.data.recording_url, "https://rec.example/1.mp3");
    assert.equal(call.data.answered_at, "2024-05-01T10:00:05.000Z", "the older one fills gaps");
    assert.equal(call.order_updated_ms, Date.parse("2024-05-01T10:05:00.000Z"));
    assert.equal(call.last_event_at, T0 + 2000);
    assert.deepEqual(events.map((e) => e.event_id), ["e2", "e1"]);
  });
});

Deno.test("equal updated_at falls back to envelope created_at, then arrival", async (t) => {
  const updatedAt = "2024-05-01T10:05:00.000Z";
  await t.step("envelope created_at decides", async () => {
    await withStore(async (client) => {
      const newer = callEvent(
        "e1",
        "call:updated",
        { note: "newer", updated_at: updatedAt },
        "2024-05-01T10:06:00Z",
      );
      const older = callEvent(
        "e2",
        "call:updated",
        { note: "older", updated_at: updatedAt },
        "2024-05-01T10:05:30Z",
      );
      await deliver(client, newer, 1);
      await deliver(client, older, 2);
      assert.equal((await mustGetCall(client, "c1")).call.data.note, "newer");
    });
  });
  await t.step("arrival decides when created_at is equal or unparseable", async () => {
    await withStore(async (client) => {
      const first = callEvent(
        "e1",
        "call:updated",
        { note: "first", updated_at: updatedAt },
        "023-01-11T20:19:40.000Z",
      );
      const second = callEvent(
        "e2",
        "call:updated",
        { note: "second", updated_at: updatedAt },
        "2024-05-01T10:06:00Z",
      );
      await deliver(client, first, 1);
      await deliver(client, second, 2);
      assert.equal((await mustGetCall(client, "c1")).call.data.note, "second");
    });
  });
  await t.step("the audit sequence decides within one millisecond", async () => {
    await withStore(async (client) => {
      await deliver(client, callEvent("e1", "call:updated", { note: "a" }), 1, T0);
      await deliver(client, callEvent("e2", "call:updated", { note: "b" }), 2, T0);
      const { call } = await mustGetCall(client, "c1");
      assert.equal(call.data.note, "b");
      assert.equal(call.order_seq, 2);
    });
  });
});

Deno.test("unparseable timestamps are stored raw and never reject the event", async () => {
  await withStore(async (client) => {
    const body = callEvent(
      "e1",
      "call:completed",
      {
        created_at: "yesterday",
        dialed_at: 1714557600,
        updated_at: "2024-13-45T99:00:00Z",
        completed_at: null,
      },
      "not a date",
    );
    assert.equal((await deliver(client, body, 1)).status, "applied");
    const { call } = await mustGetCall(client, "c1");
    assert.equal(call.data.updated_at, "2024-13-45T99:00:00Z");
    assert.equal(call.data.created_at, "yesterday");
    assert.equal(call.started_at, "1714557600");
    assert.equal(call.order_updated_ms, null);
    assert.equal(call.order_created_ms, null);
  });
});

Deno.test("unknown fields are kept in the stored call data", async () => {
  await withStore(async (client) => {
    const body = callEvent("e1", "call:completed", {
      ai_summary: { bullets: ["a", "b"] },
      prospect: { id: "p1", brand_new: true },
    });
    await deliver(client, { ...body, envelope_extra: 1 }, 1);
    const { call, events } = await mustGetCall(client, "c1");
    assert.deepEqual(call.data.ai_summary, { bullets: ["a", "b"] });
    assert.deepEqual(call.data.prospect, { id: "p1", brand_new: true });
    const stored = events[0]?.body;
    assert.ok(typeof stored === "object" && stored !== null && "envelope_extra" in stored);
  });
});

Deno.test("unknown events are recorded and answered ignored; a repeat is a duplicate", async () => {
  await withStore(async (client) => {
    const body = { id: "m1", event: "meeting:booked", data: { id: "x" } };
    assert.deepEqual(await deliver(client, body, 1), { status: "ignored" });
    assert.deepEqual(await deliver(client, body, 2), { status: "duplicate" });
    const row = await client.execute("SELECT event_key, event_type, outcome, body FROM events");
    assert.equal(row.rows.length, 1);
    assert.equal(row.rows[0]?.event_key, "id:m1");
    assert.equal(row.rows[0]?.event_type, "meeting:booked");
    assert.equal(row.rows[0]?.outcome, "ignored");
    assert.equal(row.rows[0]?.body, JSON.stringify(body));
    assert.equal(await count(client, "SELECT COUNT(*) FROM calls"), 0);
  });
});

Deno.test("a prospect event stores its snapshot by prospect id", async () => {
  await withStore(async (client) => {
    const body = {
      id: "pe1",
      event: "prospect:created",
      data: { id: "p1", external_id: "12345", first_name: "Sally" },
    };
    assert.deepEqual(await deliver(client, body, 1), { status: "applied", prospectId: "p1" });
    await deliver(client, {
      id: "pe2",
      event: "prospect:updated",
      data: { id: "p1", title: "CEO" },
    }, 2);
    const result = await client.execute("SELECT id, external_id, data, updated_at FROM prospects");
    assert.equal(result.rows.length, 1);
    const row = result.rows[0];
    assert.equal(row?.external_id, "12345", "a later snapshot without external_id keeps it");
    assert.deepEqual(JSON.parse(String(row?.data)), {
      id: "p1",
      external_id: "12345",
      first_name: "Sally",
      title: "CEO",
    });
    assert.equal(row?.updated_at, T0 + 2000);
  });
});

Deno.test("a known prospect links calls that carry no external_id", async (t) => {
  const call = callEvent("e1", "call:completed", { prospect: { id: "p1" }, to: "+10000000000" });
  const prospect = { id: "pe1", event: "prospect:updated", data: { id: "p1", external_id: "77" } };
  await t.step("prospect first", async () => {
    await withStore(async (client) => {
      await deliver(client, prospect, 1);
      await deliver(client, call, 2);
      assert.equal((await mustGetCall(client, "c1")).call.contact_external_id, "77");
    });
  });
  await t.step("call first, linked when the prospect event arrives", async () => {
    await withStore(async (client) => {
      await deliver(client, call, 1);
      const before = await mustGetCall(client, "c1");
      assert.equal(before.call.contact_external_id, null);
      await deliver(client, prospect, 2);
      const after = await mustGetCall(client, "c1");
      assert.equal(after.call.contact_external_id, "77");
      assert.ok(after.call.change_seq > before.call.change_seq);
    });
  });
});

Deno.test("without an external_id, a call links by the prospect's number", async (t) => {
  await t.step("outbound: the to number; the most recently updated contact wins", async () => {
    await withStore(async (client) => {
      await insertContact(client, "old", T0 - 10_000, ["+15178626434"]);
      await insertContact(client, "new", T0, ["+15178626434"]);
      await insertContact(client, "rep", T0 + 5, ["+19897189159"]);
      await deliver(client, callEvent("e1", "call:completed", { prospect: { id: "p9" } }), 1);
      assert.equal((await mustGetCall(client, "c1")).call.contact_external_id, "new");
    });
  });
  await t.step("inbound: the from number", async () => {
    await withStore(async (client) => {
      await insertContact(client, "caller", T0, ["+19897189159"]);
      await insertContact(client, "rep", T0 + 5, ["+15178626434"]);
      await deliver(client, callEvent("e1", "call:completed", { direction: "inbound" }), 1);
      assert.equal((await mustGetCall(client, "c1")).call.contact_external_id, "caller");
    });
  });
  await t.step("an empty external_id is no external_id", async () => {
    await withStore(async (client) => {
      await insertContact(client, "new", T0, ["+15178626434"]);
      await deliver(
        client,
        callEvent("e1", "call:completed", { prospect: { id: "p9", external_id: "" } }),
        1,
      );
      assert.equal((await mustGetCall(client, "c1")).call.contact_external_id, "new");
    });
  });
  await t.step("a number without + is not guessed at", async () => {
    await withStore(async (client) => {
      await insertContact(client, "new", T0, ["+15178626434"]);
      await deliver(client, callEvent("e1", "call:completed", { to: "5178626434" }), 1);
      assert.equal((await mustGetCall(client, "c1")).call.contact_external_id, null);
    });
  });
  await t.step("an existing link is kept when a later snapshot gives none", async () => {
    await withStore(async (client) => {
      await deliver(
        client,
        callEvent("e1", "call:created", { prospect: { id: "p9", external_id: "12345" } }),
        1,
      );
      await deliver(client, callEvent("e2", "call:updated", { prospect: null, to: "" }), 2);
      assert.equal((await mustGetCall(client, "c1")).call.contact_external_id, "12345");
    });
  });
});

Deno.test("every applied call event moves the call forward in the change feed", async () => {
  await withStore(async (client) => {
    const e1 = callEvent("e1", "call:created", { updated_at: "2024-05-01T10:05:00Z" });
    await deliver(client, e1, 1);
    await deliver(client, { ...callEvent("x1", "call:created", {}), data: { id: "c2" } }, 2);
    const first = (await mustGetCall(client, "c1")).call.change_seq;
    // An older snapshot changes no field, but the call's history grew.
    await deliver(
      client,
      callEvent("e0", "call:created", { updated_at: "2024-05-01T10:00:00Z" }),
      3,
    );
    const second = (await mustGetCall(client, "c1")).call.change_seq;
    assert.ok(second > first);
    assert.equal(second, await count(client, "SELECT MAX(change_seq) FROM calls"));
    await deliver(client, e1, 4);
    assert.equal((await mustGetCall(client, "c1")).call.change_seq, second, "not on a duplicate");
  });
});

Deno.test("a failed apply rolls back entirely, so a retry is not a duplicate", async () => {
  await withStore(async (client) => {
    await deliver(client, callEvent("e1", "call:created", {}), 1);
    await client.execute("UPDATE calls SET data = 'not json' WHERE id = 'c1'");
    await assert.rejects(
      deliver(client, callEvent("e2", "call:updated", {}), 2),
      /not a JSON object/,
    );
    assert.equal(await count(client, "SELECT COUNT(*) FROM events WHERE event_id = 'e2'"), 0);
    await client.execute("UPDATE calls SET data = '{}' WHERE id = 'c1'");
    assert.equal((await deliver(client, callEvent("e2", "call:updated", {}), 3)).status, "applied");
  });
});

Deno.test("getCallWithHistory answers null for an unknown call", async () => {
  await withStore(async (client) => {
    assert.equal(await getCallWithHistory(client, "nope"), null);
  });
});

Deno.test("the same event id with a different body is applied and flagged as an id conflict", async () => {
  await withStore(async (client) => {
    const first = callEvent("e1", "call:created", { note: "first" });
    assert.deepEqual(await deliver(client, first, 1), { status: "applied", callId: "c1" });
    // A reused id carrying another call: it must not be dropped as a duplicate.
    const other = { ...callEvent("e1", "call:created", {}), data: { id: "c2", note: "other" } };
    const outcome = await deliver(client, other, 2);
    assert.deepEqual(outcome, { status: "applied", callId: "c2", flags: ["id_conflict"] });
    const c2 = await mustGetCall(client, "c2");
    assert.equal(c2.call.data.note, "other");
    assert.deepEqual(c2.events.map((e) => [e.event_id, e.flags]), [["e1", ["id_conflict"]]]);
    assert.deepEqual((await mustGetCall(client, "c1")).events.map((e) => e.flags), [[]]);
    // Re-deliveries of either body are duplicates; a third body is another conflict.
    assert.equal((await deliver(client, first, 3)).status, "duplicate");
    assert.equal((await deliver(client, other, 4)).status, "duplicate");
    const third = callEvent("e1", "call:updated", { note: "third" });
    assert.deepEqual(await deliver(client, third, 5), {
      status: "applied",
      callId: "c1",
      flags: ["id_conflict"],
    });
    assert.equal((await mustGetCall(client, "c1")).call.data.note, "third");
    assert.equal(await count(client, "SELECT COUNT(*) FROM events"), 3);
  });
});

Deno.test("a snapshot dated far in the future does not freeze the call", async () => {
  await withStore(async (client) => {
    const bogus = callEvent("e1", "call:updated", {
      note: "bogus",
      updated_at: "9999-12-31T23:59:59.000Z",
    });
    assert.deepEqual(await deliver(client, bogus, 1), {
      status: "applied",
      callId: "c1",
      flags: ["future_timestamp"],
    });
    const stored = await mustGetCall(client, "c1");
    assert.equal(stored.call.order_updated_ms, T0 + 1000, "ordered at its receipt");
    assert.equal(stored.call.data.updated_at, "9999-12-31T23:59:59.000Z", "kept as sent");
    assert.deepEqual(stored.events[0]?.flags, ["future_timestamp"]);
    const real = callEvent("e2", "call:updated", {
      note: "real",
      updated_at: new Date(T0 + 5000).toISOString(),
    });
    assert.deepEqual(await deliver(client, real, 6), { status: "applied", callId: "c1" });
    assert.equal((await mustGetCall(client, "c1")).call.data.note, "real");
  });
});

Deno.test("a snapshot without updated_at never lowers the stored order", async () => {
  await withStore(async (client) => {
    await deliver(
      client,
      callEvent("e1", "call:updated", {
        note: "10:05",
        updated_at: "2024-05-01T10:05:00.000Z",
      }),
      1,
    );
    await deliver(client, callEvent("e2", "call:updated", { note: "none", extra: "x" }), 2);
    await deliver(
      client,
      callEvent("e3", "call:updated", {
        note: "09:59",
        updated_at: "2024-05-01T09:59:00.000Z",
      }),
      3,
    );
    const { call, events } = await mustGetCall(client, "c1");
    assert.equal(call.data.note, "10:05");
    assert.equal(call.data.extra, "x", "the timestamp-less snapshot filled a missing field");
    assert.equal(call.order_updated_ms, Date.parse("2024-05-01T10:05:00.000Z"));
    assert.deepEqual(events.map((e) => e.event_id), ["e1", "e2", "e3"], "all kept in history");
  });
});

Deno.test("numeric ids beyond 2^53 stay distinct calls and distinct events", async () => {
  await withStore(async (client) => {
    const body = (eventId: string, callId: string) =>
      `{"id":${eventId},"object":"Call","event":"call:created","data":{"id":${callId},"note":"n"}}`;
    assert.equal(
      (await deliver(client, body("9007199254740993", "9007199254740995"), 1)).status,
      "applied",
    );
    const second = await deliver(client, body("9007199254740992", "9007199254740994"), 2);
    assert.deepEqual(second, { status: "applied", callId: "9007199254740994" });
    assert.equal(await count(client, "SELECT COUNT(*) FROM calls"), 2);
    const stored = await mustGetCall(client, "9007199254740995");
    assert.equal(stored.events[0]?.event_id, "9007199254740993");
    assert.equal(JSON.stringify(stored.call.data), '{"id":9007199254740995,"note":"n"}');
  });
});

Deno.test("events stored before body hashes were kept still tell a re-delivery from an id conflict", async () => {
  await withStore(async (client) => {
    const first = callEvent("e1", "call:created", { note: "first" });
    await deliver(client, first, 1);
    // As migration 3 leaves rows written by an older version.
    await client.execute("UPDATE events SET body_sha256 = NULL");
    assert.equal((await deliver(client, first, 2)).status, "duplicate");
    const other = callEvent("e1", "call:updated", { note: "other" });
    assert.deepEqual((await deliver(client, other, 3)).flags, ["id_conflict"]);
  });
});

Deno.test("an update that changes no indexed column and one that does both leave the row and every index as a full rewrite would", async () => {
  await withStore(async (client) => {
    const body = (disposition: string, note: string, updatedAt: string) =>
      callEventBody({ callId: "c-light", disposition, note, updatedAt });
    const expect = async (disposition: string, note: string, changeSeq: number) => {
      for (
        const [index, where] of [
          ["calls_by_change", "change_seq > 0"],
          ["calls_by_first_seen", "first_seen_at >= 0"],
        ] as const
      ) {
        const { rows } = await client.execute(
          `SELECT disposition, change_seq, json_extract(data, '$.note') AS note
            FROM calls INDEXED BY ${index} WHERE ${where}`,
        );
        assert.equal(rows.length, 1, index);
        assert.equal(rows[0]!.disposition, disposition, index);
        assert.equal(rows[0]!.note, note, index);
        assert.equal(Number(rows[0]!.change_seq), changeSeq, index);
      }
    };
    await deliver(client, body("no_answer", "first", "2024-05-01T12:00:00.000Z"), 1);
    await expect("no_answer", "first", 1);
    // Same disposition, contact, rep and first sighting: only the other columns change.
    await deliver(client, body("no_answer", "second", "2024-05-01T12:01:00.000Z"), 2);
    await expect("no_answer", "second", 2);
    // The disposition (held by an index) changes too.
    await deliver(client, body("answered_positive", "third", "2024-05-01T12:02:00.000Z"), 3);
    await expect("answered_positive", "third", 3);
    const check = await client.execute("PRAGMA integrity_check");
    assert.equal(check.rows[0]![0], "ok");
  });
});
