/**
 * The console's "import you can trust" (issue 21, item 5) against the real
 * server on a temp libSQL file: Apply imports the dry run's kept upload with
 * the dry run's options (the Apply request carries no file), and says so
 * when that upload is gone; a prune past the guard needs a confirmation; the
 * mapping editor re-runs the dry run (and refuses a bad map with `--map`'s
 * message); rejects and warnings download in full; the history survives a
 * restart, and a job that was running when the process died is interrupted.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { eventually } from "../helpers/eventually.ts";
import { type ServerProcess, startServerProcess } from "../helpers/server_process.ts";
import { parseUserMap } from "../../src/contacts/csv_headers.ts";
import { openStore } from "../../src/store/open_store.ts";

const ADMIN = "admin-token-0123456789abcdef0123456789";
const TOKEN = "lookup-token-0123456789abcdef0123456789";

function cookiesOf(response: Response): string {
  return response.headers.getSetCookie().map((cookie) => cookie.split(";")[0]).join("; ");
}

function csrfOf(html: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(html);
  if (!match?.[1]) throw new Error("no csrf field on the page");
  return match[1];
}

/** The text of a page, entities decoded (enough for assertions). */
function textOf(html: string): string {
  return html.replaceAll("&quot;", '"').replaceAll("&#39;", "'").replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">").replaceAll("&amp;", "&");
}

interface Console {
  readonly url: string;
  readonly cookie: string;
  readonly csrf: string;
}

async function signIn(url: string): Promise<Console> {
  const loginPage = await fetch(`${url}/console/login`);
  const loginCookie = cookiesOf(loginPage);
  const login = await fetch(`${url}/console/login`, {
    method: "POST",
    headers: { cookie: loginCookie, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      csrf: csrfOf(await loginPage.text()),
      token: ADMIN,
      next: "/console/import",
    }),
    redirect: "manual",
  });
  await login.body?.cancel();
  assertEquals(login.status, 303);
  const cookie = cookiesOf(login).split("; ").filter((c) => /=./.test(c)).join("; ");
  const page = await fetch(`${url}/console/import`, { headers: { cookie } });
  return { url, cookie, csrf: csrfOf(await page.text()) };
}

function configFor(dir: string) {
  return {
    database: { url: `file:${dir}/crm.db` },
    audit: { dir: `${dir}/audit` },
    data_dir: dir,
    symbo: { webhook_secrets: ["webhook secret for tests"], lookup_tokens: [TOKEN] },
    admin: { tokens: [ADMIN] },
    log: { level: "warning" },
  };
}

/** Uploads `csv` through the console's form; resolves with the job's path. */
async function upload(
  c: Console,
  csv: string | Blob,
  fields: Record<string, string>,
  fileName = "export.csv",
): Promise<string> {
  const form = new FormData();
  form.set("csrf", c.csrf);
  form.set("file", new File([csv], fileName, { type: "text/csv" }));
  for (const [name, value] of Object.entries(fields)) form.set(name, value);
  const response = await fetch(`${c.url}/console/import`, {
    method: "POST",
    headers: { cookie: c.cookie },
    body: form,
    redirect: "manual",
  });
  await response.body?.cancel();
  assertEquals(response.status, 303);
  const location = response.headers.get("location") ?? "";
  assertMatch(location, /^\/console\/import\/[A-Za-z0-9_-]+$/);
  return location;
}

/** Posts a console form (URL-encoded, no file). */
async function post(c: Console, path: string, fields: Record<string, string> = {}) {
  return await fetch(`${c.url}${path}`, {
    method: "POST",
    headers: { cookie: c.cookie, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ csrf: c.csrf, ...fields }),
    redirect: "manual",
  });
}

// deno-lint-ignore no-explicit-any
type Json = any;

async function finished(c: Console, path: string): Promise<Json> {
  const state = async () =>
    await (await fetch(`${c.url}${path}/status`, { headers: { cookie: c.cookie } })).json();
  await eventually(
    "the import job finishes",
    60_000,
    async () => (await state()).state !== "running",
  );
  return await state();
}

async function page(c: Console, path: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`${c.url}${path}`, { headers: { cookie: c.cookie } });
  return { status: response.status, text: textOf(await response.text()) };
}

async function withServer(fn: (server: ServerProcess, dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-console-apply-" });
  const server = await startServerProcess({ dir, config: configFor(dir) });
  try {
    await fn(server, dir);
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

const spooled = (dir: string) =>
  [...Deno.readDirSync(`${dir}/import-spool`)].filter((e) => e.name.startsWith("import-spool-"));

const GB_CSV = "Record Ref,First Name,Work Phone\r\n" +
  "gb-1,Gwen,0161 496 0000\r\ngb-2,Glyn,0161 496 0001\r\n";

Deno.test("Apply in the console imports the dry run's upload with its options; the apply request carries no file", async () => {
  await withServer(async (server, dir) => {
    const c = await signIn(server.url);
    const dryPath = await upload(c, GB_CSV, { region: "GB", id_from: "Record Ref", dry_run: "1" });
    const dry = await finished(c, dryPath);
    assertEquals([dry.state, dry.dryRun, dry.summary.inserted], ["succeeded", true, 2]);
    const dryPage = await page(c, dryPath);
    assertMatch(dryPage.text, /Apply this dry run/);
    assertMatch(dryPage.text, /data-option="region">GB</);
    assertMatch(dryPage.text, /data-option="id_from">Record Ref</);
    assertMatch(dryPage.text, /data-option="file">export\.csv</);
    assertEquals(spooled(dir).length, 1);

    // Without the session's CSRF token, nothing is applied.
    const forged = await fetch(`${c.url}${dryPath}/apply`, {
      method: "POST",
      headers: { cookie: c.cookie, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ csrf: "not-this-session" }),
      redirect: "manual",
    });
    assertEquals(forged.status, 403);
    await forged.body?.cancel();
    assertEquals(spooled(dir).length, 1);

    // The apply: a URL-encoded form with the CSRF token and nothing else.
    const apply = await post(c, `${dryPath}/apply`);
    await apply.body?.cancel();
    assertEquals(apply.status, 303);
    const applyPath = apply.headers.get("location") ?? "";
    assert(applyPath !== dryPath, "the apply is a new job");
    const applied = await finished(c, applyPath);
    assertEquals(
      [applied.state, applied.dryRun, applied.fromJob, applied.fileName, applied.bytesTotal],
      ["succeeded", false, dry.id, "export.csv", dry.bytesTotal],
    );
    assertEquals(applied.options, dry.options);
    assertEquals(applied.summary.inserted, 2);
    // The dry run's region applied: the national number is found as a British one.
    const lookup = await fetch(`${server.url}/symbo/lookup?number=%2B441614960000&token=${TOKEN}`);
    assertEquals(lookup.status, 200, await lookup.text());
    const appliedPage = await page(c, applyPath);
    assertMatch(appliedPage.text, /data-option="kind">apply</);
    assertMatch(appliedPage.text, /data-option="region">GB</);
    assertMatch(appliedPage.text, /data-option="rows">2</);
    // Applied: the upload is removed, and applying again says it is gone.
    await eventually(
      "the applied upload is removed",
      5_000,
      () => Promise.resolve(spooled(dir).length === 0),
    );
    const again = await post(c, `${dryPath}/apply`);
    assertEquals(again.status, 410);
    assertMatch(textOf(await again.text()), /no longer kept.*Upload the file again/);
  });
});

Deno.test("Apply is refused, saying so, when the dry run's upload is gone (removed, or a restart)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-console-gone-" });
  let server = await startServerProcess({ dir, config: configFor(dir) });
  try {
    let c = await signIn(server.url);
    const first = await upload(c, GB_CSV, { region: "GB", id_from: "Record Ref", dry_run: "1" });
    await finished(c, first);
    for (const entry of spooled(dir)) await Deno.remove(`${dir}/import-spool/${entry.name}`);
    const removed = await post(c, `${first}/apply`);
    assertEquals(removed.status, 410);
    assertMatch(
      textOf(await removed.text()),
      /Nothing was imported: The file of dry run .* is no longer kept/,
    );

    const second = await upload(c, GB_CSV, { region: "GB", id_from: "Record Ref", dry_run: "1" });
    await finished(c, second);
    await server.stop();
    server = await startServerProcess({ dir, config: configFor(dir) });
    c = await signIn(server.url);
    const after = await page(c, second);
    assertEquals(after.status, 200);
    assertMatch(after.text, /no longer kept/);
    assert(!after.text.includes("Apply this dry run"), "no Apply button for a gone upload");
    const refused = await post(c, `${second}/apply`);
    assertEquals(refused.status, 410);
    assertMatch(textOf(await refused.text()), /no longer kept/);
    const contacts = await fetch(`${server.url}/api/contacts?q=Gwen`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    assertEquals((await contacts.json()).contacts, []);
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("a prune past the guard is refused in the console without confirmation and applied with it", async () => {
  await withServer(async (server) => {
    const seed = ["external_id,first_name,work_phone"];
    for (let i = 0; i < 10; i++) {
      seed.push(`p-${i},P${i},+1 415 555 01${String(i).padStart(2, "0")}`);
    }
    const seeded = await fetch(`${server.url}/api/contacts/import`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "text/csv" },
      body: seed.join("\n") + "\n",
    });
    assertEquals(seeded.status, 200, await seeded.text());

    const c = await signIn(server.url);
    const cut = seed.slice(0, 3).join("\n") + "\n"; // p-0, p-1: 8 of 10 would go
    const dryPath = await upload(c, cut, { prune: "1", dry_run: "1" }, "cut.csv");
    const dry = await finished(c, dryPath);
    assertEquals(dry.pruneCheck, {
      storedBefore: 10,
      wouldDelete: 8,
      maxFraction: 0.2,
      exceedsGuard: true,
    });
    const dryPage = await page(c, dryPath);
    assertMatch(
      dryPage.text,
      /The prune would delete 8 of the 10 stored contacts \(80%\), more than contacts\.max_prune_fraction \(20%\)/,
    );
    assertMatch(dryPage.text, /name="confirm_prune" value="8"/);

    const unconfirmed = await post(c, `${dryPath}/apply`);
    assertEquals(unconfirmed.status, 422);
    assertMatch(
      textOf(await unconfirmed.text()),
      /Not applied: the prune would delete 8 of the 10 stored contacts/,
    );
    const wrong = await post(c, `${dryPath}/apply`, { confirm_prune: "7" });
    assertEquals(wrong.status, 422);
    await wrong.body?.cancel();
    const stillTen = await fetch(`${server.url}/api/contacts?q=P9`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    assertEquals((await stillTen.json()).contacts.length, 1);

    const confirmed = await post(c, `${dryPath}/apply`, { confirm_prune: "8" });
    await confirmed.body?.cancel();
    assertEquals(confirmed.status, 303);
    const applied = await finished(c, confirmed.headers.get("location") ?? "");
    assertEquals([applied.state, applied.summary.pruned], ["succeeded", 8]);
    assertEquals([applied.options.prune, applied.options.forcePrune], [true, true]);
    const appliedPage = await page(c, confirmed.headers.get("location") ?? "");
    assertMatch(appliedPage.text, /data-option="force_prune">yes \(confirmed\)</);
  });
});

Deno.test("the mapping editor re-runs the dry run with the new mapping and refuses a bad one with --map's message", async () => {
  await withServer(async (server) => {
    const c = await signIn(server.url);
    const csv = "Ref,Given,Work Phone\r\nm-1,Mia,+1 415 555 0199\r\n";
    const dryPath = await upload(c, csv, { dry_run: "1" }, "mapme.csv");
    const dry = await finished(c, dryPath);
    assertEquals(dry.state, "failed");
    const dryPage = await page(c, dryPath);
    assertMatch(dryPage.text, /missing required column first_name/);
    assertMatch(dryPage.text, /<select name="col_1"/);

    const bad = await post(c, `${dryPath}/mapping`, { col_0: "external_id", col_1: "given_name" });
    assertEquals(bad.status, 400);
    let expected = "";
    try {
      parseUserMap(JSON.stringify({ Ref: "external_id", Given: "given_name" }), "--map");
    } catch (error) {
      expected = error instanceof Error ? error.message : "";
    }
    assertMatch(expected, /"Given" maps to "given_name", which is not a contact field/);
    assert(textOf(await bad.text()).includes(expected), "the page says what --map says");

    const good = await post(c, `${dryPath}/mapping`, { col_0: "external_id", col_1: "first_name" });
    await good.body?.cancel();
    assertEquals(good.status, 303);
    const rerunPath = good.headers.get("location") ?? "";
    const rerun = await finished(c, rerunPath);
    assertEquals(
      [rerun.state, rerun.dryRun, rerun.fromJob, rerun.summary.inserted],
      ["succeeded", true, dry.id, 1],
    );
    assertEquals(rerun.options.userMap, { Ref: "external_id", Given: "first_name" });
    const rerunPage = await page(c, rerunPath);
    assertMatch(rerunPage.text, /data-option="mapping">Ref → external_id; Given → first_name</);
    // The editor shows the choices made; Apply takes the mapping along.
    assertMatch(rerunPage.text, /<option value="first_name" selected>first_name/);
    const apply = await post(c, `${rerunPath}/apply`);
    await apply.body?.cancel();
    const applied = await finished(c, apply.headers.get("location") ?? "");
    assertEquals([applied.state, applied.summary.inserted], ["succeeded", 1]);
    assertEquals(applied.options.userMap, { Ref: "external_id", Given: "first_name" });
  });
});

Deno.test("the console downloads every rejected row and every warning of a job", async () => {
  await withServer(async (server) => {
    const c = await signIn(server.url);
    const lines = ["external_id,first_name,email,work_phone"];
    for (let i = 0; i < 30; i++) {
      lines.push(`r-${i},,r${i}@example.com,+1 415 555 02${String(i).padStart(2, "0")}`);
    }
    for (let i = 0; i < 30; i++) {
      lines.push(`w-${i},W${i},not-an-email-${i},+1 415 555 03${String(i).padStart(2, "0")}`);
    }
    const path = await upload(c, lines.join("\n") + "\n", { dry_run: "1" }, "rw.csv");
    const job = await finished(c, path);
    assertEquals([job.summary.rejected, job.summary.warningCount], [30, 30]);
    const jobPage = await page(c, path);
    assertMatch(jobPage.text, /Download all 30 rejected rows as CSV/);

    const rejects = await fetch(`${server.url}${path}/rejects.csv`, {
      headers: { cookie: c.cookie },
    });
    assertEquals(rejects.status, 200);
    assertMatch(rejects.headers.get("content-type") ?? "", /^text\/csv/);
    const rejectLines = (await rejects.text()).trim().split(/\r?\n/);
    assertEquals(rejectLines.length, 31); // the header + every rejected row
    assert(rejectLines.some((line) => /^31,.*,r-29,/.test(line)), "the last rejected row is there");

    const warnings = await fetch(`${server.url}${path}/warnings.csv`, {
      headers: { cookie: c.cookie },
    });
    assertEquals(warnings.status, 200);
    const warningLines = (await warnings.text()).trim().split(/\r?\n/);
    assertEquals(warningLines.length, 31);
    assertMatch(warningLines.at(-1) ?? "", /not-an-email-29/);
  });
});

Deno.test("import history survives a restart and a job running when the process died is interrupted", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-console-history-" });
  let server = await startServerProcess({ dir, config: configFor(dir) });
  try {
    let c = await signIn(server.url);
    const dryPath = await upload(
      c,
      GB_CSV,
      { region: "GB", id_from: "Record Ref", dry_run: "1" },
      "kept.csv",
    );
    const dry = await finished(c, dryPath);

    // A long import, killed while it runs.
    const rows = ["external_id,first_name,work_phone\n"];
    for (let i = 0; i < 400_000; i++) {
      rows.push(`big-${i},Big,+1 415 555 ${String(i % 10_000).padStart(4, "0")}\n`);
    }
    const bigPath = await upload(c, new Blob(rows), {}, "big.csv");
    const bigId = bigPath.split("/").at(-1) ?? "";
    const store = await openStore({ url: `file:${dir}/crm.db` });
    try {
      await eventually("the running job is in the history", 20_000, async () => {
        const row = await store.reader.first("SELECT state FROM import_history WHERE id = ?", [
          bigId,
        ]);
        return row?.state === "running";
      });
    } finally {
      store.close();
    }
    await server.kill();

    server = await startServerProcess({ dir, config: configFor(dir) });
    c = await signIn(server.url);
    const list = await page(c, "/console/import");
    assertMatch(list.text, /kept\.csv/);
    assertMatch(list.text, /big\.csv<\/a><\/td><td>apply<\/td><td>interrupted by a restart/);
    const dryAfter = await page(c, dryPath);
    assertEquals(dryAfter.status, 200);
    assertMatch(dryAfter.text, /data-option="region">GB</);
    assertMatch(dryAfter.text, new RegExp(`data-count="inserted">${dry.summary.inserted}<`));
    const bigAfter = await page(c, bigPath);
    assertMatch(bigAfter.text, /The server stopped while this import ran/);
    assertMatch(bigAfter.text, /data-state="interrupted"/);
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
