/**
 * Two instances on one sqld store, both configured with the same scheduled
 * source (issue 19): the slot is claimed once in the store (a lease taken in
 * one UPDATE), so the export is fetched and imported once, and both instances
 * show the same run.
 */
import { assertEquals } from "../helpers/assert.ts";
import { eventually } from "../helpers/eventually.ts";
import { startServerProcess } from "../helpers/server_process.ts";
import { admin, crmConfig, startSqld } from "../helpers/sqld.ts";

Deno.test("two instances on one sqld store run a scheduled source once per period", async () => {
  const sqld = await startSqld();
  let requests = 0;
  const crm = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    requests++;
    return new Response("external_id,first_name\nt1,Ann\nt2,Bob\n");
  });
  const dirs = await Promise.all(
    ["a", "b"].map((name) => Deno.makeTempDir({ prefix: `symbo-crm-sources-${name}-` })),
  );
  const source = {
    name: "crm",
    url: `http://127.0.0.1:${crm.addr.port}/export.csv`,
    allow_private_networks: true,
    every: "1d",
  };
  // Both start at once: both find the slot due at start.
  const servers = await Promise.all(dirs.map((dir) =>
    startServerProcess({
      dir,
      config: { ...crmConfig(dir, { url: sqld.url }), contacts: { sources: [source] } },
    })
  ));
  try {
    const [a, b] = servers;
    if (!a || !b) throw new Error("two servers");
    await eventually("the slot's run finished", 60_000, async () => {
      const { body } = await admin(a.url, "/api/sources/crm/runs");
      const runs = (body?.runs ?? []) as { outcome: string }[];
      return runs.length > 0 && runs.every((run) => run.outcome !== "running");
    }, 100);
    // Both instances keep ticking; neither takes the slot again.
    for (const server of [a, b, a, b]) {
      await eventually("a tick after the run", 10_000, async () => {
        const { body } = await admin(server.url, "/api/sources");
        const [status] = (body?.sources ?? []) as { running: boolean; next_run_at: string }[];
        return status !== undefined && !status.running &&
          Date.parse(status.next_run_at) > Date.now();
      }, 100);
    }
    const fromA = (await admin(a.url, "/api/sources/crm/runs")).body?.runs as { id: number }[];
    const fromB = (await admin(b.url, "/api/sources/crm/runs")).body?.runs as { id: number }[];
    assertEquals(fromA.length, 1);
    assertEquals(fromB.map((run) => run.id), fromA.map((run) => run.id));
    assertEquals(requests, 1);
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await crm.shutdown();
    await sqld.stop();
  }
});
