/**
 * Calls read like calls on the console (issue 21 item 2), against the real
 * server: the contact's name, the rep's name from the mapping the operator
 * saves on the Settings page, the call's own time in the chosen display time
 * zone and its duration, the prospect's number of an inbound call, words for
 * state and disposition, the transcription as text (Symbo's `<br>` as line
 * breaks, markup shown as text), and every event body with the console session.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { consolePage, signIn } from "../helpers/console_session.ts";
import { callEventBody, postSigned } from "../helpers/events.ts";
import { startServerProcess } from "../helpers/server_process.ts";

const ADMIN = "admin-token-calls-read-0123456789";
const SECRET = "webhook secret for calls read";
const REP = "35904adb-e732-4ee7-a450-a87dfbe8a7f5";

async function postForm(url: string, cookie: string, path: string, fields: Record<string, string>) {
  const page = await consolePage(url, cookie, "/console/settings");
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? "";
  return await fetch(`${url}${path}`, {
    method: "POST",
    redirect: "manual",
    headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ csrf, ...fields }),
  });
}

Deno.test("a call shows names, its own time and duration, words, and its transcription as text", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-calls-read-" });
  const server = await startServerProcess({
    dir,
    config: {
      data_dir: `${dir}/data`,
      database: { url: `file:${dir}/data/crm.db` },
      audit: { dir: `${dir}/data/audit` },
      symbo: { webhook_secrets: [SECRET] },
      admin: { tokens: [ADMIN] },
      console: { time_zone: "America/New_York" },
      log: { level: "error" },
    },
  });
  try {
    const imported = await fetch(`${server.url}/api/contacts/import`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "text/csv" },
      body: "external_id,first_name,last_name,work_phone\nc-9,Grace,Hopper,+15178626434\n",
    });
    assertEquals(imported.status, 200, await imported.text());
    const body = callEventBody({
      callId: "call-read-1",
      prospectExternalId: "c-9",
      disposition: "answered_positive",
      extra: {
        direction: "inbound",
        from: "+15178626434",
        to: "+19897189159",
        dialed_at: "2026-03-02T15:04:05.000Z",
        answered_at: "2026-03-02T15:04:10.000Z",
        completed_at: "2026-03-02T15:07:15.000Z",
        transcription:
          "Rep Name:<br>Hello <b>there</b>.<br><br>Prospect:<br><img src=x onerror=alert(1)><script>alert(2)</script>Hi.<br>",
      },
    });
    const posted = await postSigned(server.url, SECRET, body);
    assertEquals(posted.status, 200);
    await posted.body?.cancel();
    const cookie = await signIn(server.url, ADMIN);

    const before = await consolePage(server.url, cookie, "/console/calls");
    assertMatch(before.text, /Grace Hopper/);
    assertMatch(
      before.text,
      /<abbr title="35904adb-e732-4ee7-a450-a87dfbe8a7f5">35904adb…<\/abbr>/,
    );

    const saved = await postForm(server.url, cookie, "/console/settings/reps", {
      user_id: REP,
      name: "Rita Rep",
    });
    assertEquals(saved.status, 303);
    await saved.body?.cancel();

    const list = await consolePage(server.url, cookie, "/console/calls");
    assertMatch(list.text, /2026-03-02 10:04:05 America\/New_York/);
    assertMatch(list.text, /Rita Rep/);
    assertMatch(list.text, /<td>Inbound<\/td><td class="nowrap">\+15178626434<\/td>/);
    assertMatch(
      list.text,
      /<td>Completed<\/td><td>Answered, positive<\/td><td class="num">3 min 05 s<\/td>/,
    );
    assertMatch(
      list.text,
      /<option value="35904adb-e732-4ee7-a450-a87dfbe8a7f5" >Rita Rep<\/option>/,
    );

    const zone = await postForm(server.url, cookie, "/console/settings/time-zone", {
      time_zone: "Europe/Berlin",
    });
    assertEquals(zone.status, 303);
    await zone.body?.cancel();
    const call = await consolePage(server.url, cookie, "/console/calls/call-read-1");
    assertEquals(call.status, 200);
    assertMatch(call.text, /<h1[^>]*>Call with Grace Hopper<\/h1>/);
    assertMatch(call.text, /2026-03-02 16:04:05 Europe\/Berlin/);
    assertMatch(call.text, /Rita Rep/);
    const transcript = /<div class="transcript" tabindex="0">(.*?)<\/div>/s.exec(call.text)?.[1] ??
      "";
    assertEquals(
      transcript,
      "Rep Name:<br>Hello &lt;b&gt;there&lt;/b&gt;.<br><br>Prospect:<br>&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)&lt;/script&gt;Hi.<br>",
    );
    assert(
      !call.text.includes("<script>alert"),
      "no markup from the transcription reaches the page",
    );

    const raw = /href="(\/console\/calls\/call-read-1\/events\/[^"]+\/body)"/.exec(call.text)?.[1];
    assert(raw, "each event links its raw body");
    const rawBody = await fetch(`${server.url}${raw.replaceAll("&amp;", "&")}`, {
      headers: { cookie },
    });
    assertEquals(rawBody.status, 200);
    assertEquals(rawBody.headers.get("content-type"), "text/plain; charset=utf-8");
    assertEquals(await rawBody.text(), body);
    const noSession = await fetch(`${server.url}${raw}`, { redirect: "manual" });
    assertEquals(noSession.status, 303);
    await noSession.body?.cancel();

    // Filters: a number in any format, totals, and an export that follows them.
    const byNumber = await consolePage(server.url, cookie, "/console/calls?number=(517)+862-6434");
    assertMatch(byNumber.text, /<strong>1<\/strong> call matches/);
    const none = await consolePage(server.url, cookie, "/console/calls?number=%2B15550000000");
    assertMatch(none.text, /<strong>0<\/strong> calls match/);
    assertMatch(
      byNumber.text,
      /href="\/console\/calls\.csv\?number=%28517%29\+862-6434" download="">Export CSV/,
    );
    const csv = await fetch(`${server.url}/console/calls.csv?number=(517)+862-6434`, {
      headers: { cookie },
    });
    const lines = (await csv.text()).trim().split("\r\n");
    assertEquals(lines.length, 2);
    assertMatch(
      lines[1] ?? "",
      /^2026-03-02 16:04:05 Europe\/Berlin,call-read-1,c-9,Rita Rep,35904adb-e732-4ee7-a450-a87dfbe8a7f5,Inbound,'\+15178626434,Completed,"Answered, positive",185,/,
    );
    const filtered = await fetch(`${server.url}/console/calls.csv?disposition=no_answer`, {
      headers: { cookie },
    });
    assertEquals((await filtered.text()).trim().split("\r\n").length, 1);

    // A stale form and an ended session answer pages, not JSON.
    const stale = await fetch(`${server.url}/console/settings/reps`, {
      method: "POST",
      headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
      body: "csrf=stale&user_id=x&name=y",
    });
    assertEquals(stale.status, 403);
    assertEquals(stale.headers.get("content-type"), "text/html; charset=utf-8");
    assertMatch(await stale.text(), /<h1 tabindex="-1">Refused<\/h1>/);
    const ended = await fetch(`${server.url}/console/settings/reps`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "csrf=x",
    });
    assertEquals(ended.status, 401);
    assertMatch(
      await ended.text(),
      /<h1 tabindex="-1">Sign in first<\/h1>.*href="\/console\/login"/s,
    );
    const unknown = await consolePage(server.url, cookie, "/console/no-such-page");
    assertEquals(unknown.status, 404);
    assertMatch(unknown.text, /<h1 tabindex="-1">Not found<\/h1>/);

    const bad = await postForm(server.url, cookie, "/console/settings/time-zone", {
      time_zone: "Mars/Olympus",
    });
    assertEquals(bad.status, 400);
    assertMatch(await bad.text(), /not a time zone this server knows/);
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
