// Unit tests of the guard function itself: no address here is ever connected to.
import { assertEquals } from "../helpers/assert.ts";
import { checkAddress, isLocalhostName, parseIpLiteral } from "../../src/outbound/address_guard.ts";

const strict = { allowPrivateNetworks: false };
const open = { allowPrivateNetworks: true };

Deno.test("the guard lets global unicast addresses through", () => {
  for (const address of ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "[2a00:1450::1]"]) {
    assertEquals(checkAddress(address, strict).allowed, true, address);
  }
});

Deno.test("the guard refuses every non-public range unless private networks are allowed", async (t) => {
  const cases: Array<[string, RegExp]> = [
    ["127.0.0.1", /loopback/],
    ["127.255.255.254", /loopback/],
    ["::1", /loopback/],
    ["10.0.0.1", /private-network/],
    ["10.255.255.255", /private-network/],
    ["172.16.0.1", /private-network/],
    ["172.31.255.254", /private-network/],
    ["192.168.1.1", /private-network/],
    ["169.254.169.254", /link-local.*metadata/],
    ["fe80::1", /link-local/],
    ["fe80::1%eth0", /link-local/],
    ["fc00::1", /unique-local/],
    ["fd12:3456::1", /unique-local/],
    ["100.64.0.1", /carrier-grade NAT/],
    ["192.0.2.10", /reserved/],
    ["198.18.0.1", /reserved/],
    ["240.0.0.1", /reserved/],
    ["fec0::1", /site-local/],
    ["2001:db8::1", /reserved|Teredo/],
    ["64:ff9b::a00:1", /NAT64/],
    ["2002:a00:1::1", /6to4/],
    ["::ffff:0:a00:1", /IPv4-translated/],
  ];
  for (const [address, reason] of cases) {
    await t.step(address, () => {
      const verdict = checkAddress(address, strict);
      assertEquals(verdict.allowed, false);
      if (!verdict.allowed) {
        assertEquals(reason.test(verdict.reason), true, verdict.reason);
        assertEquals(/allow_private_networks/.test(verdict.reason), true, verdict.reason);
      }
      assertEquals(checkAddress(address, open).allowed, true);
    });
  }
});

Deno.test("IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry", () => {
  for (
    const mapped of [
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
      "::ffff:10.1.2.3",
      "[::ffff:169.254.169.254]",
    ]
  ) {
    const verdict = checkAddress(mapped, strict);
    assertEquals(verdict.allowed, false, mapped);
  }
  const verdict = checkAddress("::ffff:192.168.0.1", strict);
  assertEquals(verdict.allowed ? "" : verdict.reason.startsWith("192.168.0.1 is"), true);
  assertEquals(checkAddress("::ffff:8.8.8.8", strict).allowed, true);
});

Deno.test("unspecified, broadcast and multicast addresses are refused even with private networks allowed", () => {
  for (
    const address of [
      "0.0.0.0",
      "0.1.2.3",
      "::",
      "255.255.255.255",
      "224.0.0.1",
      "239.1.2.3",
      "ff02::1",
    ]
  ) {
    assertEquals(checkAddress(address, open).allowed, false, address);
    assertEquals(checkAddress(address, strict).allowed, false, address);
  }
});

Deno.test("only four-part decimal IPv4 is an address literal; other spellings are names", () => {
  assertEquals(parseIpLiteral("127.1"), null);
  assertEquals(parseIpLiteral("0x7f.0.0.1"), null);
  assertEquals(parseIpLiteral("2130706433"), null);
  assertEquals(parseIpLiteral("crm.example.com"), null);
  assertEquals(parseIpLiteral("[::1]")?.toString(), "::1");
  assertEquals(checkAddress("2130706433", open).allowed, false);
});

Deno.test("localhost names never reach DNS", () => {
  assertEquals(isLocalhostName("localhost"), true);
  assertEquals(isLocalhostName("LOCALHOST."), true);
  assertEquals(isLocalhostName("api.localhost"), true);
  assertEquals(isLocalhostName("localhost.example.com"), false);
});
