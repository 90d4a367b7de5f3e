// The outbox and the sender's queue on a real store file, driven by hand:
// coalescing, order per call, leases between two owners, disabling.
import { type Client, createClient } from "@libsql/client";
import { assert, assertEquals } from "../helpers/assert.ts";
import { callEventBody } from "../helpers/events.ts";
import { applyEventInTransaction } from "../../src/calls/apply_event.ts";
import { classifyEvent } from "../../src/calls/call_event.ts";
import { migrate } from "../../src/store/migrations.ts";
import { clientExecutor, type SqlExecutor } from "../../src/store/sql.ts";
import {
  clientWriteTransactions,
  type WriteTransactionRunner,
} from "../../src/store/write_transaction.ts";
import { createEndpoint, updateEndpoint } from "../../src/outbound/endpoints.ts";
import {
  type AttemptResult,
  claimDue,
  type ClaimedMessage,
  recordAttempts,
} from "../../src/outbound/delivery_queue.ts";
import { fanOutEntries, replayEndpoint, resendMessage } from "../../src/outbound/outbox.ts";

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);
let seq = 0; // events are received at T0 + seq seconds; each store starts again at 0

async function withStore(
  fn: (write: WriteTransactionRunner, db: SqlExecutor, client: Client) => Promise<void>,
) {
  seq = 0;
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-outbox-" });
  const client = createClient({ url: `file:${dir}/t.db` });
  try {
    await migrate(client);
    await fn(clientWriteTransactions(client), clientExecutor(client), client);
  } finally {
    client.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Applies a change of a call, then turns its outbox entries into messages as the sender's next turn would. */
async function change(write: WriteTransactionRunner, callId: string, note: string) {
  await applyOnly(write, callId, note);
  await write((db) => fanOutEntries(db));
}

/** Applies a change of a call (recording its outbox entries), without turning them into messages. */
async function applyOnly(write: WriteTransactionRunner, callId: string, note: string) {
  seq++;
  const bodyText = callEventBody({
    callId,
    note,
    updatedAt: new Date(T0 + seq * 1000).toISOString(),
  });
  await applyEventInTransaction(write, classifyEvent(bodyText), {
    receivedAt: new Date(T0 + seq * 1000),
    auditSeq: seq,
    bodyText,
    bodySha256: `sha-${seq}`,
  });
}

function rows(db: SqlExecutor) {
  return db.all(
    "SELECT id, call_id, type, revision, status, attempts FROM outbound_messages ORDER BY created_at, revision",
  );
}

function claim(write: WriteTransactionRunner, owner: string, now: number) {
  return write((db) => claimDue(db, { owner, now, leaseMs: 60_000, total: 10, freeFor: () => 10 }));
}

function failed(message: ClaimedMessage, at: number, status = 500): AttemptResult {
  return {
    message,
    outcome: "http_error",
    at,
    latencyMs: 5,
    statusCode: status,
    response: "no",
    error: `HTTP ${status}`,
    retryAfterMs: null,
  };
}

const retry = { scheduleSeconds: [10, 10, 10], jitter: 0 };

Deno.test("changes of a call never tried coalesce into one message, announced as created", async () => {
  await withStore(async (write, db) => {
    await createEndpoint(write, { url: "https://crm.example.com/hook" }, {
      now: T0,
      maxEndpoints: 50,
    });
    await change(write, "c-1", "one");
    await change(write, "c-1", "two");
    await change(write, "c-1", "three");
    const messages = await rows(db);
    assertEquals(messages.length, 1);
    assertEquals(messages[0]!.type, "call.created");
    assertEquals(messages[0]!.status, "pending");
    const [claimed] = await claim(write, "a", T0 + 10_000);
    const body = JSON.parse(claimed!.body);
    assertEquals(body.data.data.note, "three");
    assertEquals(body.data.revision, Number(messages[0]!.revision));
  });
});

Deno.test("the apply transaction appends one outbox entry per endpoint; fanning out makes the messages and drops the entries", async () => {
  await withStore(async (write, db) => {
    const { endpoint } = await createEndpoint(write, { url: "https://crm.example.com/hook" }, {
      now: T0,
      maxEndpoints: 50,
    });
    const { endpoint: other } = await createEndpoint(write, {
      url: "https://other.example.com/hook",
    }, { now: T0, maxEndpoints: 50 });
    await applyOnly(write, "c-1", "one");
    await applyOnly(write, "c-2", "one");
    await applyOnly(write, "c-1", "two");
    assertEquals((await rows(db)).length, 0);
    const entries = await db.all(
      "SELECT endpoint_id, call_id, type FROM outbox_entries ORDER BY seq",
    );
    assertEquals(entries.map((row) => [row.endpoint_id, row.call_id, row.type]), [
      [endpoint.id, "c-1", "call.created"],
      [other.id, "c-1", "call.created"],
      [endpoint.id, "c-2", "call.created"],
      [other.id, "c-2", "call.created"],
      [endpoint.id, "c-1", "call.updated"],
      [other.id, "c-1", "call.updated"],
    ]);
    // A page smaller than what waits leaves the rest for the next turn.
    assertEquals(await write((db) => fanOutEntries(db, 4)), 4);
    assertEquals(await write((db) => fanOutEntries(db, 4)), 2);
    assertEquals(await write((db) => fanOutEntries(db, 4)), 0);
    assertEquals(Number((await db.first("SELECT COUNT(*) AS n FROM outbox_entries"))!.n), 0);
    const messages = await rows(db);
    // Two calls × two endpoints; c-1's update coalesced into its waiting message.
    assertEquals(messages.length, 4);
    assert(messages.every((m) => m.type === "call.created" && m.status === "pending"));
  });
});

Deno.test("entries of an endpoint disabled before they became messages are dropped unsent", async () => {
  await withStore(async (write, db) => {
    const { endpoint } = await createEndpoint(write, { url: "https://crm.example.com/hook" }, {
      now: T0,
      maxEndpoints: 50,
    });
    await applyOnly(write, "c-1", "one");
    await updateEndpoint(write, endpoint.id, { enabled: false }, T0);
    assertEquals(await write((db) => fanOutEntries(db)), 1);
    assertEquals((await rows(db)).length, 0);
    assertEquals(Number((await db.first("SELECT COUNT(*) AS n FROM outbox_entries"))!.n), 0);
  });
});

Deno.test("an entry recorded before an endpoint replay coalesces with the replayed message: one open message per call", async () => {
  await withStore(async (write, db) => {
    const { endpoint } = await createEndpoint(write, { url: "https://crm.example.com/hook" }, {
      now: T0,
      maxEndpoints: 50,
    });
    await applyOnly(write, "c-1", "one");
    assertEquals(await replayEndpoint(write, endpoint.id, 0, T0 + 5_000), 1);
    await write((db) => fanOutEntries(db));
    const open = (await rows(db)).filter((m) => m.status === "pending");
    assertEquals(open.length, 1);
    assertEquals(open[0]!.type, "call.created");
  });
});

Deno.test("no endpoint, or a disabled one, records nothing", async () => {
  await withStore(async (write, db) => {
    await change(write, "c-1", "one");
    const { endpoint } = await createEndpoint(write, { url: "https://crm.example.com/hook" }, {
      now: T0,
      maxEndpoints: 50,
    });
    await updateEndpoint(write, endpoint.id, { enabled: false }, T0);
    await change(write, "c-1", "two");
    assertEquals((await rows(db)).length, 0);
    assertEquals(Number((await db.first("SELECT COUNT(*) AS n FROM outbox_entries"))!.n), 0);
  });
});

Deno.test("a change while a message is in flight waits behind it; a failed one is superseded by it", async () => {
  await withStore(async (write, db) => {
    await createEndpoint(write, { url: "https://crm.example.com/hook" }, {
      now: T0,
      maxEndpoints: 50,
    });
    await change(write, "c-1", "one");
    const [inFlight] = await claim(write, "a", T0 + 10_000);
    assert(inFlight);
    await change(write, "c-1", "two");
    assertEquals((await rows(db)).length, 2);
    // The newer one is not taken while the older is in flight, by anyone.
    assertEquals(await claim(write, "a", T0 + 11_000), []);
    assertEquals(await claim(write, "b", T0 + 11_000), []);
    await write((db) =>
      recordAttempts(db, [failed(inFlight, T0 + 12_000)], {
        owner: "a",
        now: T0 + 12_000,
        retry,
        disableAfterMs: 86_400_000,
      })
    );
    const after = await rows(db);
    assertEquals(after.map((row) => row.status), ["superseded", "pending"]);
    assertEquals(after[1]!.type, "call.created", "the receiver never got the call: still created");
    assertEquals(await claim(write, "b", T0 + 15_000), [], "it keeps the failed one's place");
    const [next] = await claim(write, "b", T0 + 23_000);
    assertEquals(JSON.parse(next!.body).data.data.note, "two");
  });
});

Deno.test("a change after a failed attempt replaces the message with a new id at its place in the schedule", async () => {
  await withStore(async (write, db) => {
    await createEndpoint(write, { url: "https://crm.example.com/hook" }, {
      now: T0,
      maxEndpoints: 50,
    });
    await change(write, "c-1", "one");
    const [first] = await claim(write, "a", T0 + 10_000);
    await write((db) =>
      recordAttempts(db, [failed(first!, T0 + 10_000)], {
        owner: "a",
        now: T0 + 10_000,
        retry,
        disableAfterMs: 86_400_000,
      })
    );
    await change(write, "c-1", "two");
    const after = await rows(db);
    assertEquals(after.map((row) => [row.status, Number(row.attempts)]), [
      ["superseded", 1],
      ["pending", 1],
    ]);
    assert(after[0]!.id !== after[1]!.id);
    assertEquals(await claim(write, "a", T0 + 15_000), []);
    assertEquals((await claim(write, "a", T0 + 20_000)).length, 1);
  });
});

Deno.test("a message fails after its schedule, can be resent, and an endpoint failing for days is disabled", async () => {
  await withStore(async (write, db) => {
    const { endpoint } = await createEndpoint(write, { url: "https://crm.example.com/hook" }, {
      now: T0,
      maxEndpoints: 50,
    });
    await change(write, "c-1", "one");
    let now = T0 + 10_000;
    for (let attempt = 0; attempt < 4; attempt++) {
      const [message] = await claim(write, "a", now);
      assert(message, `attempt ${attempt + 1} is due`);
      await write((db) =>
        recordAttempts(db, [failed(message, now)], {
          owner: "a",
          now,
          retry,
          disableAfterMs: 86_400_000,
        })
      );
      now += 10_000;
    }
    assertEquals((await rows(db))[0]!.status, "failed");
    const id = String((await rows(db))[0]!.id);
    assertEquals(await resendMessage(write, id, now), { id, status: "pending" });
    const [again] = await claim(write, "a", now);
    assertEquals(again?.id, id, "the same webhook-id");
    const summary = await write((db) =>
      recordAttempts(db, [failed(again!, now + 5 * 86_400_000)], {
        owner: "a",
        now: now + 5 * 86_400_000,
        retry,
        disableAfterMs: 5 * 86_400_000,
      })
    );
    assertEquals(summary.disabled.map((item) => item.id), [endpoint.id]);
    const row = await db.first("SELECT enabled, disabled_reason FROM outbound_endpoints");
    assertEquals(Number(row?.enabled), 0);
  });
});

Deno.test("a claim is a lease: another owner cannot take it until it expires", async () => {
  await withStore(async (write) => {
    await createEndpoint(write, { url: "https://crm.example.com/hook" }, {
      now: T0,
      maxEndpoints: 50,
    });
    await change(write, "c-1", "one");
    await change(write, "c-2", "one");
    const taken = await claim(write, "a", T0 + 1_000_000);
    assertEquals(taken.length, 2);
    assertEquals(await claim(write, "b", T0 + 1_010_000), []);
    assertEquals((await claim(write, "b", T0 + 1_000_000 + 60_001)).length, 2, "expired leases");
  });
});

Deno.test("claims rotate over endpoints, so one with a backlog does not starve another", async () => {
  await withStore(async (write) => {
    for (const host of ["a", "b"]) {
      await createEndpoint(write, { url: `https://${host}.example.com/hook` }, {
        now: T0,
        maxEndpoints: 50,
      });
    }
    for (let call = 0; call < 4; call++) await change(write, `c-${call}`, "one");
    const served = new Set<string>();
    for (const turn of [0, 1]) {
      const claimed = await write((db) =>
        claimDue(db, {
          owner: "a",
          now: T0 + 100_000,
          leaseMs: 60_000,
          total: 1,
          freeFor: () => 1,
          turn,
        })
      );
      served.add(claimed[0]!.url);
    }
    assertEquals(served.size, 2);
  });
});
