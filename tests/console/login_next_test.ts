/** Where a login leads: only printable console paths on this site (issue 20, item 15). */
import { assertEquals } from "../helpers/assert.ts";
import { safeNext } from "../../src/console/login_next.ts";

Deno.test("a login's next is followed only when it is a printable console path", async (t) => {
  await t.step("console paths and queries are kept", () => {
    for (
      const next of [
        "/console/",
        "/console/calls?contact=c-1&after=MTcw.YQ",
        "/console/calls?note=a%20b|c",
        "/console/contacts/%E2%80%A8",
      ]
    ) assertEquals(safeNext(next), next);
  });
  await t.step("anything else goes to the overview", () => {
    for (
      const next of [
        "/console/\r\nx-injected: 1",
        "/console/\n",
        "/console/\u2028",
        "/console/caf\u00e9",
        "/console/ a",
        "/console/\\evil",
        "/console/#frag",
        "/console/../api/calls",
        "/console/%2e%2E/metrics",
        "//evil.example/console/",
        "https://evil.example/console/",
        "/api/calls",
        "",
        null,
        undefined,
      ]
    ) assertEquals(safeNext(next), "/console/", JSON.stringify(next));
  });
});
