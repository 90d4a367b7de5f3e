import { join } from "node:path";
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { namesIn, writeAuditDays } from "../helpers/audit_days.ts";
import { callEventBody, postSigned } from "../helpers/events.ts";
import { eventually } from "../helpers/eventually.ts";
import { runCli, startServerProcess } from "../helpers/server_process.ts";

const SECRET = "webhook secret for tests";
const TOKEN = "lookup-token-0123456789abcdef";
// Days long over whenever the test runs.
const OLD_DAYS = ["2024-01-01", "2024-01-02"];

function configFor(dir: string, audit: Record<string, unknown> = {}) {
  return {
    database: { url: `file:${dir}/crm.db` },
    audit: { dir: `${dir}/audit`, ...audit },
    data_dir: dir,
    symbo: { webhook_secrets: [SECRET], lookup_tokens: [TOKEN] },
    log: { level: "info" },
    // The test reads the audit gauges; the token rules are tested elsewhere.
    metrics: { public: true },
  };
}

async function metric(url: string, name: string): Promise<number | null> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? null : Number(line.slice(name.length + 1));
}

Deno.test("the server compresses closed audit days at start, shows it in metrics, and the log still verifies", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-audit-disk-" });
  const audit = join(dir, "audit");
  await writeAuditDays(OLD_DAYS, 3, audit, SECRET);
  const server = await startServerProcess({ dir, config: configFor(dir) });
  try {
    await eventually("closed days compressed", 15_000, async () => {
      const names = await namesIn(audit);
      return names.includes("2024-01-01.jsonl.gz") && names.includes("2024-01-02.jsonl.gz") &&
        !names.includes("2024-01-01.jsonl") && !names.includes("2024-01-02.jsonl");
    });
    await eventually(
      "metrics updated",
      5_000,
      async () => await metric(server.url, "symbo_crm_audit_files_compressed_total") === 2,
    );
    assert.ok((await metric(server.url, "symbo_crm_audit_compression_saved_bytes_total") ?? 0) > 0);
    assertEquals(await metric(server.url, "symbo_crm_audit_maintenance_last_run_ok"), 1);
    assertMatch(server.output.join("\n"), /closed days gzip'd; kept forever/);

    // The chain continues from the compressed days into today's plain file.
    const response = await postSigned(server.url, SECRET, callEventBody({ callId: "after-gz" }));
    assertEquals(response.status, 200);
    await response.body?.cancel();
  } finally {
    assertEquals(await server.stop(), 0);
  }
  const verified = await runCli(["audit", "verify", "--config", server.configPath], { cwd: dir });
  assertEquals(verified.code, 0, verified.stdout + verified.stderr);
  assertMatch(verified.stdout, /audit log OK: 7 lines in 3 files, last seq 7/);
});

Deno.test("with audit.compress false the server leaves closed days plain", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-audit-disk-" });
  const audit = join(dir, "audit");
  await writeAuditDays(OLD_DAYS, 2, audit, SECRET);
  const server = await startServerProcess({ dir, config: configFor(dir, { compress: false }) });
  try {
    await eventually(
      "a maintenance run",
      15_000,
      async () =>
        (await metric(server.url, "symbo_crm_audit_maintenance_last_run_timestamp_seconds") ?? 0) >
          0,
    );
    const days = (await namesIn(audit)).filter((name) => /^\d{4}-\d{2}-\d{2}\.jsonl/.test(name));
    assertEquals(days, ["2024-01-01.jsonl", "2024-01-02.jsonl"]);
  } finally {
    assertEquals(await server.stop(), 0);
  }
});
