import { getPriority } from "node:os";
import { assertEquals } from "../helpers/assert.ts";
import { BACKGROUND_NICE } from "../../src/cli/background_priority.ts";

Deno.test("the import moves all its threads to the idle class, and a worker it starts inherits it", async () => {
  // In a child process, so the test runner keeps its priority.
  const script = `
    import { runInBackgroundPriority } from ${
    JSON.stringify(new URL("../../src/cli/background_priority.ts", import.meta.url).href)
  };
    // The scheduling policy of every thread (field 41 of /proc/<pid>/task/<tid>/stat).
    const policies = () => [...Deno.readDirSync("/proc/self/task")].map((t) => {
      const stat = Deno.readTextFileSync("/proc/self/task/" + t.name + "/stat");
      return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[38]);
    });
    const before = [...new Set(policies())];
    const priority = runInBackgroundPriority();
    const worker = new Worker("data:text/javascript,import { getPriority } from 'node:os'; postMessage(getPriority());", { type: "module" });
    const inWorker = await new Promise((resolve) => worker.onmessage = (e) => resolve(e.data));
    const after = [...new Set(policies())];
    worker.terminate();
    console.log(JSON.stringify({ priority, inWorker, before, after }));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  const expected = Math.max(getPriority(), BACKGROUND_NICE);
  // 0 is SCHED_OTHER, 5 SCHED_IDLE: every thread, the worker's included.
  assertEquals(JSON.parse(text), {
    priority: { nice: expected, idleClass: true },
    inWorker: expected,
    before: [0],
    after: [5],
  });
});
