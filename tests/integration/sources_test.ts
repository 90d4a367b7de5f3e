/**
 * Scheduled contact sources end to end (issue 19): a real server fetching a
 * local export server (ETag + 304), the prune guard refusing a cut-off export,
 * and drop folders (slow writers, strict failures, kill -9 mid-import).
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { eventually } from "../helpers/eventually.ts";
import { type ServerProcess, startServerProcess } from "../helpers/server_process.ts";

const ADMIN = "admin-token-0123456789abcdef0123456789";

interface Run {
  id: number;
  outcome: string;
  trigger: string;
  file: string | null;
  message: string | null;
  counts: { rows: number; inserted: number; updated: number; pruned: number } | null;
}

async function serverWith(dir: string, sources: unknown[]): Promise<ServerProcess> {
  return await startServerProcess({
    dir,
    config: {
      database: { url: `file:${dir}/crm.db` },
      audit: { dir: `${dir}/audit` },
      data_dir: dir,
      admin: { tokens: [ADMIN] },
      contacts: { sources },
      log: { level: "warning" },
    },
  });
}

async function api(server: ServerProcess, path: string, init: RequestInit = {}) {
  return await fetch(`${server.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${ADMIN}`, ...init.headers },
  });
}

async function runs(server: ServerProcess, name: string): Promise<Run[]> {
  const response = await api(server, `/api/sources/${name}/runs`);
  assertEquals(response.status, 200);
  return (await response.json()).runs;
}

/** Waits for the newest run to be finished and returns it. */
async function settledRun(server: ServerProcess, name: string, afterId = 0): Promise<Run> {
  let found: Run | undefined;
  await eventually(`a finished run of ${name} after ${afterId}`, 60_000, async () => {
    const newest = (await runs(server, name))[0];
    if (newest && newest.id > afterId && newest.outcome !== "running") found = newest;
    return found !== undefined;
  }, 100);
  return found!;
}

async function runNow(server: ServerProcess, name: string): Promise<number> {
  const response = await api(server, `/api/sources/${name}/run`, { method: "POST" });
  assertEquals(response.status, 202, await response.clone().text());
  return (await response.json()).run_id - 1;
}

async function contactStatus(server: ServerProcess, id: string): Promise<number> {
  const response = await api(server, `/api/contacts/${id}`);
  await response.body?.cancel();
  return response.status;
}

function exportOf(ids: readonly number[], suffix = ""): string {
  return "external_id,first_name,work_phone\n" +
    ids.map((i) => `c${i},Name${i}${suffix},+1 800 555 ${String(1000 + i)}`).join("\n") + "\n";
}

Deno.test("a URL source imports, is unchanged on a 304, upserts and prunes a changed export, and refuses a cut-off one", async () => {
  let body = exportOf([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  let notModified = 0;
  let requests = 0;
  const crm = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    requests++;
    assertEquals(request.headers.get("authorization"), "Bearer crm-export-token");
    const bytes = new TextEncoder().encode(body);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    const etag = `"${
      [...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("")
    }"`;
    if (request.headers.get("if-none-match") === etag) {
      notModified++;
      return new Response(null, { status: 304, headers: { etag } });
    }
    return new Response(bytes, { headers: { etag, "content-type": "text/csv" } });
  });
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-sources-" });
  const server = await startServerProcess({
    dir,
    config: {
      database: { url: `file:${dir}/crm.db` },
      audit: { dir: `${dir}/audit` },
      data_dir: dir,
      admin: { tokens: [ADMIN] },
      contacts: {
        sources: [{
          name: "crm",
          url: `http://127.0.0.1:${crm.addr.port}/export.csv`,
          headers: { Authorization: "Bearer ${CRM_EXPORT_TOKEN}" },
          allow_private_networks: true,
          every: "1d",
          prune: true,
        }],
      },
      log: { level: "warning" },
    },
    env: { CRM_EXPORT_TOKEN: "crm-export-token" },
  });
  try {
    // The first scheduled run happens at start.
    const first = await settledRun(server, "crm");
    assertEquals([first.outcome, first.trigger, first.counts?.inserted], [
      "imported",
      "schedule",
      10,
    ]);
    assertEquals(await contactStatus(server, "c10"), 200);

    const second = await settledRun(server, "crm", await runNow(server, "crm"));
    assertEquals([second.outcome, second.trigger, second.message], [
      "unchanged",
      "manual",
      "304 Not Modified",
    ]);
    assertEquals(notModified, 1);

    body = exportOf([1, 2, 3, 4, 5, 6, 7, 8, 9]).replace("Name1,", "Renamed1,");
    const third = await settledRun(server, "crm", await runNow(server, "crm"));
    assertEquals([third.outcome, third.counts?.updated, third.counts?.pruned], ["imported", 1, 1]);
    assertEquals(await contactStatus(server, "c10"), 404);

    // Cut off after 2 rows: it would delete 7 of 9 (78%).
    body = exportOf([1, 2]).replace("Name1,", "Renamed1,");
    const fourth = await settledRun(server, "crm", await runNow(server, "crm"));
    assertEquals(fourth.outcome, "refused");
    assertMatch(fourth.message ?? "", /would delete 7 of the 9 stored contacts/);
    assertMatch(fourth.message ?? "", /--force-prune/);
    assertEquals(await contactStatus(server, "c9"), 200, "the store is untouched");

    const listed = await (await api(server, "/api/sources")).json();
    assertEquals(listed.sources[0].name, "crm");
    assertEquals(listed.sources[0].last_run.outcome, "refused");
    assertEquals(listed.sources[0].consecutive_failures, 1);
    assert(requests >= 4);
    const table = (await runs(server, "crm")).map((r) =>
      `${r.id} ${r.trigger} ${r.outcome} rows=${r.counts?.rows ?? ""} ins=${
        r.counts?.inserted ?? ""
      } upd=${r.counts?.updated ?? ""} pruned=${r.counts?.pruned ?? ""} ${r.message ?? ""}`
    );
    if (Deno.env.get("SHOW_RUNS")) console.log(table.join("\n"));

    // Two more refusals: three failed periods make it a warning in /readyz (not deciding readiness).
    let last = fourth.id;
    for (let i = 0; i < 2; i++) {
      last = (await settledRun(server, "crm", await runNow(server, "crm"))).id;
    }
    let readyBody: { status: string; sources: { failing: { name: string }[] } } | undefined;
    await eventually("/readyz names the failing source", 10_000, async () => {
      const ready = await fetch(`${server.url}/readyz`);
      assertEquals(ready.status, 200);
      readyBody = await ready.json();
      return readyBody?.sources.failing.length === 1;
    });
    assertEquals(readyBody?.status, "ready");
    assertEquals(readyBody?.sources.failing.map((f) => f.name), ["crm"]);
    assert(last > fourth.id);
    const metrics = await (await api(server, "/metrics")).text();
    assertMatch(metrics, /symbo_crm_source_runs_total\{source="crm",outcome="imported"\} 2/);
    assertMatch(metrics, /symbo_crm_source_runs_total\{source="crm",outcome="refused"\} 3/);
    assertMatch(metrics, /symbo_crm_source_rows_total\{source="crm",kind="pruned"\} 1/);
    assertMatch(metrics, /symbo_crm_source_last_success_timestamp_seconds\{source="crm"\} \d/);
    assertMatch(metrics, /symbo_crm_sources_failing 1/);
  } finally {
    await server.stop();
    await crm.shutdown();
  }
});

Deno.test("a drop folder takes a slowly written file once, whole; a strict failure lands in failed/ with its reason", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-drop-" });
  const drop = `${dir}/drop`;
  await Deno.mkdir(drop);
  const server = await serverWith(dir, [
    { name: "files", dir: drop, every: "1d", settle_seconds: 1, strict: true },
  ]);
  try {
    const empty = await settledRun(server, "files");
    assertEquals([empty.outcome, empty.message], ["unchanged", "no new file in the folder"]);

    // Written in pieces, 300 ms apart: a run during the writing takes nothing.
    const text = exportOf(Array.from({ length: 50 }, (_, i) => i + 1));
    const file = await Deno.open(`${drop}/contacts.csv`, { write: true, create: true });
    const bytes = new TextEncoder().encode(text);
    const pieces = 8;
    const size = Math.ceil(bytes.length / pieces);
    await file.write(bytes.subarray(0, size));
    const during = runNow(server, "files");
    for (let i = 1; i < pieces; i++) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await file.write(bytes.subarray(i * size, (i + 1) * size));
    }
    file.close();
    const whileWriting = await settledRun(server, "files", await during);
    assertEquals(whileWriting.outcome, "unchanged");
    assertEquals(await contactStatus(server, "c50"), 404);

    const whole = await settledRun(server, "files", await runNow(server, "files"));
    assertEquals([whole.outcome, whole.file, whole.counts?.inserted], [
      "imported",
      "contacts.csv",
      50,
    ]);
    const done = [...Deno.readDirSync(`${drop}/done`)].map((e) => e.name).sort();
    assertEquals(done, [`${whole.id}-contacts.csv`, `${whole.id}-contacts.csv.result.json`]);
    const result = JSON.parse(
      await Deno.readTextFile(`${drop}/done/${whole.id}-contacts.csv.result.json`),
    );
    assertEquals([result.outcome, result.counts.inserted], ["imported", 50]);

    // Nothing left: the next run imports nothing again.
    const again = await settledRun(server, "files", await runNow(server, "files"));
    assertEquals(again.outcome, "unchanged");
    assertEquals((await runs(server, "files")).filter((r) => r.outcome === "imported").length, 1);

    await Deno.writeTextFile(`${drop}/broken.csv`, "external_id,first_name\nb1,Ann\nb2,\n");
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const broken = await settledRun(server, "files", await runNow(server, "files"));
    assertEquals([broken.outcome, broken.file], ["failed", "broken.csv"]);
    assertMatch(broken.message ?? "", /line 3/);
    const failed = JSON.parse(
      await Deno.readTextFile(`${drop}/failed/${broken.id}-broken.csv.result.json`),
    );
    assertEquals(failed.outcome, "failed");
    assertMatch(failed.message, /--strict/);
    assertEquals(await contactStatus(server, "b1"), 404);
  } finally {
    await server.stop();
  }
});

Deno.test("kill -9 during a drop-folder import, then restart: the file is imported exactly once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-drop-kill-" });
  const drop = `${dir}/drop`;
  await Deno.mkdir(drop);
  const n = 150_000;
  const lines = ["external_id,first_name,work_phone"];
  for (let i = 0; i < n; i++) {
    lines.push(`k${i},Name${i},+1 212 ${String(2000000 + i).padStart(7, "0")}`);
  }
  await Deno.writeTextFile(`${drop}/big.csv`, lines.join("\n") + "\n");
  const past = new Date(Date.now() - 60_000);
  await Deno.utime(`${drop}/big.csv`, past, past);
  const sources = [{ name: "files", dir: drop, every: "1d", settle_seconds: 0 }];
  const first = await serverWith(dir, sources);
  try {
    await eventually("the import is running", 60_000, async () => {
      const jobs = (await (await api(first, "/api/imports")).json()).jobs;
      return jobs.some((job: { state: string; rowsRead: number }) =>
        job.state === "running" && job.rowsRead > 0
      );
    }, 20);
  } finally {
    await first.kill();
  }
  assertEquals([...Deno.readDirSync(`${drop}/processing`)].length, 1, "claimed, not finished");
  const second = await serverWith(dir, sources);
  try {
    let all: Run[] = [];
    await eventually("the file is imported after the restart", 120_000, async () => {
      all = await runs(second, "files");
      return all.some((r) => r.outcome === "imported");
    }, 200);
    const imported = all.filter((r) => r.outcome === "imported");
    assertEquals(imported.length, 1);
    // The restart's first run finishes the claimed file from processing/.
    assertEquals([imported[0]?.file, imported[0]?.counts?.inserted], ["big.csv", n]);
    assert(all.some((r) => r.outcome === "interrupted"), "the killed run is marked interrupted");
    await eventually(
      "moved to done/",
      10_000,
      () => Promise.resolve([...Deno.readDirSync(`${drop}/done`)].length === 2),
    );
    assertEquals([...Deno.readDirSync(`${drop}/processing`)].length, 0);
    assertEquals(await contactStatus(second, `k${n - 1}`), 200);
  } finally {
    await second.stop();
  }
});
