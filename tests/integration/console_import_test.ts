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

function configFor(dir: string, server: Record<string, unknown> = {}) {
  return {
    database: { url: `file:${dir}/crm.db` },
    audit: { dir: `${dir}/audit` },
    data_dir: dir,
    server,
    symbo: { webhook_secrets: ["webhook secret for tests"], lookup_tokens: [TOKEN] },
    admin: { tokens: [ADMIN] },
    log: { level: "warning" },
  };
}

Deno.test("the console imports a file larger than the shared body budget, streamed to the spool", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-console-import-" });
  const server = await startServerProcess({ dir, config: configFor(dir) });
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

    // A form whose CSRF token is not the session's spools nothing (the dry run's
    // upload is kept for Apply: that one file is all there is).
    const spooled = () => [...Deno.readDirSync(`${dir}/import-spool`)].map((e) => e.name);
    assertEquals(spooled().length, 1);
    const kept = spooled();
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
    assertEquals(spooled(), kept);
  } finally {
    await server.stop();
  }
});

Deno.test("a console form that stalls after its file is given up and frees the import slot", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-console-stall-" });
  // The form's idle limit is server.request_timeout_ms.
  const server = await startServerProcess({
    dir,
    config: configFor(dir, { request_timeout_ms: 1_000 }),
  });
  const { hostname, port } = new URL(server.url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    const { cookie, csrf } = await signIn(server.url);
    const csv = "external_id,first_name,work_phone\r\nst-1,Stall,+1 415 555 0101\r\n";
    const sent = `--XyZ\r\ncontent-disposition: form-data; name="csrf"\r\n\r\n${csrf}\r\n` +
      `--XyZ\r\ncontent-disposition: form-data; name="file"; filename="s.csv"\r\n` +
      `content-type: text/csv\r\n\r\n${csv}\r\n--XyZ\r\ncontent-disposition: form-data; name="reg`;
    await conn.write(new TextEncoder().encode(
      `POST /console/import HTTP/1.1\r\nhost: 127.0.0.1\r\ncookie: ${cookie}\r\n` +
        `content-type: multipart/form-data; boundary=XyZ\r\ncontent-length: ${
          sent.length + 100
        }\r\n\r\n` +
        sent,
    ));
    // The file is spooled, then the rest of the form never comes.
    let answer = "";
    const buffer = new Uint8Array(8192);
    while (!answer.includes("\r\n\r\n")) {
      const read = await conn.read(buffer);
      if (read === null) break;
      answer += new TextDecoder().decode(buffer.subarray(0, read));
    }
    assertMatch(answer, /^HTTP\/1\.1 408 /);
    assertEquals([...Deno.readDirSync(`${dir}/import-spool`)], []);
    // The slot is free: an API import runs.
    const response = await fetch(`${server.url}/api/contacts/import`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "text/csv" },
      body: csv,
    });
    // (200 with the summary, or 202 with the job if it takes longer than the short wait.)
    assert([200, 202].includes(response.status), `status ${response.status}, not 409 busy`);
    await response.body?.cancel();
  } finally {
    conn.close();
    await server.stop();
  }
});

Deno.test("a console upload the client abandons is a 499, never an ERROR and a 500", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-console-abandon-" });
  const server = await startServerProcess({
    dir,
    config: { ...configFor(dir), log: { level: "info" } },
  });
  try {
    const { cookie, csrf } = await signIn(server.url);
    const { hostname, port } = new URL(server.url);
    const counted = /route="\/console\/import",method="POST",status="(\d+)"\} (\d+)/g;
    const answered = async () => {
      const metrics = await fetch(`${server.url}/metrics`, {
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      return [...(await metrics.text()).matchAll(counted)].map((m) => [m[1], m[2]]);
    };
    const parts = [
      // Gone in the middle of a field, then in the middle of the file.
      `--XyZ\r\ncontent-disposition: form-data; name="csrf"\r\n\r\n${csrf.slice(0, 5)}`,
      `--XyZ\r\ncontent-disposition: form-data; name="csrf"\r\n\r\n${csrf}\r\n` +
      `--XyZ\r\ncontent-disposition: form-data; name="file"; filename="g.csv"\r\n\r\n` +
      "external_id,first_name\r\ng-1,Gone\r\n",
    ];
    for (const [i, sent] of parts.entries()) {
      const conn = await Deno.connect({ hostname, port: Number(port) });
      await conn.write(new TextEncoder().encode(
        `POST /console/import HTTP/1.1\r\nhost: 127.0.0.1\r\ncookie: ${cookie}\r\n` +
          `content-type: multipart/form-data; boundary=XyZ\r\ncontent-length: 100000\r\n\r\n` +
          sent,
      ));
      await new Promise((resolve) => setTimeout(resolve, 300));
      conn.close();
      await eventually(
        `abandoned upload ${i + 1} is answered`,
        10_000,
        async () => (await answered()).reduce((sum, [, n]) => sum + Number(n), 0) === i + 1,
      );
    }
    assertEquals(await answered(), [["499", "2"]]);
    const errors = server.output.filter((line) => /"level":"(ERROR|FATAL)"/.test(line));
    assertEquals(errors, []);
    assertEquals([...Deno.readDirSync(`${dir}/import-spool`)], []);
  } finally {
    await server.stop();
  }
});
