/**
 * Starts the real server as a child process with exactly the permission flags
 * of `deno task start` (read from deno.json, so a missing permission fails a
 * test), on 127.0.0.1 and a free port, in its own temp folder.
 */
import { TextLineStream } from "./text_line_stream.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const MAIN = ROOT + "main.ts";

/** The flags of the `start` task in deno.json (permissions and V8 limits), as deployed. */
export async function startTaskFlags(): Promise<string[]> {
  const denoJson: unknown = JSON.parse(await Deno.readTextFile(ROOT + "deno.json"));
  const start = typeof denoJson === "object" && denoJson !== null && "tasks" in denoJson &&
      typeof denoJson.tasks === "object" && denoJson.tasks !== null && "start" in denoJson.tasks
    ? denoJson.tasks.start
    : undefined;
  if (typeof start !== "string") throw new Error("deno.json has no start task");
  return start.split(/\s+/).filter((part) => part.startsWith("--"));
}

/** A server process under test. */
export interface ServerProcess {
  readonly url: string;
  readonly dir: string;
  readonly configPath: string;
  readonly child: Deno.ChildProcess;
  /** Everything the process wrote to stderr so far. */
  readonly output: string[];
  /** SIGTERM and wait; resolves with the exit code. */
  stop(): Promise<number>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
}

/** Runs `main.ts` with the start task's flags; resolves with its output once it exits. */
export async function runCli(
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string>; stdin?: string } = { cwd: ROOT },
): Promise<{ code: number; stdout: string; stderr: string }> {
  const command = new Deno.Command(Deno.execPath(), {
    args: ["run", ...(await startTaskFlags()), MAIN, ...args],
    cwd: options.cwd,
    env: { NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
  const { code, stdout, stderr } = await command.output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

/**
 * Starts `symbo-crm serve` with `config` (merged over a listen address of
 * 127.0.0.1:0) written to `<dir>/config.json`; resolves once it is listening.
 */
export async function startServerProcess(options: {
  dir?: string;
  config?: Record<string, unknown>;
  env?: Record<string, string>;
  /** Runs the server under `ulimit -n` of this (a connection flood then stays small). */
  maxOpenFiles?: number;
}): Promise<ServerProcess> {
  const dir = options.dir ?? await Deno.makeTempDir({ prefix: "symbo-crm-test-" });
  const configPath = `${dir}/config.json`;
  const config = { ...options.config };
  const server = typeof config.server === "object" && config.server !== null ? config.server : {};
  config.server = { hostname: "127.0.0.1", port: 0, ...server };
  await Deno.writeTextFile(configPath, JSON.stringify(config, null, 2));
  const serve = [
    Deno.execPath(),
    "run",
    ...(await startTaskFlags()),
    MAIN,
    "serve",
    "--config",
    configPath,
  ];
  // `exec` keeps the server the child itself, so signals reach it.
  const [program, ...args] = options.maxOpenFiles === undefined
    ? serve
    : ["bash", "-c", 'ulimit -n "$0" && exec "$@"', String(options.maxOpenFiles), ...serve];
  const child = new Deno.Command(program ?? Deno.execPath(), {
    args,
    cwd: dir,
    env: { NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const output: string[] = [];
  const listening = Promise.withResolvers<string>();
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).pipeThrough(new TextLineStream());
  const pump = (async () => {
    for await (const line of lines) {
      output.push(line);
      const match = /listening on (\S+)/.exec(line);
      if (match?.[1]) listening.resolve(match[1]);
    }
    listening.reject(new Error(`server exited before listening:\n${output.join("\n")}`));
  })();
  const timer = setTimeout(
    () => listening.reject(new Error(`server did not listen within 20 s:\n${output.join("\n")}`)),
    20_000,
  );
  let url: string;
  try {
    url = await listening.promise;
  } catch (error) {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    await pump;
    throw error;
  } finally {
    clearTimeout(timer);
  }
  let stopped: Promise<number> | null = null;
  const wait = async () => {
    const status = await child.status;
    await pump;
    return status.code;
  };
  return {
    url,
    dir,
    configPath,
    child,
    output,
    stop() {
      if (!stopped) {
        try {
          child.kill("SIGTERM");
        } catch { /* already gone */ }
        stopped = wait();
      }
      return stopped;
    },
    async kill() {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      stopped ??= wait();
      await stopped;
    },
  };
}
