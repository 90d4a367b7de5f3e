/**
 * The address guard of outbound HTTP (DESIGN §11, STYLE 17): which IP
 * addresses symbo-crm may open a connection to. It is asked at connect time,
 * for every address a name resolves to, so a URL that was fine at
 * registration cannot later point at the metadata service or the LAN.
 *
 * Only global unicast addresses pass by default. Loopback, RFC 1918 private,
 * carrier-grade NAT, link-local (169.254.0.0/16, which holds cloud metadata
 * services), unique-local (fc00::/7), site-local, reserved and documentation
 * ranges, and the IPv6 forms that carry an IPv4 address for a translator
 * (NAT64, 6to4, Teredo, SIIT) pass only with `outbound.allow_private_networks`.
 * Unspecified (0.0.0.0, ::), broadcast and multicast never pass: 0.0.0.0
 * reaches the local host on Linux and neither of the others is a server.
 * An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is judged as the IPv4 address
 * it carries. Ranges are ipaddr.js's.
 */
import ipaddr from "ipaddr.js";

/** The guard's answer about one address. */
export type AddressVerdict =
  | { readonly allowed: true; readonly address: string }
  | { readonly allowed: false; readonly address: string; readonly reason: string };

/** What the guard allows beyond global unicast addresses. */
export interface AddressPolicy {
  /** Loopback, private, link-local and the other non-public ranges (tests set it). */
  readonly allowPrivateNetworks: boolean;
}

const NEVER: Readonly<Record<string, string>> = {
  unspecified: "an unspecified address",
  broadcast: "the broadcast address",
  multicast: "a multicast address",
};

const NAMES: Readonly<Record<string, string>> = {
  loopback: "a loopback address",
  private: "a private-network address",
  linkLocal: "a link-local address (cloud metadata services live there)",
  uniqueLocal: "a unique-local (private) IPv6 address",
  carrierGradeNat: "a carrier-grade NAT address",
  deprecatedSiteLocal: "a site-local IPv6 address",
  reserved: "a reserved or documentation address",
  rfc6052: "a NAT64 address (it carries an IPv4 address)",
  rfc6145: "an IPv4-translated address",
  "6to4": "a 6to4 address (it carries an IPv4 address)",
  teredo: "a Teredo address (it carries an IPv4 address)",
};

/**
 * Parses an IP address literal as found in a URL host or a DNS answer
 * (`[::1]`, a zone id, and IPv4-mapped IPv6 are handled); null when the text
 * is not an address. Only the four-part decimal IPv4 form counts: `127.1` or
 * `0x7f000001` are names here, and names are resolved, then checked.
 */
export function parseIpLiteral(text: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  const bare = text.trim().replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "");
  if (ipaddr.IPv4.isValidFourPartDecimal(bare)) return ipaddr.IPv4.parse(bare);
  if (!bare.includes(":") || !ipaddr.IPv6.isValid(bare)) return null;
  const v6 = ipaddr.IPv6.parse(bare);
  return v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6;
}

/** Judges one IP address under a policy; anything that is not an IP address is refused. */
export function checkAddress(text: string, policy: AddressPolicy): AddressVerdict {
  const address = parseIpLiteral(text);
  if (address === null) return { allowed: false, address: text, reason: "not an IP address" };
  const shown = address.toString();
  const range = address.range();
  if (range === "unicast") return { allowed: true, address: shown };
  const never = NEVER[range];
  if (never !== undefined) {
    return { allowed: false, address: shown, reason: `${shown} is ${never}` };
  }
  if (policy.allowPrivateNetworks) return { allowed: true, address: shown };
  const name = NAMES[range] ?? `a special-purpose address (${range})`;
  return {
    allowed: false,
    address: shown,
    reason: `${shown} is ${name}; set outbound.allow_private_networks to allow it`,
  };
}

/**
 * Names that resolve to the local host by definition (RFC 6761) and are
 * therefore never asked of DNS: `localhost` and `*.localhost`.
 */
export function isLocalhostName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, "");
  return name === "localhost" || name.endsWith(".localhost");
}
