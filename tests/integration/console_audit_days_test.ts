/**
 * The audit trail for any day on the console (issue 21 item 3), against the
 * real server: a closed (`.jsonl.gz`) day browses like an open one, newest
 * line first, a page at a time; a seq jumps to its line on any day; a call
 * whose events are on a closed day shows its audit lines.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { consolePage, signIn } from "../helpers/console_session.ts";
import { callEventBody } from "../helpers/events.ts";
import { startServerProcess } from "../helpers/server_process.ts";
import { openAuditLog } from "../../src/audit/audit_log.ts";
import { readEvent } from "../../src/calls/call_event.ts";
import { signBody } from "../../src/symbo/signature.ts";

const ADMIN = "admin-token-audit-days-0123456789";
const SECRET = "webhook secret for audit days";

async function writeDays(dir: string): Promise<void> {
  let now = new Date("2026-11-20T12:00:00Z");
  const log = await openAuditLog({ dir, clock: () => now, onWarning: () => {} });
  try {
    for (const day of ["2026-11-20", "2026-11-21"]) {
      for (let i = 0; i < 60; i++) {
        now = new Date(`${day}T12:${String(i).padStart(2, "0")}:00Z`);
        const body = callEventBody({
          callId: `call-${day}-${i}`,
          eventId: `evt-${day}-${i}`,
          note: `note ${i} <b>bold</b>`,
        });
        await log.append({
          receivedAt: now,
          ...readEvent(body).summary,
          signature: await signBody(SECRET, body),
          body: new TextEncoder().encode(body),
        });
      }
    }
  } finally {
    await log.close();
  }
  // The first day closed: compressed as audit maintenance leaves it.
  const plain = `${dir}/2026-11-20.jsonl`;
  const source = await Deno.open(plain);
  const target = await Deno.open(`${plain}.gz`, { write: true, create: true, truncate: true });
  await source.readable.pipeThrough(new CompressionStream("gzip")).pipeTo(target.writable);
  await Deno.remove(plain);
}

Deno.test("a closed .gz audit day browses like an open one, and a seq finds its line on any day", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-audit-days-" });
  await Deno.mkdir(`${dir}/data/audit`, { recursive: true });
  await writeDays(`${dir}/data/audit`);
  const server = await startServerProcess({
    dir,
    config: {
      data_dir: `${dir}/data`,
      database: { url: `file:${dir}/data/crm.db` },
      audit: { dir: `${dir}/data/audit`, compress: false },
      symbo: { webhook_secrets: [SECRET] },
      admin: { tokens: [ADMIN] },
      log: { level: "error" },
    },
  });
  try {
    const cookie = await signIn(server.url, ADMIN);
    const index = await consolePage(server.url, cookie, "/console/audit");
    assertMatch(index.text, /href="\/console\/audit\/2026-11-20\.jsonl\.gz">2026-11-20<\/a>/);
    assertMatch(index.text, /closed, compressed/);

    const day = await consolePage(server.url, cookie, "/console/audit/2026-11-20.jsonl.gz");
    assertEquals(day.status, 200);
    assertMatch(day.text, /60 lines, newest\s+first/);
    const shown = [...day.text.matchAll(/<li id="line-(\d+)"/g)].map((m) => Number(m[1]));
    assertEquals(shown, Array.from({ length: 50 }, (_, i) => 60 - i));
    assertMatch(day.text, /href="\/console\/audit\/2026-11-20\.jsonl\.gz\?before=11">Older lines/);
    assert(!day.text.includes("<b>bold</b>"), "a line's text is shown as text");
    const older = await consolePage(
      server.url,
      cookie,
      "/console/audit/2026-11-20.jsonl.gz?before=11",
    );
    assertEquals([...older.text.matchAll(/<li id="line-(\d+)"/g)].length, 10);

    // A link made while the day was open still finds it.
    const oldLink = await consolePage(server.url, cookie, "/console/audit/2026-11-20.jsonl");
    assertEquals(oldLink.status, 200);
    assertMatch(oldLink.text, /2026-11-20\.jsonl\.gz \(closed day, compressed\)/);

    for (
      const [seq, file, line] of [[5, "2026-11-20.jsonl.gz", 5], [
        70,
        "2026-11-21.jsonl",
        10,
      ]] as const
    ) {
      const jump = await fetch(`${server.url}/console/audit?seq=${seq}`, {
        headers: { cookie },
        redirect: "manual",
      });
      await jump.body?.cancel();
      assertEquals(jump.status, 303);
      assertEquals(
        jump.headers.get("location"),
        `/console/audit/${file}?line=${line}#line-${line}`,
      );
      const page = await consolePage(server.url, cookie, `/console/audit/${file}?line=${line}`);
      assertMatch(
        page.text,
        new RegExp(
          `<li id="line-${line}" class="marked"[^>]*><div class="muted">Line ${line} · seq ${seq} · the line asked for`,
        ),
      );
    }
    const missing = await consolePage(server.url, cookie, "/console/audit?seq=999");
    assertEquals(missing.status, 404);
    assertMatch(missing.text, /No audit day holds seq 999/);

    // The applier stores the calls from the log; a call of the closed day finds its line there.
    let call = { status: 0, text: "" };
    for (let i = 0; i < 100 && call.status !== 200; i++) {
      call = await consolePage(server.url, cookie, "/console/calls/call-2026-11-20-7");
      if (call.status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assertEquals(call.status, 200);
    assertMatch(call.text, /Audit lines \(1\)/);
    assertMatch(call.text, /href="\/console\/audit\/2026-11-20\.jsonl\.gz\?line=8#line-8"/);
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
