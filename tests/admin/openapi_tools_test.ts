/**
 * The OpenAPI document through the tools a CRM team runs on it: Redocly's
 * linter finds no error, and the types `openapi-typescript` generates are the
 * committed `tests/fixtures/openapi/api.d.ts`, which the typed client next to
 * it (`typed_client.ts`, written the natural way) uses and `deno check` checks.
 *
 * The tools come from npm: the `redocly` and `openapi-typescript` commands
 * when installed (.ci/run installs them), else `npx -y` of the same versions.
 * After changing a route, refresh the types with
 * `UPDATE_OPENAPI_TYPES=1 deno task test tests/admin/openapi_tools_test.ts`.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { openApiDocument } from "../../src/admin/openapi.ts";

const REDOCLY = { command: "redocly", npm: "@redocly/cli@2.77.0" };
const OPENAPI_TS = { command: "openapi-typescript", npm: "openapi-typescript@7.13.0" };
const FIXTURES = new URL("../fixtures/openapi/", import.meta.url);

/** Runs an npm tool: its command when on PATH, else through `npx -y`. */
async function npmTool(
  tool: { command: string; npm: string },
  args: readonly string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const run = async (command: string, fullArgs: readonly string[]) => {
    const { code, stdout, stderr } = await new Deno.Command(command, {
      args: [...fullArgs],
      cwd,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
  };
  try {
    return await run(tool.command, args);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return await run("npx", ["-y", "--package", tool.npm, "--", tool.command, ...args]);
}

async function writeDocument(dir: string): Promise<string> {
  const path = `${dir}/openapi.json`;
  await Deno.writeTextFile(path, JSON.stringify(openApiDocument(), null, 2));
  return path;
}

Deno.test("redocly lint: the document has no error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-redocly-" });
  try {
    await writeDocument(dir);
    const lint = await npmTool(REDOCLY, ["lint", "openapi.json", "--format=json"], dir);
    const report = JSON.parse(lint.stdout) as {
      totals: { errors: number; warnings: number };
      problems: { ruleId: string; severity: string; location: { pointer: string }[] }[];
    };
    const problems = report.problems.map((p) =>
      `${p.severity} ${p.ruleId} ${p.location[0]?.pointer ?? ""}`
    );
    assertEquals(report.totals.errors, 0, problems.join("\n"));
    // What the linter said before the document was complete must not come back.
    for (const rule of ["operation-operationId", "info-license", "no-empty-servers"]) {
      assert(!problems.some((p) => p.includes(rule)), problems.join("\n"));
    }
    console.log(`redocly lint: ${report.totals.errors} errors, ${report.totals.warnings} warnings`);
    for (const problem of problems) console.log(`  ${problem}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openapi-typescript's types are the committed ones, and the typed client type-checks", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-openapi-ts-" });
  try {
    await writeDocument(dir);
    const generated = await npmTool(OPENAPI_TS, ["openapi.json", "-o", "api.d.ts"], dir);
    assertEquals(generated.code, 0, generated.stderr);
    // Formatted as the repository is, so the committed file passes `deno fmt --check`.
    const fmt = await new Deno.Command(Deno.execPath(), {
      args: ["fmt", "--line-width=100", "api.d.ts"],
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    }).output();
    assertEquals(fmt.code, 0, new TextDecoder().decode(fmt.stderr));
    const types = await Deno.readTextFile(`${dir}/api.d.ts`);
    const committed = new URL("api.d.ts", FIXTURES);
    if (Deno.env.get("UPDATE_OPENAPI_TYPES") === "1") await Deno.writeTextFile(committed, types);
    assert(
      types === await Deno.readTextFile(committed),
      "tests/fixtures/openapi/api.d.ts is not what openapi-typescript generates from the document " +
        "now: refresh it with UPDATE_OPENAPI_TYPES=1 deno task test tests/admin/openapi_tools_test.ts",
    );

    // The client, checked against the freshly generated types on their own.
    await Deno.copyFile(new URL("typed_client.ts", FIXTURES), `${dir}/typed_client.ts`);
    const check = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--no-config", "typed_client.ts"],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(check.code, 0, new TextDecoder().decode(check.stderr));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
