import { assertEquals } from "../helpers/assert.ts";
import { clientAddress, createAllowlist, parseCidr, parseIp } from "../../src/http/ip_allowlist.ts";

Deno.test("parseIp reads IPv4, IPv6, compressed and IPv4-mapped forms", () => {
  assertEquals(parseIp("203.0.113.7"), Uint8Array.from([203, 0, 113, 7]));
  assertEquals(parseIp("::ffff:203.0.113.7"), Uint8Array.from([203, 0, 113, 7]));
  assertEquals(parseIp("2001:db8::1")?.length, 16);
  assertEquals(parseIp("::1")?.[15], 1);
  for (const bad of ["256.0.0.1", "1.2.3", "2001:db8::1::2", "hello", "", "1:2:3:4:5:6:7:8:9"]) {
    assertEquals(parseIp(bad), null, bad);
  }
});

Deno.test("an allowlist admits addresses inside its ranges only", () => {
  const list = createAllowlist(["203.0.113.0/24", "2001:db8::/32", "198.51.100.9"]);
  assertEquals(list.allows("203.0.113.200"), true);
  assertEquals(list.allows("203.0.114.1"), false);
  assertEquals(list.allows("2001:db8:ffff::1"), true);
  assertEquals(list.allows("2001:db9::1"), false);
  assertEquals(list.allows("198.51.100.9"), true);
  assertEquals(list.allows("198.51.100.10"), false);
  assertEquals(list.allows(null), false);
  assertEquals(createAllowlist([]).allows(null), true);
  assertEquals(parseCidr("10.0.0.0/33"), null);
});

Deno.test("X-Forwarded-For counts only behind a trusted proxy, and only its last entry", () => {
  const request = new Request("http://x/", {
    headers: { "x-forwarded-for": "6.6.6.6, 203.0.113.5" },
  });
  assertEquals(clientAddress(request, "127.0.0.1", false), "127.0.0.1");
  assertEquals(clientAddress(request, "127.0.0.1", true), "203.0.113.5");
  assertEquals(clientAddress(new Request("http://x/"), "127.0.0.1", true), "127.0.0.1");
});

Deno.test("zero-compressed IPv6 forms are the same address", () => {
  const list = createAllowlist(["2001:db8::1"]);
  assertEquals(list.allows("2001:0db8:0000:0000:0000:0000:0000:0001"), true);
  assertEquals(list.allows("2001:db8:0:0::1"), true);
  assertEquals(list.allows("[2001:db8::1]"), true);
  assertEquals(list.allows("2001:db8::2"), false);
  assertEquals(parseIp("::"), new Uint8Array(16));
  assertEquals(parseIp("1:2:3:4:5:6:7::8"), null);
});

Deno.test("an IPv4-mapped IPv6 address is the IPv4 address, in requests and in ranges", () => {
  const v4 = createAllowlist(["203.0.113.0/24"]);
  assertEquals(v4.allows("::ffff:203.0.113.9"), true);
  assertEquals(v4.allows("::ffff:cb00:7109"), true);
  assertEquals(v4.allows("::ffff:203.0.114.9"), false);
  const mapped = createAllowlist(["::ffff:203.0.113.0/120"]);
  assertEquals(mapped.allows("203.0.113.77"), true);
  assertEquals(mapped.allows("203.0.112.77"), false);
});

Deno.test("/0 admits its whole family, /32 and /128 exactly one address", () => {
  const all4 = createAllowlist(["0.0.0.0/0"]);
  assertEquals(all4.allows("198.51.100.1"), true);
  assertEquals(all4.allows("2001:db8::1"), false);
  const all6 = createAllowlist(["::/0"]);
  assertEquals(all6.allows("2001:db8::1"), true);
  assertEquals(all6.allows("198.51.100.1"), false);
  const one4 = createAllowlist(["198.51.100.7/32"]);
  assertEquals(one4.allows("198.51.100.7"), true);
  assertEquals(one4.allows("198.51.100.6"), false);
  const one6 = createAllowlist(["2001:db8::7/128"]);
  assertEquals(one6.allows("2001:db8::7"), true);
  assertEquals(one6.allows("2001:db8::6"), false);
  assertEquals(parseCidr("::/129"), null);
  assertEquals(parseCidr("10.0.0.0/-1"), null);
  assertEquals(parseCidr("10.0.0.0/"), null);
});

Deno.test("invalid octets and legacy IPv4 forms are refused", () => {
  for (const bad of ["256.1.1.1", "1.2.3.4.5", "01.2.3.4", "127.1", "0x7f.0.0.1", "1.2.3.-4"]) {
    assertEquals(parseIp(bad), null, bad);
    assertEquals(parseCidr(`${bad}/8`), null, bad);
  }
  assertEquals(createAllowlist(["10.0.0.0/8"]).allows("10.1"), false);
});

Deno.test("a zone id is ignored when matching", () => {
  const list = createAllowlist(["fe80::/10"]);
  assertEquals(list.allows("fe80::1%eth0"), true);
  assertEquals(parseIp("fe80::1%25eth0"), parseIp("fe80::1"));
});
