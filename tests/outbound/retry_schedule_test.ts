import { assertEquals } from "../helpers/assert.ts";
import {
  DEFAULT_RETRY_SCHEDULE_SECONDS,
  nextAttemptDelayMs,
  parseRetryAfter,
} from "../../src/outbound/retry_schedule.ts";

const policy = { scheduleSeconds: DEFAULT_RETRY_SCHEDULE_SECONDS };
const middle = () => 0.5;

Deno.test("the default schedule retries for about a day, then gives up", () => {
  const delays = [1, 2, 3, 4, 5, 6, 7].map((n) => nextAttemptDelayMs(n, policy, null, middle));
  assertEquals(delays, [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
  const total = delays.reduce((sum, delay) => sum! + delay!, 0)! / 3_600_000;
  assertEquals(total > 24 && total < 30, true, `${total} hours`);
  assertEquals(nextAttemptDelayMs(8, policy, null, middle), null);
});

Deno.test("jitter spreads a delay by at most ten percent either way", () => {
  assertEquals(nextAttemptDelayMs(2, policy, null, () => 0), 270_000);
  assertEquals(nextAttemptDelayMs(2, policy, null, () => 1), 330_000);
});

Deno.test("Retry-After lengthens a delay within a bound, and never shortens it", () => {
  assertEquals(nextAttemptDelayMs(1, policy, 60_000, middle), 60_000);
  assertEquals(nextAttemptDelayMs(3, policy, 60_000, middle), 1_800_000);
  assertEquals(nextAttemptDelayMs(1, policy, 30 * 86_400_000, middle), 6 * 3_600_000);
});

Deno.test("Retry-After is read as seconds or as an HTTP date", () => {
  const now = Date.parse("2024-01-01T00:00:00Z");
  assertEquals(parseRetryAfter("120", now), 120_000);
  assertEquals(parseRetryAfter("Mon, 01 Jan 2024 00:01:00 GMT", now), 60_000);
  assertEquals(parseRetryAfter("soon", now), null);
  assertEquals(parseRetryAfter(null, now), null);
});
