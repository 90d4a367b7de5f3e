/**
 * CSV uploads that go wrong on the client's side, against the real server with
 * the start task's flags: a client that hangs up mid-upload, one that trickles
 * for ever, and a process killed mid-upload. Raw HTTP/1.1 on 127.0.0.1 only.
 */
import { assertEquals, assertMatch } from "../helpers/assert.ts";
import { eventually } from "../helpers/eventually.ts";
import { startServerProcess } from "../helpers/server_process.ts";

const ADMIN = "admin-token-0123456789abcdef0123456789";
const TOKEN = "lookup-token-0123456789abcdef0123456789";
const SECRET = "webhook secret for tests";
const auth = { authorization: `Bearer ${ADMIN}` };
const encoder = new TextEncoder();

function configFor(dir: string, admin: Record<string, unknown> = {}) {
  return {
    database: { url: `file:${dir}/crm.db` },
    audit: { dir: `${dir}/audit` },
    data_dir: `${dir}/data`,
    symbo: { webhook_secrets: [SECRET], lookup_tokens: [TOKEN] },
    admin: { tokens: [ADMIN], ...admin },
    log: { level: "info" },
  };
}

/** Opens a chunked `POST /api/contacts/import` and sends `first` as its first chunk. */
async function startChunkedUpload(url: string, first: string): Promise<Deno.TcpConn> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  await conn.write(encoder.encode(
    `POST /api/contacts/import HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${ADMIN}\r\n` +
      `content-type: text/csv\r\ntransfer-encoding: chunked\r\n\r\n`,
  ));
  await sendChunk(conn, first);
  return conn;
}

async function sendChunk(conn: Deno.Conn, text: string): Promise<void> {
  const bytes = encoder.encode(text);
  await conn.write(encoder.encode(`${bytes.byteLength.toString(16)}\r\n`));
  await conn.write(bytes);
  await conn.write(encoder.encode("\r\n"));
}

async function metricsText(url: string): Promise<string> {
  const response = await fetch(`${url}/metrics`, { headers: auth });
  assertEquals(response.status, 200);
  return await response.text();
}

function spoolFiles(dataDir: string): string[] {
  try {
    return [...Deno.readDirSync(`${dataDir}/import-spool`)].map((entry) => entry.name);
  } catch {
    return [];
  }
}

const HEADER = "external_id,first_name,work_phone\r\n";
const rows = (from: number, count: number) =>
  Array.from(
    { length: count },
    (_, i) => `u-${from + i},Upload,+1 415 555 ${String(1000 + from + i).slice(-4)}\r\n`,
  ).join("");

Deno.test("an import upload the client abandons mid-way is a 499 at info, not an ERROR and a 500", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-upload-abort-" });
  const server = await startServerProcess({ dir, config: configFor(dir) });
  try {
    const counted = /route="\/api\/contacts\/import",method="POST",status="(\d+)"\} (\d+)/g;
    const answered = async () => [...(await metricsText(server.url)).matchAll(counted)];
    for (let i = 1; i <= 2; i++) {
      const conn = await startChunkedUpload(server.url, HEADER + rows(0, 200));
      // The upload is under way (being spooled), then the client goes away.
      await new Promise((resolve) => setTimeout(resolve, 300));
      conn.close();
      await eventually(
        `abandoned upload ${i} is answered`,
        10_000,
        async () => (await answered()).reduce((sum, match) => sum + Number(match[2]), 0) === i,
      );
    }
    assertEquals((await answered()).map((match) => [match[1], match[2]]), [["499", "2"]]);
    assertEquals(spoolFiles(`${dir}/data`), []);
    const errors = server.output.filter((line) => /"level":"(ERROR|FATAL)"/.test(line));
    assertEquals(errors, []);
    // The slot is free: the next upload imports.
    const response = await fetch(`${server.url}/api/contacts/import`, {
      method: "POST",
      headers: { ...auth, "content-type": "text/csv" },
      body: HEADER + rows(0, 3),
    });
    assertEquals(response.status, 200);
    assertEquals((await response.json()).inserted, 3);
  } finally {
    await server.stop();
  }
});

Deno.test("an import upload that trickles past admin.import_upload_timeout_ms is given up and frees the slot", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-upload-deadline-" });
  const server = await startServerProcess({
    dir,
    config: configFor(dir, { import_upload_timeout_ms: 1_500 }),
  });
  const conn = await startChunkedUpload(server.url, HEADER);
  let answer = "";
  const reading = (async () => {
    const buffer = new Uint8Array(4096);
    for (;;) {
      const read = await conn.read(buffer).catch(() => null);
      if (read === null) return;
      answer += new TextDecoder().decode(buffer.subarray(0, read));
      if (answer.includes("upload_stalled")) return;
    }
  })();
  try {
    // Four bytes every 200 ms: never idle, never finished (the trickle, faster).
    for (let i = 0; i < 40 && !answer.includes("upload_stalled"); i++) {
      await sendChunk(conn, "a,b\n").catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await reading;
    assertMatch(answer, /^HTTP\/1\.1 408 /);
    assertMatch(answer, /longer than 1500 ms/);
  } finally {
    conn.close();
  }
  try {
    const response = await fetch(`${server.url}/api/contacts/import`, {
      method: "POST",
      headers: { ...auth, "content-type": "text/csv" },
      body: HEADER + rows(0, 3),
    });
    assertEquals(response.status, 200);
    assertEquals((await response.json()).inserted, 3);
    assertEquals(spoolFiles(`${dir}/data`), []);
  } finally {
    await server.stop();
  }
});

Deno.test("uploads are spooled under the data folder, and what a killed process left there is removed at start", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-upload-crash-" });
  const first = await startServerProcess({ dir, config: configFor(dir) });
  let conn: Deno.TcpConn | undefined;
  try {
    conn = await startChunkedUpload(first.url, HEADER + rows(0, 2_000));
    await eventually(
      "the upload is spooled under the data folder",
      10_000,
      () => Promise.resolve(spoolFiles(`${dir}/data`).length === 1),
    );
    const [name] = spoolFiles(`${dir}/data`);
    assertEquals(Deno.statSync(`${dir}/data/import-spool/${name}`).mode! & 0o777, 0o600);
    assertEquals(Deno.statSync(`${dir}/data/import-spool`).mode! & 0o777, 0o700);
  } finally {
    await first.kill();
    conn?.close();
  }
  assertEquals(spoolFiles(`${dir}/data`).length, 1, "kill -9 leaves the spool file behind");
  const second = await startServerProcess({ dir, config: configFor(dir) });
  try {
    assertEquals(spoolFiles(`${dir}/data`), []);
  } finally {
    await second.stop();
  }
});
