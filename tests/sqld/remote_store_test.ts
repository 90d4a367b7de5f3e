/**
 * symbo-crm against a real libSQL server (sqld) over HTTP: the CLI import, the
 * lookup, the webhook, the admin API, readiness, audit verify/replay and backup,
 * each through the real processes; plus every remote URL form the config takes.
 */
import { MIGRATIONS } from "../../src/store/migrations.ts";
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { callEventBody, postSigned } from "../helpers/events.ts";
import { eventually } from "../helpers/eventually.ts";
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
import { aContact } from "../helpers/builders.ts";
import { findContactByPhone, saveContact } from "../../src/contacts/contact_store.ts";
import { openStore } from "../../src/store/open_store.ts";

Deno.test("symbo-crm on a remote sqld: import, lookups, webhooks, admin API, replay", async (t) => {
  const sqld = await startSqld();
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-remote-" });
  const config = crmConfig(dir, { url: sqld.url });
  const configPath = await writeConfig(dir, config);
  await Deno.writeTextFile(`${dir}/contacts.csv`, CONTACTS_CSV);
  try {
    await t.step("`import` migrates the empty server and loads the CSV", async () => {
      const result = await runCli(["import", `${dir}/contacts.csv`, "--config", configPath], {
        cwd: dir,
      });
      assertEquals(result.code, 0, result.stdout + result.stderr);
      assertMatch(result.stdout, /3 inserted/);
      const again = await runCli(["import", `${dir}/contacts.csv`, "--config", configPath], {
        cwd: dir,
      });
      assertMatch(again.stdout, /3 unchanged/);
    });

    const server = await startServerProcess({ dir, config });
    try {
      await t.step("the banner names the remote store", () => {
        assert(
          server.output.some((line) => line.includes(`store:    ${sqld.url} (remote)`)),
          server.output.join("\n"),
        );
      });

      await t.step("lookups answer from the server", async () => {
        const hit = await lookup(server.url, "+18005551213");
        assertEquals(hit.status, 200);
        assertEquals(hit.body.external_id, "c-1");
        assertEquals(hit.body.account, {
          external_id: "acct-1",
          name: "Sample Company",
          website_url: "",
          industry: "",
        });
        assertEquals((await lookup(server.url, "(801) 555-0146")).body.external_id, "c-2");
        assertEquals((await lookup(server.url, "+442079460958")).body.external_id, "c-3");
        assertEquals((await lookup(server.url, "+19998887777")).status, 404);
      });

      await t.step("the admin API writes and reads through the server", async () => {
        const put = await admin(server.url, "/api/contacts/c-4", {
          method: "PUT",
          body: { first_name: "Nina", work_phone: "+18005551212" },
        });
        assertEquals(put.status, 201);
        const got = await admin(server.url, "/api/contacts/c-4");
        assertEquals(got.body?.first_name, "Nina");
        // c-4 is newer than c-1 and shares its work number: it wins the lookup.
        assertEquals((await lookup(server.url, "+18005551212")).body.external_id, "c-4");
        assertEquals(
          (await admin(server.url, "/api/contacts/c-4", { method: "DELETE" })).status,
          204,
        );
        assertEquals((await lookup(server.url, "+18005551212")).body.external_id, "c-1");
      });

      await t.step("webhooks are applied once, in snapshot order", async () => {
        const body = callEventBody({
          eventId: "evt-r-1",
          callId: "call-r-1",
          prospectExternalId: "c-1",
        });
        assertEquals(await (await postSigned(server.url, SECRET, body)).json(), {
          status: "applied",
        });
        assertEquals(await (await postSigned(server.url, SECRET, body)).json(), {
          status: "duplicate",
        });
        const newer = callEventBody({
          callId: "call-r-1",
          type: "call.updated",
          updatedAt: "2024-01-11T20:30:00.000Z",
          disposition: "meeting_booked",
        });
        const older = callEventBody({
          callId: "call-r-1",
          type: "call.updated",
          updatedAt: "2024-01-11T20:25:00.000Z",
          disposition: "no_answer",
        });
        assertEquals((await postSigned(server.url, SECRET, newer)).status, 200);
        assertEquals((await postSigned(server.url, SECRET, older)).status, 200);
        const call = await admin(server.url, "/api/calls/call-r-1");
        assertEquals(call.status, 200);
        const stored = call.body as { call: Record<string, unknown>; events: unknown[] };
        assertEquals(stored.call.disposition, "meeting_booked");
        assertEquals(stored.call.contact_external_id, "c-1");
        assertEquals(stored.events.length, 3);
      });

      await t.step("concurrent deliveries are group-committed over the network", async () => {
        const bodies = Array.from({ length: 120 }, (_, i) =>
          callEventBody({
            eventId: `evt-rc-${i}`,
            callId: `call-rc-${i % 30}`,
            updatedAt: `2024-01-11T20:${String(i % 60).padStart(2, "0")}:00.000Z`,
          }));
        const responses = await Promise.all(
          bodies.map((body) => postSigned(server.url, SECRET, body)),
        );
        for (const response of responses) {
          assertEquals(response.status, 200);
          await response.body?.cancel();
        }
        // An answer may be `queued` when the apply outlasts apply_wait_ms on a
        // busy machine: every acknowledged event still reaches the store.
        for (let i = 0; i < 30; i++) {
          await eventually(`call-rc-${i} has its 4 events`, 10_000, async () => {
            const call = await admin(server.url, `/api/calls/call-rc-${i}`);
            return (call.body as { events?: unknown[] }).events?.length === 4;
          });
        }
      });

      await t.step("readiness checks the server", async () => {
        const response = await fetch(`${server.url}/readyz`);
        assertEquals(response.status, 200);
        assertEquals((await response.json()).checks.store, "ok");
      });
    } finally {
      assertEquals(await server.stop(), 0);
    }

    await t.step("`backup` copies the server's database into a local file", async () => {
      const result = await runCli(["backup", `${dir}/backup.db`, "--config", configPath], {
        cwd: dir,
      });
      assertEquals(result.code, 0, result.stdout + result.stderr);
      assertMatch(result.stdout, /Backup written/);
      assertEquals((await Deno.stat(`${dir}/backup.db`)).mode! & 0o777, 0o600);
      const copy = await openStore({ url: `file:${dir}/backup.db` });
      const live = await openStore({ url: sqld.url });
      try {
        for (
          const table of [
            "contacts",
            "contact_phones",
            "calls",
            "events",
            "prospects",
            "row_counts",
          ]
        ) {
          const query = `SELECT * FROM ${table} ORDER BY 1, 2`;
          assertEquals(await copy.reader.all(query), await live.reader.all(query), table);
        }
        assertEquals(
          (await copy.client.execute("PRAGMA user_version")).rows[0]?.[0],
          MIGRATIONS.at(-1)?.version,
        );
        assertEquals((await findContactByPhone(copy.reader, "+18005551213"))?.external_id, "c-1");
      } finally {
        copy.close();
        live.close();
      }
      const again = await runCli(["backup", `${dir}/backup.db`, "--config", configPath], {
        cwd: dir,
      });
      assertEquals(again.code, 1);
      assertMatch(again.stderr, /already exists/);
    });

    await t.step(
      "`audit verify` passes and `audit replay` rebuilds another server's store",
      async () => {
        const verify = await runCli(["audit", "verify", "--config", configPath], { cwd: dir });
        assertEquals(verify.code, 0, verify.stdout + verify.stderr);
        const empty = await startSqld();
        try {
          const replayDir = await Deno.makeTempDir({ prefix: "symbo-crm-remote-replay-" });
          const replayConfig = {
            ...crmConfig(replayDir, { url: empty.url }),
            audit: { dir: `${dir}/audit` },
          };
          const replayPath = await writeConfig(replayDir, replayConfig);
          const first = await runCli(["audit", "replay", "--config", replayPath], {
            cwd: replayDir,
          });
          assertEquals(first.code, 0, first.stderr);
          assertMatch(first.stdout, /123 applied, 0 already stored/);
          const again = await runCli(["audit", "replay", "--config", replayPath], {
            cwd: replayDir,
          });
          assertMatch(again.stdout, /0 applied/);
          const live = await openStore({ url: sqld.url });
          const replayed = await openStore({ url: empty.url });
          try {
            const query =
              "SELECT id, disposition, data, contact_external_id FROM calls ORDER BY id";
            assertEquals(await replayed.reader.all(query), await live.reader.all(query));
          } finally {
            live.close();
            replayed.close();
          }
        } finally {
          await empty.stop();
        }
      },
    );
  } finally {
    await sqld.stop();
  }
});

Deno.test("every remote URL form reaches the server: http://, libsql://?tls=0, ws://", async (t) => {
  const sqld = await startSqld();
  try {
    const host = `127.0.0.1:${sqld.port}`;
    for (const url of [`http://${host}`, `libsql://${host}?tls=0`, `ws://${host}`]) {
      await t.step(url, async () => {
        const store = await openStore({ url });
        try {
          assertEquals(store.mode, "remote");
          const id = `url-${url.split(":")[0]}`;
          await store.write((db) =>
            saveContact(db, aContact({ external_id: id, mobile_phone: "+15550001111" }), Date.now())
          );
          assertEquals((await findContactByPhone(store.reader, "+15550001111"))?.external_id, id);
          await store.ping();
        } finally {
          store.close();
        }
      });
    }
  } finally {
    await sqld.stop();
  }
});
