/**
 * The optional IP allowlist of the Symbo routes: CIDR ranges (IPv4 and IPv6),
 * and which address a request comes from — the socket's peer, or, only when
 * `server.trust_proxy` is set, the address the proxy appended last to
 * `X-Forwarded-For` (the entries before it are whatever the client claimed).
 *
 * Parsing and matching are ipaddr.js's (what Express's proxy-addr uses). On
 * top of it: only the four-part decimal IPv4 form is accepted (ipaddr.js also
 * reads legacy forms such as `127.1` or `0x7f.0.0.1`, which nobody means in an
 * allowlist), a zone id (`fe80::1%eth0`) is ignored, and an IPv4-mapped IPv6
 * address is the IPv4 address it carries, in ranges and in requests alike.
 */
import ipaddr from "ipaddr.js";

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** A parsed range: an address and the number of leading bits that must match. */
export interface Range {
  readonly address: Address;
  readonly prefix: number;
}

/** Parses an IPv4 or IPv6 address (IPv4-mapped IPv6 becomes IPv4); null if invalid. */
function parseAddress(text: string): Address | null {
  const address = text.trim().replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "");
  if (ipaddr.IPv4.isValidFourPartDecimal(address)) return ipaddr.IPv4.parse(address);
  if (!address.includes(":") || !ipaddr.IPv6.isValid(address)) return null;
  const v6 = ipaddr.IPv6.parse(address);
  return v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6;
}

/** Parses an IPv4 or IPv6 address into 4 or 16 bytes (IPv4-mapped IPv6 becomes IPv4); null if invalid. */
export function parseIp(text: string): Uint8Array | null {
  const address = parseAddress(text);
  return address === null ? null : Uint8Array.from(address.toByteArray());
}

/** Parses `a.b.c.d/n`, `x::y/n` or a bare address (a /32 or /128). */
export function parseCidr(text: string): Range | null {
  const [addressText = "", bits, ...rest] = text.trim().split("/");
  if (rest.length > 0) return null;
  const address = parseAddress(addressText);
  if (address === null) return null;
  const max = address.kind() === "ipv4" ? 32 : 128;
  let prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
  // `::ffff:a.b.c.d/n` was turned into IPv4: its prefix counts the 96 mapping bits.
  if (bits !== undefined && address.kind() === "ipv4" && addressText.includes(":")) {
    prefix -= 96;
  }
  return Number.isInteger(prefix) && prefix >= 0 && prefix <= max ? { address, prefix } : null;
}

function inRange(address: Address, range: Range): boolean {
  return address.kind() === range.address.kind() &&
    address.match(range.address as never, range.prefix);
}

/** A compiled allowlist: `allows(ip)`; an empty list allows everyone. */
export function createAllowlist(cidrs: readonly string[]): { allows(ip: string | null): boolean } {
  const ranges = cidrs.map((cidr) => {
    const range = parseCidr(cidr);
    if (!range) throw new Error(`Not an IP address or CIDR range: ${cidr}`);
    return range;
  });
  return {
    allows(ip) {
      if (ranges.length === 0) return true;
      const address = ip === null ? null : parseAddress(ip);
      return address !== null && ranges.some((range) => inRange(address, range));
    },
  };
}

/** The client address of a request, honouring X-Forwarded-For only behind a trusted proxy. */
export function clientAddress(
  request: Request,
  peer: string | null,
  trustProxy: boolean,
): string | null {
  if (trustProxy) {
    const forwarded = request.headers.get("x-forwarded-for");
    const last = forwarded?.split(",").map((part) => part.trim()).filter((part) => part !== "").at(
      -1,
    );
    if (last) return last;
  }
  return peer;
}
