import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { selfSignedCert } from "../helpers/self_signed_cert.ts";
import { callEventBody, postSigned } from "../helpers/events.ts";
import { eventually } from "../helpers/eventually.ts";
import { runCli, startServerProcess } from "../helpers/server_process.ts";

const SECRET = "webhook secret for tests";
const ADMIN = "admin-token-0123456789abcdef0123456789";
const TOKEN = "lookup-token-0123456789abcdef0123456789";

function configFor(dir: string, extra: Record<string, unknown> = {}) {
  return {
    database: { url: `file:${dir}/crm.db` },
    audit: { dir: `${dir}/audit` },
    data_dir: dir,
    symbo: { webhook_secrets: [SECRET], lookup_tokens: [TOKEN] },
    admin: { tokens: [ADMIN] },
    log: { level: "info" },
    ...extra,
  };
}

Deno.test("health, readiness and metrics", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-ops-" });
  const server = await startServerProcess({ dir, config: configFor(dir) });
  try {
    await t.step("healthz and readyz answer 200 with JSON", async () => {
      assertEquals(await (await fetch(`${server.url}/healthz`)).json(), { status: "ok" });
      const ready = await fetch(`${server.url}/readyz`);
      assertEquals(ready.status, 200);
      const body = await ready.json();
      assertEquals({ status: body.status, checks: body.checks }, {
        status: "ready",
        checks: { store: "ok", audit: "ok", outbound: "ok" },
      });
      assertEquals(body.applier.state, "caught_up");
      assertEquals(body.outbound.pending, 0);
      assertEquals(body.applier.lag_events, 0);
    });

    await t.step("readyz fails when the audit folder is not writable", async () => {
      await Deno.chmod(`${dir}/audit`, 0o500);
      try {
        const probe = await fetch(`${server.url}/readyz`);
        // root ignores directory permissions; only assert when they apply.
        if (Deno.uid() !== 0) assertEquals(probe.status, 503);
        await probe.body?.cancel();
      } finally {
        await Deno.chmod(`${dir}/audit`, 0o700);
      }
    });

    await t.step(
      "metrics count requests, lookups and webhook outcomes in Prometheus text",
      async () => {
        await (await fetch(`${server.url}/symbo/lookup?number=%2B18005551212&token=${TOKEN}`)).body
          ?.cancel();
        const body = callEventBody({ callId: "m-1", eventId: "m-evt" });
        await (await postSigned(server.url, SECRET, body)).body?.cancel();
        await (await postSigned(server.url, SECRET, body)).body?.cancel();
        await (await fetch(`${server.url}/symbo/webhook`, { method: "POST", body })).body?.cancel();
        const response = await fetch(`${server.url}/metrics`, {
          headers: { authorization: `Bearer ${ADMIN}` },
        });
        assertEquals(
          response.headers.get("content-type"),
          "text/plain; version=0.0.4; charset=utf-8",
        );
        const text = await response.text();
        assertMatch(text, /symbo_crm_lookups_total\{result="miss"\} 1/);
        assertMatch(text, /symbo_crm_webhooks_total\{outcome="applied"\} 1/);
        // The exact re-delivery is answered `duplicate` without a new audit line.
        assertMatch(text, /symbo_crm_webhooks_total\{outcome="redelivered"\} 1/);
        assertMatch(text, /symbo_crm_applier_lag_events 0/);
        assertMatch(text, /symbo_crm_webhooks_total\{outcome="signature_missing"\} 1/);
        assertMatch(
          text,
          /symbo_crm_http_requests_total\{route="\/symbo\/webhook",method="POST",status="200"\} 2/,
        );
        assertMatch(
          text,
          /symbo_crm_http_request_duration_seconds_bucket\{le="\+Inf",route="\/symbo\/lookup"\} 1/,
        );
        assertMatch(text, /symbo_crm_calls 1/);
        assertMatch(text, /symbo_crm_contacts 0/);
        // The standard process and runtime metrics, next to ours.
        assertMatch(text, /^process_resident_memory_bytes [1-9]\d*$/m);
        assertMatch(text, /^nodejs_eventloop_lag_seconds /m);
        assertMatch(text, /^process_cpu_seconds_total /m);
      },
    );

    await t.step("metrics need an admin token unless configured public", async () => {
      const anonymous = await fetch(`${server.url}/metrics`);
      assertEquals(anonymous.status, 401);
      assertEquals((await anonymous.json()).error, "unauthorized");
      const wrong = await fetch(`${server.url}/metrics`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      assertEquals(wrong.status, 401);
      await wrong.body?.cancel();
    });

    await t.step(
      "logs are JSON lines with a request id and no secrets or full numbers",
      async () => {
        await (await fetch(
          `${server.url}/symbo/lookup?number=%2B18005559876&token=wrong-token-xxxxxxxxxx`,
          {
            headers: { "x-request-id": "req-abc-123" },
          },
        )).body?.cancel();
        await new Promise((resolve) => setTimeout(resolve, 100));
        const logs = server.output.filter((line) => line.startsWith("{"));
        assert(logs.length > 0);
        for (const line of logs) JSON.parse(line);
        const all = logs.join("\n");
        assert(all.includes("req-abc-123"));
        for (const secret of [SECRET, ADMIN, TOKEN, "wrong-token-xxxxxxxxxx", "18005559876"]) {
          assert(!all.includes(secret), `logs contain ${secret}`);
        }
      },
    );
  } finally {
    assertEquals(await server.stop(), 0);
  }
});

Deno.test("metrics.public opens /metrics; metrics.token still reads it when closed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-metrics-" });
  const open = await startServerProcess({
    dir,
    config: configFor(dir, { metrics: { public: true }, log: { level: "warning" } }),
  });
  try {
    const response = await fetch(`${open.url}/metrics`);
    assertEquals(response.status, 200);
    assertMatch(await response.text(), /symbo_crm_http_requests_total/);
  } finally {
    await open.stop();
  }
  const metricsToken = "metrics-token-0123456789abcdef0123";
  const closed = await startServerProcess({
    dir,
    config: configFor(dir, { metrics: { token: metricsToken }, log: { level: "warning" } }),
  });
  try {
    const response = await fetch(`${closed.url}/metrics`, {
      headers: { authorization: `Bearer ${metricsToken}` },
    });
    assertEquals(response.status, 200);
    await response.body?.cancel();
    assertEquals(
      await fetch(`${closed.url}/metrics`).then(async (r) => {
        await r.body?.cancel();
        return r.status;
      }),
      401,
    );
  } finally {
    await closed.stop();
  }
});

Deno.test("a generated lookup token is not printed when stderr is not a terminal", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-gentoken-" });
  const config = configFor(dir, { log: { level: "warning" } });
  const server = await startServerProcess({
    dir,
    config: { ...config, symbo: { webhook_secrets: [SECRET] } },
  });
  try {
    const token = (await Deno.readTextFile(`${dir}/lookup_token`)).trim();
    assert(token.length >= 24);
    await eventually(
      "the banner is read",
      5_000,
      () => Promise.resolve(server.output.some((line) => line.includes("Read it from"))),
    );
    const output = server.output.join("\n");
    assert(!output.includes(token), "the token is in the server's stderr");
    assertMatch(output, new RegExp(`Read it from ${dir}/lookup_token`));
    const response = await fetch(
      `${server.url}/symbo/lookup?number=%2B18005551212&token=${token}`,
    );
    assertEquals(response.status, 404);
    await response.body?.cancel();
  } finally {
    await server.stop();
  }
});

Deno.test("check-config refuses config.example.json as shipped and warns about exposed secrets", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-example-" });
  const example = new URL("../../config.example.json", import.meta.url).pathname;
  const shipped = await runCli(["check-config", "--config", example], { cwd: dir });
  assertEquals(shipped.code, 1);
  assertMatch(shipped.stderr, /admin\.tokens\.0: .*placeholder of config\.example\.json/);
  assertMatch(shipped.stderr, /symbo\.webhook_secrets\.0: .*placeholder/);

  await Deno.writeTextFile(
    `${dir}/weak.json`,
    JSON.stringify({ symbo: { webhook_secrets: ["short-secret"] }, admin: { tokens: [ADMIN] } }),
  );
  await Deno.chmod(`${dir}/weak.json`, 0o644);
  const weak = await runCli(["check-config", "--config", `${dir}/weak.json`], { cwd: dir });
  assertEquals(weak.code, 0, weak.stderr);
  assertMatch(weak.stdout, /WARNING: symbo\.webhook_secrets\.0 is only 12 characters/);
  assertMatch(weak.stdout, /WARNING: .*weak\.json holds secrets and is readable by other users/);

  const server = await startServerProcess({
    dir,
    config: {
      ...configFor(dir, { log: { level: "warning" } }),
      symbo: { webhook_secrets: ["short-secret"], lookup_tokens: [TOKEN] },
    },
  });
  try {
    // The banner shows it and the log has it (stderr is read line by line: wait for it).
    await eventually("the warning is in the banner and the log", 5_000, () =>
      Promise.resolve(
        server.output.some((line) =>
          /WARNING: symbo\.webhook_secrets\.0 is only 12 characters/.test(line)
        ) &&
          server.output.some((line) => /"level":"WARN"/.test(line) && /webhook_secrets/.test(line)),
      ));
  } finally {
    await server.stop();
  }
});

Deno.test("SIGTERM finishes in-flight webhooks and loses none it acknowledged", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-shutdown-" });
  const server = await startServerProcess({
    dir,
    config: configFor(dir, { log: { level: "warning" } }),
  });
  const acknowledged: string[] = [];
  const failures: number[] = [];
  const sender = async (worker: number) => {
    for (let i = 0; i < 200; i++) {
      try {
        const callId = `term-${worker}-${i}`;
        const response = await postSigned(server.url, SECRET, callEventBody({ callId }));
        if (response.status === 200) acknowledged.push(callId);
        else failures.push(response.status);
        await response.body?.cancel();
      } catch {
        return; // refused: the server stopped accepting
      }
    }
  };
  const senders = Array.from({ length: 8 }, (_, w) => sender(w));
  while (acknowledged.length < 100) await new Promise((resolve) => setTimeout(resolve, 5));
  const code = await server.stop();
  await Promise.all(senders);
  assertEquals(code, 0);
  assertEquals(failures, [], "in-flight requests were answered, not failed");
  const restarted = await startServerProcess({
    dir,
    config: configFor(dir, { log: { level: "warning" } }),
  });
  try {
    for (const id of acknowledged) {
      const response = await fetch(`${restarted.url}/api/calls/${id}`, {
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      assertEquals(response.status, 200, id);
      await response.body?.cancel();
    }
  } finally {
    await restarted.stop();
  }
});

Deno.test("backup writes a consistent owner-only copy while the server runs, never over a file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-backup-" });
  const server = await startServerProcess({
    dir,
    config: configFor(dir, { log: { level: "warning" } }),
  });
  try {
    for (let i = 0; i < 20; i++) {
      await (await postSigned(server.url, SECRET, callEventBody({ callId: `b-${i}` }))).body
        ?.cancel();
    }
    const out = `${dir}/backup.db`;
    const first = await runCli(["backup", out, "--config", server.configPath], { cwd: dir });
    assertEquals(first.code, 0, first.stderr);
    assertEquals((await Deno.stat(out)).mode! & 0o777, 0o600);
    const again = await runCli(["backup", out, "--config", server.configPath], { cwd: dir });
    assertEquals(again.code, 1);
    assertMatch(again.stderr, /already exists/);

    const restoredDir = await Deno.makeTempDir({ prefix: "symbo-crm-restored-" });
    const restored = await startServerProcess({
      dir: restoredDir,
      config: {
        ...configFor(restoredDir, { log: { level: "warning" } }),
        database: { url: `file:${out}` },
      },
    });
    try {
      const calls = await (await fetch(`${restored.url}/api/calls?limit=100`, {
        headers: { authorization: `Bearer ${ADMIN}` },
      })).json();
      assertEquals(calls.calls.length, 20);
    } finally {
      await restored.stop();
    }
  } finally {
    await server.stop();
  }
});

Deno.test("TLS: the server answers over HTTPS with the configured certificate", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-tls-" });
  await selfSignedCert(dir);
  const server = await startServerProcess({
    dir,
    config: configFor(dir, {
      server: { tls: { cert_file: `${dir}/cert.pem`, key_file: `${dir}/key.pem` } },
      log: { level: "warning" },
    }),
  });
  const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(`${dir}/cert.pem`)] });
  try {
    assertMatch(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const response = await fetch(
      `${server.url}/symbo/lookup?number=%2B18005551212&token=${TOKEN}`,
      { client },
    );
    assertEquals(response.status, 404);
    assertEquals((await response.json()).error, "not_found");
  } finally {
    client.close();
    await server.stop();
  }
});

Deno.test("check-config reports every problem with its key path and exits 1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-check-" });
  await Deno.writeTextFile(
    `${dir}/bad.json`,
    JSON.stringify({ server: { port: -1 }, admin: { tokens: ["short"] } }),
  );
  const bad = await runCli(["check-config", "--config", `${dir}/bad.json`], { cwd: dir });
  assertEquals(bad.code, 1);
  assertMatch(bad.stderr, /server\.port/);
  assertMatch(bad.stderr, /admin\.tokens\.0: an admin token must be at least 24 characters/);
  const good = await runCli(["check-config"], { cwd: dir });
  assertEquals(good.code, 0);
  assertMatch(good.stdout, /Configuration is valid \(built-in defaults\)/);
  const usage = await runCli(["frobnicate"], { cwd: dir });
  assertEquals(usage.code, 2);
  assertMatch(usage.stderr, /Unknown command "frobnicate"/);
});

Deno.test("the IP allowlist guards the Symbo routes, honouring X-Forwarded-For only behind a trusted proxy", async (t) => {
  for (const trustProxy of [false, true]) {
    await t.step(`trust_proxy ${trustProxy}`, async () => {
      const dir = await Deno.makeTempDir({ prefix: "symbo-crm-allowlist-" });
      const server = await startServerProcess({
        dir,
        config: configFor(dir, {
          server: { trust_proxy: trustProxy },
          symbo: {
            webhook_secrets: [SECRET],
            lookup_tokens: [TOKEN],
            allowed_ips: ["203.0.113.0/24"],
          },
          log: { level: "warning" },
        }),
      });
      try {
        const lookup = (headers: Record<string, string>) =>
          fetch(`${server.url}/symbo/lookup?number=%2B18005551212&token=${TOKEN}`, { headers });
        const direct = await lookup({});
        assertEquals(direct.status, 403);
        assertEquals((await direct.json()).error, "forbidden");
        const forwarded = await lookup({ "x-forwarded-for": "198.51.100.1, 203.0.113.9" });
        assertEquals(forwarded.status, trustProxy ? 404 : 403);
        await forwarded.body?.cancel();
        const spoofed = await lookup({ "x-forwarded-for": "203.0.113.9, 198.51.100.1" });
        assertEquals(spoofed.status, 403);
        await spoofed.body?.cancel();
        const health = await fetch(`${server.url}/healthz`);
        assertEquals(health.status, 200, "operations routes are not behind the allowlist");
        await health.body?.cancel();
      } finally {
        await server.stop();
      }
    });
  }
});

Deno.test("at debug level a lookup is logged with the number masked to its last four digits", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-masking-" });
  const server = await startServerProcess({
    dir,
    config: configFor(dir, { log: { level: "debug" } }),
  });
  try {
    const response = await fetch(`${server.url}/symbo/lookup?number=%2B18005559876&token=${TOKEN}`);
    assertEquals(response.status, 404);
    await response.body?.cancel();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const logs = server.output.filter((line) => line.startsWith("{")).join("\n");
    assert(logs.includes("***9876"), logs);
    assert(!logs.includes("5559876"), "the full number never reaches the log");
  } finally {
    await server.stop();
  }
});
