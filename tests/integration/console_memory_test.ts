/**
 * The console's pages stay within the start task's heap
 * (`--max-old-space-size=192`) whatever the calls and the audit log hold
 * (issue 20, items 3 and 4): the calls list and a contact's page over 50
 * calls with a 2 MB transcription each, and an audit day of 6 MB lines.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { consolePage, signIn } from "../helpers/console_session.ts";
import { callEventBody, postSigned } from "../helpers/events.ts";
import { type ServerProcess, startServerProcess } from "../helpers/server_process.ts";

const SECRET = "webhook secret for console memory tests";
const ADMIN = "admin-token-console-memory-0123456789";
const CALLS = 51;
const TRANSCRIPTION_BYTES = 4_000_000;
const AUDIT_LINES = 40;
const AUDIT_LINE_BYTES = 6_000_000;

function transcription(i: number): string {
  const line = `Rep ${i}: thanks for taking the call, shall we book the demo? `;
  return line.repeat(Math.ceil(TRANSCRIPTION_BYTES / line.length)).slice(0, TRANSCRIPTION_BYTES);
}

async function expectHealthy(server: ServerProcess): Promise<void> {
  const health = await fetch(`${server.url}/healthz`);
  assertEquals(health.status, 200, `the server is down:\n${server.output.join("\n")}`);
  await health.body?.cancel();
}

Deno.test("console pages over megabytes of calls and audit lines answer within the heap cap", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-console-memory-" });
  const server = await startServerProcess({
    dir,
    config: {
      database: { url: `file:${dir}/crm.db` },
      audit: { dir: `${dir}/audit` },
      data_dir: dir,
      symbo: { webhook_secrets: [SECRET] },
      admin: { tokens: [ADMIN] },
      log: { level: "warning" },
    },
  });
  try {
    const imported = await fetch(`${server.url}/api/contacts/import`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "text/csv" },
      body: "external_id,first_name,phone\nc-1,Ada,+14155550134\n",
    });
    assertEquals(imported.status, 200, await imported.text());
    for (let i = 0; i < CALLS; i++) {
      const response = await postSigned(
        server.url,
        SECRET,
        callEventBody({
          callId: `big-${String(i).padStart(2, "0")}`,
          note: `note ${i}`,
          prospectExternalId: "c-1",
          extra: { transcription: transcription(i) },
        }),
      );
      assertEquals(response.status, 200);
      await response.body?.cancel();
    }
    const cookie = await signIn(server.url, ADMIN);

    await t.step(
      "the calls list shows the newest calls, their notes, no transcription",
      async () => {
        const page = await consolePage(server.url, cookie, "/console/calls");
        assertEquals(page.status, 200);
        assert(page.text.includes("big-49") && page.text.includes("note 49"), "newest call shown");
        assert(page.text.length < 1024 * 1024, `a page of ${page.text.length} bytes`);
        assert(!page.text.includes("shall we book the demo"), "no transcription in the list");
        const next = /href="(\/console\/calls\?after=[^"]+)"/.exec(page.text)?.[1];
        assert(next, "a link to older calls");
        const older = await consolePage(server.url, cookie, next.replaceAll("&amp;", "&"));
        assertEquals(older.status, 200);
        assert(older.text.includes("big-00"), "the oldest call is on the second page");
      },
    );
    await expectHealthy(server);

    await t.step("the contact's page lists its calls", async () => {
      const page = await consolePage(server.url, cookie, "/console/contacts/c-1");
      assertEquals(page.status, 200);
      assert(page.text.includes("big-49"), "the contact's newest call is listed");
    });
    await expectHealthy(server);

    await t.step("an audit day of 6 MB lines shows a bounded prefix of each", async () => {
      // An older day, written as it would be by bodies near the webhook's limit.
      const file = await Deno.open(`${dir}/audit/2020-01-01.jsonl`, {
        write: true,
        createNew: true,
      });
      const encoder = new TextEncoder();
      for (let i = 1; i <= AUDIT_LINES; i++) {
        const head = `{"seq":${i},"body":"`;
        const line = head + String(i % 10).repeat(AUDIT_LINE_BYTES - head.length - 3) + '"}\n';
        const bytes = encoder.encode(line);
        for (let at = 0; at < bytes.length;) at += await file.write(bytes.subarray(at));
      }
      file.close();
      const page = await consolePage(server.url, cookie, "/console/audit/2020-01-01.jsonl");
      assertEquals(page.status, 200);
      assert(page.text.length < 2 * 1024 * 1024, `a page of ${page.text.length} bytes`);
      for (const n of [1, AUDIT_LINES]) {
        assert(page.text.includes(`{&quot;seq&quot;:${n},`), `line ${n} is shown`);
      }
      assert(
        page.text.includes(`(of ${(AUDIT_LINE_BYTES - 1).toLocaleString("en")})`),
        "the cut lines say how long",
      );
    });
    await expectHealthy(server);
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
