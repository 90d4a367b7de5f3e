/**
 * Every symbo_crm_* series the real server exposes follows Prometheus' naming
 * rules, checked by our own rules and, where installed, by `promtool check
 * metrics` itself (.ci/run installs it and sets REQUIRE_PROMTOOL=1).
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { metricFamilies, namingProblems } from "../helpers/metric_names.ts";
import { startServerProcess } from "../helpers/server_process.ts";

const TOKEN = "lookup-token-0123456789abcdef0123456789";
const ADMIN = "admin-token-0123456789abcdef0123456789";

Deno.test("the naming rules catch what promtool catches", () => {
  assertEquals(namingProblems({ name: "x_compressed_days", type: "gauge", help: "h" }), [
    'x_compressed_days: use base unit "seconds" instead of "days"',
  ]);
  assertEquals(namingProblems({ name: "x_dropped", type: "counter", help: "h" }), [
    "x_dropped: a counter's name ends in _total",
  ]);
  assertEquals(namingProblems({ name: "x_handles_total", type: "gauge", help: "h" }), [
    "x_handles_total: a gauge must not end in _total",
  ]);
  assertEquals(namingProblems({ name: "x_lag_seconds", type: "gauge", help: "h" }), []);
});

async function promtool(text: string): Promise<{ code: number; output: string } | null> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, output: decoder.decode(stdout) + decoder.decode(stderr) };
}

Deno.test("every symbo_crm_* metric the server exposes passes the naming rules and promtool", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-metric-names-" });
  const server = await startServerProcess({
    dir,
    config: {
      database: { url: `file:${dir}/crm.db` },
      audit: { dir: `${dir}/audit` },
      data_dir: dir,
      symbo: { webhook_secrets: ["webhook secret for tests"], lookup_tokens: [TOKEN] },
      admin: { tokens: [ADMIN] },
      log: { level: "warning" },
    },
  });
  try {
    // Some traffic, so the labelled series have samples too.
    const lookup = await fetch(`${server.url}/symbo/lookup?number=%2B18005551212&token=${TOKEN}`);
    await lookup.body?.cancel();
    const response = await fetch(`${server.url}/metrics`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    assertEquals(response.status, 200);
    const text = await response.text();
    const ours = metricFamilies(text).filter((family) => family.name.startsWith("symbo_crm_"));
    assert(ours.length >= 15, `found ${ours.length} symbo_crm_* metrics`);
    assertEquals(ours.flatMap(namingProblems), []);

    const checked = await promtool(text);
    if (checked === null) {
      assert(Deno.env.get("REQUIRE_PROMTOOL") !== "1", "promtool is not installed");
      return;
    }
    // prom-client's default nodejs_active_*_total gauges are its own naming; ours must be clean.
    const complaints = checked.output.split("\n").filter((line) => line.startsWith("symbo_crm_"));
    assertEquals(complaints, [], checked.output);
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
