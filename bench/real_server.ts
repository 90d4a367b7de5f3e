/**
 * The real symbo-crm under test: its config file for a benchmark store, the
 * `serve` and `import` command lines (with the `start` task's flags, so they
 * run exactly as deployed), start-up until `GET /readyz` answers 200, and a
 * check that the lookup finds the numbers the CSV holds.
 */
import type { ExpectedNumber } from "./dataset.ts";
import { field } from "./json_fields.ts";
import { ROOT, type ServerProcess, spawnServer } from "./processes.ts";
import { BENCH_WEBHOOK_SECRET } from "./webhook_events.ts";

/** Credentials of one benchmark run (never written to the results). */
export interface Credentials {
  readonly webhookSecret: string;
  readonly lookupToken: string;
  /** For `GET /metrics` (sent as `Authorization: Bearer`) and the admin API. */
  readonly adminToken: string;
}

/** A random lookup token and the bench's fixed webhook secret (the pool is signed with it). */
export function newCredentials(): Credentials {
  const hex = (n: number) =>
    Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => b.toString(16).padStart(2, "0"))
      .join("");
  return { webhookSecret: BENCH_WEBHOOK_SECRET, lookupToken: hex(24), adminToken: hex(24) };
}

/**
 * Writes a config for a store at `dbPath`, with its audit log and data folder
 * under `dir`, listening on 127.0.0.1 (a free port), logging warnings only.
 */
export async function writeConfig(
  dir: string,
  dbPath: string,
  credentials: Credentials,
): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const path = `${dir}/config.json`;
  const config = {
    server: { hostname: "127.0.0.1", port: 0 },
    database: { url: `file:${dbPath}` },
    audit: { dir: `${dir}/audit` },
    data_dir: dir,
    symbo: {
      webhook_secrets: [credentials.webhookSecret],
      lookup_tokens: [credentials.lookupToken],
    },
    admin: { tokens: [credentials.adminToken] },
    contacts: { default_region: "US" },
    log: { level: "warning" },
  };
  await Deno.writeTextFile(path, JSON.stringify(config, null, 2));
  return path;
}

/**
 * The environment of every symbo-crm process the bench starts: the variables
 * that would override the bench's config file are blanked (the config treats
 * an empty value as unset), so an operator's shell cannot change what is measured.
 */
export const NEUTRAL_ENV: Readonly<Record<string, string>> = {
  SYMBO_CRM_CONFIG: "",
  PORT: "",
  DATABASE_URL: "",
  DATABASE_AUTH_TOKEN: "",
  SYMBO_WEBHOOK_SECRETS: "",
  SYMBO_LOOKUP_TOKENS: "",
  ADMIN_TOKENS: "",
};

/** `deno run <start flags> main.ts <args…>`. */
export function mainCommand(flags: readonly string[], args: readonly string[]): string[] {
  return [Deno.execPath(), "run", ...flags, `${ROOT}/main.ts`, ...args];
}

/** Starts `main.ts serve --config <configPath>`, behind `prefix` (e.g. taskset). */
export function startRealServer(options: {
  readonly configPath: string;
  readonly flags: readonly string[];
  readonly prefix: readonly string[];
}): Promise<ServerProcess> {
  return spawnServer({
    name: "symbo-crm serve",
    command: [
      ...options.prefix,
      ...mainCommand(options.flags, ["serve", "--config", options.configPath]),
    ],
    env: NEUTRAL_ENV,
    listening: /symbo-crm \S+ listening on (\S+)/,
    timeoutMs: 120_000,
  });
}

/** Polls `GET /readyz` until it answers 200; returns when it did. */
export async function waitReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(`${url}/readyz`);
      await response.body?.cancel();
      if (response.status === 200) return;
    } catch {
      // not accepting yet
    }
    if (performance.now() > deadline) {
      throw new Error(`${url}/readyz did not answer 200 in ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/**
 * Start-up to ready: spawns the server (unpinned), and times spawn → first
 * `GET /readyz` 200. One unmeasured start first, so Deno's caches are warm.
 */
export async function measureStartup(options: {
  readonly configPath: string;
  readonly flags: readonly string[];
  readonly runs: number;
  /** Told the unmeasured first start's time. */
  readonly onUnmeasured?: (ms: number) => void;
}): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i <= options.runs; i++) {
    const started = performance.now();
    const server = await startRealServer({
      configPath: options.configPath,
      flags: options.flags,
      prefix: [],
    });
    try {
      await waitReady(server.url, 30_000);
      if (i > 0) times.push(performance.now() - started);
      else options.onUnmeasured?.(performance.now() - started);
    } finally {
      await server.stop();
    }
  }
  return times;
}

/** The outcome of the agreement check. */
export interface Agreement {
  readonly checked: number;
  readonly found: number;
  readonly failures: readonly string[];
}

/**
 * Looks every number of `sample` up through the real server and checks that
 * the contact that holds it in the CSV answers, with the number among its
 * phones. Runs 8 requests at a time.
 */
export async function checkAgreement(
  url: string,
  token: string,
  sample: readonly ExpectedNumber[],
): Promise<Agreement> {
  const failures: string[] = [];
  let found = 0;
  let next = 0;
  const worker = async () => {
    while (next < sample.length) {
      const expected = sample[next++];
      if (expected === undefined) return;
      const response = await fetch(
        `${url}/symbo/lookup?number=${encodeURIComponent(expected.e164)}&token=${token}`,
      );
      const text = await response.text();
      let body: unknown = null;
      try {
        body = JSON.parse(text);
      } catch {
        // reported below
      }
      const phones = ["work_phone", "mobile_phone", "home_phone", "other_phone"].map((k) =>
        field(body, k)
      );
      if (
        response.status === 200 && field(body, "external_id") === expected.external_id &&
        phones.includes(expected.e164)
      ) {
        found++;
      } else {
        failures.push(
          `${
            JSON.stringify(expected.raw)
          } (region ${expected.region}) → expected ${expected.e164} ` +
            `on ${expected.external_id}; got ${response.status} ${text.slice(0, 160)}`,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return { checked: sample.length, found, failures };
}
