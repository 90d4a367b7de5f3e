/**
 * The console's import form against the real server with the start task's
 * flags: a file larger than the shared body budget (32 MiB) is streamed to the
 * spool and imported, not refused; a form without its CSRF token spools
 * nothing. Signed in over plain HTTP on 127.0.0.1.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { eventually } from "../helpers/eventually.ts";
import { startServerProcess } from "../helpers/server_process.ts";

const ADMIN = "admin-token-0123456789abcdef0123456789";
const TOKEN = "lookup-token-0123456789abcdef0123456789";
const MIB = 1024 * 1024;

function cookiesOf(response: Response): string {
  return response.headers.getSetCookie().map((cookie) => cookie.split(";")[0]).join("; ");
}

function csrfOf(html: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(html);
  if (!match?.[1]) throw new Error("no csrf field on the page");
  return match[1];
}

/** Signs in and returns the session cookie and the import page's CSRF token. */
async function signIn(url: string): Promise<{ cookie: string; csrf: string }> {
  const loginPage = await fetch(`${url}/console/login`);
  const loginCookie = cookiesOf(loginPage);
  const form = new URLSearchParams({
    csrf: csrfOf(await loginPage.text()),
    token: ADMIN,
    next: "/console/import",
  });
  const login = await fetch(`${url}/console/login`, {
    method: "POST",
    headers: { cookie: loginCookie, "content-type": "application/x-www-form-urlencoded" },
    body: form,
    redirect: "manual",
  });
  await login.body?.cancel();
  assertEquals(login.status, 303);
  const cookie = cookiesOf(login).split("; ").filter((c) => /=./.test(c)).join("; ");
  const page = await fetch(`${url}/console/import`, { headers: { cookie } });
  assertEquals(page.status, 200);
  return { cookie, csrf: csrfOf(await page.text()) };
}

/** A CSV of `rows` contacts padded with an ignored column to about `bytes`. */
function bigCsv(rows: number, bytes: number): Blob {
  const pad = "p".repeat(Math.max(0, Math.floor(bytes / rows) - 40));
  const lines = ["external_id,first_name,work_phone,notes\r\n"];
  for (let i = 0; i < rows; i++) {
    lines.push(`big-${i},Big,+1 415 555 ${String(i % 10_000).padStart(4, "0")},${pad}\r\n`);
  }
  return new Blob(lines, { type: "text/csv" });
}

Deno.test("the console imports a file larger than the shared body budget, streamed to the spool", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-console-import-" });
  const server = await startServerProcess({
    dir,
    config: {
      database: { url: `file:${dir}/crm.db` },
      audit: { dir: `${dir}/audit` },
      data_dir: dir,
      symbo: { webhook_secrets: ["webhook secret for tests"], lookup_tokens: [TOKEN] },
      admin: { tokens: [ADMIN] },
      log: { level: "warning" },
    },
  });
  try {
    const { cookie, csrf } = await signIn(server.url);
    const file = bigCsv(4_000, 40 * MIB);
    assert(file.size > 32 * MIB, `the file (${file.size} bytes) is over the 32 MiB budget`);

    const form = new FormData();
    form.set("csrf", csrf);
    form.set("file", new File([file], "big.csv", { type: "text/csv" }));
    form.set("region", "US");
    form.set("dry_run", "1");
    const response = await fetch(`${server.url}/console/import`, {
      method: "POST",
      headers: { cookie },
      body: form,
      redirect: "manual",
    });
    await response.body?.cancel();
    assertEquals(response.status, 303);
    const location = response.headers.get("location") ?? "";
    assertMatch(location, /^\/console\/import\/[A-Za-z0-9_-]+$/);
    const jobState = async () =>
      await (await fetch(`${server.url}${location}/status`, { headers: { cookie } })).json();
    await eventually(
      "the import job finishes",
      60_000,
      async () => (await jobState()).state !== "running",
    );
    const job = await jobState();
    assertEquals(
      [job.state, job.dryRun, job.bytesTotal, job.rowsRead],
      ["succeeded", true, file.size, 4_000],
    );

    // A form whose CSRF token is not the session's spools nothing.
    const forged = new FormData();
    forged.set("csrf", "not-this-session");
    forged.set("file", new File([file], "big.csv", { type: "text/csv" }));
    const refused = await fetch(`${server.url}/console/import`, {
      method: "POST",
      headers: { cookie },
      body: forged,
      redirect: "manual",
    });
    assertEquals(refused.status, 403);
    await refused.body?.cancel();
    assertEquals([...Deno.readDirSync(`${dir}/import-spool`)], []);
  } finally {
    await server.stop();
  }
});
