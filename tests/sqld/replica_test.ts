/**
 * Embedded-replica mode (`file:` + `sync_url` of a sqld primary): lookups read
 * the local copy, writes go to the primary, a CLI next to the running server
 * does not touch the server's replica file, and a hung primary leaves lookups
 * answering from the replica while webhooks answer 503 (after being audited).
 */
import { eventually } from "../helpers/eventually.ts";
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { callEventBody, postSigned } from "../helpers/events.ts";
import { runCli, startServerProcess } from "../helpers/server_process.ts";
import {
  admin,
  CONTACTS_CSV,
  crmConfig,
  lookup,
  SECRET,
  startSqld,
  writeConfig,
} from "../helpers/sqld.ts";
import { findContactByPhone } from "../../src/contacts/contact_store.ts";
import { openStore } from "../../src/store/open_store.ts";

Deno.test("embedded replica of a sqld primary: local reads, forwarded writes, primary outage", async (t) => {
  const sqld = await startSqld();
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-replica-" });
  const config = crmConfig(dir, {
    url: `file:${dir}/replica/crm.db`,
    sync_url: sqld.url,
    sync_interval_seconds: 0.2,
  });
  const configPath = await writeConfig(dir, config);
  await Deno.writeTextFile(`${dir}/contacts.csv`, CONTACTS_CSV);
  const server = await startServerProcess({ dir, config });
  let stopped = false;
  try {
    await t.step("the banner says replica, and the replica file is owner-only", async () => {
      assert(server.output.some((line) => line.includes("(replica)")), server.output.join("\n"));
      assertEquals((await Deno.stat(`${dir}/replica/crm.db`)).mode! & 0o777, 0o600);
    });

    await t.step(
      "`import` next to the running server writes to the primary; lookups see it after a sync",
      async () => {
        const result = await runCli(["import", `${dir}/contacts.csv`, "--config", configPath], {
          cwd: dir,
        });
        assertEquals(result.code, 0, result.stdout + result.stderr);
        assertMatch(result.stdout, /3 inserted/);
        await eventually("the replica has the import", 5_000, async () => {
          return (await lookup(server.url, "+18005551213")).status === 200;
        });
        const hit = await lookup(server.url, "+18005551213");
        assertEquals(hit.body.external_id, "c-1");
        assertEquals((await lookup(server.url, "+19998887777")).status, 404);
      },
    );

    await t.step("webhooks and the admin API write through to the primary", async () => {
      const body = callEventBody({
        eventId: "evt-rep-1",
        callId: "call-rep-1",
        prospectExternalId: "c-1",
      });
      assertEquals(await (await postSigned(server.url, SECRET, body)).json(), {
        status: "applied",
      });
      assertEquals(await (await postSigned(server.url, SECRET, body)).json(), {
        status: "duplicate",
      });
      const call = await admin(server.url, "/api/calls/call-rep-1");
      assertEquals(
        (call.body as { call: { contact_external_id: string } }).call.contact_external_id,
        "c-1",
      );
      const put = await admin(server.url, "/api/contacts/c-9", {
        method: "PUT",
        body: { first_name: "Rita", mobile_phone: "+15557770009" },
      });
      assertEquals(put.status, 201);
      await eventually("the replica has the new contact", 5_000, async () => {
        return (await lookup(server.url, "+15557770009")).status === 200;
      });
    });

    await t.step(
      "`backup` next to the running server copies the primary into a local file",
      async () => {
        const result = await runCli(["backup", `${dir}/backup.db`, "--config", configPath], {
          cwd: dir,
        });
        assertEquals(result.code, 0, result.stdout + result.stderr);
        const copy = await openStore({ url: `file:${dir}/backup.db` });
        try {
          assertEquals((await findContactByPhone(copy.reader, "+15557770009"))?.external_id, "c-9");
          const calls = await copy.reader.all("SELECT id FROM calls");
          assertEquals(calls, [{ id: "call-rep-1" }]);
        } finally {
          copy.close();
        }
      },
    );

    await t.step(
      "primary hung: lookups still answer from the replica, webhooks are queued, still ready",
      async () => {
        sqld.pause();
        try {
          const hit = await lookup(server.url, "+18005551213");
          assertEquals(hit.status, 200);
          assert(hit.ms < 500, `lookup took ${hit.ms} ms`);
          const response = await postSigned(
            server.url,
            SECRET,
            callEventBody({ eventId: "evt-rep-hung", callId: "call-rep-hung" }),
          );
          // Audited is acknowledged: the applier brings it in when the primary is back.
          assertEquals(response.status, 200);
          assertEquals(await response.json(), { status: "queued" });
          // Ready all the same: webhooks are still acknowledged; the store's state is reported.
          const ready = await fetch(`${server.url}/readyz`);
          assertEquals(ready.status, 200);
          assert((await ready.json()).checks.store !== "ok");
        } finally {
          sqld.resume();
        }
      },
    );

    await t.step("primary back: the queued webhook is stored without a retry", async () => {
      await eventually(
        "the queued call is stored",
        20_000,
        async () => (await admin(server.url, "/api/calls/call-rep-hung")).status === 200,
      );
    });

    assertEquals(await server.stop(), 0);
    stopped = true;
  } finally {
    if (!stopped) await server.stop();
    await sqld.stop();
  }
});
