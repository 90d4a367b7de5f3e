/**
 * The one outbound HTTP client (STYLE 17): every request to a URL an operator
 * configured (outbound deliveries, contact sources) goes through it, with the
 * address guard applied when connecting, timeouts, size limits and no
 * redirects.
 *
 * Why not `fetch`: it resolves and connects by itself, so the guard could
 * only check a name before the request and DNS could answer differently a
 * moment later (DNS rebinding). Here the name is resolved once, every address
 * it gives is checked, and the TCP connection goes to a checked address;
 * TLS is then started on that connection with the URL's host name for SNI and
 * certificate verification. The HTTP/1.1 spoken is small: one request, its
 * answer framed by Content-Length, chunked encoding or the end of the
 * connection; idle connections are kept for reuse (keep-alive), per origin
 * and checked address. A redirect is answered to the caller as it is (a 3xx
 * status), never followed. Proxy environment variables are not used.
 */
import { checkAddress, isLocalhostName, parseIpLiteral } from "./address_guard.ts";

/** Why an outbound request failed; `code` is a bounded label for metrics. */
export type OutboundErrorCode =
  | "bad_url"
  | "refused_address"
  | "dns"
  | "connect"
  | "connect_timeout"
  | "tls"
  | "answer_timeout"
  | "protocol"
  | "aborted";

/** A failed outbound request, with a message that names the cause (and never a secret). */
export class OutboundError extends Error {
  override name = "OutboundError";
  constructor(readonly code: OutboundErrorCode, message: string) {
    super(message);
  }
}

/** Resolves a host name to IP addresses (A and AAAA); injected in tests. */
export type Resolver = (hostname: string, signal: AbortSignal) => Promise<string[]>;

/** Options of `createHttpClient`. */
export interface HttpClientOptions {
  /** Loopback, private and link-local addresses allowed (tests, private CRMs). */
  readonly allowPrivateNetworks: boolean;
  /** Plain `http:` URLs allowed (otherwise only `https:`). */
  readonly allowHttp: boolean;
  /** Time to resolve, connect and finish TLS; default 5 s. */
  readonly connectTimeoutMs?: number;
  /** Time from the request sent to the answer's headers, and between two reads of its body; default 15 s. */
  readonly answerTimeoutMs?: number;
  /** Idle keep-alive connections kept per origin; default 4. */
  readonly maxIdlePerOrigin?: number;
  /** An idle connection is closed after this; default 30 s. */
  readonly idleTimeoutMs?: number;
  /** Extra root certificates (PEM) for TLS; tests use a self-signed one. */
  readonly caCerts?: string[];
  /** DNS resolution; default `Deno.resolveDns` (A and AAAA). */
  readonly resolve?: Resolver;
  /** `User-Agent` sent unless the request sets one. */
  readonly userAgent?: string;
}

/** One outbound request. */
export interface OutboundRequest {
  readonly method: string;
  readonly url: string | URL;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array | string;
  /** Aborts the request (connecting, waiting or reading). */
  readonly signal?: AbortSignal;
}

/** An answer: status, headers, and a body to read (or cancel) once. */
export interface OutboundResponse {
  readonly status: number;
  readonly headers: Headers;
  /** The checked IP address the connection went to. */
  readonly address: string;
  /** The body as a stream; read it to the end or cancel it. */
  readonly body: ReadableStream<Uint8Array>;
  /**
   * Reads at most `limit` bytes of the body; `truncated` when there was more
   * (the rest is dropped with the connection).
   */
  readPrefix(limit: number): Promise<{ bytes: Uint8Array; truncated: boolean }>;
}

/** The client: `request()` and `close()` (closes idle connections). */
export interface HttpClient {
  request(request: OutboundRequest): Promise<OutboundResponse>;
  close(): void;
}

const MAX_HEAD_BYTES = 32 * 1024;
const DNS_CACHE_MS = 30_000;
const READ_SIZE = 16 * 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A connection with a read buffer. */
interface Connection {
  readonly conn: Deno.Conn;
  readonly address: string;
  buffer: Uint8Array;
  /** Where reads land (one per connection, not one per read). */
  readonly scratch: Uint8Array;
  closed: boolean;
  idleTimer?: ReturnType<typeof setTimeout>;
}

/** Checks a URL for outbound use: scheme, no credentials; throws OutboundError("bad_url"). */
export function checkOutboundUrl(url: string | URL, allowHttp: boolean): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new OutboundError("bad_url", "not a valid URL");
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new OutboundError("bad_url", `${parsed.protocol} URLs cannot be used, only https:`);
  }
  if (parsed.protocol === "http:" && !allowHttp) {
    throw new OutboundError(
      "bad_url",
      "plain http: URLs are refused (the data would cross the network unencrypted); use https:, or set outbound.allow_http",
    );
  }
  if (parsed.username !== "" || parsed.password !== "") {
    throw new OutboundError("bad_url", "a URL cannot carry a user name or password");
  }
  return parsed;
}

/** Creates the outbound client. Nothing is opened until the first request. */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  const answerTimeoutMs = options.answerTimeoutMs ?? 15_000;
  const maxIdle = options.maxIdlePerOrigin ?? 4;
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  const resolve = options.resolve ?? resolveDns;
  const idle = new Map<string, Connection[]>();
  const resolved = new Map<string, { addresses: string[]; until: number }>();
  const policy = { allowPrivateNetworks: options.allowPrivateNetworks };

  function closeConnection(connection: Connection): void {
    if (connection.idleTimer !== undefined) clearTimeout(connection.idleTimer);
    if (connection.closed) return;
    connection.closed = true;
    try {
      connection.conn.close();
    } catch {
      // already closed by the other side
    }
  }

  function release(key: string, connection: Connection): void {
    const list = idle.get(key) ?? [];
    if (connection.closed || list.length >= maxIdle) return closeConnection(connection);
    const timer = setTimeout(() => {
      const current = idle.get(key);
      if (current) idle.set(key, current.filter((item) => item !== connection));
      closeConnection(connection);
    }, idleTimeoutMs);
    Deno.unrefTimer(timer);
    connection.idleTimer = timer;
    list.push(connection);
    idle.set(key, list);
  }

  function takeIdle(key: string, allowed: readonly string[]): Connection | undefined {
    const list = idle.get(key);
    while (list && list.length > 0) {
      const connection = list.pop()!;
      if (connection.idleTimer !== undefined) clearTimeout(connection.idleTimer);
      if (!connection.closed && allowed.includes(connection.address)) return connection;
      closeConnection(connection);
    }
    return undefined;
  }

  async function addressesOf(url: URL, signal: () => AbortSignal): Promise<string[]> {
    const host = url.hostname;
    const literal = parseIpLiteral(host);
    let candidates: string[];
    const cached = resolved.get(host);
    if (literal !== null) candidates = [literal.toString()];
    else if (isLocalhostName(host)) candidates = ["127.0.0.1", "::1"];
    else if (cached && cached.until > Date.now()) candidates = cached.addresses;
    else {
      try {
        candidates = await resolve(host.replace(/\.$/, ""), signal());
      } catch (error) {
        if (signal().aborted) throw abortError(signal(), "resolving", host);
        throw new OutboundError("dns", `cannot resolve ${host}: ${describe(error)}`);
      }
      if (candidates.length === 0) {
        throw new OutboundError("dns", `${host} has no A or AAAA record`);
      }
      // Kept briefly (the answers are checked again below, on every use).
      if (resolved.size >= 256) resolved.clear();
      resolved.set(host, { addresses: candidates, until: Date.now() + DNS_CACHE_MS });
    }
    // Every address must pass: a name that also points inside is refused whole.
    const checked: string[] = [];
    for (const candidate of candidates) {
      const verdict = checkAddress(candidate, policy);
      if (!verdict.allowed) {
        throw new OutboundError(
          "refused_address",
          literal !== null
            ? `refused: ${verdict.reason}`
            : `refused: ${host} resolves to ${verdict.reason}`,
        );
      }
      checked.push(verdict.address);
    }
    return checked;
  }

  async function connect(
    url: URL,
    addresses: readonly string[],
    signal: AbortSignal,
  ): Promise<Connection> {
    const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
    let lastError: unknown = null;
    for (const address of addresses) {
      if (signal.aborted) break;
      let conn: Deno.Conn;
      try {
        conn = await Deno.connect({ hostname: address, port, transport: "tcp", signal });
      } catch (error) {
        lastError = error;
        continue;
      }
      if (url.protocol === "https:") {
        try {
          // The handshake is otherwise lazy: done here, within the connect timeout.
          const tls = await Deno.startTls(conn as Deno.TcpConn, {
            hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"),
            ...(options.caCerts ? { caCerts: options.caCerts } : {}),
          });
          conn = tls;
          await withAbort(tls.handshake(), signal, () => tls.close());
        } catch (error) {
          try {
            conn.close();
          } catch {
            // closed already
          }
          if (signal.aborted) throw abortError(signal, "the TLS handshake with", url.host);
          throw new OutboundError("tls", `TLS with ${url.host} failed: ${describe(error)}`);
        }
      }
      return {
        conn,
        address,
        buffer: new Uint8Array(0),
        scratch: new Uint8Array(READ_SIZE),
        closed: false,
      };
    }
    if (signal.aborted) throw abortError(signal, "connecting to", url.host);
    throw new OutboundError("connect", `cannot connect to ${url.host}: ${describe(lastError)}`);
  }

  async function request(req: OutboundRequest): Promise<OutboundResponse> {
    const url = checkOutboundUrl(req.url, options.allowHttp);
    const key = `${url.protocol}//${url.host}`;
    // Timers only when resolving or connecting (a kept-alive request needs neither).
    let connectSignal: AbortSignal | undefined;
    const signal = () =>
      connectSignal ??= anySignal(AbortSignal.timeout(connectTimeoutMs), req.signal);
    const addresses = await addressesOf(url, signal);
    const head = requestHead(req, url, options.userAgent);
    const body = typeof req.body === "string" ? encoder.encode(req.body) : req.body;
    // A kept-alive connection may have been closed by the server meanwhile:
    // one that yields no answer byte at all is retried once on a new one.
    let connection = takeIdle(key, addresses);
    const reused = connection !== undefined;
    if (!connection) connection = await connect(url, addresses, signal());
    try {
      return await exchange(connection, key, head, body, req.signal);
    } catch (error) {
      if (!(error instanceof StaleConnection)) throw error;
      if (!reused) throw unanswered(url);
    }
    connection = await connect(
      url,
      addresses,
      anySignal(AbortSignal.timeout(connectTimeoutMs), req.signal),
    );
    try {
      return await exchange(connection, key, head, body, req.signal);
    } catch (error) {
      throw error instanceof StaleConnection ? unanswered(url) : error;
    }
  }

  async function exchange(
    connection: Connection,
    key: string,
    head: string,
    body: Uint8Array | undefined,
    callerSignal: AbortSignal | undefined,
  ): Promise<OutboundResponse> {
    // One budget from sending the request to the answer's headers.
    const until = performance.now() + answerTimeoutMs;
    const bound = <T>(promise: Promise<T>) =>
      bounded(
        promise,
        until - performance.now(),
        callerSignal,
        () => closeConnection(connection),
      );
    try {
      await bound(
        writeAll(connection.conn, encoder.encode(head), body).catch((error) => {
          throw connection.closed ? error : new StaleConnection(describe(error));
        }),
      );
      let parsed: ParsedHead;
      do {
        parsed = await bound(readHead(connection));
      } while (parsed.status >= 100 && parsed.status < 200);
      const method = head.slice(0, head.indexOf(" "));
      const stream = bodyStream(connection, parsed, method, {
        answerTimeoutMs,
        callerSignal,
        onDone: (reusable) => reusable ? release(key, connection) : closeConnection(connection),
        onError: () => closeConnection(connection),
      });
      return {
        status: parsed.status,
        headers: parsed.headers,
        address: connection.address,
        body: stream,
        readPrefix: (limit) => readPrefix(stream, limit),
      };
    } catch (error) {
      closeConnection(connection);
      if (error instanceof StaleConnection || error instanceof OutboundError) throw error;
      if (error instanceof Aborted) throw new OutboundError("aborted", "the request was aborted");
      if (error instanceof Expired) {
        throw new OutboundError("answer_timeout", `no answer within ${answerTimeoutMs / 1000} s`);
      }
      throw new OutboundError("connect", `the connection failed: ${describe(error)}`);
    }
  }

  return {
    request,
    close() {
      for (const list of idle.values()) list.forEach(closeConnection);
      idle.clear();
    },
  };
}

/** A connection that closed before any byte of an answer (a kept-alive one is retried). */
class StaleConnection extends Error {}

function unanswered(url: URL): OutboundError {
  return new OutboundError("connect", `${url.host} closed the connection without answering`);
}

interface ParsedHead {
  readonly status: number;
  readonly headers: Headers;
}

function requestHead(req: OutboundRequest, url: URL, userAgent: string | undefined): string {
  const method = req.method.toUpperCase();
  if (!/^[A-Z]+$/.test(method)) throw new OutboundError("bad_url", "invalid method");
  const lines = [`${method} ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`];
  const names = new Set<string>();
  for (const [name, value] of Object.entries(req.headers ?? {})) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || /[\r\n\0]/.test(value)) {
      throw new OutboundError("bad_url", `invalid header ${JSON.stringify(name.slice(0, 40))}`);
    }
    const lower = name.toLowerCase();
    if (["host", "content-length", "transfer-encoding", "connection"].includes(lower)) continue;
    names.add(lower);
    lines.push(`${name}: ${value}`);
  }
  if (!names.has("user-agent") && userAgent) lines.push(`user-agent: ${userAgent}`);
  const length = typeof req.body === "string"
    ? encoder.encode(req.body).length
    : req.body?.length ?? 0;
  if (req.body !== undefined || method === "POST" || method === "PUT" || method === "PATCH") {
    lines.push(`content-length: ${length}`);
  }
  lines.push("connection: keep-alive");
  return lines.join("\r\n") + "\r\n\r\n";
}

async function writeAll(conn: Deno.Conn, head: Uint8Array, body: Uint8Array | undefined) {
  const data = body && body.length > 0 ? concat(head, body) : head;
  let written = 0;
  while (written < data.length) written += await conn.write(data.subarray(written));
}

/** Reads more bytes into the buffer; false at the end of the connection. */
async function fill(connection: Connection): Promise<boolean> {
  const n = await connection.conn.read(connection.scratch);
  if (n === null) return false;
  connection.buffer = connection.buffer.length === 0
    ? connection.scratch.slice(0, n)
    : concat(connection.buffer, connection.scratch.subarray(0, n));
  return true;
}

async function readHead(connection: Connection): Promise<ParsedHead> {
  let end = indexOfCrlfCrlf(connection.buffer);
  let sawByte = connection.buffer.length > 0;
  while (end < 0) {
    if (connection.buffer.length > MAX_HEAD_BYTES) {
      throw new OutboundError("protocol", "the answer's headers are larger than 32 KiB");
    }
    let more: boolean;
    try {
      more = await fill(connection);
    } catch (error) {
      if (!sawByte) throw new StaleConnection(describe(error));
      throw error;
    }
    if (!more) {
      if (!sawByte) throw new StaleConnection("closed before answering");
      throw new OutboundError(
        "protocol",
        "the connection closed in the middle of the answer's headers",
      );
    }
    sawByte = true;
    end = indexOfCrlfCrlf(connection.buffer);
  }
  const text = decoder.decode(connection.buffer.subarray(0, end));
  connection.buffer = connection.buffer.slice(end + 4);
  const [statusLine = "", ...lines] = text.split("\r\n");
  const match = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine);
  if (!match) throw new OutboundError("protocol", "the answer is not HTTP/1.x");
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new OutboundError("protocol", "a malformed header line in the answer");
    try {
      headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    } catch {
      throw new OutboundError("protocol", "a malformed header in the answer");
    }
  }
  return { status: Number(match[1]), headers };
}

interface BodyOptions {
  readonly answerTimeoutMs: number;
  readonly callerSignal: AbortSignal | undefined;
  readonly onDone: (reusable: boolean) => void;
  readonly onError: () => void;
}

function bodyStream(
  connection: Connection,
  head: ParsedHead,
  method: string,
  options: BodyOptions,
): ReadableStream<Uint8Array> {
  const keepAlive = !/\bclose\b/i.test(head.headers.get("connection") ?? "");
  const chunked = /\bchunked\b/i.test(head.headers.get("transfer-encoding") ?? "");
  const lengthText = head.headers.get("content-length");
  const noBody = method === "HEAD" || head.status === 204 || head.status === 304;
  let remaining = noBody ? 0 : chunked ? -1 : lengthText !== null ? Number(lengthText) : Infinity;
  if (Number.isNaN(remaining) || remaining < -1) remaining = Infinity;
  let chunkLeft = 0;
  let finished = false;

  const finish = (reusable: boolean) => {
    if (finished) return;
    finished = true;
    options.onDone(reusable && keepAlive);
  };

  const timed = <T>(promise: Promise<T>): Promise<T> =>
    bounded(promise, options.answerTimeoutMs, options.callerSignal, options.onError);

  async function take(max: number): Promise<Uint8Array | null> {
    if (connection.buffer.length === 0 && !await timed(fill(connection))) return null;
    const n = Math.min(max, connection.buffer.length);
    const out = connection.buffer.slice(0, n);
    connection.buffer = connection.buffer.slice(n);
    return out;
  }

  async function line(): Promise<string> {
    let end = indexOfCrlf(connection.buffer);
    while (end < 0) {
      if (connection.buffer.length > 4096) throw new OutboundError("protocol", "bad chunk header");
      if (!await timed(fill(connection))) throw new OutboundError("protocol", "truncated chunk");
      end = indexOfCrlf(connection.buffer);
    }
    const text = decoder.decode(connection.buffer.subarray(0, end));
    connection.buffer = connection.buffer.slice(end + 2);
    return text;
  }

  async function next(): Promise<Uint8Array | null> {
    if (remaining === 0) return null;
    if (remaining === Infinity) return await take(READ_SIZE);
    if (remaining > 0) {
      const bytes = await take(Math.min(remaining, READ_SIZE));
      if (bytes === null) throw new OutboundError("protocol", "the answer ended early");
      remaining -= bytes.length;
      return bytes;
    }
    // chunked
    if (chunkLeft === 0) {
      const size = parseInt((await line()).split(";")[0]!.trim(), 16);
      if (!Number.isFinite(size) || size < 0) throw new OutboundError("protocol", "bad chunk size");
      if (size === 0) {
        while ((await line()) !== "") { /* trailers */ }
        remaining = 0;
        return null;
      }
      chunkLeft = size;
    }
    const bytes = await take(chunkLeft);
    if (bytes === null) throw new OutboundError("protocol", "truncated chunk");
    chunkLeft -= bytes.length;
    if (chunkLeft === 0 && (await line()) !== "") {
      throw new OutboundError("protocol", "bad chunk trailer");
    }
    return bytes;
  }

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const bytes = await next();
        if (bytes === null) {
          finish(remaining === 0);
          controller.close();
        } else controller.enqueue(bytes);
      } catch (error) {
        finished = true;
        options.onError();
        controller.error(
          error instanceof OutboundError
            ? error
            : error instanceof Aborted
            ? new OutboundError("aborted", "the request was aborted")
            : error instanceof Expired
            ? new OutboundError(
              "answer_timeout",
              `the answer's body stalled for ${options.answerTimeoutMs / 1000} s`,
            )
            : new OutboundError("connect", `the connection failed: ${describe(error)}`),
        );
      }
    },
    cancel() {
      finished = true;
      options.onError();
    },
  }, { highWaterMark: 0 });
}

async function readPrefix(
  stream: ReadableStream<Uint8Array>,
  limit: number,
): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  const reader = stream.getReader();
  let bytes: Uint8Array = new Uint8Array(0);
  while (bytes.length <= limit) {
    const { done, value } = await reader.read();
    if (done) return { bytes, truncated: false };
    bytes = concat(bytes, value);
  }
  await reader.cancel();
  return { bytes: bytes.slice(0, limit), truncated: true };
}

/** Resolves A and AAAA records with Deno's resolver; either may be missing. */
async function resolveDns(hostname: string, signal: AbortSignal): Promise<string[]> {
  const [v4, v6] = await Promise.allSettled([
    Deno.resolveDns(hostname, "A", { signal }),
    Deno.resolveDns(hostname, "AAAA", { signal }),
  ]);
  const addresses = [
    ...(v4.status === "fulfilled" ? v4.value : []),
    ...(v6.status === "fulfilled" ? v6.value : []),
  ];
  if (addresses.length === 0 && v4.status === "rejected") throw v4.reason;
  return addresses;
}

class Expired extends Error {}
class Aborted extends Error {}

/**
 * Resolves like `promise`, or rejects with `Expired` after `ms` or `Aborted`
 * when `signal` aborts, calling `onFail` (which closes what the promise waits
 * on). One plain timer: cheaper than an `AbortSignal.timeout` per read.
 */
function bounded<T>(
  promise: Promise<T>,
  ms: number,
  signal: AbortSignal | undefined,
  onFail: () => void,
): Promise<T> {
  if (signal?.aborted || ms <= 0) {
    onFail();
    promise.catch(() => {});
    return Promise.reject(signal?.aborted ? new Aborted() : new Expired());
  }
  return new Promise<T>((resolve, reject) => {
    const fail = (error: Error) => {
      cleanup();
      onFail();
      reject(error);
    };
    const timer = setTimeout(() => fail(new Expired()), ms);
    const abort = () => fail(new Aborted());
    signal?.addEventListener("abort", abort, { once: true });
    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", abort);
    };
    promise.then((value) => {
      cleanup();
      resolve(value);
    }, (error) => {
      cleanup();
      reject(error);
    });
  });
}

/** Rejects when the signal aborts (and calls `onAbort`, which closes what the promise waits on). */
function withAbort<T>(promise: Promise<T>, signal: AbortSignal, onAbort: () => void): Promise<T> {
  if (signal.aborted) {
    onAbort();
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      onAbort();
      reject(signal.reason);
    };
    signal.addEventListener("abort", abort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", abort));
  });
}

function anySignal(a: AbortSignal, b: AbortSignal | undefined): AbortSignal {
  return b ? AbortSignal.any([a, b]) : a;
}

function abortError(signal: AbortSignal, doing: string, host: string): OutboundError {
  const timeout = signal.reason instanceof DOMException && signal.reason.name === "TimeoutError";
  return timeout
    ? new OutboundError("connect_timeout", `timed out ${doing} ${host}`)
    : new OutboundError("aborted", `aborted while ${doing} ${host}`);
}

function describe(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0]!.slice(0, 200);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function indexOfCrlfCrlf(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      return i;
    }
  }
  return -1;
}

function indexOfCrlf(bytes: Uint8Array): number {
  for (let i = 0; i + 1 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10) return i;
  }
  return -1;
}
