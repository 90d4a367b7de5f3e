/**
 * Idle connections that use up the process's file descriptors, against the
 * real server with the start task's flags under a low `ulimit -n` (so the
 * flood stays small): the server must survive them, count and report the
 * accept errors, and serve again once they are gone. 127.0.0.1 only.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { eventually } from "../helpers/eventually.ts";
import { startServerProcess } from "../helpers/server_process.ts";

const ADMIN = "admin-token-0123456789abcdef0123456789";
const TOKEN = "lookup-token-0123456789abcdef0123456789";
/** The server holds ~40 descriptors idle: this leaves room for ~90 connections. */
const MAX_OPEN_FILES = 128;
const FLOOD = 250;

function configFor(dir: string) {
  return {
    database: { url: `file:${dir}/crm.db` },
    audit: { dir: `${dir}/audit` },
    data_dir: dir,
    symbo: { webhook_secrets: ["webhook secret for tests"], lookup_tokens: [TOKEN] },
    admin: { tokens: [ADMIN] },
    log: { level: "info" },
  };
}

/** Opens up to `count` TCP connections that send nothing; stops at the first refusal. */
async function openIdle(url: string, count: number): Promise<Deno.TcpConn[]> {
  const { hostname, port } = new URL(url);
  const conns: Deno.TcpConn[] = [];
  for (let i = 0; i < count; i++) {
    try {
      conns.push(await Deno.connect({ hostname, port: Number(port) }));
    } catch {
      break; // refused or reset: the listener is gone (or going) for now
    }
  }
  return conns;
}

Deno.test("idle connections beyond the descriptor limit do not end the server; it counts, reports once and serves again", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-flood-" });
  const server = await startServerProcess({
    dir,
    config: configFor(dir),
    maxOpenFiles: MAX_OPEN_FILES,
  });
  let exited = false;
  server.child.status.then(() => exited = true);
  try {
    for (let round = 0; round < 3; round++) {
      const conns = await openIdle(server.url, FLOOD);
      try {
        // While the flood is still held: the listener that failed sheds its idle
        // connections, and a new one answers.
        await eventually(`the server answers during flood ${round + 1}`, 15_000, async () => {
          if (exited) throw new Error(`the server exited:\n${server.output.join("\n")}`);
          const response = await fetch(`${server.url}/healthz`).catch(() => null);
          await response?.body?.cancel();
          return response?.status === 200;
        });
      } finally {
        for (const conn of conns) conn.close();
      }
    }
    assert(!exited, "the server is still running");
    const metrics = await fetch(`${server.url}/metrics`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    assertEquals(metrics.status, 200);
    const count = /^symbo_crm_accept_errors_total (\d+)$/m.exec(await metrics.text());
    assert(count !== null && Number(count[1]) >= 1, `accept errors counted: ${count?.[0]}`);
    // Reported at most once a minute, however many times accepting failed.
    const reports = server.output.filter((line) => line.includes("Accepting a connection failed"));
    assertEquals(reports.length, 1);
    assertMatch(reports[0] ?? "", /Too many open files/);
    const errors = server.output.filter((line) => /"level":"(ERROR|FATAL)"/.test(line));
    assertEquals(errors, []);
  } finally {
    await server.stop();
  }
});
