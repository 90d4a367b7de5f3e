/** Unknown numbers: aggregated per number, written off the hot path, capped and aged out. */
import { assertEquals } from "../helpers/assert.ts";
import {
  canonicalNumber,
  createUnknownNumbersRecorder,
  listUnknownNumbers,
} from "../../src/contacts/unknown_numbers.ts";
import { openStore, type Store } from "../../src/store/open_store.ts";

async function withStore(work: (store: Store) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-unknown-" });
  const store = await openStore({ url: `file:${dir}/crm.db` });
  try {
    await work(store);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function clockAt(start: number) {
  let now = start;
  return { clock: () => new Date(now), advance: (ms: number) => now += ms };
}

const DAY = 86_400_000;

Deno.test("a number dialed in several formats is one row with its count and first/last seen", async () => {
  await withStore(async (store) => {
    const time = clockAt(Date.UTC(2026, 10, 1));
    const recorder = createUnknownNumbersRecorder({
      write: store.write,
      defaultRegion: "US",
      maxRows: 100,
      retentionDays: 30,
      clock: time.clock,
    });
    recorder.record("+14155550177");
    time.advance(60_000);
    recorder.record(" 14155550177"); // the query string's decoded "+"
    time.advance(60_000);
    recorder.record("(415) 555-0177");
    assertEquals((await listUnknownNumbers(store.reader, 10, 0)).total, 0, "nothing written yet");
    await recorder.flush();
    const page = await listUnknownNumbers(store.reader, 10, 0);
    assertEquals(page.numbers, [{
      number: "+14155550177",
      count: 3,
      first_seen_at: Date.UTC(2026, 10, 1),
      last_seen_at: Date.UTC(2026, 10, 1) + 120_000,
    }]);
  });
});

Deno.test("flushes add to existing rows, and an empty flush can be followed by a real one", async () => {
  await withStore(async (store) => {
    const recorder = createUnknownNumbersRecorder({
      write: store.write,
      defaultRegion: "US",
      maxRows: 100,
      retentionDays: 30,
    });
    await recorder.flush();
    recorder.record("+442079460958");
    await recorder.flush();
    recorder.record("+442079460958");
    await recorder.flush();
    const page = await listUnknownNumbers(store.reader, 10, 0);
    assertEquals(page.numbers.map((n) => [n.number, n.count]), [["+442079460958", 2]]);
  });
});

Deno.test("the table keeps at most maxRows, evicting the least recently seen", async () => {
  await withStore(async (store) => {
    const time = clockAt(Date.UTC(2026, 10, 1));
    const recorder = createUnknownNumbersRecorder({
      write: store.write,
      defaultRegion: "US",
      maxRows: 3,
      retentionDays: 30,
      clock: time.clock,
    });
    for (let i = 0; i < 5; i++) {
      recorder.record(`+1415555010${i}`);
      time.advance(1000);
    }
    await recorder.flush();
    const page = await listUnknownNumbers(store.reader, 10, 0);
    assertEquals(page.numbers.map((n) => n.number), [
      "+14155550104",
      "+14155550103",
      "+14155550102",
    ]);
    assertEquals(page.total, 3);
  });
});

Deno.test("rows not seen within the retention are deleted at the next flush", async () => {
  await withStore(async (store) => {
    const time = clockAt(Date.UTC(2026, 10, 1));
    const recorder = createUnknownNumbersRecorder({
      write: store.write,
      defaultRegion: "US",
      maxRows: 100,
      retentionDays: 7,
      clock: time.clock,
    });
    recorder.record("+14155550100");
    await recorder.flush();
    time.advance(8 * DAY);
    recorder.record("+14155550101");
    await recorder.flush();
    const page = await listUnknownNumbers(store.reader, 10, 0);
    assertEquals(page.numbers.map((n) => n.number), ["+14155550101"]);
  });
});

Deno.test("the buffer is bounded: numbers beyond it are counted as dropped, not kept", () => {
  const recorder = createUnknownNumbersRecorder({
    write: () => Promise.reject(new Error("not used")),
    defaultRegion: "US",
    maxRows: 100,
    retentionDays: 7,
    maxBuffered: 2,
  });
  for (const n of ["+14155550100", "+14155550101", "+14155550102", "+14155550100"]) {
    recorder.record(n);
  }
  assertEquals(recorder.stats(), { buffered: 2, dropped: 1 });
});

Deno.test("a failed write keeps the batch for the next flush", async () => {
  await withStore(async (store) => {
    let fail = true;
    const recorder = createUnknownNumbersRecorder({
      write: (work) => fail ? Promise.reject(new Error("database is locked")) : store.write(work),
      defaultRegion: "US",
      maxRows: 100,
      retentionDays: 7,
    });
    recorder.record("+14155550100");
    await recorder.flush();
    assertEquals(recorder.stats().buffered, 1);
    fail = false;
    await recorder.flush();
    assertEquals((await listUnknownNumbers(store.reader, 10, 0)).total, 1);
  });
});

Deno.test("a number that does not parse is kept as dialed, cut to 64 characters", () => {
  assertEquals(canonicalNumber("12", "US"), "12");
  assertEquals(canonicalNumber("x".repeat(100), "US").length, 64);
});

Deno.test("pages go most recently seen first with the next offset", async () => {
  await withStore(async (store) => {
    const time = clockAt(Date.UTC(2026, 10, 1));
    const recorder = createUnknownNumbersRecorder({
      write: store.write,
      defaultRegion: "US",
      maxRows: 100,
      retentionDays: 7,
      clock: time.clock,
    });
    for (let i = 0; i < 5; i++) {
      recorder.record(`+1415555010${i}`);
      time.advance(1000);
    }
    await recorder.flush();
    const first = await listUnknownNumbers(store.reader, 2, 0);
    assertEquals(first.next_offset, 2);
    const last = await listUnknownNumbers(store.reader, 2, 4);
    assertEquals(last.numbers.map((n) => n.number), ["+14155550100"]);
    assertEquals(last.next_offset, null);
  });
});
