/**
 * The optional IP allowlist of the Symbo routes: CIDR ranges (IPv4 and IPv6),
 * and which address a request comes from — the socket's peer, or, only when
 * `server.trust_proxy` is set, the address the proxy appended last to
 * `X-Forwarded-For` (the entries before it are whatever the client claimed).
 */

interface Range {
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/** Parses an IPv4 or IPv6 address into 4 or 16 bytes (IPv4-mapped IPv6 becomes IPv4); null if invalid. */
export function parseIp(text: string): Uint8Array | null {
  const address = text.trim().replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) {
    const parts = address.split(".").map(Number);
    return parts.every((p) => p <= 255) ? Uint8Array.from(parts) : null;
  }
  if (!address.includes(":") || !/^[0-9a-fA-F:.]+$/.test(address)) return null;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped?.[1]) return parseIp(mapped[1]);
  const halves = address.split("::");
  if (halves.length > 2) return null;
  const groups = (part: string | undefined) => (part ? part.split(":") : []);
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const all = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const group = all[i] ?? "";
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return null;
    const value = parseInt(group, 16);
    bytes[i * 2] = value >> 8;
    bytes[i * 2 + 1] = value & 0xff;
  }
  return bytes;
}

/** Parses `a.b.c.d/n`, `x::y/n` or a bare address (a /32 or /128). */
export function parseCidr(text: string): Range | null {
  const [address = "", bits, ...rest] = text.trim().split("/");
  if (rest.length > 0) return null;
  const bytes = parseIp(address);
  if (!bytes) return null;
  const max = bytes.length * 8;
  const prefix = bits === undefined ? max : /^\d+$/.test(bits) ? Number(bits) : NaN;
  return Number.isInteger(prefix) && prefix >= 0 && prefix <= max ? { bytes, prefix } : null;
}

function inRange(ip: Uint8Array, range: Range): boolean {
  if (ip.length !== range.bytes.length) return false;
  let bits = range.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((ip[i] ?? 0) & mask) !== ((range.bytes[i] ?? 0) & mask)) return false;
  }
  return true;
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
      const bytes = ip === null ? null : parseIp(ip);
      return bytes !== null && ranges.some((range) => inRange(bytes, range));
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
