import { assertEquals } from "../helpers/assert.ts";
import { cachedReading } from "../../src/ops/cached_reading.ts";

Deno.test("a cached reading is taken once per max age, however often it is read", async () => {
  let now = 0;
  let takes = 0;
  const reading = cachedReading(() => Promise.resolve(++takes * 10), 60_000, () => now);
  assertEquals(await reading(), 10);
  now = 59_999;
  assertEquals(await reading(), 10);
  assertEquals(await reading(), 10);
  assertEquals(takes, 1);
});

Deno.test("a stale cached reading answers the last value and refreshes in the background", async () => {
  let now = 0;
  let takes = 0;
  const reading = cachedReading(() => Promise.resolve(++takes * 10), 1_000, () => now);
  await reading();
  now = 1_000;
  assertEquals(await reading(), 10);
  await Promise.resolve();
  await Promise.resolve();
  assertEquals(await reading(), 20);
  assertEquals(takes, 2);
});

Deno.test("a failed first reading rejects and the next read tries again", async () => {
  let fail = true;
  const reading = cachedReading(
    () => fail ? Promise.reject(new Error("store away")) : Promise.resolve(7),
    1_000,
  );
  let failed = false;
  await reading().catch(() => failed = true);
  assertEquals(failed, true);
  fail = false;
  assertEquals(await reading(), 7);
});
