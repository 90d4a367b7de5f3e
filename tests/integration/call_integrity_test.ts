/**
 * Call data integrity through the real server (issue 13, items 6 and 7): the
 * out-of-order merge invariants, reused event ids, far-future timestamps,
 * numeric ids beyond 2^53 and ids holding control characters.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { callEventBody, postSigned } from "../helpers/events.ts";
import { type ServerProcess, startServerProcess } from "../helpers/server_process.ts";

const SECRET = "webhook secret for tests";
const ADMIN = "admin-token-0123456789abcdef";

async function integrityServer(): Promise<ServerProcess> {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-integrity-" });
  return await startServerProcess({
    dir,
    config: {
      database: { url: `file:${dir}/crm.db` },
      audit: { dir: `${dir}/audit` },
      data_dir: dir,
      symbo: { webhook_secrets: [SECRET], max_body_bytes: 64 * 1024 },
      admin: { tokens: [ADMIN] },
      log: { level: "warning" },
    },
  });
}

async function post(
  server: ServerProcess,
  body: string,
): Promise<{ status: number; body: unknown }> {
  const response = await postSigned(server.url, SECRET, body);
  return { status: response.status, body: await response.json() };
}

async function getCallText(server: ServerProcess, id: string): Promise<string> {
  const response = await fetch(`${server.url}/api/calls/${encodeURIComponent(id)}`, {
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  assertEquals(response.status, 200, `call ${JSON.stringify(id)}`);
  return await response.text();
}

async function getCall(server: ServerProcess, id: string) {
  return JSON.parse(await getCallText(server, id));
}

async function auditLines(server: ServerProcess): Promise<number> {
  let lines = 0;
  for await (const entry of Deno.readDir(`${server.dir}/audit`)) {
    if (!entry.name.endsWith(".jsonl")) continue;
    const text = await Deno.readTextFile(`${server.dir}/audit/${entry.name}`);
    lines += text.split("\n").filter((line) => line !== "").length;
  }
  return lines;
}

Deno.test("call integrity over HTTP: merge invariants and exact ids", async (t) => {
  const server = await integrityServer();
  try {
    await t.step(
      "neither a timestamp-less nor an older snapshot overwrites a newer one",
      async () => {
        const send = (eventId: string, note: string, updatedAt?: string) => {
          const body = JSON.parse(callEventBody({ eventId, callId: "call-order", note }));
          if (updatedAt === undefined) delete body.data.updated_at;
          else body.data.updated_at = updatedAt;
          return post(server, JSON.stringify(body));
        };
        assertEquals((await send("o1", "10:05", "2024-05-01T10:05:00.000Z")).status, 200);
        assertEquals((await send("o2", "no timestamp")).status, 200);
        assertEquals((await send("o3", "09:59", "2024-05-01T09:59:00.000Z")).status, 200);
        const stored = await getCall(server, "call-order");
        assertEquals(stored.call.data.note, "10:05");
        assertEquals(stored.call.order_updated_ms, Date.parse("2024-05-01T10:05:00.000Z"));
        assertEquals(stored.events.length, 3, "every snapshot is kept in the history");
      },
    );

    await t.step("a snapshot dated 9999 is ordered at receipt and flagged", async () => {
      const bogus = callEventBody({
        eventId: "f1",
        callId: "call-future",
        note: "bogus",
        updatedAt: "9999-12-31T23:59:59.000Z",
      });
      assertEquals(await post(server, bogus), { status: 200, body: { status: "applied" } });
      const real = callEventBody({
        eventId: "f2",
        callId: "call-future",
        note: "real",
        updatedAt: new Date(Date.now() + 60 * 60 * 1000).toISOString(),
      });
      assertEquals((await post(server, real)).status, 200);
      const stored = await getCall(server, "call-future");
      assertEquals(stored.call.data.note, "real", "a later real update still wins");
      assertEquals(stored.events[0].flags, ["future_timestamp"]);
      assertEquals(stored.events[1].flags, []);
    });

    await t.step("a reused event id with another body is applied and flagged", async () => {
      const first = callEventBody({ eventId: "reused", callId: "call-first" });
      const second = callEventBody({ eventId: "reused", callId: "call-second", note: "mine" });
      assertEquals(await post(server, first), { status: 200, body: { status: "applied" } });
      assertEquals(await post(server, second), { status: 200, body: { status: "applied" } });
      assertEquals(await post(server, second), { status: 200, body: { status: "duplicate" } });
      const stored = await getCall(server, "call-second");
      assertEquals(stored.call.data.note, "mine");
      assertEquals(stored.events.map((e: { flags: string[] }) => e.flags), [["id_conflict"]]);
    });

    await t.step("flags are counted in /metrics", async () => {
      const response = await fetch(`${server.url}/metrics`, {
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      const text = await response.text();
      assertMatch(text, /symbo_crm_event_flags_total\{flag="id_conflict"\} 1\b/);
      assertMatch(text, /symbo_crm_event_flags_total\{flag="future_timestamp"\} 1\b/);
    });

    await t.step("numeric ids beyond 2^53 keep their digits: two calls stay two", async () => {
      const body = (eventId: string, callId: string) =>
        `{"id":${eventId},"object":"Call","description":"call.created","user_id":12345678901234567891,"data":{"id":${callId},"note":"big"}}`;
      assertEquals(await post(server, body("9007199254740993", "9007199254740995")), {
        status: 200,
        body: { status: "applied" },
      });
      assertEquals(await post(server, body("9007199254740992", "9007199254740994")), {
        status: 200,
        body: { status: "applied" },
      });
      const text = await getCallText(server, "9007199254740995");
      assert(text.includes('"data":{"id":9007199254740995,"note":"big"}'), text);
      assert(text.includes('"user_id":"12345678901234567891"'), text);
      assert(text.includes('"event_id":"9007199254740993"'), text);
      const other = await getCall(server, "9007199254740994");
      assertEquals(other.call.id, "9007199254740994");
    });

    await t.step("an id holding a control character is answered 400 and audited", async () => {
      const before = await auditLines(server);
      for (
        const body of [
          callEventBody({ callId: "call\u0000cut" }),
          callEventBody({ callId: "call-ok", eventId: "evt\u0007" }),
        ]
      ) {
        const answer = await post(server, body);
        assertEquals(answer.status, 400);
        const error = answer.body as { error: string; message: string };
        assertEquals(error.error, "invalid_event");
        assertMatch(error.message, /control character U\+000[07]/);
      }
      assertEquals(await auditLines(server), before + 2);
      const missing = await fetch(`${server.url}/api/calls/call`, {
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      assertEquals(missing.status, 404, "no call was cut short at the NUL");
      await missing.body?.cancel();
    });
  } finally {
    await server.stop();
  }
});
