/**
 * Calls sent to the CRM (DESIGN §11), end to end on the real server: a real
 * receiver on 127.0.0.1 verifies every delivery with the Standard Webhooks
 * reference library. Failing, hanging and killed cases, coalescing and order,
 * the SSRF guard (loopback only: no packet leaves 127.0.0.0/8 or ::1), and an
 * audit replay that makes the same outbox.
 */
import { join } from "node:path";
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { callEventBody, postSigned } from "../helpers/events.ts";
import { eventually } from "../helpers/eventually.ts";
import { runCli, type ServerProcess, startServerProcess } from "../helpers/server_process.ts";
import { type Receiver, startReceiver } from "../helpers/webhook_receiver.ts";
import { openStore } from "../../src/store/open_store.ts";

const SECRET = "webhook secret for outbound tests";
const ADMIN = "admin-token-0123456789abcdef";
const TOKEN = "lookup-token-0123456789abcdef";

function configFor(dir: string, outbound: Record<string, unknown> = {}) {
  return {
    database: { url: `file:${dir}/crm.db` },
    audit: { dir: `${dir}/audit` },
    data_dir: dir,
    symbo: { webhook_secrets: [SECRET], lookup_tokens: [TOKEN], apply_wait_ms: 2000 },
    admin: { tokens: [ADMIN] },
    log: { level: "warning" },
    outbound: {
      allow_private_networks: true,
      allow_http: true,
      retry_schedule_seconds: Array(12).fill(0.1),
      poll_interval_ms: 50,
      connect_timeout_ms: 1000,
      answer_timeout_ms: 1000,
      ...outbound,
    },
  };
}

async function api(
  server: ServerProcess,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text === "" ? {} : JSON.parse(text) };
}

async function register(server: ServerProcess, receiver: Receiver, extra = {}) {
  const created = await api(server, "POST", "/api/endpoints", { url: receiver.url, ...extra });
  assertEquals(created.status, 201, JSON.stringify(created.body));
  const secret = String(created.body.secret);
  receiver.secrets = [secret];
  return { id: String(created.body.id), secret };
}

let clock = Date.parse("2024-02-01T10:00:00.000Z");

/** Sends a call event and waits for it to be applied. */
async function sendCall(server: ServerProcess, callId: string, note: string) {
  clock += 1000;
  const body = callEventBody({
    callId,
    note,
    type: "call.updated",
    updatedAt: new Date(clock).toISOString(),
  });
  const response = await postSigned(server.url, SECRET, body);
  assertEquals(response.status, 200);
  assertEquals((await response.json()).status, "applied");
}

function lastDelivered(receiver: Receiver, callId: string) {
  return receiver.delivered().filter((item) => item.body.data.id === callId).at(-1);
}

async function messages(server: ServerProcess, endpointId: string, status = "") {
  const answer = await api(
    server,
    "GET",
    `/api/endpoints/${endpointId}/messages${status ? `?status=${status}` : ""}`,
  );
  assertEquals(answer.status, 200);
  return answer.body.messages as Array<{
    id: string;
    call_id: string;
    status: string;
    revision: number;
    attempt_log: Array<{ outcome: string; status_code: number | null; error: string | null }>;
  }>;
}

async function withServer(
  config: (dir: string) => Record<string, unknown>,
  run: (server: ServerProcess, receiver: Receiver) => Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-outbound-" });
  const receiver = startReceiver();
  const server = await startServerProcess({ dir, config: config(dir) });
  try {
    await run(server, receiver);
  } finally {
    await server.stop();
    await receiver.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

Deno.test("every delivery verifies with the Standard Webhooks library, also during a secret rotation", async () => {
  await withServer((dir) => configFor(dir), async (server, receiver) => {
    const endpoint = await register(server, receiver, { description: "our CRM" });
    assertMatch(endpoint.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    await sendCall(server, "call-a", "first");
    await eventually(
      "call-a delivered",
      10_000,
      () => Promise.resolve(!!lastDelivered(receiver, "call-a")),
    );
    const first = lastDelivered(receiver, "call-a")!;
    assertEquals(first.body.type, "call.created");
    assertEquals(first.body.data.data.note, "first");
    assertEquals(typeof first.body.data.revision, "number");
    assertEquals(first.body.data.url, "/api/calls/call-a");
    assert(Math.abs(first.timestamp - Date.now() / 1000) < 60, "signed with the attempt's time");

    await sendCall(server, "call-a", "second");
    await eventually(
      "the update delivered",
      10_000,
      () => Promise.resolve(lastDelivered(receiver, "call-a")?.body.data.data.note === "second"),
    );
    const second = lastDelivered(receiver, "call-a")!;
    assertEquals(second.body.type, "call.updated");
    assert(second.body.data.revision > first.body.data.revision);
    assert(second.id !== first.id, "each message has its own webhook-id");

    const rotated = await api(server, "POST", `/api/endpoints/${endpoint.id}/rotate-secret`);
    assertEquals(rotated.status, 200);
    const newSecret = String(rotated.body.secret);
    assert(newSecret !== endpoint.secret);
    receiver.secrets = [endpoint.secret, newSecret];
    await sendCall(server, "call-b", "after rotation");
    await eventually(
      "call-b delivered",
      10_000,
      () => Promise.resolve(!!lastDelivered(receiver, "call-b")),
    );
    const during = lastDelivered(receiver, "call-b")!;
    assertEquals(during.verifiedBy, [0, 1], "both the old and the new secret verify it");
    assertEquals(during.signature.split(" ").length, 2);

    // Every request the receiver got verified.
    assert(receiver.received.every((item) => item.verifiedBy.length > 0));
    // The receiver answered before the sender recorded it: wait for the record.
    await eventually(
      "three messages recorded delivered",
      5_000,
      async () => (await messages(server, endpoint.id, "delivered")).length === 3,
    );
    const delivered = await messages(server, endpoint.id, "delivered");
    assertEquals(delivered[0]!.attempt_log[0]!.status_code, 200);
    const list = await api(server, "GET", "/api/endpoints");
    const health =
      (list.body.endpoints as Array<{ health: { success_rate_24h: number } }>)[0]!.health;
    assertEquals(health.success_rate_24h, 1);
  });
});

Deno.test("a receiver failing with 500 then recovering gets every call once, final state, revisions increasing", async () => {
  await withServer((dir) => configFor(dir), async (server, receiver) => {
    let failing = true;
    receiver.answer = () => failing ? 500 : 200;
    const endpoint = await register(server, receiver);
    const calls = ["call-1", "call-2", "call-3"];
    for (const round of [1, 2, 3, 4]) {
      for (const callId of calls) await sendCall(server, callId, `note ${round}`);
      await new Promise((resolve) => setTimeout(resolve, 150)); // attempts fail meanwhile
    }
    assert(
      receiver.received.some((item) => item.answered === 500),
      "attempts were made while failing",
    );
    failing = false;
    await eventually(
      "every call's final state delivered",
      15_000,
      () =>
        Promise.resolve(
          calls.every((id) => lastDelivered(receiver, id)?.body.data.data.note === "note 4"),
        ),
    );
    for (const callId of calls) {
      const seen = receiver.received.filter((item) => item.body.data.id === callId)
        .map((item) => item.body.data.revision);
      for (let i = 1; i < seen.length; i++) {
        assert(seen[i]! >= seen[i - 1]!, `${callId}: revision ${seen[i]} after ${seen[i - 1]}`);
      }
      const ok = receiver.delivered().filter((item) => item.body.data.id === callId);
      assertEquals(ok.length, 1, `${callId} is sent once, coalesced`);
      assertEquals(ok[0]!.body.type, "call.created", "never received before: announced as created");
    }
    const superseded = await messages(server, endpoint.id, "superseded");
    assert(superseded.every((message) => message.attempt_log.every((a) => a.status_code === 500)));
  });
});

Deno.test("a hanging receiver times out while webhook acks and lookups keep their pace", async () => {
  await withServer((dir) => configFor(dir), async (server, receiver) => {
    receiver.answer = () => "hang";
    const endpoint = await register(server, receiver);
    await sendCall(server, "call-h", "hello");
    await eventually("an attempt timed out", 10_000, async () => {
      const [message] = await messages(server, endpoint.id);
      return message?.attempt_log.some((attempt) => attempt.outcome === "timeout") ?? false;
    });
    let slowest = 0;
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      await sendCall(server, `call-h${i}`, "meanwhile");
      const lookup = await fetch(`${server.url}/symbo/lookup?number=%2B15551230000&token=${TOKEN}`);
      await lookup.body?.cancel();
      assertEquals(lookup.status, 404);
      slowest = Math.max(slowest, performance.now() - started);
    }
    assert(
      slowest < 2000,
      `an ack and a lookup took ${slowest.toFixed(0)} ms while the receiver hung`,
    );
    const message = (await messages(server, endpoint.id)).find((m) => m.call_id === "call-h");
    assertMatch(message!.attempt_log.find((a) => a.outcome === "timeout")!.error ?? "", /within/);
  });
});

Deno.test("kill -9 with messages pending and one in flight: after a restart all are delivered, ids unchanged", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-outbound-kill-" });
  const receiver = startReceiver();
  const config = configFor(dir, { concurrency_per_endpoint: 1, answer_timeout_ms: 30_000 });
  let server = await startServerProcess({ dir, config });
  try {
    receiver.answer = () => "hang";
    await register(server, receiver);
    await sendCall(server, "call-k1", "one");
    await eventually(
      "the first message is in flight",
      10_000,
      () => Promise.resolve(receiver.received.length === 1),
    );
    await sendCall(server, "call-k2", "two");
    await sendCall(server, "call-k3", "three");
    const inFlightId = receiver.received[0]!.id;
    await server.kill();
    receiver.answer = () => 200;
    server = await startServerProcess({ dir, config });
    await eventually("every message delivered after the restart", 15_000, () =>
      Promise.resolve(
        ["call-k1", "call-k2", "call-k3"].every((id) => lastDelivered(receiver, id) !== undefined),
      ));
    assertEquals(
      lastDelivered(receiver, "call-k1")!.id,
      inFlightId,
      "the re-sent message keeps its webhook-id",
    );
  } finally {
    await server.stop();
    await receiver.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("loopback endpoints are refused when private networks are not allowed, and redirects are not followed", async (t) => {
  await t.step("refused at registration (address) and at connect time (name)", async () => {
    await withServer(
      (dir) => configFor(dir, { allow_private_networks: false }),
      async (server, receiver) => {
        for (
          const url of [
            `http://127.0.0.1:${receiver.port}/hook`,
            `http://[::1]:${receiver.port}/hook`,
            `http://[::ffff:127.0.0.1]:${receiver.port}/hook`,
          ]
        ) {
          const refused = await api(server, "POST", "/api/endpoints", { url });
          assertEquals(refused.status, 400, url);
          assertMatch(String(refused.body.message), /loopback.*allow_private_networks/);
        }
        // A name is checked where it matters: when connecting, whatever it resolves to.
        const named = await api(server, "POST", "/api/endpoints", {
          url: `http://localhost:${receiver.port}/hook`,
        });
        assertEquals(named.status, 201);
        await sendCall(server, "call-s", "ssrf");
        await eventually("the attempt was refused", 10_000, async () => {
          const [message] = await messages(server, String(named.body.id));
          return message?.attempt_log.some((attempt) => attempt.outcome === "refused") ?? false;
        });
        const [message] = await messages(server, String(named.body.id));
        assertMatch(
          message!.attempt_log[0]!.error ?? "",
          /localhost resolves to 127\.0\.0\.1 is a loopback/,
        );
        assertEquals(receiver.received.length, 0, "no request reached the receiver");
      },
    );
  });
  await t.step("a redirect is an error, not followed", async () => {
    const inside = startReceiver();
    try {
      await withServer((dir) => configFor(dir), async (server, receiver) => {
        receiver.answer = () => ({ redirect: inside.url });
        const endpoint = await register(server, receiver);
        await sendCall(server, "call-r", "redirect");
        await eventually("the redirect was answered", 10_000, async () => {
          const [message] = await messages(server, endpoint.id);
          return message?.attempt_log.some((attempt) => attempt.status_code === 302) ?? false;
        });
        const [message] = await messages(server, endpoint.id);
        assertMatch(message!.attempt_log[0]!.error ?? "", /redirect: not followed/);
        assertEquals(inside.received.length, 0);
      });
    } finally {
      await inside.close();
    }
  });
});

Deno.test("replaying the audit log into an empty store makes the same outbox entries, and again none more", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-outbound-replay-" });
  const receiver = startReceiver();
  receiver.answer = () => 503;
  const config = configFor(dir, { retry_schedule_seconds: [3600] });
  const server = await startServerProcess({ dir, config });
  let endpointRow: Record<string, unknown>;
  try {
    await register(server, receiver);
    for (const round of [1, 2]) {
      for (const callId of ["r-1", "r-2", "r-3"]) await sendCall(server, callId, `note ${round}`);
    }
  } finally {
    await server.stop();
    await receiver.close();
  }
  const outbox = async (url: string) => {
    const store = await openStore({ url });
    try {
      return await store.reader.all(
        `SELECT endpoint_id, call_id, type, revision FROM outbound_messages
          WHERE status = 'pending' ORDER BY call_id`,
      );
    } finally {
      store.close();
    }
  };
  const live = await outbox(`file:${dir}/crm.db`);
  assertEquals(live.map((row) => row.call_id), ["r-1", "r-2", "r-3"]);
  {
    const store = await openStore({ url: `file:${dir}/crm.db` });
    endpointRow = { ...(await store.reader.first("SELECT * FROM outbound_endpoints"))! };
    store.close();
  }
  const replayDir = await Deno.makeTempDir({ prefix: "symbo-crm-outbound-replayed-" });
  try {
    const replayConfig = { ...configFor(replayDir), audit: { dir: `${dir}/audit` } };
    const configPath = join(replayDir, "config.json");
    await Deno.writeTextFile(configPath, JSON.stringify(replayConfig));
    // The endpoint exists in the new store before the replay (as it would be re-registered).
    const fresh = await openStore({ url: `file:${replayDir}/crm.db` });
    const columns = Object.keys(endpointRow);
    await fresh.write((db) =>
      db.run(
        `INSERT INTO outbound_endpoints (${columns.join(", ")}) VALUES (${
          columns.map(() => "?").join(", ")
        })`,
        columns.map((column) => endpointRow[column] as string | number | null),
      )
    );
    fresh.close();
    const first = await runCli(["audit", "replay", "--config", configPath], { cwd: replayDir });
    assertEquals(first.code, 0, first.stderr);
    assertEquals(await outbox(`file:${replayDir}/crm.db`), live);
    const again = await runCli(["audit", "replay", "--config", configPath], { cwd: replayDir });
    assertEquals(again.code, 0, again.stderr);
    const store = await openStore({ url: `file:${replayDir}/crm.db` });
    const count = await store.reader.first("SELECT COUNT(*) AS n FROM outbound_messages");
    store.close();
    assertEquals(Number(count?.n), 3);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.remove(replayDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("a number dialed for the first time that no contact has is announced to endpoints that ask", async () => {
  await withServer((dir) => configFor(dir), async (server, receiver) => {
    await register(server, receiver, { types: ["unknown_number.first_dialed"] });
    for (let i = 0; i < 2; i++) {
      const lookup = await fetch(`${server.url}/symbo/lookup?number=%2B15559870123&token=${TOKEN}`);
      assertEquals(lookup.status, 404);
      await lookup.body?.cancel();
    }
    await sendCall(server, "call-u", "not for this endpoint");
    await eventually(
      "the first dial announced",
      15_000,
      () => Promise.resolve(receiver.delivered().length === 1),
    );
    const [event] = receiver.delivered();
    assertEquals(event!.body.type, "unknown_number.first_dialed");
    const data = event!.body.data as unknown as Record<string, unknown>;
    assertEquals(data.number, "+15559870123");
    assertEquals(typeof data.first_seen_at, "string");
    await new Promise((resolve) => setTimeout(resolve, 300));
    assertEquals(receiver.received.length, 1, "calls are not sent to it, nor the second lookup");
  });
});
