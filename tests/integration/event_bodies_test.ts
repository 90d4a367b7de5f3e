/**
 * One copy of each raw body (issue 15): the store keeps no body for events
 * applied from the audit log, and call detail reads each snapshot back from
 * its audit line, plain or gzip'd; a line removed by retention answers a
 * clear "unavailable", never a 500.
 */
import { join } from "node:path";
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { namesIn } from "../helpers/audit_days.ts";
import { callEventBody, postSigned } from "../helpers/events.ts";
import { eventually } from "../helpers/eventually.ts";
import { type ServerProcess, startServerProcess } from "../helpers/server_process.ts";
import { openAuditLog } from "../../src/audit/audit_log.ts";
import { openStore } from "../../src/store/open_store.ts";
import { signBody } from "../../src/symbo/signature.ts";

const SECRET = "webhook secret for event body tests";
const ADMIN = "admin-token-0123456789abcdef";
const TOKEN = "lookup-token-0123456789abcdef";
const CALL = "call-bodies";
// Days over whenever the test runs, so the server compresses them at start; recent,
// since the writer opens no day file more than a week past the newest.
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
const OLD_DAYS = [daysAgo(3), daysAgo(2)];

function configFor(dir: string, audit: Record<string, unknown> = {}) {
  return {
    database: { url: `file:${dir}/crm.db` },
    audit: { dir: `${dir}/audit`, ...audit },
    data_dir: dir,
    symbo: { webhook_secrets: [SECRET], lookup_tokens: [TOKEN] },
    admin: { tokens: [ADMIN] },
    log: { level: "warning" },
  };
}

/** Writes one signed event of CALL per old day through the real audit writer; returns the bodies. */
async function writeOldDays(dir: string): Promise<Map<string, string>> {
  const bodies = new Map<string, string>();
  let now = new Date(`${OLD_DAYS[0]}T12:00:00Z`);
  const log = await openAuditLog({ dir, clock: () => now, onWarning: () => {} });
  try {
    for (const [index, day] of OLD_DAYS.entries()) {
      now = new Date(`${day}T12:00:00Z`);
      const eventId = `evt-old-${index}`;
      const body = callEventBody({
        callId: CALL,
        eventId,
        updatedAt: `${day}T12:00:00.000Z`,
        note: `snapshot of ${day} ✓`,
      });
      bodies.set(`id:${eventId}`, body);
      await log.append({
        receivedAt: now,
        eventType: "call.updated",
        eventId,
        callId: CALL,
        userId: null,
        signature: await signBody(SECRET, body),
        body: new TextEncoder().encode(body),
      });
    }
  } finally {
    await log.close();
  }
  return bodies;
}

async function admin(server: ServerProcess, path: string): Promise<Response> {
  return await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } });
}

interface HistoryEvent {
  event_key: string;
  body: unknown;
  body_bytes: number;
  body_omitted: boolean;
  body_unavailable: string | null;
}

async function history(server: ServerProcess): Promise<HistoryEvent[]> {
  const response = await admin(server, `/api/calls/${CALL}`);
  assertEquals(response.status, 200);
  return (await response.json()).events;
}

Deno.test("call detail reads each raw snapshot from its audit line, plain or gzip'd; the store keeps no copy", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-bodies-" });
  const audit = join(dir, "audit");
  const bodies = await writeOldDays(audit);
  let server = await startServerProcess({ dir, config: configFor(dir) });
  try {
    await eventually("closed days compressed and applied", 15_000, async () => {
      const names = await namesIn(audit);
      if (!OLD_DAYS.every((day) => names.includes(`${day}.jsonl.gz`))) return false;
      const response = await admin(server, `/api/calls/${CALL}`);
      if (response.status !== 200) {
        await response.body?.cancel();
        return false;
      }
      return (await response.json()).events.length === OLD_DAYS.length;
    });
    const liveBody = callEventBody({
      callId: CALL,
      eventId: "evt-live",
      updatedAt: "2030-01-01T00:00:00.000Z",
      note: "today's snapshot",
    });
    bodies.set("id:evt-live", liveBody);
    const posted = await postSigned(server.url, SECRET, liveBody);
    assertEquals(posted.status, 200);
    assertEquals((await posted.json()).status, "applied");

    await t.step(
      "history shows every body, from the gzip'd days and today's plain file",
      async () => {
        const events = await history(server);
        assertEquals(events.map((e) => e.event_key).sort(), [...bodies.keys()].sort());
        for (const event of events) {
          const sent = bodies.get(event.event_key) ?? "";
          assertEquals(event.body, JSON.parse(sent));
          assertEquals(event.body_bytes, new TextEncoder().encode(sent).length);
          assertEquals(event.body_omitted, false);
          assertEquals(event.body_unavailable, null);
        }
      },
    );

    await t.step("the event-body route serves the exact text from the audit line", async () => {
      for (const [key, sent] of bodies) {
        const response = await admin(
          server,
          `/api/calls/${CALL}/events/${encodeURIComponent(key)}`,
        );
        assertEquals(response.status, 200);
        assertEquals(await response.text(), sent);
      }
    });

    await t.step(
      "the store holds no body of these events, only where their lines are",
      async () => {
        const store = await openStore({ url: `file:${dir}/crm.db` });
        try {
          const rows = await store.reader.all(
            "SELECT body, audit_seq, audit_instance, body_bytes FROM events ORDER BY audit_seq",
          );
          assertEquals(rows.length, bodies.size);
          for (const row of rows) {
            assertEquals(row.body, "");
            assert.ok(typeof row.audit_instance === "string" && row.audit_instance.length > 0);
            assert.ok(Number(row.body_bytes) > 0);
          }
        } finally {
          store.close();
        }
      },
    );
  } finally {
    assertEquals(await server.stop(), 0);
  }

  // Retention keeps only today: the old days' lines (applied) are deleted.
  server = await startServerProcess({ dir, config: configFor(dir, { keep_days: 1 }) });
  try {
    await eventually("old days removed by retention", 15_000, async () => {
      const names = await namesIn(audit);
      return !names.some((name) => OLD_DAYS.some((day) => name.startsWith(day)));
    });

    await t.step(
      "a body whose line retention removed is null with the reason; the rest still show",
      async () => {
        const events = await history(server);
        assertEquals(events.length, bodies.size);
        for (const event of events) {
          if (event.event_key === "id:evt-live") {
            assertEquals(event.body, JSON.parse(bodies.get("id:evt-live") ?? ""));
            assertEquals(event.body_unavailable, null);
            continue;
          }
          assertEquals(event.body, null);
          assertEquals(event.body_omitted, false);
          assertMatch(event.body_unavailable ?? "", /no longer in the audit folder.*keep_days/);
        }
      },
    );

    await t.step("the event-body route answers 410 naming why, not a 500", async () => {
      const response = await admin(server, `/api/calls/${CALL}/events/id%3Aevt-old-0`);
      assertEquals(response.status, 410);
      const body = await response.json();
      assertEquals(body.error, "event_body_removed");
      assertMatch(body.message, /audit line seq 1 is no longer in the audit folder/);
    });
  } finally {
    assertEquals(await server.stop(), 0);
  }
});
