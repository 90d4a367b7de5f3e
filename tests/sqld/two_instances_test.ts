/**
 * Two symbo-crm instances on one sqld database, as behind a load balancer that
 * retries: every event is delivered to both at once. Each call must be stored
 * once with its newest snapshot, and each event applied exactly once in total
 * (one instance answers "applied", the other "duplicate"), while each instance
 * keeps its own audit log of everything it received and its own applier
 * position in the shared store.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { callEventBody, postSigned } from "../helpers/events.ts";
import { runCli, startServerProcess } from "../helpers/server_process.ts";
import { admin, crmConfig, LOOKUP_TOKEN, SECRET, startSqld, writeConfig } from "../helpers/sqld.ts";
import { openStore } from "../../src/store/open_store.ts";

const CALLS = 40;
const SNAPSHOTS = 3;
const DISPOSITIONS = ["no_answer", "answered_positive", "meeting_booked"];

/** The test asserts applied/duplicate answers, so it waits for the apply rather than answer queued. */
function patientConfig(dir: string, url: string): Record<string, unknown> {
  const config = crmConfig(dir, { url });
  return {
    ...config,
    symbo: { webhook_secrets: [SECRET], lookup_tokens: [LOOKUP_TOKEN], apply_wait_ms: 15_000 },
  };
}

Deno.test("two instances on one sqld store each call once, newest snapshot, events applied once", async () => {
  const sqld = await startSqld();
  const dirs = await Promise.all(
    ["a", "b"].map((name) => Deno.makeTempDir({ prefix: `symbo-crm-instance-${name}-` })),
  );
  // Both start at once on the empty database: the schema migration races too.
  const servers = await Promise.all(
    dirs.map((dir) => startServerProcess({ dir, config: patientConfig(dir, sqld.url) })),
  );
  const [a, b] = servers;
  assert(a && b);
  try {
    const events: { id: string; body: string }[] = [];
    for (let snapshot = 0; snapshot < SNAPSHOTS; snapshot++) {
      for (let call = 0; call < CALLS; call++) {
        // Odd calls get their snapshots newest first: arrival order must not matter.
        const n = call % 2 === 0 ? snapshot : SNAPSHOTS - 1 - snapshot;
        events.push({
          id: `evt-2i-${call}-${n}`,
          body: callEventBody({
            eventId: `evt-2i-${call}-${n}`,
            callId: `call-2i-${call}`,
            type: n === 0 ? "call.created" : "call.updated",
            updatedAt: `2024-01-11T20:${String(10 + n).padStart(2, "0")}:00.000Z`,
            disposition: DISPOSITIONS[n],
          }),
        });
      }
    }

    const deliver = async (server: typeof a, body: string) => {
      const response = await postSigned(server.url, SECRET, body);
      assertEquals(response.status, 200, server.url);
      const { status } = await response.json();
      return String(status);
    };
    // Waves of concurrent deliveries (one wave would be one group commit per
    // instance, the first of which would win every race); who is sent an event
    // first alternates, so both instances win races.
    const outcomes: { id: string; statuses: string[] }[] = [];
    for (let start = 0; start < events.length; start += 8) {
      outcomes.push(
        ...await Promise.all(
          events.slice(start, start + 8).map(async (event, i) => {
            const statuses = i % 2 === 0
              ? await Promise.all([deliver(a, event.body), deliver(b, event.body)])
              : (await Promise.all([deliver(b, event.body), deliver(a, event.body)])).reverse();
            return { id: event.id, statuses };
          }),
        ),
      );
    }
    const appliedBy = [0, 0];
    for (const { id, statuses } of outcomes) {
      assertEquals([...statuses].sort(), ["applied", "duplicate"], id);
      statuses.forEach((status, i) => appliedBy[i]! += status === "applied" ? 1 : 0);
    }
    console.log(`events applied by instance A: ${appliedBy[0]}, by B: ${appliedBy[1]}`);

    type HistoryEvent = { event_key: string; body: unknown; body_unavailable: string | null };
    for (let call = 0; call < CALLS; call++) {
      const histories: HistoryEvent[][] = [];
      for (const server of [a, b]) {
        const found = await admin(server.url, `/api/calls/call-2i-${call}`);
        assertEquals(found.status, 200);
        const stored = found.body as { call: Record<string, unknown>; events: HistoryEvent[] };
        assertEquals(stored.call.disposition, "meeting_booked", `call-2i-${call}`);
        assertEquals(stored.events.length, SNAPSHOTS, `call-2i-${call}`);
        histories.push(stored.events);
      }
      // One copy of each body: the audit line of the instance that applied the
      // event. That instance shows it; the other says where it is.
      for (const [index, event] of (histories[0] ?? []).entries()) {
        const other = histories[1]?.[index];
        const shown = [event, other].filter((e) => e?.body !== null);
        assertEquals(shown.length, 1, event.event_key);
        const elsewhere = [event, other].find((e) => e?.body === null);
        assert.match(elsewhere?.body_unavailable ?? "", /in the audit log of instance \S+/);
      }
      if (call === 0) {
        // The exact-body route says the same: 200 where the line is, 404 naming the other.
        const key = encodeURIComponent(histories[0]?.[0]?.event_key ?? "");
        const answers = await Promise.all(
          [a, b].map((server) => admin(server.url, `/api/calls/call-2i-0/events/${key}`)),
        );
        const statuses = answers.map((answer) => answer.status).sort();
        assertEquals(statuses, [200, 404]);
        const refused = answers.find((answer) => answer.status === 404);
        assertEquals(refused?.body?.error, "event_body_elsewhere");
      }
    }
    const listed = await admin(a.url, `/api/calls?limit=200`);
    const calls = (listed.body as { calls: { id: string }[] }).calls;
    assertEquals(calls.filter((c) => c.id.startsWith("call-2i-")).length, CALLS);

    // Each audit folder has its own applier position in the shared store, at its own tip.
    const store = await openStore({ url: sqld.url });
    try {
      const positions = await store.reader.all(
        "SELECT seq FROM applier_positions ORDER BY instance",
      );
      assertEquals(positions.map((row) => Number(row.seq)), [
        CALLS * SNAPSHOTS,
        CALLS * SNAPSHOTS,
      ]);
    } finally {
      store.close();
    }
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await sqld.stop();
  }

  for (const dir of dirs) {
    // Each instance audited every delivery it received, in its own log.
    const configPath = await writeConfig(dir, crmConfig(dir, { url: sqld.url }));
    const verify = await runCli(["audit", "verify", "--config", configPath], { cwd: dir });
    assertEquals(verify.code, 0, verify.stdout + verify.stderr);
    let lines = 0;
    for await (const entry of Deno.readDir(`${dir}/audit`)) {
      if (entry.name.endsWith(".jsonl")) {
        lines += (await Deno.readTextFile(`${dir}/audit/${entry.name}`)).split("\n").filter(Boolean)
          .length;
      }
    }
    assertEquals(lines, CALLS * SNAPSHOTS);
  }
});
