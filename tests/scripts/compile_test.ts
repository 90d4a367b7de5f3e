/** The compile script's choices: the start task's flags, and what it keeps out. */
import { assert, assertEquals } from "../helpers/assert.ts";
import { excludedPaths, startFlags } from "../../scripts/compile.ts";

Deno.test("the binary gets the start task's permission and V8 flags, and no others", () => {
  const denoJson = JSON.parse(Deno.readTextFileSync(new URL("../../deno.json", import.meta.url)));
  const flags = startFlags(denoJson);
  assertEquals(flags.filter((flag) => flag.startsWith("--allow-")), [
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-ffi",
    "--allow-sys",
  ]);
  assertEquals(flags.filter((flag) => flag.startsWith("--v8-flags=")).length, 1);
  assert.throws(() => startFlags({ tasks: {} }), /no start task/);
});

Deno.test("compile keeps out bintrees' test data and other platforms' libSQL libraries", () => {
  const tree: Record<string, string[]> = {
    "/cache/bintrees": ["1.0.2"],
    "/cache/@libsql": ["client", "core", "linux-x64-gnu", "linux-x64-musl", "darwin-arm64"],
    "/cache/@libsql/linux-x64-musl": ["0.5.29"],
    "/cache/@libsql/darwin-arm64": ["0.5.29"],
    "/cache/@libsql/linux-x64-gnu": ["0.5.29"],
  };
  const list = (dir: string) => tree[dir] ?? [];
  assertEquals(excludedPaths("/cache", "x86_64-unknown-linux-gnu", list), [
    "/cache/bintrees/1.0.2/test",
    "/cache/@libsql/linux-x64-musl/0.5.29",
    "/cache/@libsql/darwin-arm64/0.5.29",
  ]);
  assertEquals(excludedPaths("/cache", "aarch64-apple-darwin", list), [
    "/cache/bintrees/1.0.2/test",
    "/cache/@libsql/linux-x64-gnu/0.5.29",
    "/cache/@libsql/linux-x64-musl/0.5.29",
  ]);
  assert.throws(() => excludedPaths("/cache", "riscv64-unknown-linux-gnu", list), /riscv64/);
});
