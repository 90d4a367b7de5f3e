// The checkpointer's policy: a PASSIVE checkpoint every tick, one TRUNCATE once quiet.
import { assertEquals } from "../helpers/assert.ts";
import { initialCheckpointState, shouldTruncate } from "../../src/store/checkpoint_policy.ts";

const QUIET = 1_000;

Deno.test("the WAL is truncated only when every frame is copied and it did not grow for the quiet time", () => {
  let state = initialCheckpointState(0);
  const tick = (at: number, log: number, checkpointed = log, busy = 0) => {
    const decision = shouldTruncate(QUIET, state, { busy, log, checkpointed }, at);
    state = decision.state;
    return decision.truncate;
  };
  assertEquals(tick(100, 40), false); // grew
  assertEquals(tick(600, 40), false); // quiet for 500 ms only
  assertEquals(tick(1_200, 40), true); // quiet for 1,100 ms, all copied
  assertEquals(tick(1_300, 0), false); // truncated: nothing in the WAL
  assertEquals(tick(5_000, 0), false); // still nothing to give back
});

Deno.test("frames a reader still needs, a busy checkpoint or a WAL that restarted smaller keep it from truncating", () => {
  let state = initialCheckpointState(0);
  const tick = (at: number, log: number, checkpointed: number, busy = 0) => {
    const decision = shouldTruncate(QUIET, state, { busy, log, checkpointed }, at);
    state = decision.state;
    return decision.truncate;
  };
  assertEquals(tick(100, 50, 50), false);
  assertEquals(tick(2_000, 50, 30), false); // a reader holds an older snapshot
  assertEquals(tick(2_100, 50, 50, 1), false); // busy
  assertEquals(tick(2_200, 12, 12), false); // a writer restarted the WAL: that is growth
  assertEquals(tick(3_100, 12, 12), false); // 900 ms quiet
  assertEquals(tick(3_300, 12, 12), true);
});

Deno.test("a store not in WAL mode is never truncated", () => {
  const decision = shouldTruncate(QUIET, initialCheckpointState(0), {
    busy: 0,
    log: -1,
    checkpointed: -1,
  }, 10_000);
  assertEquals(decision.truncate, false);
});
