/**
 * A real libSQL server (`sqld`) for tests. The binary comes from `SQLD_BIN`, or
 * the cache `.ci/install_sqld.sh` installs into; when it is missing the install
 * script is run here, so the tests never skip for want of a server. Each server
 * gets its own database folder and a free port on 127.0.0.1, and can be paused
 * (SIGSTOP), killed and restarted on the same folder and port to test faults.
 */
import { TextLineStream } from "./text_line_stream.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const INSTALL_SCRIPT = ROOT + ".ci/install_sqld.sh";

let binary: Promise<string> | null = null;

/** The path of the `sqld` binary, installing it first when needed (once per process). */
export function sqldBinary(): Promise<string> {
  binary ??= findOrInstall();
  return binary;
}

async function findOrInstall(): Promise<string> {
  const fromEnv = Deno.env.get("SQLD_BIN");
  if (fromEnv && await isExecutable(fromEnv)) return fromEnv;
  const { code, stdout, stderr } = await new Deno.Command("bash", {
    args: [INSTALL_SCRIPT],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  const lines = decoder.decode(stdout).trim().split("\n");
  const path = lines.at(-1)?.trim() ?? "";
  if (code !== 0 || path === "" || !(await isExecutable(path))) {
    throw new Error(
      `Could not install sqld with ${INSTALL_SCRIPT} (exit ${code}):\n${decoder.decode(stderr)}`,
    );
  }
  return path;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    const info = await Deno.stat(path);
    return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** Options of a test server. */
export interface SqldOptions {
  /** The database folder (a new temp folder by default). */
  readonly dbPath?: string;
  /** The port (a free one by default). */
  readonly port?: number;
  /** Extra environment, e.g. `SQLD_AUTH_JWT_KEY`. */
  readonly env?: Record<string, string>;
}

/** A running (or paused, or stopped) sqld. */
export interface SqldServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  readonly dbPath: string;
  /** Everything sqld printed. */
  readonly output: string[];
  /** SIGSTOP: the socket stays open but nothing answers (a hung server). */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** SIGKILL and wait: connections are refused afterwards. */
  kill(): Promise<void>;
  /** Starts it again on the same folder and port, and waits until it is healthy. */
  restart(): Promise<void>;
  /** Stops it for good (SIGTERM, then SIGKILL) and waits. */
  stop(): Promise<void>;
}

/** Starts sqld and resolves once `/health` answers 200. */
export async function startSqld(options: SqldOptions = {}): Promise<SqldServer> {
  const bin = await sqldBinary();
  const dbPath = options.dbPath ?? `${await Deno.makeTempDir({ prefix: "symbo-crm-sqld-" })}/db`;
  const port = options.port ?? freePort();
  const url = `http://127.0.0.1:${port}`;
  const output: string[] = [];
  let child: Deno.ChildProcess | null = null;
  let pump: Promise<void> = Promise.resolve();

  const spawn = async () => {
    const process = new Deno.Command(bin, {
      args: ["--db-path", dbPath, "--http-listen-addr", `127.0.0.1:${port}`, "--no-welcome"],
      env: { RUST_LOG: "warn", ...options.env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    child = process;
    const collect = async (stream: ReadableStream<Uint8Array>) => {
      const lines = stream.pipeThrough(new TextDecoderStream()).pipeThrough(new TextLineStream());
      for await (const line of lines) output.push(line);
    };
    pump = Promise.all([collect(process.stdout), collect(process.stderr)]).then(() => {});
    let exited = false;
    process.status.then(() => exited = true);
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (exited) {
        await pump;
        throw new Error(`sqld exited before it was healthy:\n${output.join("\n")}`);
      }
      try {
        const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(500) });
        await response.body?.cancel();
        if (response.ok) return;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) {
        process.kill("SIGKILL");
        await process.status;
        throw new Error(`sqld was not healthy within 15 s:\n${output.join("\n")}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  const signal = (name: Deno.Signal) => {
    try {
      child?.kill(name);
    } catch {
      // Already gone.
    }
  };
  const waitExit = async () => {
    if (!child) return;
    await child.status;
    await pump;
    child = null;
  };

  await spawn();
  return {
    url,
    port,
    dbPath,
    output,
    pause: () => signal("SIGSTOP"),
    resume: () => signal("SIGCONT"),
    async kill() {
      signal("SIGCONT");
      signal("SIGKILL");
      await waitExit();
    },
    async restart() {
      if (child) {
        signal("SIGCONT");
        signal("SIGKILL");
        await waitExit();
      }
      // The port was just freed; a moment may pass before it can be bound again.
      for (let attempt = 1;; attempt++) {
        try {
          await spawn();
          return;
        } catch (error) {
          if (attempt >= 5) throw error;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    },
    async stop() {
      if (!child) return;
      signal("SIGCONT");
      signal("SIGTERM");
      const timer = setTimeout(() => signal("SIGKILL"), 3000);
      try {
        await waitExit();
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** An Ed25519 key pair for sqld's JWT auth, and a signer of tokens. */
export interface JwtKeys {
  /** The public key as sqld takes it in `SQLD_AUTH_JWT_KEY`: raw bytes, URL-safe base64. */
  readonly publicKey: string;
  /** Signs an EdDSA JWT with these claims (full read-write access by default). */
  sign(claims?: Record<string, unknown>): Promise<string>;
}

/** Generates a key pair with WebCrypto. */
export async function generateJwtKeys(): Promise<JwtKeys> {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
  if (!("privateKey" in pair)) throw new Error("Ed25519 generateKey returned a single key");
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return {
    publicKey: base64Url(raw),
    async sign(claims = { a: "rw" }) {
      const now = Math.floor(Date.now() / 1000);
      const header = base64Url(
        new TextEncoder().encode(JSON.stringify({ alg: "EdDSA", typ: "JWT" })),
      );
      const payload = base64Url(
        new TextEncoder().encode(JSON.stringify({ iat: now, exp: now + 3600, ...claims })),
      );
      const signature = await crypto.subtle.sign(
        "Ed25519",
        pair.privateKey,
        new TextEncoder().encode(`${header}.${payload}`),
      );
      return `${header}.${payload}.${base64Url(new Uint8Array(signature))}`;
    },
  };
}

function base64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Test credentials shared by the sqld suites. */
export const SECRET = "webhook secret for sqld tests";
export const LOOKUP_TOKEN = "lookup-token-for-sqld-tests-0123";
export const ADMIN_TOKEN = "admin-token-for-sqld-tests-0123456";

/** A symbo-crm configuration over `database`, with its own audit folder under `dir`. */
export function crmConfig(dir: string, database: Record<string, unknown>): Record<string, unknown> {
  return {
    database,
    audit: { dir: `${dir}/audit` },
    data_dir: dir,
    symbo: { webhook_secrets: [SECRET], lookup_tokens: [LOOKUP_TOKEN] },
    admin: { tokens: [ADMIN_TOKEN] },
    log: { level: "warning" },
  };
}

/** Writes `config` to `<dir>/config.json` (for CLI runs); returns the path. */
export async function writeConfig(dir: string, config: Record<string, unknown>): Promise<string> {
  const path = `${dir}/config.json`;
  await Deno.writeTextFile(path, JSON.stringify(config, null, 2));
  return path;
}

/** `GET /symbo/lookup?number=…` with the lookup token. */
export async function lookup(
  baseUrl: string,
  number: string,
): Promise<{ status: number; body: Record<string, unknown>; ms: number }> {
  const started = performance.now();
  const response = await fetch(
    `${baseUrl}/symbo/lookup?number=${encodeURIComponent(number)}&token=${LOOKUP_TOKEN}`,
  );
  const body = await response.json();
  return { status: response.status, body, ms: performance.now() - started };
}

/** An admin API request; resolves with the status and JSON body (null when empty). */
export async function admin(
  baseUrl: string,
  path: string,
  init: { method?: string; body?: unknown } = {},
): Promise<{ status: number; body: Record<string, unknown> | null }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: init.method ?? "GET",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await response.text();
  return { status: response.status, body: text === "" ? null : JSON.parse(text) };
}

/** A small CRM export: three contacts, two of them sharing an account. */
export const CONTACTS_CSV = [
  "external_id,first_name,last_name,work_phone,mobile_phone,address_country,account_external_id,account_name",
  "c-1,Sally,Sample,+18005551212,+18005551213,US,acct-1,Sample Company",
  "c-2,Tom,Tester,(801) 555-0146,,US,acct-1,Sample Company",
  "c-3,Olivia,Example,020 7946 0958,,GB,,",
].join("\n") + "\n";
