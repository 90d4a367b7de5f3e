/**
 * Slow bodies against the real server with the start task's flags and the
 * default body budget: unauthenticated clients that declare large bodies and
 * trickle them must not keep normal webhooks out. 127.0.0.1 only.
 */
import { assertEquals } from "../helpers/assert.ts";
import { callEventBody, postSigned } from "../helpers/events.ts";
import { startServerProcess } from "../helpers/server_process.ts";

const SECRET = "webhook secret for tests";
const TOKEN = "lookup-token-0123456789abcdef0123456789";
const ADMIN = "admin-token-0123456789abcdef0123456789";
const MIB = 1024 * 1024;

/** Opens a POST declaring `length` bytes and sends one of them. */
async function slowPost(url: string, length: number): Promise<Deno.TcpConn> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  await conn.write(new TextEncoder().encode(
    `POST /symbo/webhook HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: ${length}\r\n` +
      `x-hmac-signature: sha256=00\r\n\r\n`,
  ));
  await conn.write(new Uint8Array(1));
  return conn;
}

Deno.test("seven slow bodies declaring the whole budget do not keep normal webhooks out", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-slow-bodies-" });
  const server = await startServerProcess({
    dir,
    config: {
      database: { url: `file:${dir}/crm.db` },
      audit: { dir: `${dir}/audit` },
      data_dir: dir,
      symbo: { webhook_secrets: [SECRET], lookup_tokens: [TOKEN] },
      admin: { tokens: [ADMIN] },
      log: { level: "warning" },
    },
  });
  // The attack: 6 × 5 MiB and 1 × 2 MiB declared (32 MiB, the default
  // budget), one byte sent, then a byte at a time.
  const slow = await Promise.all(
    [5, 5, 5, 5, 5, 5, 2].map((mib) => slowPost(server.url, mib * MIB)),
  );
  const statuses = new Map<number, number>();
  try {
    for (let i = 0; i < 30; i++) {
      if (i % 5 === 0) {
        for (const conn of slow) await conn.write(new Uint8Array(1)).catch(() => 0);
      }
      const response = await postSigned(
        server.url,
        SECRET,
        callEventBody({ callId: `call-${i}`, extra: { note: "x".repeat(2_000) } }),
      );
      await response.body?.cancel();
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assertEquals(Object.fromEntries(statuses), { 200: 30 });
  } finally {
    for (const conn of slow) conn.close();
    await server.stop();
  }
});
