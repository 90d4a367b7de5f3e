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
