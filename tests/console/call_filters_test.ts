/** The call list's filters: relative ranges in the display zone, by the call's time, numbers in any format. */
import { assertEquals } from "../helpers/assert.ts";
import { callFilterForm, callSearchOf } from "../../src/console/call_filters.ts";

const form = (query: string) => callFilterForm(new URL(`http://x/console/calls?${query}`));
// Thursday 2026-12-03 10:00 UTC = 11:00 in Berlin.
const NOW = Date.UTC(2026, 11, 3, 10, 0);

Deno.test("relative ranges are days of the display zone, by the call's own time unless asked", () => {
  const today = callSearchOf(form("range=today"), NOW, "Europe/Berlin", "US").search;
  assertEquals([today.calledFrom, today.calledTo], [
    "2026-12-02T23:00:00.000Z",
    "2026-12-03T23:00:00.000Z",
  ]);
  const yesterday = callSearchOf(form("range=yesterday"), NOW, "Europe/Berlin", "US").search;
  assertEquals([yesterday.calledFrom, yesterday.calledTo], [
    "2026-12-01T23:00:00.000Z",
    "2026-12-02T23:00:00.000Z",
  ]);
  const week = callSearchOf(form("range=this_week"), NOW, "Europe/Berlin", "US").search;
  assertEquals(week.calledFrom, "2026-11-29T23:00:00.000Z");
  const received = callSearchOf(form("range=today&by=received"), NOW, "UTC", "US").search;
  assertEquals([received.from, received.to, received.calledFrom], [
    Date.UTC(2026, 11, 3),
    Date.UTC(2026, 11, 4),
    undefined,
  ]);
  const dates = callSearchOf(form("from=2026-03-01&to=2026-03-02"), NOW, "America/New_York", "US");
  assertEquals([dates.search.calledFrom, dates.search.calledTo], [
    "2026-03-01T05:00:00.000Z",
    "2026-03-03T05:00:00.000Z",
  ]);
  assertEquals(
    callSearchOf(form("from=03/01/2026"), NOW, "UTC", "US").error,
    "Dates are YYYY-MM-DD.",
  );
});

Deno.test("a phone number in any format becomes the E.164 the calls hold", () => {
  for (const written of ["(415) 555-0134", "+1 415.555.0134", "4155550134"]) {
    assertEquals(
      callSearchOf(form(`number=${encodeURIComponent(written)}`), NOW, "UTC", "US").search.number,
      "+14155550134",
    );
  }
  assertEquals(
    callSearchOf(form("number=hello"), NOW, "UTC", "US").error,
    '"hello" is not a phone number.',
  );
});
