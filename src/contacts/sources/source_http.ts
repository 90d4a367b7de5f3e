/**
 * How a source reaches its URL: one request, no redirect followed (the
 * fetcher decides about redirects), with the outbound address guard (DESIGN
 * §11: loopback, private, link-local, multicast and unspecified addresses are
 * refused unless the source allows private networks).
 *
 * `SourceHttp` is the seam: the server wires the shared outbound HTTP client
 * (`src/outbound/http_client.ts`, which checks the address it actually
 * connects to) through it. `createFetchSourceHttp` is the stand-in used until
 * then: it resolves the name and checks every address before `fetch` connects
 * (a DNS answer that changes in between is not caught; the shared client closes that gap).
 */
import ipaddr from "ipaddr.js";

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

/** A request refused by the address guard. */
export class RefusedAddressError extends Error {
  override name = "RefusedAddressError";
}

/** Resolves a host name (A and AAAA); injected in tests. */
export type ResolveHost = (hostname: string) => Promise<string[]>;

/** The stand-in client: address guard, then `fetch` with `redirect: "manual"`. */
export function createFetchSourceHttp(resolve: ResolveHost = resolveHost): SourceHttp {
  return async (request) => {
    if (!request.allowPrivateNetworks) {
      const host = request.url.hostname.replace(/^\[|\]$/g, "");
      const addresses = ipaddr.isValid(host) ? [host] : await resolve(host);
      if (addresses.length === 0) throw new RefusedAddressError(`${host} has no address`);
      for (const address of addresses) {
        const range = ipaddr.process(address).range();
        if (range !== "unicast") {
          throw new RefusedAddressError(
            `${host} resolves to a ${range} address (${address}); refused unless the source sets allow_private_networks`,
          );
        }
      }
    }
    const response = await fetch(request.url, {
      headers: request.headers,
      redirect: "manual",
      signal: request.signal,
    });
    return { status: response.status, headers: response.headers, body: response.body };
  };
}

async function resolveHost(hostname: string): Promise<string[]> {
  const results = await Promise.allSettled([
    Deno.resolveDns(hostname, "A"),
    Deno.resolveDns(hostname, "AAAA"),
  ]);
  return results.flatMap((result) => result.status === "fulfilled" ? result.value : []);
}
