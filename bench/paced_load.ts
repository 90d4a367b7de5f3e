/**
 * An open-loop, paced load generator for GET requests (wrk cannot pace, and
 * wrk2 is not packaged in Debian): request i is due at start + i / rate,
 * whatever the server does; its latency is measured from that scheduled time
 * to the end of its answer, so a slow answer that delays the next requests is
 * counted in theirs too (no coordinated omission). Plain HTTP/1.1 over
 * `connections` keep-alive sockets (Deno.connect, no fetch: its own cost
 * would leak into the figures); a request waits for a free socket when all
 * are busy. Between due times the loop spins on `setImmediate` (the
 * generator is pinned to its own core, like wrk), so a send is not late by a
 * timer's millisecond.
 *
 * Run as its own process (`runPaced` below); prints one `PACED_JSON {…}` line.
 *
 *   deno run --allow-net --allow-read bench/paced_load.ts <base url> <paths file> <rate/s> <seconds> <connections> [seed]
 */
import { setImmediate } from "node:timers";
import { field, numberField } from "./json_fields.ts";
import { Prng } from "./prng.ts";
import { ROOT, runOrThrow } from "./processes.ts";

/** What one paced run measured. */
export interface PacedResult {
  /** The rate asked for, and what was sent and answered per second. */
  readonly targetRate: number;
  readonly achievedRate: number;
  readonly requests: number;
  /** Requests never sent: the server was so slow that the run gave up at twice its length. */
  readonly unsent: number;
  readonly non2xx: number;
  /**
   * The generator's own longest stall between two turns of its loop, and how
   * many turns came more than 1 ms apart: a p99 near these is the generator's.
   */
  readonly generatorGapMaxMs: number;
  readonly generatorGapsOver1ms: number;
  readonly seconds: number;
  readonly connections: number;
  /** From each request's scheduled time to the end of its answer. */
  readonly latencyMs: {
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly p999: number;
    readonly max: number;
  };
}

/** Runs the generator as its own process behind `prefix` (e.g. taskset). */
export async function runPaced(options: {
  readonly url: string;
  readonly pathsFile: string;
  readonly rate: number;
  readonly seconds: number;
  readonly connections: number;
  readonly prefix: readonly string[];
  readonly seed?: number;
}): Promise<PacedResult> {
  const out = await runOrThrow([
    ...options.prefix,
    Deno.execPath(),
    "run",
    "--allow-net",
    "--allow-read",
    `${ROOT}/bench/paced_load.ts`,
    options.url,
    options.pathsFile,
    String(Math.round(options.rate)),
    String(options.seconds),
    String(options.connections),
    String(options.seed ?? 1),
  ], (options.seconds + 60) * 1000);
  const line = out.split("\n").find((l) => l.startsWith("PACED_JSON "));
  if (!line) throw new Error(`the paced load generator printed no summary:\n${out}`);
  const raw: unknown = JSON.parse(line.slice("PACED_JSON ".length));
  const what = "paced load summary";
  const latency = field(raw, "latencyMs");
  const ms = (key: string) => numberField(latency, key, what);
  return {
    targetRate: numberField(raw, "targetRate", what),
    achievedRate: numberField(raw, "achievedRate", what),
    requests: numberField(raw, "requests", what),
    unsent: numberField(raw, "unsent", what),
    generatorGapMaxMs: numberField(raw, "generatorGapMaxMs", what),
    generatorGapsOver1ms: numberField(raw, "generatorGapsOver1ms", what),
    non2xx: numberField(raw, "non2xx", what),
    seconds: numberField(raw, "seconds", what),
    connections: numberField(raw, "connections", what),
    latencyMs: { p50: ms("p50"), p90: ms("p90"), p99: ms("p99"), p999: ms("p999"), max: ms("max") },
  };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const HEADER_END = encoder.encode("\r\n\r\n");

/** One keep-alive socket: sends a GET and reads one answer. */
class Connection {
  #buffer = new Uint8Array(64 * 1024);
  #filled = 0;

  constructor(readonly conn: Deno.Conn) {}

  /** Sends `request` (a whole GET, encoded once in advance) and reads its answer; returns the status. */
  async get(request: Uint8Array): Promise<number> {
    for (let written = 0; written < request.length;) {
      written += await this.conn.write(request.subarray(written));
    }
    // Headers.
    let end: number;
    for (;;) {
      end = indexOf(this.#buffer.subarray(0, this.#filled), HEADER_END);
      if (end !== -1) break;
      await this.#read();
    }
    const head = decoder.decode(this.#buffer.subarray(0, end));
    const status = Number(head.slice(9, 12));
    let rest = end + 4;
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1];
    if (length !== undefined) {
      const total = rest + Number(length);
      while (this.#filled < total) await this.#read();
      this.#consume(total);
    } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      for (;;) {
        let lineEnd: number;
        while ((lineEnd = indexOfCrlf(this.#buffer, rest, this.#filled)) === -1) await this.#read();
        const size = parseInt(decoder.decode(this.#buffer.subarray(rest, lineEnd)), 16);
        const next = lineEnd + 2 + size + 2;
        while (this.#filled < next) await this.#read();
        rest = next;
        if (size === 0) break;
      }
      this.#consume(rest);
    } else {
      this.#consume(rest);
    }
    return status;
  }

  async #read(): Promise<void> {
    if (this.#filled === this.#buffer.length) {
      const bigger = new Uint8Array(this.#buffer.length * 2);
      bigger.set(this.#buffer);
      this.#buffer = bigger;
    }
    const read = await this.conn.read(this.#buffer.subarray(this.#filled));
    if (read === null) throw new Error("the server closed the connection");
    this.#filled += read;
  }

  #consume(bytes: number): void {
    this.#buffer.copyWithin(0, bytes, this.#filled);
    this.#filled -= bytes;
  }
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function indexOfCrlf(buffer: Uint8Array, from: number, to: number): number {
  for (let i = from; i + 1 < to; i++) if (buffer[i] === 13 && buffer[i + 1] === 10) return i;
  return -1;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * p / 100) - 1)] ?? NaN;
}

async function main(args: readonly string[]): Promise<void> {
  const [base, pathsFile, rateText, secondsText, connectionsText, seedText] = args;
  if (!base || !pathsFile || !rateText || !secondsText || !connectionsText) {
    throw new Error(
      "usage: paced_load.ts <base url> <paths file> <rate/s> <seconds> <connections> [seed]",
    );
  }
  const rate = Number(rateText);
  const seconds = Number(secondsText);
  const url = new URL(base);
  // Every request encoded once, so the loop allocates as little as it can.
  const requests = (await Deno.readTextFile(pathsFile)).split("\n").filter((line) => line !== "")
    .map((path) => encoder.encode(`GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`));
  if (requests.length === 0) throw new Error(`${pathsFile} holds no paths`);
  const prng = new Prng(Number(seedText ?? 1));
  const connections = await Promise.all(
    Array.from(
      { length: Number(connectionsText) },
      async () => {
        const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
        conn.setNoDelay(true);
        return new Connection(conn);
      },
    ),
  );
  const total = Math.floor(rate * seconds);
  const latencies = new Float64Array(total);
  let answered = 0;
  let non2xx = 0;
  const idle = [...connections];
  const interval = 1000 / rate;
  const start = performance.now() + 50;
  let next = 0;
  const inFlight = new Set<Promise<void>>();
  // A server far slower than the pace would keep this going for long: past twice
  // the run's length, the rest is not sent (and reported as `unsent`).
  const giveUpAt = start + seconds * 2000 + 5000;
  // The generator's own stalls (its GC, the scheduler): a gap between two turns
  // of its loop delays every request due meanwhile, whatever the server does.
  let lastTurn = performance.now();
  let gapMaxMs = 0;
  let gapsOver1ms = 0;
  while (next < total) {
    const now = performance.now();
    if (now > giveUpAt) break;
    const gap = now - lastTurn;
    lastTurn = now;
    if (now > start && gap > 1) gapsOver1ms++;
    if (now > start && gap > gapMaxMs) gapMaxMs = gap;
    while (next < total && start + next * interval <= now && idle.length > 0) {
      const connection = idle.pop() as Connection;
      const due = start + next * interval;
      const bytes = requests[prng.int(requests.length)] as Uint8Array;
      next++;
      const request = connection.get(bytes).then((status) => {
        latencies[answered++] = performance.now() - due;
        if (status < 200 || status > 299) non2xx++;
        idle.push(connection);
      });
      inFlight.add(request);
      request.finally(() => inFlight.delete(request));
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - start) / 1000;
  for (const connection of connections) connection.conn.close();
  const sorted = latencies.subarray(0, answered).sort();
  console.log(
    `PACED_JSON ${
      JSON.stringify({
        targetRate: rate,
        achievedRate: answered / elapsed,
        requests: answered,
        unsent: total - next,
        non2xx,
        generatorGapMaxMs: gapMaxMs,
        generatorGapsOver1ms: gapsOver1ms,
        seconds: elapsed,
        connections: connections.length,
        latencyMs: {
          p50: percentile(sorted, 50),
          p90: percentile(sorted, 90),
          p99: percentile(sorted, 99),
          p999: percentile(sorted, 99.9),
          max: sorted[sorted.length - 1] ?? NaN,
        },
      })
    }`,
  );
}

if (import.meta.main) await main(Deno.args);
