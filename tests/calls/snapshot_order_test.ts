/**
 * Specification of event ordering: the strict timestamp parser
 * (`src/calls/timestamp.ts`) and snapshot order and merge (`src/calls/snapshot_order.ts`).
 */
import assert from "node:assert/strict";
import {
  compareSnapshotOrder,
  FAR_FUTURE_MS,
  mergeSnapshots,
  type SnapshotOrder,
  snapshotOrderOf,
} from "../../src/calls/snapshot_order.ts";
import { parseTimestamp } from "../../src/calls/timestamp.ts";

/** A receipt time in 2024, after every timestamp used below. */
const RECEIVED = Date.UTC(2024, 4, 1, 12, 0, 0);

function order(partial: Partial<SnapshotOrder>): SnapshotOrder {
  return { updatedMs: null, createdMs: null, receivedMs: 0, seq: 0, ...partial };
}

Deno.test("parseTimestamp reads RFC 3339 UTC timestamps to epoch ms", () => {
  assert.equal(parseTimestamp("2023-01-11T20:19:25.000Z"), Date.UTC(2023, 0, 11, 20, 19, 25));
  assert.equal(parseTimestamp("2023-01-11T20:19:25Z"), Date.UTC(2023, 0, 11, 20, 19, 25));
  assert.equal(parseTimestamp("2023-01-11t20:19:25z"), Date.UTC(2023, 0, 11, 20, 19, 25));
});

Deno.test("parseTimestamp applies offsets", () => {
  const utc = Date.UTC(2023, 0, 11, 20, 19, 25);
  assert.equal(parseTimestamp("2023-01-11T13:19:25-07:00"), utc);
  assert.equal(parseTimestamp("2023-01-12T01:49:25+05:30"), utc);
  assert.equal(parseTimestamp("2023-01-11T20:19:25+00:00"), utc);
  assert.equal(parseTimestamp("2023-01-11T20:19:25-00:00"), utc);
});

Deno.test("parseTimestamp truncates fractions to milliseconds", () => {
  const base = Date.UTC(2023, 0, 11, 20, 19, 25);
  assert.equal(parseTimestamp("2023-01-11T20:19:25.5Z"), base + 500);
  assert.equal(parseTimestamp("2023-01-11T20:19:25.123456789Z"), base + 123);
});

Deno.test("parseTimestamp accepts Feb 29 only in leap years", () => {
  assert.equal(parseTimestamp("2024-02-29T00:00:00Z"), Date.UTC(2024, 1, 29));
  assert.equal(parseTimestamp("2000-02-29T00:00:00Z"), Date.UTC(2000, 1, 29));
  assert.equal(parseTimestamp("2023-02-29T00:00:00Z"), null);
  assert.equal(parseTimestamp("1900-02-29T00:00:00Z"), null);
});

Deno.test("parseTimestamp keeps 4-digit years below 100 as written", () => {
  assert.equal(parseTimestamp("0023-01-11T20:19:40Z"), new Date("0023-01-11T20:19:40Z").getTime());
});

Deno.test("parseTimestamp rejects what is not a strict RFC 3339 date-time", async (t) => {
  const rejected = [
    "023-01-11T20:19:40.000Z", // the guide's own example: Date.parse reads it as year 23
    "23-01-11T20:19:40Z",
    "+002023-01-11T20:19:40Z",
    "2023-01-11T24:00:00Z",
    "2023-13-01T00:00:00Z",
    "2023-00-01T00:00:00Z",
    "2023-04-31T00:00:00Z",
    "2023-01-00T00:00:00Z",
    "2023-01-11T20:60:00Z",
    "2023-01-11T20:19:61Z",
    "2023-01-11T20:19:40", // no offset: the instant is unknown
    "2023-01-11T20:19Z",
    "2023-01-11",
    "2023-01-11T20:19:40+24:00",
    "2023-01-11T20:19:40+05:60",
    "2023-01-11T20:19:40+0530",
    "2023-01-11T20:19:40.Z",
    " 2023-01-11T20:19:40Z",
    "2023-01-11T20:19:40Z ",
    "",
  ];
  for (const raw of rejected) {
    await t.step(JSON.stringify(raw), () => assert.equal(parseTimestamp(raw), null));
  }
  await t.step("non-strings", () => {
    for (const raw of [null, undefined, 1673468380000, {}, []]) {
      assert.equal(parseTimestamp(raw), null);
    }
  });
});

Deno.test("parseTimestamp accepts a leap second as the next minute's first instant", () => {
  assert.equal(parseTimestamp("2016-12-31T23:59:60Z"), Date.UTC(2017, 0, 1));
});

Deno.test("snapshots are ordered by data.updated_at first", () => {
  const older = order({ updatedMs: 1, createdMs: 9, receivedMs: 9, seq: 9 });
  const newer = order({ updatedMs: 2, createdMs: 1, receivedMs: 1, seq: 1 });
  assert.ok(compareSnapshotOrder(older, newer) < 0);
  assert.ok(compareSnapshotOrder(newer, older) > 0);
});

Deno.test("equal updated_at falls back to envelope created_at, then arrival", async (t) => {
  await t.step("created_at decides", () => {
    const a = order({ updatedMs: 5, createdMs: 1, receivedMs: 9 });
    const b = order({ updatedMs: 5, createdMs: 2, receivedMs: 1 });
    assert.ok(compareSnapshotOrder(a, b) < 0);
  });
  await t.step("then receivedMs", () => {
    const a = order({ updatedMs: 5, createdMs: 2, receivedMs: 1, seq: 9 });
    const b = order({ updatedMs: 5, createdMs: 2, receivedMs: 2, seq: 1 });
    assert.ok(compareSnapshotOrder(a, b) < 0);
  });
  await t.step("then seq", () => {
    const a = order({ updatedMs: 5, createdMs: 2, receivedMs: 2, seq: 1 });
    const b = order({ updatedMs: 5, createdMs: 2, receivedMs: 2, seq: 2 });
    assert.ok(compareSnapshotOrder(a, b) < 0);
    assert.equal(compareSnapshotOrder(a, a), 0);
  });
});

Deno.test("a missing timestamp sorts before any known one, whatever the arrival", () => {
  const a = order({ updatedMs: 100, createdMs: 1, receivedMs: 1 });
  const b = order({ updatedMs: null, createdMs: 2, receivedMs: 2 });
  assert.ok(compareSnapshotOrder(a, b) > 0, "a known updated_at beats a missing one");
  assert.ok(compareSnapshotOrder(b, a) < 0);
  const c = order({ updatedMs: 5, createdMs: null, receivedMs: 2 });
  const d = order({ updatedMs: 5, createdMs: 1, receivedMs: 1 });
  assert.ok(compareSnapshotOrder(c, d) < 0, "a known created_at beats a missing one");
  const e = order({ updatedMs: null, createdMs: null, receivedMs: 1 });
  const f = order({ updatedMs: null, createdMs: null, receivedMs: 2 });
  assert.ok(compareSnapshotOrder(e, f) < 0, "arrival decides when nothing else does");
});

Deno.test("snapshotOrderOf parses updated_at and created_at, and ignores unparseable ones", () => {
  assert.deepEqual(
    snapshotOrderOf({ updated_at: "2023-01-11T20:19:25Z" }, "023-01-11T20:19:40.000Z", RECEIVED, 3),
    { updatedMs: Date.UTC(2023, 0, 11, 20, 19, 25), createdMs: null, receivedMs: RECEIVED, seq: 3 },
  );
});

Deno.test("merging lets the newer snapshot win key by key and the older fill gaps", async (t) => {
  const olderOrder = order({ updatedMs: 1 });
  const newerOrder = order({ updatedMs: 2 });
  const older = {
    order: olderOrder,
    data: { id: "c", state: "completed", note: "", only_old: 1, prospect: { id: "p", a: 1 } },
  };
  const newer = {
    order: newerOrder,
    data: { id: "c", note: "called back", prospect: { id: "p", external_id: "x" } },
  };
  const expected = {
    id: "c",
    state: "completed",
    note: "called back",
    only_old: 1,
    prospect: { id: "p", a: 1, external_id: "x" },
  };
  await t.step("an older snapshot arriving later", () => {
    const merged = mergeSnapshots(newer, older);
    assert.equal(merged.incomingIsNewer, false);
    assert.deepEqual(merged.data, expected);
    assert.deepEqual(merged.order, newerOrder);
  });
  await t.step("a newer snapshot arriving later", () => {
    const merged = mergeSnapshots(older, newer);
    assert.equal(merged.incomingIsNewer, true);
    assert.deepEqual(merged.data, expected);
    assert.deepEqual(merged.order, newerOrder);
  });
  await t.step("a non-object prospect is replaced whole", () => {
    const merged = mergeSnapshots(older, { order: newerOrder, data: { prospect: null } });
    assert.equal(merged.data.prospect, null);
  });
  await t.step("the inputs are not modified", () => {
    assert.deepEqual(older.data.prospect, { id: "p", a: 1 });
    assert.deepEqual(newer.data.prospect, { id: "p", external_id: "x" });
  });
});

Deno.test("an indistinguishable snapshot goes to the incoming one", () => {
  const same = order({ updatedMs: 1, createdMs: 1, receivedMs: 1, seq: 1 });
  const merged = mergeSnapshots({ order: same, data: { v: "stored" } }, {
    order: same,
    data: { v: "incoming" },
  });
  assert.equal(merged.incomingIsNewer, true);
  assert.equal(merged.data.v, "incoming");
});

Deno.test("a timestamp more than a day after receipt is ordered at receipt and flagged", async (t) => {
  await t.step("updated_at in 9999", () => {
    const clamped = snapshotOrderOf({ updated_at: "9999-12-31T23:59:59Z" }, null, RECEIVED, 1);
    assert.deepEqual(clamped, {
      updatedMs: RECEIVED,
      createdMs: null,
      receivedMs: RECEIVED,
      seq: 1,
      futureClamped: true,
    });
  });
  await t.step("envelope created_at likewise", () => {
    const clamped = snapshotOrderOf({}, "2030-01-01T00:00:00Z", RECEIVED, 1);
    assert.equal(clamped.createdMs, RECEIVED);
    assert.equal(clamped.futureClamped, true);
  });
  await t.step("up to a day ahead is believed (clock skew)", () => {
    const ahead = new Date(RECEIVED + FAR_FUTURE_MS).toISOString();
    const kept = snapshotOrderOf({ updated_at: ahead }, null, RECEIVED, 1);
    assert.equal(kept.updatedMs, RECEIVED + FAR_FUTURE_MS);
    assert.equal(kept.futureClamped, undefined);
  });
  await t.step("a later real update beats the clamped one", () => {
    const bogus = snapshotOrderOf({ updated_at: "9999-12-31T23:59:59Z" }, null, RECEIVED, 1);
    const real = snapshotOrderOf(
      { updated_at: new Date(RECEIVED + 60_000).toISOString() },
      null,
      RECEIVED + 61_000,
      2,
    );
    assert.ok(compareSnapshotOrder(bogus, real) < 0);
  });
});

Deno.test("no sequence of merges lowers the stored order or lets an older snapshot change a field", () => {
  // The finding: 10:05, then one without updated_at, then 09:59.
  const at = (time: string | undefined, note: string, seq: number) => ({
    order: snapshotOrderOf(time ? { updated_at: time } : {}, null, RECEIVED + seq, seq),
    data: { note, ...(time ? { updated_at: time } : {}), [`only_${seq}`]: true },
  });
  let stored = mergeSnapshots(
    at("2024-05-01T10:00:00Z", "start", 0),
    at("2024-05-01T10:05:00Z", "10:05", 1),
  );
  stored = mergeSnapshots(stored, at(undefined, "no timestamp", 2));
  assert.equal(stored.incomingIsNewer, false);
  assert.equal(stored.data.note, "10:05");
  assert.equal(stored.data.only_2, true, "the older snapshot still fills a field the newer lacks");
  assert.equal(stored.order.updatedMs, Date.parse("2024-05-01T10:05:00Z"));
  stored = mergeSnapshots(stored, at("2024-05-01T09:59:00Z", "09:59", 3));
  assert.equal(stored.incomingIsNewer, false);
  assert.equal(stored.data.note, "10:05");
  assert.equal(stored.data.updated_at, "2024-05-01T10:05:00Z");
  assert.equal(stored.order.updatedMs, Date.parse("2024-05-01T10:05:00Z"));
  stored = mergeSnapshots(stored, at("2024-05-01T10:06:00Z", "10:06", 4));
  assert.equal(stored.data.note, "10:06", "a newer one still wins");
});
