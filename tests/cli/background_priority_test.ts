import { getPriority } from "node:os";
import { assertEquals } from "../helpers/assert.ts";
import { BACKGROUND_NICE } from "../../src/cli/background_priority.ts";

Deno.test("the import lowers its own CPU priority, and a worker it starts inherits it", async () => {
  // In a child process, so the test runner keeps its priority.
  const script = `
    import { runInBackgroundPriority } from ${
    JSON.stringify(new URL("../../src/cli/background_priority.ts", import.meta.url).href)
  };
    const nice = runInBackgroundPriority();
    const worker = new Worker("data:text/javascript,import { getPriority } from 'node:os'; postMessage(getPriority());", { type: "module" });
    const inWorker = await new Promise((resolve) => worker.onmessage = (e) => resolve(e.data));
    worker.terminate();
    console.log(JSON.stringify({ nice, inWorker }));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  const expected = Math.max(getPriority(), BACKGROUND_NICE);
  assertEquals(JSON.parse(text), { nice: expected, inWorker: expected });
});
