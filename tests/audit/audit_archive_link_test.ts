/**
 * Retention's copy into an archive on another file system never writes
 * through a symlink planted at its temp name (issue 20, item 13). The archive
 * folder's rename fails as the runtime fails it across disks (an Error with
 * code EXDEV, as `Deno.rename` to /dev/shm throws), so the copy path runs.
 */
import { join } from "node:path";
import { compressClosedDays } from "../../src/audit/audit_compaction.ts";
import { applyRetention } from "../../src/audit/audit_retention.ts";
import { formatVerifyReport, verifyAuditLog } from "../../src/audit/audit_verify.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { namesIn, writeAuditDays } from "../helpers/audit_days.ts";
import { importSigningKeys } from "../../src/symbo/signature.ts";

const KEY = (await importSigningKeys(["a webhook secret for tests"]))[0] ?? null;

const DAYS = ["2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23"];

/** `Deno.rename`, except into `archiveDir`, which fails as a rename to another disk does. */
function acrossDisks(archiveDir: string): (from: string, to: string) => Promise<void> {
  return (from, to) => {
    if (!to.startsWith(`${archiveDir}/`) || to.endsWith(".tmp") || from.endsWith(".tmp")) {
      return Deno.rename(from, to);
    }
    const error = new Error(`Invalid cross-device link (os error 18): rename '${from}' -> '${to}'`);
    return Promise.reject(Object.assign(error, { code: "EXDEV" }));
  };
}

Deno.test("retention's copy to an archive on another disk removes a symlink planted at its temp name instead of writing through it", async () => {
  const root = await Deno.makeTempDir({ prefix: "symbo-crm-archive-link-" });
  try {
    const dir = join(root, "audit");
    await writeAuditDays(DAYS, 5, dir);
    await compressClosedDays({ dir, now: new Date("2026-11-24T12:00:00Z") });
    const archiveDir = join(root, "archive");
    await Deno.mkdir(archiveDir, { mode: 0o700 });
    const victim = join(root, "victim.txt");
    await Deno.writeTextFile(victim, "precious, not an audit file\n");
    await Deno.symlink(victim, join(archiveDir, "2026-11-20.jsonl.gz.tmp"));

    const report = await applyRetention({
      dir,
      keepDays: 1,
      archiveDir,
      now: new Date("2026-11-24T12:00:00Z"),
      appliedThrough: () => Promise.resolve({ file: "2026-11-23.jsonl.gz", seq: 20 }),
      signingKey: KEY,
      rename: acrossDisks(archiveDir),
    });

    assertEquals(report.removed, ["2026-11-20", "2026-11-21", "2026-11-22"]);
    assertEquals(await Deno.readTextFile(victim), "precious, not an audit file\n");
    assertEquals(await namesIn(archiveDir), [
      "2026-11-20.jsonl.gz",
      "2026-11-21.jsonl.gz",
      "2026-11-22.jsonl.gz",
    ]);
    for (const name of await namesIn(archiveDir)) {
      const info = await Deno.lstat(join(archiveDir, name));
      assert.ok(info.isFile && !info.isSymlink, `${name} is a regular file`);
      assertEquals(info.mode! & 0o777, 0o600);
    }
    const archived = await verifyAuditLog(archiveDir);
    assert.equal(archived.ok, true, formatVerifyReport(archived));
    assertEquals(archived.lastSeq, 15);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("retention into an archive on a real other file system (/dev/shm) does not write through a planted temp link", async () => {
  const root = await Deno.makeTempDir({ prefix: "symbo-crm-archive-link-" });
  try {
    const dir = join(root, "audit");
    await writeAuditDays(DAYS, 5, dir);
    const victim = join(root, "victim.txt");
    await Deno.writeTextFile(victim, "precious, not an audit file\n");
    // Deno grants /dev/shm (tmpfs: another file system) only with all permissions, so the
    // archive folder, the planted link and the retention run live in a child run with -A.
    const retention = new URL("../../src/audit/audit_retention.ts", import.meta.url).href;
    const signature = new URL("../../src/symbo/signature.ts", import.meta.url).href;
    const script = join(root, "run_retention.ts");
    await Deno.writeTextFile(
      script,
      `import { join } from "node:path";
import { applyRetention } from ${JSON.stringify(retention)};
import { importSigningKeys } from ${JSON.stringify(signature)};
const KEY = (await importSigningKeys(["a webhook secret for tests"]))[0] ?? null;

const shm = await Deno.makeTempDir({ dir: "/dev/shm", prefix: "symbo-crm-archive-" });
try {
  const archiveDir = join(shm, "archive");
  await Deno.mkdir(archiveDir, { mode: 0o700 });
  if ((await Deno.stat(archiveDir)).dev === (await Deno.stat(${JSON.stringify(dir)})).dev) {
    throw new Error("/dev/shm is not another file system here");
  }
  await Deno.symlink(${JSON.stringify(victim)}, join(archiveDir, "2026-11-20.jsonl.tmp"));
  const report = await applyRetention({
    dir: ${JSON.stringify(dir)},
    keepDays: 1,
    archiveDir,
    now: new Date("2026-11-24T12:00:00Z"),
    appliedThrough: () => Promise.resolve({ file: "2026-11-23.jsonl", seq: 20 }),
    signingKey: KEY,
  });
  const names = [];
  for await (const entry of Deno.readDir(archiveDir)) names.push(entry.name);
  console.log(JSON.stringify({ removed: report.removed, names: names.sort() }));
} finally {
  await Deno.remove(shm, { recursive: true });
}
`,
    );
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", new URL("../../deno.json", import.meta.url).pathname, script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    assertEquals(code, 0, text);
    assertEquals(JSON.parse(text), {
      removed: ["2026-11-20", "2026-11-21", "2026-11-22"],
      names: ["2026-11-20.jsonl", "2026-11-21.jsonl", "2026-11-22.jsonl"],
    });
    assertEquals(await Deno.readTextFile(victim), "precious, not an audit file\n");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
