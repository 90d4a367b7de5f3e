/**
 * Child processes of the benchmark: the servers under test (each in its own
 * process, optionally pinned to one CPU), timed one-shot commands with their
 * peak memory, and what /proc says about a running process. Every wait here
 * has a deadline, so a hung child fails the run instead of hanging it.
 */
import { TextLineStream } from "./text_lines.ts";

/** The repository root (bench/..). */
export const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

/**
 * The flags of deno.json's `start` task (everything between `run` and the
 * entry point), so the measured server and import run exactly as deployed.
 */
export async function startTaskFlags(): Promise<string[]> {
  const denoJson: unknown = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`));
  const start = typeof denoJson === "object" && denoJson !== null && "tasks" in denoJson &&
      typeof denoJson.tasks === "object" && denoJson.tasks !== null && "start" in denoJson.tasks
    ? denoJson.tasks.start
    : undefined;
  if (typeof start !== "string") throw new Error("deno.json has no start task");
  const words = start.trim().split(/\s+/);
  const run = words.indexOf("run");
  const entry = words.findIndex((word, i) => i > run && word.endsWith(".ts"));
  if (run < 0 || entry < 0) throw new Error(`cannot read the flags of the start task: ${start}`);
  return words.slice(run + 1, entry);
}

/** True when `name` is an executable on PATH (or an absolute path that exists). */
export async function hasCommand(name: string): Promise<boolean> {
  const dirs = name.includes("/") ? [""] : (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":");
  for (const dir of dirs) {
    try {
      const info = await Deno.stat(dir === "" ? name : `${dir}/${name}`);
      if (info.isFile && info.mode !== null && (info.mode & 0o111) !== 0) return true;
    } catch {
      // not here
    }
  }
  return false;
}

/** How to pin children to CPUs: `taskset -c N` when there are two cores and taskset exists. */
export interface Pinning {
  /** The CPU the servers are pinned to, when they are. */
  readonly serverCore: number | null;
  /** The prefix for a server process (empty when not pinning). */
  readonly server: readonly string[];
  /** The prefix for a load generator. */
  readonly load: readonly string[];
  readonly description: string;
}

/** Decides the pinning once for the whole run. */
export async function choosePinning(cores: number): Promise<Pinning> {
  if (cores >= 2 && await hasCommand("taskset")) {
    return {
      serverCore: 0,
      server: ["taskset", "-c", "0"],
      load: ["taskset", "-c", "1"],
      description: "server on CPU 0, load generator on CPU 1 (taskset)",
    };
  }
  return { serverCore: null, server: [], load: [], description: "not pinned" };
}

/** A server child process. */
export interface ServerProcess {
  readonly pid: number;
  readonly url: string;
  /** Milliseconds from spawn to the listening line. */
  readonly listenMs: number;
  /** The last lines the process wrote to stderr. */
  readonly output: readonly string[];
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Spawns `command` and resolves once a stderr line matches `listening`
 * (whose first group is the URL). The child's stderr is drained for its whole
 * life (keeping the last 200 lines), so it never blocks on a full pipe.
 */
export async function spawnServer(options: {
  /** Names the server in errors. */
  readonly name: string;
  readonly command: readonly string[];
  readonly cwd?: string;
  /** Added to (and overriding) the inherited environment. */
  readonly env?: Readonly<Record<string, string>>;
  readonly listening: RegExp;
  readonly timeoutMs: number;
}): Promise<ServerProcess> {
  const [program, ...args] = options.command;
  if (program === undefined) throw new Error("spawnServer: empty command");
  const started = performance.now();
  const child = new Deno.Command(program, {
    args,
    cwd: options.cwd ?? ROOT,
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
      if (output.length > 200) output.shift();
      const match = options.listening.exec(line);
      if (match?.[1]) listening.resolve(match[1]);
    }
    listening.reject(new Error(`${options.name} exited before listening:\n${output.join("\n")}`));
  })();
  const timer = setTimeout(
    () =>
      listening.reject(
        new Error(
          `${options.name} did not listen within ${options.timeoutMs} ms:\n${output.join("\n")}`,
        ),
      ),
    options.timeoutMs,
  );
  let url: string;
  try {
    url = await listening.promise;
  } catch (error) {
    killQuietly(child, "SIGKILL");
    await child.status;
    await pump;
    throw error;
  } finally {
    clearTimeout(timer);
  }
  const listenMs = performance.now() - started;
  let stopping: Promise<void> | null = null;
  return {
    pid: child.pid,
    url,
    listenMs,
    output,
    stop(graceMs = 10_000) {
      stopping ??= (async () => {
        killQuietly(child, "SIGTERM");
        const timeout = setTimeout(() => killQuietly(child, "SIGKILL"), graceMs);
        try {
          await child.status;
          await pump;
        } finally {
          clearTimeout(timeout);
        }
      })();
      return stopping;
    },
  };
}

function killQuietly(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch {
    // already gone
  }
}

/** Memory of a running process from /proc, in MiB. */
export interface ProcMemory {
  readonly rssMb: number;
  readonly hwmMb: number;
}

/**
 * Reads a file under /proc; null when it cannot be read. Through `cat`,
 * because Deno lets a program read /proc entries (other than its own) only
 * with --allow-all, and the bench task runs with explicit flags.
 */
export async function readProcFile(path: string): Promise<string | null> {
  const { code, stdout } = await new Deno.Command("cat", {
    args: [path],
    stdout: "piped",
    stderr: "null",
  }).output();
  return code === 0 ? new TextDecoder().decode(stdout) : null;
}

/** Reads VmRSS and VmHWM of `pid`; null when the process is gone. */
export async function procMemory(pid: number): Promise<ProcMemory | null> {
  const status = await readProcFile(`/proc/${pid}/status`);
  if (status === null) return null;
  const kb = (key: string) =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rssMb: kb("VmRSS") / 1024, hwmMb: kb("VmHWM") / 1024 };
}

let clockTicks: number | undefined;

/**
 * CPU time (user + system, all threads) `pid` has used so far, in seconds;
 * NaN when the process is gone.
 */
export async function procCpuSeconds(pid: number): Promise<number> {
  clockTicks ??= Number((await runOrThrow(["getconf", "CLK_TCK"]).catch(() => "100")).trim()) ||
    100;
  const stat = await readProcFile(`/proc/${pid}/stat`);
  // Fields after the parenthesized command name; utime and stime are the 14th and 15th.
  const fields = stat?.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (!fields) return NaN;
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

/**
 * Busy time of one CPU (of all CPUs for null) so far — everything but idle
 * and iowait — in seconds, from /proc/stat; NaN when unreadable.
 */
export async function cpuBusySeconds(core: number | null): Promise<number> {
  clockTicks ??= Number((await runOrThrow(["getconf", "CLK_TCK"]).catch(() => "100")).trim()) ||
    100;
  const stat = await readProcFile("/proc/stat");
  const line = stat?.split("\n").find((l) => l.startsWith(core === null ? "cpu " : `cpu${core} `));
  if (!line) return NaN;
  const [user, nice, system, _idle, _iowait, irq, softirq, steal] = line.split(/\s+/).slice(1).map(
    Number,
  );
  return ((user ?? NaN) + (nice ?? NaN) + (system ?? NaN) + (irq ?? NaN) + (softirq ?? NaN) +
    (steal ?? 0)) /
    clockTicks;
}

/** A finished one-shot command. */
export interface TimedRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall time from spawn to exit, in seconds. */
  readonly wallSeconds: number;
  /** Peak resident set size of the command, in MiB. */
  readonly peakRssMb: number;
  /** How the peak was measured. */
  readonly peakRssSource: "/usr/bin/time -v" | "/proc VmHWM polling";
  /** CPU used ÷ wall time, in cores (from /usr/bin/time; null without it). */
  readonly cpuCores: number | null;
}

/**
 * Runs a command to completion and measures its wall time and peak RSS:
 * with `/usr/bin/time -v` when installed (exact), else by polling
 * /proc/<pid>/status VmHWM every 20 ms (may miss a last-moment peak).
 * The command is killed after `timeoutMs`.
 */
export async function runTimed(
  command: readonly string[],
  options: { cwd?: string; env?: Readonly<Record<string, string>>; timeoutMs: number },
): Promise<TimedRun> {
  const useTime = await hasCommand("/usr/bin/time");
  const timeFile = useTime ? await Deno.makeTempFile({ prefix: "bench-time-" }) : null;
  const full = timeFile ? ["/usr/bin/time", "-v", "-o", timeFile, ...command] : [...command];
  const [program, ...args] = full;
  if (program === undefined) throw new Error("runTimed: empty command");
  const started = performance.now();
  const child = new Deno.Command(program, {
    args,
    cwd: options.cwd ?? ROOT,
    env: { NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const killer = setTimeout(() => killQuietly(child, "SIGKILL"), options.timeoutMs);
  let polledHwm = 0;
  let polling = true;
  const poller = (async () => {
    while (polling && !timeFile) {
      const memory = await procMemory(child.pid);
      if (memory && memory.hwmMb > polledHwm) polledHwm = memory.hwmMb;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  try {
    const { code, stdout, stderr } = await child.output();
    const wallSeconds = (performance.now() - started) / 1000;
    polling = false;
    await poller;
    const decoder = new TextDecoder();
    let peakRssMb = polledHwm;
    let cpuCores: number | null = null;
    if (timeFile) {
      const report = await Deno.readTextFile(timeFile);
      const kb = /Maximum resident set size \(kbytes\): (\d+)/.exec(report)?.[1];
      peakRssMb = kb === undefined ? NaN : Number(kb) / 1024;
      const percent = /Percent of CPU this job got: (\d+)%/.exec(report)?.[1];
      cpuCores = percent === undefined ? null : Number(percent) / 100;
    }
    return {
      code,
      stdout: decoder.decode(stdout),
      stderr: decoder.decode(stderr),
      wallSeconds,
      peakRssMb,
      peakRssSource: timeFile ? "/usr/bin/time -v" : "/proc VmHWM polling",
      cpuCores,
    };
  } finally {
    clearTimeout(killer);
    polling = false;
    if (timeFile) await Deno.remove(timeFile).catch(() => {});
  }
}

/** Runs a short command and returns its stdout; throws with its stderr when it fails. */
export async function runOrThrow(command: readonly string[], timeoutMs = 120_000): Promise<string> {
  const [program, ...args] = command;
  if (program === undefined) throw new Error("runOrThrow: empty command");
  const child = new Deno.Command(program, {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const killer = setTimeout(() => killQuietly(child, "SIGKILL"), timeoutMs);
  try {
    const { code, stdout, stderr } = await child.output();
    const decoder = new TextDecoder();
    if (code !== 0) {
      throw new Error(`${command.join(" ")} failed (exit ${code}):\n${decoder.decode(stderr)}`);
    }
    return decoder.decode(stdout);
  } finally {
    clearTimeout(killer);
  }
}
