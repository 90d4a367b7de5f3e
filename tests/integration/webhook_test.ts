import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { callEventBody, postSigned } from "../helpers/events.ts";
import { runCli, type ServerProcess, startServerProcess } from "../helpers/server_process.ts";
import { signBody } from "../../src/symbo/signature.ts";

const SECRET = "webhook secret for tests";
const OLD_SECRET = "the secret before rotation";
const ADMIN = "admin-token-0123456789abcdef0123456789";

function configFor(dir: string, extra: Record<string, unknown> = {}) {
  return {
    database: { url: `file:${dir}/crm.db` },
    audit: { dir: `${dir}/audit` },
    data_dir: dir,
    symbo: { webhook_secrets: [SECRET, OLD_SECRET], max_body_bytes: 64 * 1024 },
    admin: { tokens: [ADMIN] },
    log: { level: "warning" },
    ...extra,
  };
}

async function getCall(server: ServerProcess, id: string) {
  const response = await fetch(`${server.url}/api/calls/${encodeURIComponent(id)}`, {
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  return { status: response.status, body: await response.json() };
}

Deno.test("webhook over HTTP against the real server", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-webhook-" });
  const server = await startServerProcess({ dir, config: configFor(dir) });
  try {
    await t.step("the guide's own example (with its malformed created_at) is applied", async () => {
      const body = await Deno.readTextFile(
        new URL("../fixtures/symbo_guide_call_created.json", import.meta.url),
      );
      const response = await postSigned(server.url, SECRET, body);
      assertEquals(response.status, 200);
      assertEquals(response.headers.get("content-type"), "application/json; charset=utf-8");
      assertEquals(await response.json(), { status: "applied" });
      const { body: stored } = await getCall(server, "2dc92583-0376-469b-9909-3a020b75d777");
      assertEquals(stored.call.contact_external_id, "12345");
      assertEquals(stored.call.disposition, "answered_positive");
      assertEquals(stored.events.length, 1);
      assertEquals(stored.events[0].body.created_at, "023-01-11T20:19:40.000Z");
    });

    await t.step(
      "the same event delivered twice is applied once and answered duplicate",
      async () => {
        const body = callEventBody({ eventId: "evt-dup", callId: "call-dup" });
        assertEquals(await (await postSigned(server.url, SECRET, body)).json(), {
          status: "applied",
        });
        assertEquals(await (await postSigned(server.url, SECRET, body)).json(), {
          status: "duplicate",
        });
        const { body: stored } = await getCall(server, "call-dup");
        assertEquals(stored.events.length, 1);
      },
    );

    await t.step("a body without an id is deduplicated by its hash", async () => {
      const body = callEventBody({ eventId: null, callId: "call-noid" });
      assertEquals(await (await postSigned(server.url, SECRET, body)).json(), {
        status: "applied",
      });
      assertEquals(await (await postSigned(server.url, SECRET, body)).json(), {
        status: "duplicate",
      });
    });

    await t.step("an older snapshot arriving late never overwrites newer fields", async () => {
      const newer = callEventBody({
        callId: "call-ooo",
        type: "call.updated",
        updatedAt: "2024-01-11T20:30:00.000Z",
        disposition: "meeting_booked",
        note: "final note",
      });
      const older = callEventBody({
        callId: "call-ooo",
        type: "call.created",
        updatedAt: "2024-01-11T20:20:00.000Z",
        disposition: "answered_positive",
        note: "",
      });
      assertEquals((await postSigned(server.url, SECRET, newer)).status, 200);
      assertEquals((await postSigned(server.url, SECRET, older)).status, 200);
      const { body: stored } = await getCall(server, "call-ooo");
      assertEquals(stored.call.disposition, "meeting_booked");
      assertEquals(stored.call.data.note, "final note");
      assertEquals(stored.events.length, 2);
    });

    await t.step("both event spellings are accepted", async () => {
      for (
        const type of ["call:completed", "call:updated", "call:recording-completed", "call.updated"]
      ) {
        const response = await postSigned(
          server.url,
          SECRET,
          callEventBody({ callId: `call-${type}`, type }),
        );
        assertEquals(await response.json(), { status: "applied" }, type);
      }
    });

    await t.step("unknown events are audited and answered ignored", async () => {
      const body = JSON.stringify({
        id: "evt-unknown",
        object: "Meeting",
        description: "meeting.created",
        data: {},
      });
      assertEquals(await (await postSigned(server.url, SECRET, body)).json(), {
        status: "ignored",
      });
    });

    await t.step("a signature under the rotated-out secret still verifies", async () => {
      const response = await postSigned(
        server.url,
        OLD_SECRET,
        callEventBody({ callId: "call-old-secret" }),
      );
      assertEquals(response.status, 200);
      await response.body?.cancel();
    });

    await t.step("verified but invalid JSON is answered 400 (and audited)", async () => {
      for (const body of ["{not json", JSON.stringify({ id: "evt-x", object: "Call", data: {} })]) {
        const response = await postSigned(server.url, SECRET, body);
        assertEquals(response.status, 400, body);
        assertEquals((await response.json()).error, "invalid_event");
      }
    });

    await t.step("missing, wrong or tampered signatures are answered 401", async () => {
      const body = callEventBody({ callId: "call-tampered" });
      const signature = await signBody(SECRET, body);
      const cases: [string, Record<string, string>, string][] = [
        ["missing", {}, body],
        ["wrong secret", { "x-hmac-signature": await signBody("not the secret", body) }, body],
        ["tampered body", { "x-hmac-signature": signature }, body.replace("outbound", "inbound")],
        ["not hex", { "x-hmac-signature": "z".repeat(64) }, body],
      ];
      for (const [name, headers, sent] of cases) {
        const response = await fetch(`${server.url}/symbo/webhook`, {
          method: "POST",
          headers,
          body: sent,
        });
        assertEquals(response.status, 401, name);
        assertMatch((await response.json()).error, /signature/, name);
      }
      assertEquals((await getCall(server, "call-tampered")).status, 404);
    });

    await t.step("a body over the limit is answered 413, declared or streamed", async () => {
      const big = callEventBody({
        callId: "call-big",
        extra: { transcription: "x".repeat(70 * 1024) },
      });
      const declared = await postSigned(server.url, SECRET, big);
      assertEquals(declared.status, 413);
      assertEquals((await declared.json()).error, "body_too_large");
      const chunks = [new TextEncoder().encode(big)];
      const streamed = await fetch(`${server.url}/symbo/webhook`, {
        method: "POST",
        headers: { "x-hmac-signature": await signBody(SECRET, big) },
        body: ReadableStream.from(chunks),
      });
      assertEquals(streamed.status, 413);
      await streamed.body?.cancel();
      assertEquals((await getCall(server, "call-big")).status, 404);
    });

    await t.step("concurrent deliveries are all applied and the audit log verifies", async () => {
      const bodies = Array.from(
        { length: 200 },
        (_, i) =>
          callEventBody({
            callId: `call-c-${i % 50}`,
            eventId: `evt-c-${i}`,
            updatedAt: `2024-01-11T20:${String(i % 60).padStart(2, "0")}:00.000Z`,
          }),
      );
      const responses = await Promise.all(
        bodies.map((body) => postSigned(server.url, SECRET, body)),
      );
      for (const response of responses) {
        assertEquals(response.status, 200);
        await response.body?.cancel();
      }
      for (let i = 0; i < 50; i++) {
        assertEquals((await getCall(server, `call-c-${i}`)).body.events.length, 4);
      }
    });
  } finally {
    assertEquals(await server.stop(), 0);
  }

  await t.step("audit verify passes on the log the server wrote", async () => {
    const result = await runCli(["audit", "verify", "--config", `${dir}/config.json`], {
      cwd: dir,
    });
    assertEquals(result.code, 0, result.stdout + result.stderr);
  });

  await t.step("audit verify names the first edited line and exits 1", async () => {
    const [file] = [...Deno.readDirSync(`${dir}/audit`)].map((e) => e.name).filter((n) =>
      n.endsWith(".jsonl")
    );
    assert(file);
    const path = `${dir}/audit/${file}`;
    const original = await Deno.readTextFile(path);
    const lines = original.split("\n");
    lines[2] = (lines[2] ?? "").replace("answered_positive", "answered_negative");
    await Deno.writeTextFile(path, lines.join("\n"));
    const result = await runCli(["audit", "verify", "--config", `${dir}/config.json`], {
      cwd: dir,
    });
    assertEquals(result.code, 1);
    assertMatch(result.stdout + result.stderr, new RegExp(`${file}.*line 3`));
    await Deno.writeTextFile(path, original);
  });

  await t.step("audit replay into an empty store rebuilds the same calls", async () => {
    const replayDir = await Deno.makeTempDir({ prefix: "symbo-crm-replay-" });
    await Deno.writeTextFile(
      `${replayDir}/config.json`,
      JSON.stringify({ ...configFor(replayDir), audit: { dir: `${dir}/audit` } }),
    );
    const first = await runCli(["audit", "replay", "--config", `${replayDir}/config.json`], {
      cwd: replayDir,
    });
    assertEquals(first.code, 0, first.stderr);
    const again = await runCli(["audit", "replay", "--config", `${replayDir}/config.json`], {
      cwd: replayDir,
    });
    assertMatch(again.stdout, /0 applied/);
    const live = await startServerProcess({ dir, config: configFor(dir) });
    const replayed = await startServerProcess({
      dir: replayDir,
      config: { ...configFor(replayDir), audit: { dir: `${replayDir}/audit` } },
    });
    try {
      for (
        const id of ["call-ooo", "call-dup", "call-c-7", "2dc92583-0376-469b-9909-3a020b75d777"]
      ) {
        const a = (await getCall(live, id)).body;
        const b = (await getCall(replayed, id)).body;
        assertEquals(b.call.data, a.call.data, id);
        assertEquals(b.call.disposition, a.call.disposition, id);
        assertEquals(
          b.events.map((e: { event_key: string }) => e.event_key),
          a.events.map((e: { event_key: string }) => e.event_key),
          id,
        );
      }
    } finally {
      await live.stop();
      await replayed.stop();
    }
  });
});

Deno.test("no acknowledged webhook is lost when the server is killed with SIGKILL mid-burst", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-crash-" });
  const server = await startServerProcess({ dir, config: configFor(dir) });
  const acknowledged: string[] = [];
  let sent = 0;
  const sender = async (worker: number) => {
    for (let i = 0; i < 400; i++) {
      const callId = `crash-${worker}-${i}`;
      sent++;
      try {
        const response = await postSigned(server.url, SECRET, callEventBody({ callId }));
        if (response.status === 200) acknowledged.push(callId);
        await response.body?.cancel();
      } catch {
        return; // the server is gone
      }
    }
  };
  const senders = Array.from({ length: 16 }, (_, w) => sender(w));
  while (acknowledged.length < 150) await new Promise((resolve) => setTimeout(resolve, 5));
  await server.kill();
  await Promise.all(senders);
  assert(
    acknowledged.length >= 150 && acknowledged.length < sent,
    `acked ${acknowledged.length} of ${sent}`,
  );

  const restarted = await startServerProcess({ dir, config: configFor(dir) });
  try {
    for (const id of acknowledged) assertEquals((await getCall(restarted, id)).status, 200, id);
  } finally {
    await restarted.stop();
  }
  const verify = await runCli(["audit", "verify", "--config", `${dir}/config.json`], { cwd: dir });
  assertEquals(verify.code, 0, verify.stdout + verify.stderr);
});
