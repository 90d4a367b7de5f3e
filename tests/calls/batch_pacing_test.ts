import { assertEquals } from "../helpers/assert.ts";
import { nextBatchSize } from "../../src/calls/batch_pacing.ts";

const next = (lastSize: number, lastMs: number) =>
  nextBatchSize({ max: 64, targetMs: 3, lastSize, lastMs });

Deno.test("a batch that held the thread too long is followed by one sized to the target", () => {
  // 64 lines in 24 ms: 0.375 ms a line, 8 lines fit in 3 ms.
  assertEquals(next(64, 24), 8);
  // One line that alone takes longer than the target still goes, one at a time.
  assertEquals(next(1, 10), 1);
});

Deno.test("cheap batches grow by doubling, up to the maximum", () => {
  assertEquals(next(8, 0.4), 16);
  assertEquals(next(16, 0.8), 32);
  assertEquals(next(32, 0), 64);
  assertEquals(next(64, 1), 64);
});

Deno.test("with nothing measured yet the batch is the maximum", () => {
  assertEquals(next(0, 0), 64);
});
