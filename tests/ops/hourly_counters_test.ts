/** Hourly counters: counted in memory, added to the store by hour, missing hours read as zero. */
import { assertEquals } from "../helpers/assert.ts";
import { createHourlyCounters, recentHourlyCounts } from "../../src/ops/hourly_counters.ts";
import { openStore } from "../../src/store/open_store.ts";

const HOUR = 3_600_000;

Deno.test("counts land in their hour, add up across flushes, and old hours are dropped", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-hourly-" });
  const store = await openStore({ url: `file:${dir}/crm.db` });
  try {
    let now = Date.UTC(2026, 10, 1, 10, 30);
    const counters = createHourlyCounters({
      write: store.write,
      clock: () => new Date(now),
      retentionDays: 1,
    });
    counters.inc("lookup_found");
    counters.inc("lookup_found");
    counters.inc("webhook");
    await counters.flush();
    counters.inc("lookup_found");
    now += HOUR;
    counters.inc("lookup_unknown");
    await counters.flush();
    const hours = await recentHourlyCounts(store.reader, now, 3);
    const pick = (c: typeof hours[number]["counts"]) => ({
      lookup_found: c.lookup_found,
      lookup_unknown: c.lookup_unknown,
      webhook: c.webhook,
    });
    assertEquals(hours.map((h) => [new Date(h.hour).getUTCHours(), pick(h.counts)]), [
      [9, { lookup_found: 0, lookup_unknown: 0, webhook: 0 }],
      [10, { lookup_found: 3, lookup_unknown: 0, webhook: 1 }],
      [11, { lookup_found: 0, lookup_unknown: 1, webhook: 0 }],
    ]);
    now += 2 * 24 * HOUR;
    counters.inc("webhook");
    await counters.flush();
    const rows = await store.reader.all("SELECT hour FROM hourly_counters");
    assertEquals(rows.length, 1, "only the fresh hour is kept");
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
