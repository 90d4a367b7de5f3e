/**
 * The audit log is the inbox (DESIGN §5.2), tried on the real server with a
 * real store: a store held by an import or by another writer only delays the
 * apply (webhooks are answered 200), a crash between ack and apply loses
 * nothing, a replay rebuilds the same calls, and a line that does not verify
 * stops the applier (and `audit verify`, and `audit replay`) loudly.
 */
import Database from "libsql";
import { join } from "node:path";
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { callEventBody, postSigned } from "../helpers/events.ts";
import { eventually } from "../helpers/eventually.ts";
import { runCli, type ServerProcess, startServerProcess } from "../helpers/server_process.ts";
import {
  chainRecord,
  parseRecordLine,
  serializeRecord,
  sha256Hex,
} from "../../src/audit/audit_record.ts";
import { openStore } from "../../src/store/open_store.ts";

const SECRET = "webhook secret for inbox tests";
const ADMIN = "admin-token-0123456789abcdef";
const TOKEN = "lookup-token-0123456789abcdef";

function configFor(dir: string, extra: Record<string, unknown> = {}) {
  return {
    database: { url: `file:${dir}/crm.db`, busy_timeout_ms: 200 },
    audit: { dir: `${dir}/audit` },
    data_dir: dir,
    symbo: { webhook_secrets: [SECRET], lookup_tokens: [TOKEN], apply_wait_ms: 300 },
    admin: { tokens: [ADMIN] },
    log: { level: "warning" },
    ...extra,
  };
}

async function writeConfig(dir: string, config: Record<string, unknown>): Promise<string> {
  const path = join(dir, "config.json");
  await Deno.writeTextFile(path, JSON.stringify(config));
  return path;
}

async function deliver(server: ServerProcess, body: string) {
  const started = performance.now();
  const response = await postSigned(server.url, SECRET, body);
  return { status: response.status, body: await response.json(), ms: performance.now() - started };
}

async function getCall(server: ServerProcess, id: string) {
  const response = await fetch(`${server.url}/api/calls/${encodeURIComponent(id)}`, {
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  return { status: response.status, body: await response.json() };
}

async function readyz(server: ServerProcess) {
  const response = await fetch(`${server.url}/readyz`);
  return { status: response.status, body: await response.json() };
}

async function auditLines(dir: string): Promise<string[]> {
  const lines: string[] = [];
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".jsonl"))
    .sort();
  for (const name of names) {
    lines.push(...(await Deno.readTextFile(join(dir, name))).split("\n").filter(Boolean));
  }
  return lines;
}

async function storedEvents(url: string) {
  const store = await openStore({ url });
  try {
    return await store.reader.all(
      `SELECT event_key, call_id, audit_seq, received_at, outcome, body, body_sha256, body_bytes,
        audit_instance, flags FROM events ORDER BY event_key`,
    );
  } finally {
    store.close();
  }
}

async function storedCalls(url: string) {
  const store = await openStore({ url });
  try {
    return await store.reader.all(
      "SELECT id, disposition, data, contact_external_id FROM calls ORDER BY id",
    );
  } finally {
    store.close();
  }
}

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true, mode: 0o700 });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isFile) await Deno.copyFile(join(from, entry.name), join(to, entry.name));
  }
}

Deno.test("a long import holding the write lock: webhooks all 200 in bounded time, then all stored in order", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-inbox-import-" });
  const rows = ["external_id,first_name,last_name,mobile_phone"];
  for (let i = 0; i < 30_000; i++) rows.push(`x-${i},First${i},Last${i},+1415${5000000 + i}`);
  await Deno.writeTextFile(join(dir, "big.csv"), rows.join("\n") + "\n");
  const config = configFor(dir);
  await writeConfig(dir, config);
  const server = await startServerProcess({ dir, config });
  try {
    const importing = runCli(["import", "big.csv", "--config", "config.json"], { cwd: dir });
    let importDone = false;
    void importing.then(() => importDone = true);
    const answers: { status: number; body: unknown; ms: number }[] = [];
    // Snapshots of a few calls, each call's updates sent newest-last except one
    // sent late with an older timestamp (the out-of-order rule must hold).
    let n = 0;
    while (!importDone && n < 200) {
      const call = n % 4;
      const minute = 10 + Math.floor(n / 4);
      answers.push(
        await deliver(
          server,
          callEventBody({
            eventId: `evt-imp-${n}`,
            callId: `call-imp-${call}`,
            updatedAt: `2024-01-11T20:${String(minute).padStart(2, "0")}:00.000Z`,
            disposition: `d-${minute}`,
          }),
        ),
      );
      n++;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const imported = await importing;
    assertEquals(imported.code, 0, imported.stderr);
    const late = await deliver(
      server,
      callEventBody({
        eventId: "evt-imp-late",
        callId: "call-imp-0",
        updatedAt: "2024-01-11T20:00:00.000Z",
        disposition: "stale",
      }),
    );
    answers.push(late);

    assert(answers.length >= 5, `only ${answers.length} webhooks were posted during the import`);
    for (const answer of answers) {
      assertEquals(answer.status, 200, JSON.stringify(answer.body));
      // apply_wait_ms is 300: an answer never waits for the import.
      assert(answer.ms < 3_000, `a webhook took ${answer.ms} ms`);
    }
    const queued = answers.filter((a) => (a.body as { status: string }).status === "queued");
    assert(queued.length > 0, "the import held the lock: some answers were queued");

    await eventually("every call stored, the applier caught up", 30_000, async () => {
      const ready = await readyz(server);
      return ready.body.applier.lag_events === 0 && ready.body.applier.state === "caught_up";
    });
    const lastMinuteOf = (call: number) => {
      let last = -1;
      for (let i = 0; i < n; i++) if (i % 4 === call) last = 10 + Math.floor(i / 4);
      return last;
    };
    for (let call = 0; call < Math.min(n, 4); call++) {
      const { status, body } = await getCall(server, `call-imp-${call}`);
      assertEquals(status, 200);
      assertEquals(body.call.disposition, `d-${lastMinuteOf(call)}`, `call-imp-${call}`);
    }
    const first = await getCall(server, "call-imp-0");
    assert(
      first.body.events.some((e: { body: { id: string } }) => e.body.id === "evt-imp-late"),
      "the stale snapshot is kept in the history",
    );
  } finally {
    await server.stop();
  }
});

Deno.test("acked but not applied, kill -9, restart: every acked call is in the store, no command run", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-inbox-crash-" });
  const config = configFor(dir);
  const configPath = await writeConfig(dir, config);
  let server = await startServerProcess({ dir, config });
  const acked: string[] = [];
  try {
    await t.step("webhooks are acked (queued) while another writer holds the lock", async () => {
      assertEquals((await deliver(server, callEventBody({ eventId: "e-0", callId: "c-0" }))).body, {
        status: "applied",
      });
      acked.push("c-0");
      const holder = new Database(join(dir, "crm.db"), { timeout: 0 });
      holder.exec("BEGIN IMMEDIATE");
      try {
        for (let i = 1; i <= 10; i++) {
          const answer = await deliver(
            server,
            callEventBody({ eventId: `e-${i}`, callId: `c-${i}` }),
          );
          assertEquals(answer.status, 200);
          assertEquals(answer.body, { status: "queued" });
          acked.push(`c-${i}`);
        }
        const lagging = await readyz(server);
        assertEquals(lagging.status, 200, "readiness stays green while the audit log is writable");
        assertEquals(lagging.body.applier.lag_events, 10);
        assertEquals(lagging.body.applier.state, "waiting_for_store");
        const metrics = await (await fetch(`${server.url}/metrics`, {
          headers: { authorization: `Bearer ${ADMIN}` },
        })).text();
        assertMatch(metrics, /symbo_crm_applier_lag_events 10\n/);
        assertMatch(metrics, /symbo_crm_applier_lag_seconds (?!0\n)\d/);
        await server.kill();
      } finally {
        holder.exec("ROLLBACK");
        holder.close();
      }
    });

    await t.step("restarted: the applier catches up from its recorded position", async () => {
      server = await startServerProcess({ dir, config });
      await eventually("all acked calls stored", 20_000, async () => {
        for (const id of acked) if ((await getCall(server, id)).status !== 200) return false;
        return true;
      });
      const ready = await readyz(server);
      assertEquals(ready.body.applier.lag_events, 0);
      assertEquals(ready.body.applier.position.seq, 11);
      await server.stop();
    });

    await t.step(
      "replaying the whole log into an empty store gives the live store's calls",
      async () => {
        const replayDir = await Deno.makeTempDir({ prefix: "symbo-crm-inbox-replay-" });
        const replayPath = await writeConfig(replayDir, {
          ...config,
          database: { url: `file:${replayDir}/crm.db` },
        });
        const first = await runCli(["audit", "replay", "--config", replayPath], { cwd: replayDir });
        assertEquals(first.code, 0, first.stderr);
        assertMatch(first.stdout, /Replayed 11 audit line\(s\): 11 applied/);
        const again = await runCli(["audit", "replay", "--config", replayPath], { cwd: replayDir });
        assertMatch(again.stdout, /0 applied, 11 already stored/);
        assertEquals(
          await storedCalls(`file:${replayDir}/crm.db`),
          await storedCalls(`file:${dir}/crm.db`),
        );
        // The same event rows too: no body copy, the same audit line named.
        const replayed = await storedEvents(`file:${replayDir}/crm.db`);
        assertEquals(replayed, await storedEvents(`file:${dir}/crm.db`));
        assertEquals(replayed.length, 11);
        assertEquals(replayed.filter((row) => row.body !== "").length, 0);
      },
    );

    await t.step(
      "`audit verify` anchors on the store: a cut tail or a deleted file fails",
      async () => {
        const verify = await runCli(["audit", "verify", "--config", configPath], { cwd: dir });
        assertEquals(verify.code, 0, verify.stdout + verify.stderr);

        const [file] = [...Deno.readDirSync(join(dir, "audit"))].map((e) => e.name).filter((n) =>
          n.endsWith(".jsonl")
        );
        assert(file !== undefined);
        const path = join(dir, "audit", file);
        const original = await Deno.readTextFile(path);
        try {
          // Two whole lines cut off the end: every line left still chains.
          const kept = original.split("\n").filter(Boolean).slice(0, -2);
          await Deno.writeTextFile(path, kept.join("\n") + "\n");
          const cut = await runCli(["audit", "verify", "--config", configPath], { cwd: dir });
          assertEquals(cut.code, 1, cut.stdout);
          assertMatch(cut.stdout, /ends at seq 9 but the store recorded seq 11/);

          await Deno.remove(path);
          const deleted = await runCli(["audit", "verify", "--config", configPath], { cwd: dir });
          assertEquals(deleted.code, 1, deleted.stdout);
          assertMatch(deleted.stdout, /ends at seq 0 but the store recorded seq 11/);

          await Deno.writeTextFile(join(dir, "elsewhere.jsonl"), original);
          await Deno.symlink(join(dir, "elsewhere.jsonl"), path);
          const linked = await runCli(["audit", "verify", "--config", configPath], { cwd: dir });
          assertEquals(linked.code, 1, linked.stdout);
          assertMatch(linked.stdout, /is a symbolic link/);
          const serve = await startServerProcess({ dir, config }).then(
            (s) => s.stop().then(() => "started"),
            (error) => String(error),
          );
          assertMatch(serve, /symbolic link/, "the server refuses to write through the link");
        } finally {
          await Deno.remove(path).catch(() => {});
          await Deno.writeTextFile(path, original, { mode: 0o600 });
        }
      },
    );
  } finally {
    await server.stop();
  }
});

Deno.test("lines that do not verify: the applier, verify and replay all stop there", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-inbox-tamper-" });
  const config = configFor(dir);
  let server = await startServerProcess({ dir, config });
  for (let i = 1; i <= 6; i++) {
    const answer = await deliver(server, callEventBody({ eventId: `t-${i}`, callId: `tc-${i}` }));
    assertEquals(answer.body, { status: "applied" });
  }
  await server.stop();
  const lines = await auditLines(join(dir, "audit"));
  const [name] = [...Deno.readDirSync(join(dir, "audit"))].map((e) => e.name).filter((n) =>
    n.endsWith(".jsonl")
  );
  assert(name !== undefined);

  await t.step("a tampered line mid-log stops the applier loudly; lookups still work", async () => {
    const copy = await Deno.makeTempDir({ prefix: "symbo-crm-inbox-tampered-" });
    await copyDir(join(dir, "audit"), join(copy, "audit"));
    const edited = lines.map((line, i) =>
      i === 3 ? line.replace("answered_positive", "meeting_booked") : line
    );
    await Deno.writeTextFile(join(copy, "audit", name), edited.join("\n") + "\n");
    const tamperedConfig = configFor(copy);
    server = await startServerProcess({ dir: copy, config: tamperedConfig });
    try {
      await eventually("the applier stops", 10_000, async () => {
        return (await readyz(server)).body.applier.state === "stopped";
      });
      const ready = await readyz(server);
      assertEquals(ready.status, 200, "lookups and webhooks still work: ready");
      assertMatch(ready.body.applier.problem, new RegExp(`${name} line 4: body_sha256`));
      assertEquals(ready.body.applier.position.seq, 3);
      assert(
        server.output.some((line) => /applier.*STOPPED|STOPPED.*line 4/.test(line)),
        server.output.join("\n"),
      );
      const metrics = await (await fetch(`${server.url}/metrics`, {
        headers: { authorization: `Bearer ${ADMIN}` },
      })).text();
      assertMatch(metrics, /symbo_crm_applier_stopped 1/);
      assertEquals((await getCall(server, "tc-3")).status, 200);
      assertEquals((await getCall(server, "tc-4")).status, 404);
      assertEquals((await getCall(server, "tc-5")).status, 404);
      const put = await fetch(`${server.url}/api/contacts/k-1`, {
        method: "PUT",
        headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
        body: JSON.stringify({ first_name: "Kim", mobile_phone: "+15551239876" }),
      });
      assertEquals(put.status, 201);
      const looked = await fetch(`${server.url}/symbo/lookup?number=%2B15551239876&token=${TOKEN}`);
      assertEquals(looked.status, 200);
      assertEquals((await looked.json()).external_id, "k-1");
      const accepted = await deliver(server, callEventBody({ eventId: "t-new", callId: "tc-new" }));
      assertEquals(accepted.body, { status: "queued" });
    } finally {
      await server.stop();
    }
  });

  await t.step(
    "a forged line with a recomputed chain: verify fails, replay never applies it",
    async () => {
      const copy = await Deno.makeTempDir({ prefix: "symbo-crm-inbox-forged-" });
      await copyDir(join(dir, "audit"), join(copy, "audit"));
      // The forger rewrites line 4's body and recomputes every hash after it:
      // the chain is intact, only the HMAC (which needs Symbo's secret) fails.
      const forged: string[] = [];
      let prev = "";
      lines.forEach((line, i) => {
        const record = parseRecordLine(line);
        if (i < 3) {
          forged.push(line);
          prev = record.hash;
          return;
        }
        const { hash: _hash, seq, prev: _prev, ...fields } = record;
        const body = i === 3 ? (record.body ?? "").replace("tc-4", "tc-forged") : record.body;
        const rechained = chainRecord(seq, prev, {
          ...fields,
          body: body ?? "",
          body_sha256: sha256Hex(body ?? ""),
          call_id: i === 3 ? "tc-forged" : record.call_id,
        });
        forged.push(serializeRecord(rechained));
        prev = rechained.hash;
      });
      await Deno.writeTextFile(join(copy, "audit", name), forged.join("\n") + "\n");
      const forgedPath = await writeConfig(copy, configFor(copy));

      const verify = await runCli(["audit", "verify", "--config", forgedPath], { cwd: copy });
      assertEquals(verify.code, 1, verify.stdout);
      assertMatch(verify.stdout, new RegExp(`FAILED at ${name} line 4: the X-Hmac-Signature`));

      const replay = await runCli(["audit", "replay", "--config", forgedPath], { cwd: copy });
      assertEquals(replay.code, 1, replay.stdout);
      assertMatch(replay.stderr, new RegExp(`STOPPED: audit file ${name} line 4`));
      const calls = (await storedCalls(`file:${copy}/crm.db`)).map((row) => row.id);
      assertEquals(calls, ["tc-1", "tc-2", "tc-3"]);
    },
  );
});

Deno.test("audit amplification: empty bodies refused, re-deliveries not re-audited, lines bounded", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-inbox-amplify-" });
  const config = configFor(dir, {
    symbo: { webhook_secrets: [SECRET], lookup_tokens: [TOKEN], max_body_bytes: 5 * 1024 * 1024 },
  });
  let server = await startServerProcess({ dir, config });
  const audit = join(dir, "audit");
  try {
    await t.step("a signed empty body is refused 400 before the audit", async () => {
      const answer = await deliver(server, "");
      assertEquals(answer.status, 400);
      assertEquals(answer.body.error, "empty_body");
      assertEquals((await auditLines(audit)).length, 0);
    });

    await t.step(
      "an exact re-delivery is answered duplicate without a new line, even after a restart",
      async () => {
        const body = callEventBody({ eventId: "amp-1", callId: "amp-call" });
        assertEquals((await deliver(server, body)).body, { status: "applied" });
        for (let i = 0; i < 10; i++) {
          assertEquals((await deliver(server, body)).body, { status: "duplicate" });
        }
        assertEquals((await auditLines(audit)).length, 1);
        await server.stop();
        server = await startServerProcess({ dir, config });
        assertEquals((await deliver(server, body)).body, { status: "duplicate" });
        assertEquals((await auditLines(audit)).length, 1);
        // Same id, another body: not a re-delivery, audited.
        const changed = callEventBody({ eventId: "amp-1", callId: "amp-call", note: "edited" });
        assertEquals((await deliver(server, changed)).status, 200);
        assertEquals((await auditLines(audit)).length, 2);
        const metrics = await (await fetch(`${server.url}/metrics`, {
          headers: { authorization: `Bearer ${ADMIN}` },
        })).text();
        assertMatch(metrics, /symbo_crm_webhooks_total\{outcome="redelivered"\} 1/);
      },
    );

    await t.step("4 MiB of control characters makes a line under 1.4× the body", async () => {
      const body = "\u0001".repeat(4 * 1024 * 1024);
      const answer = await deliver(server, body);
      assertEquals(answer.status, 400, "verified garbage is audited, then refused");
      const last = (await auditLines(audit)).at(-1) ?? "";
      assert(last.length < 1.4 * body.length, `the line is ${last.length} bytes`);
      assertEquals(parseRecordLine(last).body, undefined, "kept as base64");
      const lines = (await auditLines(audit)).length;
      const again = await deliver(server, body);
      assertEquals(again.status, 400, "a re-delivered invalid body is still refused");
      assertEquals((await auditLines(audit)).length, lines, "and not audited twice");
    });
  } finally {
    await server.stop();
  }
});
