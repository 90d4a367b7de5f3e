/**
 * Whether a request reached us over HTTPS: on a TLS connection of our own, or
 * through a trusted proxy that terminated TLS and says so in
 * `X-Forwarded-Proto`. The header is read only with `server.trust_proxy`
 * (anyone can send it; only our own proxy's word counts).
 */

/**
 * True when `request` came over HTTPS: its URL is `https:` (Deno.serve with
 * TLS), or `trustProxy` is on and the last `X-Forwarded-Proto` entry (the one
 * our proxy wrote) is `https`.
 */
export function cameOverHttps(request: Request, trustProxy: boolean): boolean {
  if (request.url.startsWith("https:")) return true;
  if (!trustProxy) return false;
  const forwarded = request.headers.get("x-forwarded-proto");
  const last = forwarded?.split(",").map((part) => part.trim()).filter((part) => part !== "").at(
    -1,
  );
  return last?.toLowerCase() === "https";
}
