/**
 * Fetches a URL source's export, only when it changed: a conditional GET
 * (If-None-Match / If-Modified-Since from the last good run), bounded in size
 * (admin.max_import_bytes) and time, retried with backoff within the run,
 * redirects followed only to https (each hop through the same guarded
 * client: its address is checked again). The body is spooled to an owner-only file
 * while its SHA-256 is computed; a body with the last imported hash is
 * `unchanged` like a 304.
 */
import { createHash } from "node:crypto";
import { messageOf } from "../../error_message.ts";
import { RefusedRequestError, type SourceHttp } from "./source_http.ts";

/** What the last good run saw. */
export interface Validators {
  readonly etag: string | null;
  readonly lastModified: string | null;
  readonly contentSha256: string | null;
}

/** The outcome of a fetch. */
export type FetchResult =
  | { readonly kind: "not_modified"; readonly status: 304 }
  | { readonly kind: "same_content"; readonly bytes: number; readonly validators: Validators }
  | {
    readonly kind: "body";
    /** The spooled file (owner-only); the caller removes it. */
    readonly path: string;
    readonly bytes: number;
    readonly validators: Validators;
  };

/** A fetch that failed (after its retries); the message names the cause, never a header value. */
export class SourceFetchError extends Error {
  override name = "SourceFetchError";
}

/** How to fetch. */
export interface FetchOptions {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly allowPrivateNetworks: boolean;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly maxBytes: number;
  /** Owner-only folder for the spooled body. */
  readonly spoolDir: string;
  readonly previous: Validators;
  /** First backoff; doubled each retry. Default 1000 ms. */
  readonly retryBaseMs?: number;
  readonly signal?: AbortSignal;
}

const MAX_REDIRECTS = 5;

/** Fetches the export (see the module comment). */
export async function fetchExport(http: SourceHttp, options: FetchOptions): Promise<FetchResult> {
  const base = options.retryBaseMs ?? 1000;
  let lastError: unknown;
  for (let attempt = 0; attempt <= options.retries; attempt++) {
    if (attempt > 0) await sleep(base * 2 ** (attempt - 1), options.signal);
    try {
      return await fetchOnce(http, options);
    } catch (error) {
      lastError = error;
      if (
        error instanceof PermanentError || error instanceof RefusedRequestError ||
        options.signal?.aborted
      ) break;
    }
  }
  const attempts = options.retries + 1;
  throw new SourceFetchError(
    lastError instanceof PermanentError
      ? lastError.message
      : lastError instanceof RefusedRequestError
      ? `${describeUrl(options.url)}: ${lastError.message}`
      : `${describeUrl(options.url)}: ${messageOf(lastError)} (after ${attempts} attempt${
        attempts === 1 ? "" : "s"
      })`,
  );
}

/** An error no retry can fix (4xx, a bad redirect, too large). */
class PermanentError extends Error {}

async function fetchOnce(http: SourceHttp, options: FetchOptions): Promise<FetchResult> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.previous.etag) headers["if-none-match"] = options.previous.etag;
  if (options.previous.lastModified) headers["if-modified-since"] = options.previous.lastModified;
  const signal = options.signal
    ? AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)])
    : AbortSignal.timeout(options.timeoutMs);
  let url = new URL(options.url);
  for (let hop = 0;; hop++) {
    const response = await http({
      url,
      headers,
      signal,
      allowPrivateNetworks: options.allowPrivateNetworks,
    });
    if (response.status >= 300 && response.status < 400 && response.status !== 304) {
      await response.body?.cancel().catch(() => {});
      const location = response.headers.get("location");
      if (location === null) {
        throw new PermanentError(
          `${describeUrl(url)} answered ${response.status} without a Location`,
        );
      }
      const next = new URL(location, url);
      if (next.protocol !== "https:") {
        throw new PermanentError(
          `${describeUrl(url)} redirects to ${next.protocol}// (only https redirects are followed)`,
        );
      }
      if (hop >= MAX_REDIRECTS) {
        throw new PermanentError(
          `${describeUrl(options.url)}: more than ${MAX_REDIRECTS} redirects`,
        );
      }
      url = next;
      continue;
    }
    if (response.status === 304) {
      await response.body?.cancel().catch(() => {});
      return { kind: "not_modified", status: 304 };
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => {});
      const message = `${describeUrl(url)} answered ${response.status}`;
      if (response.status >= 500 || response.status === 429 || response.status === 408) {
        throw new Error(message);
      }
      throw new PermanentError(message);
    }
    const declared = Number(response.headers.get("content-length") ?? "NaN");
    if (declared > options.maxBytes) {
      await response.body?.cancel().catch(() => {});
      throw new PermanentError(tooLarge(url, options.maxBytes));
    }
    const { path, bytes, sha256 } = await spool(response.body, options, url, signal);
    const validators: Validators = {
      etag: response.headers.get("etag"),
      lastModified: response.headers.get("last-modified"),
      contentSha256: sha256,
    };
    if (sha256 === options.previous.contentSha256) {
      await Deno.remove(path).catch(() => {});
      return { kind: "same_content", bytes, validators };
    }
    return { kind: "body", path, bytes, validators };
  }
}

async function spool(
  body: ReadableStream<Uint8Array> | null,
  options: FetchOptions,
  url: URL,
  signal: AbortSignal,
): Promise<{ path: string; bytes: number; sha256: string }> {
  await Deno.mkdir(options.spoolDir, { recursive: true, mode: 0o700 });
  const path = `${options.spoolDir}/fetch-${crypto.randomUUID()}.csv`;
  const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  const hash = createHash("sha256");
  let bytes = 0;
  try {
    if (body) {
      const reader = body.getReader();
      try {
        for (;;) {
          if (signal.aborted) throw signal.reason ?? new Error("aborted");
          const { done, value } = await reader.read();
          if (done) break;
          bytes += value.byteLength;
          if (bytes > options.maxBytes) throw new PermanentError(tooLarge(url, options.maxBytes));
          hash.update(value);
          let written = 0;
          while (written < value.byteLength) written += await file.write(value.subarray(written));
        }
      } catch (error) {
        await reader.cancel().catch(() => {});
        throw error;
      }
    }
    return { path, bytes, sha256: hash.digest("hex") };
  } catch (error) {
    file.close();
    await Deno.remove(path).catch(() => {});
    throw error;
  } finally {
    try {
      file.close();
    } catch {
      // closed above
    }
  }
}

function tooLarge(url: URL, maxBytes: number): string {
  return `${
    describeUrl(url)
  }: the export is larger than admin.max_import_bytes (${maxBytes} bytes)`;
}

/** A URL for messages and logs: origin and path, never the query (it may hold a token). */
export function describeUrl(url: string | URL): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return "the source URL";
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
