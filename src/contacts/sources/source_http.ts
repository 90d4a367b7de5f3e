/**
 * How a source reaches its URL: one GET, no redirect followed (the fetcher
 * decides about redirects), through the one outbound HTTP client
 * (`src/outbound/http_client.ts`, STYLE 17), which resolves the name, checks
 * every address with the outbound address guard (DESIGN §11: loopback,
 * private, link-local, multicast and unspecified addresses are refused unless
 * the source allows private networks) and connects to the address it checked,
 * so a DNS answer that changes in between cannot reach inside.
 *
 * `SourceHttp` is the seam the fetcher is written against (tests fake it);
 * {@link sourceHttpOver} wires it to two clients, one per policy. The export
 * is asked for gzip-compressed and decompressed here, as it streams.
 */
import { type HttpClient, OutboundError } from "../../outbound/http_client.ts";

/** One request of a source fetch. */
export interface SourceRequest {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly signal: AbortSignal;
  /** Loopback and private addresses allowed (a CRM on the LAN; tests). */
  readonly allowPrivateNetworks: boolean;
}

/** Its answer; the body is read to the end or cancelled. */
export interface SourceResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: ReadableStream<Uint8Array> | null;
}

/** Sends one GET, never following a redirect. */
export type SourceHttp = (request: SourceRequest) => Promise<SourceResponse>;

/**
 * A request no retry can help: the address guard refused it, the URL cannot
 * be used, or the answer is in an encoding that cannot be read.
 */
export class RefusedRequestError extends Error {
  override name = "RefusedRequestError";
}

/** The two clients of the sources: one guarded, one for sources that allow private networks. */
export interface SourceClients {
  /** `allowPrivateNetworks: false`, https only. */
  readonly guarded: HttpClient;
  /** `allowPrivateNetworks: true` and plain http (a CRM on your own network). */
  readonly privateNetworks: HttpClient;
}

/** `SourceHttp` over the outbound client: the source's policy picks the client. */
export function sourceHttpOver(clients: SourceClients): SourceHttp {
  return async (request) => {
    const client = request.allowPrivateNetworks ? clients.privateNetworks : clients.guarded;
    const headers: Record<string, string> = { ...request.headers };
    const asked = Object.keys(headers).some((name) => name.toLowerCase() === "accept-encoding");
    if (!asked) headers["accept-encoding"] = "gzip";
    let response;
    try {
      response = await client.request({
        method: "GET",
        url: request.url,
        headers,
        signal: request.signal,
      });
    } catch (error) {
      if (error instanceof OutboundError && error.code === "refused_address") {
        throw new RefusedRequestError(
          `${error.message}; refused unless the source sets allow_private_networks`,
        );
      }
      if (error instanceof OutboundError && error.code === "bad_url") {
        throw new RefusedRequestError(error.message);
      }
      throw error;
    }
    const encoding = (response.headers.get("content-encoding") ?? "identity").trim().toLowerCase();
    if (encoding === "identity" || response.status !== 200) {
      return { status: response.status, headers: response.headers, body: response.body };
    }
    if (encoding !== "gzip" && encoding !== "x-gzip") {
      await response.body.cancel().catch(() => {});
      throw new RefusedRequestError(
        `${request.url.origin} answered with content-encoding ${encoding.slice(0, 40)}, ` +
          "which is not supported (identity or gzip)",
      );
    }
    // The bytes the fetcher counts (and bounds) are the decompressed ones.
    const headersOut = new Headers(response.headers);
    headersOut.delete("content-length");
    headersOut.delete("content-encoding");
    return {
      status: response.status,
      headers: headersOut,
      // The client's chunks are plain Uint8Arrays over an ArrayBuffer (never a shared one).
      body: (response.body as ReadableStream<Uint8Array<ArrayBuffer>>).pipeThrough(
        new DecompressionStream("gzip"),
      ),
    };
  };
}
