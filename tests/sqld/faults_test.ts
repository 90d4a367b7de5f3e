/**
 * What the service does when its remote libSQL server stops answering (SIGSTOP:
 * a hung server) or dies (SIGKILL: connections refused): lookups answer 503 in
 * bounded time, webhooks are still acknowledged (audited, `200 queued`), and
 * when the server comes back the applier brings every queued event into the
 * store by itself, without restarting symbo-crm.
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
      "sqld hung (SIGSTOP) past its deadlines: webhooks all answer 200 queued, lag shows",
      async () => {
        sqld.pause();
        const [ready, looked] = await Promise.all([
          readyz(server),
          lookup(server.url, "+15551230001"),
        ]);
        // Still ready: the audit log takes webhooks; the store's trouble is reported.
        assertEquals(ready.status, 200);
        assertMatch(JSON.stringify(ready.body), /"store":"(?!ok)/);
        assert(ready.ms < 3_000, `readyz took ${ready.ms} ms`);
        assertEquals(looked.status, 503);
        assertEquals(looked.body.error, "store_unavailable");
        assert(looked.ms < 3_000, `lookup took ${looked.ms} ms`);
        const delivered = await Promise.all(
          Array.from(
            { length: 5 },
            (_, i) =>
              deliver(
                server,
                callEventBody({ eventId: `evt-f-hung-${i}`, callId: `call-f-hung-${i}` }),
              ),
          ),
        );
        for (const answer of delivered) {
          assertEquals(answer.status, 200);
          assertEquals(answer.body, { status: "queued" });
          assert(answer.ms < 5_000, `webhook took ${answer.ms} ms`);
        }
        // Longer than the store's statement deadline: the applier waits and retries.
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        const lagging = await readyz(server);
        const applier = (lagging.body as { applier: { lag_events: number } }).applier;
        assertEquals(applier.lag_events, 5);
        assertEquals((await fetch(`${server.url}/healthz`)).status, 200);
      },
    );

    await t.step("sqld resumed (SIGCONT): every queued call is applied, no restart", async () => {
      sqld.resume();
      await eventually(
        "store ok",
        10_000,
        async () => JSON.stringify((await readyz(server)).body).includes('"store":"ok"'),
      );
      await eventually("all queued calls stored", 20_000, async () => {
        for (let i = 0; i < 5; i++) {
          if ((await admin(server.url, `/api/calls/call-f-hung-${i}`)).status !== 200) return false;
        }
        return true;
      });
      const caughtUp = await readyz(server);
      assertEquals((caughtUp.body as { applier: { lag_events: number } }).applier.lag_events, 0);
      assertEquals((await lookup(server.url, "+15551230001")).body.external_id, "f-1");
    });

    await t.step("sqld killed: lookups 503 at once, webhooks still 200 queued", async () => {
      await sqld.kill();
      const looked = await lookup(server.url, "+15551230001");
      assertEquals(looked.status, 503);
      assert(looked.ms < 1_000, `lookup took ${looked.ms} ms`);
      const ready = await readyz(server);
      assertEquals(ready.status, 200);
      assertMatch(JSON.stringify(ready.body), /"store":"(?!ok)/);
      for (let i = 0; i < 5; i++) {
        const missed = await deliver(
          server,
          callEventBody({ eventId: `evt-f-missed-${i}`, callId: `call-f-missed-${i}` }),
        );
        assertEquals(missed.status, 200);
        assertEquals(missed.body, { status: "queued" });
      }
    });

    await t.step("sqld restarted on the same data: the applier catches up by itself", async () => {
      await sqld.restart();
      await eventually(
        "store ok",
        10_000,
        async () => JSON.stringify((await readyz(server)).body).includes('"store":"ok"'),
      );
      await eventually("the calls audited while sqld was down are stored", 20_000, async () => {
        for (let i = 0; i < 5; i++) {
          if ((await admin(server.url, `/api/calls/call-f-missed-${i}`)).status !== 200) {
            return false;
          }
        }
        return true;
      });
      const fresh = await deliver(
        server,
        callEventBody({ eventId: "evt-f-after", callId: "call-f-after" }),
      );
      assertEquals(fresh.body, { status: "applied" });
    });

    await t.step("`audit replay` finds nothing left to apply; `audit verify` passes", async () => {
      const replay = await runCli(["audit", "replay", "--config", configPath], { cwd: dir });
      assertEquals(replay.code, 0, replay.stderr);
      assertMatch(replay.stdout, / 0 applied/);
      const verify = await runCli(["audit", "verify", "--config", configPath], { cwd: dir });
      assertEquals(verify.code, 0, verify.stdout + verify.stderr);
    });
  } finally {
    await server.stop();
    await sqld.stop();
  }
});
