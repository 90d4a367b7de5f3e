/** Whether a request came over HTTPS: TLS here, or a trusted proxy's word. */
import { assertEquals } from "../helpers/assert.ts";
import { cameOverHttps } from "../../src/http/request_scheme.ts";

const request = (url: string, proto?: string) =>
  new Request(url, { headers: proto === undefined ? {} : { "x-forwarded-proto": proto } });

Deno.test("a request on our own TLS connection came over HTTPS, proxy or not", () => {
  assertEquals(cameOverHttps(request("https://crm.example.com/console/login"), false), true);
  assertEquals(cameOverHttps(request("https://crm.example.com/console/login", "http"), true), true);
});

Deno.test("X-Forwarded-Proto counts only from a trusted proxy, its last entry", async (t) => {
  await t.step("trusted: https (any case) is HTTPS, http is not", () => {
    assertEquals(cameOverHttps(request("http://127.0.0.1:8787/", "https"), true), true);
    assertEquals(cameOverHttps(request("http://127.0.0.1:8787/", "HTTPS"), true), true);
    assertEquals(cameOverHttps(request("http://127.0.0.1:8787/", "http"), true), false);
    assertEquals(cameOverHttps(request("http://127.0.0.1:8787/"), true), false);
  });
  await t.step("trusted: the entry our proxy appended wins over a client's", () => {
    assertEquals(cameOverHttps(request("http://127.0.0.1:8787/", "https, http"), true), false);
    assertEquals(cameOverHttps(request("http://127.0.0.1:8787/", "http, https"), true), true);
  });
  await t.step("not trusted: the header is ignored", () => {
    assertEquals(cameOverHttps(request("http://127.0.0.1:8787/", "https"), false), false);
  });
});
