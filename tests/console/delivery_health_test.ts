/** The overview's delivery cards: rejections turn it red/amber; a silence matters only in working hours. */
import { assertEquals } from "../helpers/assert.ts";
import { deliveryCards } from "../../src/console/delivery_health.ts";
import type { HourlyCounts } from "../../src/ops/hourly_counters.ts";

const HOUR = 3_600_000;
const policy = {
  silenceMinutes: 60,
  workingHours: "08:00-18:00",
  workingDays: ["mon", "tue", "wed", "thu", "fri"],
  zone: "Europe/Berlin",
};

function hours(now: number, rejectedAgo: number | null): HourlyCounts[] {
  return Array.from({ length: 48 }, (_, i) => {
    const hour = Math.floor(now / HOUR) * HOUR - (47 - i) * HOUR;
    return {
      hour,
      counts: {
        lookup_found: 0,
        lookup_unknown: 0,
        webhook: 0,
        rejected_signature: rejectedAgo !== null && 47 - i === rejectedAgo ? 3 : 0,
        rejected_invalid: 0,
        rejected_too_large: 0,
        rejected_busy: 0,
      },
    };
  });
}

Deno.test("a quiet webhook turns amber then red in working hours, and stays green at night", () => {
  // Thursday 2026-12-03 11:00 in Berlin (10:00 UTC).
  const now = Date.UTC(2026, 11, 3, 10, 0);
  const state = (at: number, lastAgoMin: number) =>
    deliveryCards({
      now: at,
      lastVerified: at - lastAgoMin * 60_000,
      hourly: hours(at, null),
      lastRejection: null,
      policy,
    })[0]?.state;
  assertEquals(state(now, 30), "ok");
  assertEquals(state(now, 90), "warn");
  assertEquals(state(now, 150), "bad");
  // 23:00 in Berlin, and a Saturday noon.
  assertEquals(state(Date.UTC(2026, 11, 3, 22, 0), 600), "ok");
  assertEquals(state(Date.UTC(2026, 11, 5, 11, 0), 600), "ok");
  assertEquals(
    deliveryCards({
      now,
      lastVerified: now - 600 * 60_000,
      hourly: [],
      lastRejection: null,
      policy: { ...policy, silenceMinutes: 0 },
    })[0]?.state,
    "ok",
  );
});

Deno.test("rejections in the last hour are red, earlier today amber, none green", () => {
  const now = Date.UTC(2026, 11, 3, 10, 0);
  const card = (ago: number | null) =>
    deliveryCards({
      now,
      lastVerified: now,
      hourly: hours(now, ago),
      lastRejection: null,
      policy,
    })[1];
  assertEquals(card(0)?.state, "bad");
  assertEquals(card(0)?.value, "3 in the last hour, 3 in 24 h");
  assertEquals(card(5)?.state, "warn");
  assertEquals(card(30)?.state, "ok");
  assertEquals(card(null)?.value, "0 in the last hour, 0 in 24 h");
});
