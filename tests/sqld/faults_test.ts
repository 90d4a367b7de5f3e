/**
 * What the service does when its remote libSQL server stops answering (SIGSTOP:
 * a hung server) or dies (SIGKILL: connections refused), and how it recovers
 * when the server comes back, without restarting symbo-crm; `audit replay`
 * then brings in the events that were audited but not stored.
 */
import { eventually } from "../helpers/eventually.ts";
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { callEventBody, postSigned } from "../helpers/events.ts";
import { runCli, type ServerProcess, startServerProcess } from "../helpers/server_process.ts";
import { admin, crmConfig, lookup, SECRET, startSqld, writeConfig } from "../helpers/sqld.ts";

async function readyz(
  server: ServerProcess,
): Promise<{ status: number; ms: number; body: unknown }> {
  const started = performance.now();
  const response = await fetch(`${server.url}/readyz`);
  return { status: response.status, body: await response.json(), ms: performance.now() - started };
}

async function deliver(server: ServerProcess, body: string) {
  const started = performance.now();
  const response = await postSigned(server.url, SECRET, body);
  return { status: response.status, body: await response.json(), ms: performance.now() - started };
}

async function auditedEventIds(dir: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const entry of Deno.readDir(`${dir}/audit`)) {
    if (!entry.name.endsWith(".jsonl")) continue;
    const text = await Deno.readTextFile(`${dir}/audit/${entry.name}`);
    for (const line of text.split("\n")) if (line !== "") ids.push(JSON.parse(line).event_id);
  }
  return ids;
}

Deno.test("a hung or dead sqld: bounded 503s, local audit, recovery without restart, replay", async (t) => {
  const sqld = await startSqld();
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-faults-" });
  const config = crmConfig(dir, { url: sqld.url });
  const configPath = await writeConfig(dir, config);
  const server = await startServerProcess({ dir, config });
  try {
    await t.step("healthy: a contact, a call, ready", async () => {
      const put = await admin(server.url, "/api/contacts/f-1", {
        method: "PUT",
        body: { first_name: "Fay", mobile_phone: "+15551230001" },
      });
      assertEquals(put.status, 201);
      assertEquals(
        (await deliver(server, callEventBody({ eventId: "evt-f-0", callId: "call-f-0" }))).status,
        200,
      );
      assertEquals((await readyz(server)).status, 200);
    });

    await t.step(
      "sqld hung (SIGSTOP): readyz, lookups and webhooks answer 503 in bounded time",
      async () => {
        sqld.pause();
        const [ready, looked, delivered] = await Promise.all([
          readyz(server),
          lookup(server.url, "+15551230001"),
          deliver(server, callEventBody({ eventId: "evt-f-hung", callId: "call-f-hung" })),
        ]);
        assertEquals(ready.status, 503);
        assertMatch(JSON.stringify(ready.body), /"store":"(?!ok)/);
        assert(ready.ms < 3_000, `readyz took ${ready.ms} ms`);
        assertEquals(looked.status, 503);
        assertEquals(looked.body.error, "store_unavailable");
        assert(looked.ms < 3_000, `lookup took ${looked.ms} ms`);
        assertEquals(delivered.status, 503);
        assertEquals(delivered.body.error, "store_unavailable");
        assert(delivered.ms < 15_000, `webhook took ${delivered.ms} ms`);
        // Answered 503, but audited first: replay has it.
        assert((await auditedEventIds(dir)).includes("evt-f-hung"));
        // Liveness is not readiness: the process itself is fine.
        assertEquals((await fetch(`${server.url}/healthz`)).status, 200);
      },
    );

    await t.step("sqld resumed: everything recovers without restarting symbo-crm", async () => {
      sqld.resume();
      await eventually("readyz 200", 10_000, async () => (await readyz(server)).status === 200);
      assertEquals((await lookup(server.url, "+15551230001")).body.external_id, "f-1");
      // Symbo's retry of the event answered 503: applied now, or already stored
      // if the hung request reached the server after all.
      await eventually("the retried webhook is stored", 15_000, async () => {
        const retried = await deliver(
          server,
          callEventBody({ eventId: "evt-f-hung", callId: "call-f-hung" }),
        );
        return retried.status === 200;
      });
      assertEquals((await admin(server.url, "/api/calls/call-f-hung")).status, 200);
    });

    await t.step("sqld killed: connections refused, 503s come at once", async () => {
      await sqld.kill();
      const looked = await lookup(server.url, "+15551230001");
      assertEquals(looked.status, 503);
      assert(looked.ms < 1_000, `lookup took ${looked.ms} ms`);
      assertEquals((await readyz(server)).status, 503);
      for (let i = 0; i < 5; i++) {
        const missed = await deliver(
          server,
          callEventBody({ eventId: `evt-f-missed-${i}`, callId: `call-f-missed-${i}` }),
        );
        assertEquals(missed.status, 503);
        assertEquals(missed.body.error, "store_unavailable");
      }
    });

    await t.step("sqld restarted on the same data: symbo-crm reconnects by itself", async () => {
      await sqld.restart();
      await eventually("readyz 200", 10_000, async () => (await readyz(server)).status === 200);
      assertEquals((await lookup(server.url, "+15551230001")).body.external_id, "f-1");
      const fresh = await deliver(
        server,
        callEventBody({ eventId: "evt-f-after", callId: "call-f-after" }),
      );
      assertEquals(fresh.body, { status: "applied" });
      for (let i = 0; i < 5; i++) {
        assertEquals((await admin(server.url, `/api/calls/call-f-missed-${i}`)).status, 404);
      }
    });

    await t.step("`audit replay` brings in the events answered 503", async () => {
      const replay = await runCli(["audit", "replay", "--config", configPath], { cwd: dir });
      assertEquals(replay.code, 0, replay.stderr);
      assertMatch(replay.stdout, /5 applied/);
      for (let i = 0; i < 5; i++) {
        assertEquals((await admin(server.url, `/api/calls/call-f-missed-${i}`)).status, 200);
      }
      const verify = await runCli(["audit", "verify", "--config", configPath], { cwd: dir });
      assertEquals(verify.code, 0, verify.stdout + verify.stderr);
    });
  } finally {
    await server.stop();
    await sqld.stop();
  }
});
