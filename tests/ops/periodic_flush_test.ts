import { assertEquals } from "../helpers/assert.ts";
import { periodicFlush } from "../../src/ops/periodic_flush.ts";

Deno.test("a flush asked for while one runs waits for it instead of writing twice", async () => {
  let writes = 0;
  const release = Promise.withResolvers<void>();
  const flusher = periodicFlush(async () => {
    writes++;
    await release.promise;
  }, 60_000);
  const first = flusher.flush();
  const second = flusher.flush();
  assertEquals(first, second);
  release.resolve();
  await Promise.all([first, second]);
  assertEquals(writes, 1);
  await flusher.flush();
  assertEquals(writes, 2);
});

Deno.test("a flush with nothing to write leaves no settled promise behind", async () => {
  let writes = 0;
  const flusher = periodicFlush(() => {
    writes++;
    return Promise.resolve();
  }, 60_000);
  await flusher.flush();
  await flusher.flush();
  assertEquals(writes, 2);
});

Deno.test("stop waits for the running flush, then writes what is left, and ends the timer", async () => {
  const order: string[] = [];
  const release = Promise.withResolvers<void>();
  let calls = 0;
  const flusher = periodicFlush(async () => {
    calls++;
    order.push(`start ${calls}`);
    if (calls === 1) await release.promise;
    order.push(`end ${calls}`);
  }, 5);
  flusher.start();
  flusher.start(); // a second start keeps the one timer
  await new Promise((resolve) => setTimeout(resolve, 30));
  const stopped = flusher.stop();
  release.resolve();
  await stopped;
  assertEquals(order.slice(0, 4), ["start 1", "end 1", "start 2", "end 2"]);
  const after = calls;
  await new Promise((resolve) => setTimeout(resolve, 30));
  assertEquals(calls, after);
});
