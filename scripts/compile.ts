/**
 * `deno task compile`: builds the single binary with `deno compile`, with the
 * start task's own permission and V8 flags (read from deno.json, so the binary
 * runs exactly as `deno task start` does), and keeps out of it what the
 * program never loads:
 *
 * - npm packages the program does not import (`--exclude-unused-npm`): the
 *   lockfile also holds the tests' browser driver (puppeteer-core and its
 *   tree, ~20 MB), which `deno compile` would otherwise embed whole;
 * - bintrees' `test/` folder (prom-client → tdigest → bintrees): its 2 MB
 *   `test/perf/100k` data file overflows the stack of compile's CommonJS
 *   analysis (Deno 2.9.6, rc 134). `--exclude` takes it only as an absolute
 *   path in the npm cache, hence this script;
 * - libSQL's native libraries of other platforms: both the glibc and the musl
 *   build match Linux x64 (9.3 + 9.5 MB); the target's one is kept.
 *
 * Usage: `deno task compile [--target TRIPLE] [--output PATH]`. A failed run
 * removes the empty `PATH.tmp-*` file `deno compile` leaves behind.
 */
import { parseArgs } from "node:util";

/** libSQL's native package (`@libsql/<name>`) for each `deno compile` target. */
const LIBSQL_NATIVE: Readonly<Record<string, string>> = {
  "x86_64-unknown-linux-gnu": "linux-x64-gnu",
  "aarch64-unknown-linux-gnu": "linux-arm64-gnu",
  "x86_64-apple-darwin": "darwin-x64",
  "aarch64-apple-darwin": "darwin-arm64",
  "x86_64-pc-windows-msvc": "win32-x64-msvc",
};

/** A native build of libSQL, as opposed to its JavaScript packages (client, core, …). */
const NATIVE_PACKAGE = /^(linux|darwin|win32)-/;

/** Modules the program starts with `new Worker`, which compile does not discover. */
const WORKERS = ["src/contacts/import_worker.ts", "src/store/checkpoint_worker.ts"];

/** The start task's `--v8-flags` and `--allow-*` flags, as the binary must run. */
export function startFlags(denoJson: unknown): string[] {
  const tasks = typeof denoJson === "object" && denoJson !== null && "tasks" in denoJson
    ? denoJson.tasks
    : undefined;
  const start = typeof tasks === "object" && tasks !== null && "start" in tasks
    ? tasks.start
    : undefined;
  if (typeof start !== "string") throw new Error("deno.json has no start task");
  return start.split(/\s+/).filter((arg) =>
    arg.startsWith("--v8-flags=") || arg.startsWith("--allow-")
  );
}

/** The `--exclude` paths for `target`, given the npm cache's registry folder. */
export function excludedPaths(
  registry: string,
  target: string,
  list: (dir: string) => string[],
): string[] {
  const keep = LIBSQL_NATIVE[target];
  if (keep === undefined) {
    throw new Error(`No libSQL native library is known for target ${target}.`);
  }
  const excluded = list(`${registry}/bintrees`).map((version) =>
    `${registry}/bintrees/${version}/test`
  );
  // `--exclude` takes a package's version folders, not the package's own folder.
  for (const name of list(`${registry}/@libsql`)) {
    if (!NATIVE_PACKAGE.test(name) || name === keep) continue;
    for (const version of list(`${registry}/@libsql/${name}`)) {
      excluded.push(`${registry}/@libsql/${name}/${version}`);
    }
  }
  return excluded;
}

function listDir(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].filter((entry) => entry.isDirectory).map((entry) =>
      entry.name
    );
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

async function npmRegistryCache(deno: string): Promise<string> {
  const info = await new Deno.Command(deno, { args: ["info", "--json"], stderr: "inherit" })
    .output();
  const parsed: unknown = JSON.parse(new TextDecoder().decode(info.stdout));
  const cache = typeof parsed === "object" && parsed !== null && "npmCache" in parsed
    ? parsed.npmCache
    : undefined;
  if (typeof cache !== "string") throw new Error("`deno info --json` names no npmCache.");
  return `${cache}/registry.npmjs.org`;
}

function removeLeftovers(output: string): void {
  const slash = output.lastIndexOf("/");
  const dir = slash < 0 ? "." : output.slice(0, slash) || "/";
  const prefix = `${output.slice(slash + 1)}.tmp-`;
  for (const entry of Deno.readDirSync(dir)) {
    if (entry.isFile && entry.name.startsWith(prefix)) Deno.removeSync(`${dir}/${entry.name}`);
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      target: { type: "string", default: Deno.build.target },
      output: { type: "string", default: "dist/symbo-crm" },
    },
  });
  const deno = Deno.execPath();
  const denoJson: unknown = JSON.parse(await Deno.readTextFile("deno.json"));
  const excludes = excludedPaths(await npmRegistryCache(deno), values.target, listDir);
  const args = [
    "compile",
    // Type-checking the program does not fit in the 192 MB heap the V8 flags
    // also give this process; `deno task ci` type-checks it.
    "--no-check",
    "--exclude-unused-npm",
    ...excludes.flatMap((path) => ["--exclude", path]),
    ...startFlags(denoJson),
    ...WORKERS.flatMap((worker) => ["--include", worker]),
    "--target",
    values.target,
    "--output",
    values.output,
    "main.ts",
  ];
  const status = await new Deno.Command(deno, { args }).spawn().status;
  if (!status.success) {
    try {
      removeLeftovers(values.output);
    } catch {
      // The output folder may not exist: nothing was left in it.
    }
    console.error(
      `deno compile failed (exit code ${status.code}${status.signal ? `, ${status.signal}` : ""}).`,
    );
  }
  return status.code;
}

if (import.meta.main) Deno.exit(await main());
