/**
 * Damaged or planted audit files (issue 20, items 14 and 19): a gzip bomb's
 * endless line is refused before it is held in memory, and a gzip day that
 * cannot be decompressed is named with its file. Run through the real CLI
 * and server under the start task's flags (its 192 MB heap).
 */
import { join } from "node:path";
import { compressClosedDays } from "../../src/audit/audit_compaction.ts";
import { AuditLogError, openAuditLog } from "../../src/audit/audit_log.ts";
import { readAuditFileLines } from "../../src/audit/audit_reader.ts";
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { writeAuditDays } from "../helpers/audit_days.ts";
import { eventually } from "../helpers/eventually.ts";
import { runCli, startServerProcess } from "../helpers/server_process.ts";

const SECRET = "webhook secret for tests";
const DAYS = ["2024-01-01", "2024-01-02"];
/** Larger than the reader's bound (~134 MiB) and than the start task's 192 MB heap holds twice. */
const BOMB_LINE_BYTES = 200 * 1024 * 1024;

function configFor(dir: string) {
  return {
    database: { url: `file:${dir}/crm.db` },
    audit: { dir: `${dir}/audit`, compress: false },
    data_dir: dir,
    symbo: { webhook_secrets: [SECRET], lookup_tokens: ["lookup-token-0123456789abcdef"] },
  };
}

/** Two compressed days of three good lines; the caller then damages `day`. */
async function compressedDays(dir: string): Promise<string> {
  const audit = join(dir, "audit");
  await writeAuditDays(DAYS, 3, audit, SECRET);
  await compressClosedDays({ dir: audit, now: new Date("2024-01-03T12:00:00Z") });
  await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify(configFor(dir)));
  return audit;
}

/**
 * Replaces `name` with a gzip of its own lines followed by one line of
 * `BOMB_LINE_BYTES` bytes (it compresses ~1000:1, so the file stays small).
 */
async function plantBomb(audit: string, name: string): Promise<number> {
  const good: string[] = [];
  for await (const line of readAuditFileLines(audit, name)) good.push(`${line.text}\n`);
  const path = join(audit, name);
  const chunk = new Uint8Array(1024 * 1024).fill(0x61);
  const source = ReadableStream.from((function* () {
    yield new TextEncoder().encode(good.join(""));
    for (let i = 0; i < BOMB_LINE_BYTES / chunk.length; i++) yield chunk;
    yield new TextEncoder().encode("\n");
  })());
  await Deno.remove(path);
  await Deno.writeFile(path, source.pipeThrough(new CompressionStream("gzip")), { mode: 0o600 });
  return (await Deno.stat(path)).size;
}

Deno.test("audit verify refuses a gzip bomb's endless line, naming the file and line, instead of running out of memory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-gzip-bomb-" });
  try {
    const audit = await compressedDays(dir);
    const size = await plantBomb(audit, "2024-01-01.jsonl.gz");
    assert.ok(size < 1024 * 1024, `the bomb is small on disk (${size} bytes)`);
    const { code, stdout, stderr } = await runCli(["audit", "verify", "--config", "config.json"], {
      cwd: dir,
    });
    assertEquals(code, 1, stdout + stderr);
    assert.ok(!/out of memory/i.test(stderr), stderr);
    assertMatch(
      stdout,
      /audit log FAILED: audit file \S*2024-01-01\.jsonl\.gz line 4: the line is longer than \d+ bytes/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve with a gzip bomb as its newest day refuses to start naming the file, instead of running out of memory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-gzip-bomb-" });
  try {
    const audit = await compressedDays(dir);
    await plantBomb(audit, "2024-01-02.jsonl.gz");
    let failure = "";
    try {
      const server = await startServerProcess({ dir, config: configFor(dir) });
      await server.stop();
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
    }
    assert.ok(!/out of memory/i.test(failure), failure);
    assertMatch(failure, /2024-01-02\.jsonl\.gz line 4: the line is longer than \d+ bytes/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve with a gzip bomb in an older day starts, and its applier stops at the line naming it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-gzip-bomb-" });
  const audit = await compressedDays(dir);
  await plantBomb(audit, "2024-01-01.jsonl.gz");
  const server = await startServerProcess({ dir, config: configFor(dir) });
  const stopped =
    /STOPPED: \\?"?audit file \S*2024-01-01\.jsonl\.gz line 4: the line is longer than/;
  try {
    const ready = await fetch(`${server.url}/healthz`);
    assertEquals(ready.status, 200);
    await ready.body?.cancel();
    await eventually(
      "the applier stops at the bomb",
      15_000,
      () => Promise.resolve(stopped.test(server.output.join("\n"))),
    );
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
  const output = server.output.join("\n");
  assert.ok(!/out of memory/i.test(output), output);
});

Deno.test("audit verify and replay name the gzip day that has bytes after its end", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-gzip-garbage-" });
  try {
    const audit = await compressedDays(dir);
    const file = await Deno.open(join(audit, "2024-01-01.jsonl.gz"), { append: true });
    await file.write(new TextEncoder().encode("trailing garbage after the gzip member"));
    file.close();
    const { code, stdout, stderr } = await runCli(["audit", "verify", "--config", "config.json"], {
      cwd: dir,
    });
    assertEquals(code, 1, stdout + stderr);
    assertMatch(
      stdout,
      /audit log FAILED: audit file \S*2024-01-01\.jsonl\.gz line \d+: the compressed data cannot be decompressed/,
    );
    const replay = await runCli(["audit", "replay", "--config", "config.json"], { cwd: dir });
    assertEquals(replay.code, 1, replay.stdout + replay.stderr);
    assertMatch(
      replay.stderr,
      /Replay STOPPED: audit file \S*2024-01-01\.jsonl\.gz line \d+: the compressed data cannot be decompressed/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the writer refuses a newest plain day whose last line is longer than any the writer writes, naming it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-long-tail-" });
  try {
    // A sparse file: 300 MB without a newline (more than a torn write can leave), on no disk.
    const path = join(dir, "2024-01-02.jsonl");
    const file = await Deno.open(path, { write: true, create: true, mode: 0o600 });
    await file.truncate(300 * 1024 * 1024);
    file.close();
    const error = await openAuditLog({ dir, onWarning: () => {} }).then(
      (log) => log.close().then(() => null),
      (error: unknown) => error,
    );
    assert.ok(error instanceof AuditLogError, String(error));
    assertMatch(error.message, /2024-01-02\.jsonl: its last lines are longer than \d+ bytes/);
    assertEquals((await Deno.stat(path)).size, 300 * 1024 * 1024);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
