/**
 * wrk, the load generator of both HTTP measurements (one thread, so it takes
 * one core): for the lookup, each request is a random line of a list of
 * existing numbers; for the webhook, a pre-signed pool of events is sent in
 * order and every answer is counted by outcome. Exact latency percentiles and
 * the counters come out of the Lua `done` hook as one JSON line.
 */
import { field, numberField } from "./json_fields.ts";
import { cpuBusySeconds, hasCommand, procCpuSeconds, runOrThrow } from "./processes.ts";

/** What one wrk run measured. */
export interface WrkResult {
  readonly requests: number;
  readonly seconds: number;
  readonly requestsPerSecond: number;
  readonly bytesPerRequest: number;
  /** Socket errors, and `status`: answers that were not 2xx/3xx. */
  readonly errors: {
    readonly connect: number;
    readonly read: number;
    readonly write: number;
    readonly status: number;
    readonly timeout: number;
  };
  readonly latencyMs: {
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly p999: number;
    readonly max: number;
    readonly mean: number;
  };
  /** Webhook runs only: answers by outcome, and how often the pool wrapped around. */
  readonly outcomes?: {
    readonly applied: number;
    readonly duplicate: number;
    readonly other200: number;
    readonly non200: number;
  };
  readonly poolWraps?: number;
  /** CPU the server used during the run, in cores (1.0 = one core busy all the time). */
  readonly serverCpuCores?: number;
  /**
   * CPU that anything else used on the server's (pinned) core during the run,
   * in cores: above ~0.05, a neighbour disturbed the round.
   */
  readonly othersOnServerCore?: number;
  /**
   * CPU that anything but the server and wrk used on the whole machine during
   * the run, in cores (needs /usr/bin/time for wrk's own CPU).
   */
  readonly othersOnMachine?: number;
}

/** One round, briefly. */
export interface RunSummary {
  readonly requestsPerSecond: number;
  readonly p99Ms: number;
  readonly serverCpuCores: number | null;
  readonly othersOnServerCore: number | null;
  readonly othersOnMachine: number | null;
}

/** The round with the most requests per second. */
export function fastest(runs: readonly WrkResult[]): WrkResult {
  const best = runs.reduce<WrkResult | undefined>(
    (a, b) => (a === undefined || b.requestsPerSecond > a.requestsPerSecond ? b : a),
    undefined,
  );
  if (best === undefined) throw new Error("no wrk rounds were run");
  return best;
}

/** A round's throughput and p99. */
export function summary(run: WrkResult): RunSummary {
  return {
    requestsPerSecond: run.requestsPerSecond,
    p99Ms: run.latencyMs.p99,
    serverCpuCores: run.serverCpuCores ?? null,
    othersOnServerCore: run.othersOnServerCore ?? null,
    othersOnMachine: run.othersOnMachine ?? null,
  };
}

/** The shared `done` hook: exact percentiles (µs) and, when set, the webhook counters. */
const DONE = `
threads = {}
function setup(thread) threads[#threads + 1] = thread end
local function counter(name)
  local t = threads[1]
  return (t and t:get(name)) or -1
end
function done(summary, latency, requests)
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.1f},' ..
    '"outcomes":{"applied":%d,"duplicate":%d,"other200":%d,"non200":%d},"wraps":%d}\\n',
    summary.requests, summary.duration, summary.bytes,
    summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean,
    counter("applied"), counter("duplicate"), counter("other200"), counter("non200"),
    counter("wraps")))
end
`;

/** Lookup: each request a random line (a request path) of the list file. */
const LOOKUP_LUA = `-- written by bench/wrk.ts: random lookups
local paths = {}
function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  math.randomseed(tonumber(args[2]) or 1)
end
function request()
  return wrk.format("GET", paths[math.random(#paths)])
end
${DONE}`;

/**
 * Webhook: the pre-signed pool (`<hex signature> <body>` lines) sent in
 * order from line args[2] + 1; every answer counted by outcome; a wrap-around
 * of the pool counted.
 */
const WEBHOOK_LUA = `-- written by bench/wrk.ts: signed webhook events, in order
local pool = {}
local i = 0
applied, duplicate, other200, non200, wraps = 0, 0, 0, 0, 0
function init(args)
  for line in io.lines(args[1]) do
    local space = line:find(" ", 1, true)
    if space then pool[#pool + 1] = { line:sub(1, space - 1), line:sub(space + 1) } end
  end
  i = tonumber(args[2]) or 0
end
function request()
  i = i + 1
  if i > #pool then i = 1; wraps = wraps + 1 end
  local event = pool[i]
  return wrk.format("POST", nil,
    { ["Content-Type"] = "application/json", ["X-Hmac-Signature"] = event[1] }, event[2])
end
function response(status, headers, body)
  if status ~= 200 then non200 = non200 + 1
  elseif body:find('"duplicate"', 1, true) then duplicate = duplicate + 1
  elseif body:find('"applied"', 1, true) then applied = applied + 1
  else other200 = other200 + 1 end
end
${DONE}`;

/**
 * Makes sure wrk is installed: installs it with apt-get when running as root
 * on Debian/Ubuntu, else explains how and throws.
 */
export async function ensureWrk(): Promise<string> {
  if (await hasCommand("wrk")) return await wrkVersion();
  const root = Deno.uid() === 0;
  if (root && await hasCommand("apt-get")) {
    console.error("wrk is not installed; installing it with apt-get (Debian package `wrk`)…");
    try {
      await runOrThrow(["apt-get", "install", "-y", "wrk"], 300_000);
    } catch {
      await runOrThrow(["apt-get", "update"], 300_000);
      await runOrThrow(["apt-get", "install", "-y", "wrk"], 300_000);
    }
    if (await hasCommand("wrk")) return await wrkVersion();
  }
  throw new Error(
    "wrk is needed for the lookup benchmark and is not installed.\n" +
      "  Debian/Ubuntu: sudo apt-get install -y wrk\n" +
      "  macOS:         brew install wrk\n" +
      "  from source:   https://github.com/wg/wrk (make; put `wrk` on PATH)",
  );
}

async function wrkVersion(): Promise<string> {
  // `wrk --version` prints its banner and exits 1; read whatever it printed.
  const { stdout, stderr } = await new Deno.Command("wrk", { args: ["--version"] }).output();
  const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  return /^wrk\s+(\S+)/m.exec(text)?.[1] ?? "unknown";
}

/** Writes both Lua scripts into `dir`; returns their paths. */
export async function writeWrkScripts(dir: string): Promise<{ lookup: string; webhook: string }> {
  const lookup = `${dir}/random_lookup.lua`;
  const webhook = `${dir}/signed_webhook.lua`;
  await Deno.writeTextFile(lookup, LOOKUP_LUA);
  await Deno.writeTextFile(webhook, WEBHOOK_LUA);
  return { lookup, webhook };
}

/**
 * Runs `wrk -t1 -c<connections> -d<seconds>s --latency <url> -- <scriptArgs>`
 * with one of the scripts above, behind `prefix` (e.g. taskset).
 */
export async function runWrk(options: {
  readonly url: string;
  readonly script: string;
  readonly scriptArgs: readonly string[];
  readonly seconds: number;
  readonly connections: number;
  readonly prefix: readonly string[];
  /** The server's pid, to report the CPU it used during the run. */
  readonly serverPid?: number;
  /** The core the server is pinned to, to report what else ran there. */
  readonly serverCore?: number | null;
}): Promise<WrkResult> {
  const core = options.serverCore ?? null;
  const timeFile = options.serverPid !== undefined && await hasCommand("/usr/bin/time")
    ? await Deno.makeTempFile({ prefix: "bench-wrk-time-" })
    : null;
  const cpuBefore = options.serverPid === undefined ? NaN : await procCpuSeconds(options.serverPid);
  const coreBefore = core === null ? NaN : await cpuBusySeconds(core);
  const machineBefore = await cpuBusySeconds(null);
  let out: string;
  try {
    out = await runOrThrow(
      [
        ...options.prefix,
        ...(timeFile ? ["/usr/bin/time", "-f", "%U %S", "-o", timeFile] : []),
        "wrk",
        "-t1",
        `-c${options.connections}`,
        `-d${options.seconds}s`,
        "--latency",
        "--timeout",
        "5s",
        "-s",
        options.script,
        options.url,
        "--",
        ...options.scriptArgs,
      ],
      (options.seconds + 120) * 1000,
    );
  } catch (error) {
    if (timeFile) await Deno.remove(timeFile).catch(() => {});
    throw error;
  }
  const line = out.split("\n").find((l) => l.startsWith("WRK_JSON "));
  if (!line) throw new Error(`wrk printed no summary:\n${out}`);
  const result = parseWrkJson(line.slice("WRK_JSON ".length));
  if (options.serverPid === undefined) return result;
  const cpu = (await procCpuSeconds(options.serverPid)) - cpuBefore;
  const coreBusy = core === null ? NaN : (await cpuBusySeconds(core)) - coreBefore;
  const machineBusy = (await cpuBusySeconds(null)) - machineBefore;
  let wrkCpu = NaN;
  if (timeFile) {
    const [user, system] = (await Deno.readTextFile(timeFile)).trim().split(/\s+/).map(Number);
    wrkCpu = (user ?? NaN) + (system ?? NaN);
    await Deno.remove(timeFile).catch(() => {});
  }
  return {
    ...result,
    serverCpuCores: cpu / result.seconds,
    ...(core === null ? {} : { othersOnServerCore: Math.max(0, coreBusy - cpu) / result.seconds }),
    ...(Number.isNaN(wrkCpu)
      ? {}
      : { othersOnMachine: Math.max(0, machineBusy - cpu - wrkCpu) / result.seconds }),
  };
}

function parseWrkJson(text: string): WrkResult {
  const raw: unknown = JSON.parse(text);
  const what = "wrk summary";
  const errors = field(raw, "errors");
  const latency = field(raw, "latency_us");
  const requests = numberField(raw, "requests", what);
  const seconds = numberField(raw, "duration_us", what) / 1e6;
  const ms = (key: string) => numberField(latency, key, what) / 1000;
  return {
    requests,
    seconds,
    requestsPerSecond: requests / seconds,
    bytesPerRequest: requests > 0 ? numberField(raw, "bytes", what) / requests : 0,
    errors: {
      connect: numberField(errors, "connect", what),
      read: numberField(errors, "read", what),
      write: numberField(errors, "write", what),
      status: numberField(errors, "status", what),
      timeout: numberField(errors, "timeout", what),
    },
    latencyMs: {
      p50: ms("p50"),
      p90: ms("p90"),
      p99: ms("p99"),
      p999: ms("p999"),
      max: ms("max"),
      mean: ms("mean"),
    },
    ...webhookCounters(raw),
  };
}

/** The webhook counters, when the run used the webhook script (-1 means unset). */
function webhookCounters(raw: unknown): Pick<WrkResult, "outcomes" | "poolWraps"> {
  const outcomes = field(raw, "outcomes");
  const applied = numberField(outcomes, "applied", "wrk summary");
  if (applied < 0) return {};
  return {
    outcomes: {
      applied,
      duplicate: numberField(outcomes, "duplicate", "wrk summary"),
      other200: numberField(outcomes, "other200", "wrk summary"),
      non200: numberField(outcomes, "non200", "wrk summary"),
    },
    poolWraps: numberField(raw, "wraps", "wrk summary"),
  };
}

/**
 * A copy of `script` whose every connection waits `delayMs` before each
 * request (wrk's `delay` hook): a steady, open-ended load of about
 * connections × 1000 / delayMs requests per second instead of "as fast as
 * the server answers". Returns the new script's path.
 */
export async function pacedScript(script: string, delayMs: number): Promise<string> {
  const path = script.replace(/\.lua$/, `.paced${delayMs}ms.lua`);
  const text = await Deno.readTextFile(script);
  await Deno.writeTextFile(path, `${text}\nfunction delay() return ${delayMs} end\n`);
  return path;
}
