import { assert, assertEquals } from "../helpers/assert.ts";
import { generatedTokenLines } from "../../src/cli/serve_command.ts";

const generated = {
  token: "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718",
  path: "data/lookup_token",
};

Deno.test("a generated lookup token is shown on an interactive terminal", () => {
  const lines = generatedTokenLines(generated, true).join("\n");
  assert(lines.includes(generated.token));
  assert(lines.includes("data/lookup_token"));
});

Deno.test("a generated lookup token is only pointed at when stderr is not a terminal", () => {
  const lines = generatedTokenLines(generated, false);
  assert(!lines.join("\n").includes(generated.token));
  assertEquals(lines.at(-1), "  Read it from data/lookup_token (owner-only).");
});
