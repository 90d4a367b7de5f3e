import assert from "node:assert/strict";
import { openAuditLog } from "../../src/audit/audit_log.ts";
import {
  DELIVERY_SNAPSHOT_FILE,
  DeliveryIndex,
  loadRecentDeliveries,
  restoreDeliveries,
  writeDeliverySnapshot,
} from "../../src/audit/delivery_index.ts";
import { sha256Hex } from "../../src/audit/audit_record.ts";

const encoder = new TextEncoder();

Deno.test("the delivery index forgets its oldest key first when full", () => {
  const index = new DeliveryIndex(2);
  index.add("a");
  index.add("b");
  index.add("c");
  assert.equal(index.size, 2);
  assert.equal(index.has("a"), false);
  assert.equal(index.has("b"), true);
  assert.equal(index.has("c"), true);
});

Deno.test("the delivery index is rebuilt from the newest audit files only", async () => {
  const dir = await Deno.makeTempDir();
  let now = new Date("2024-05-01T12:00:00Z");
  const log = await openAuditLog({ dir, clock: () => now });
  const bodies: string[] = [];
  for (const [i, day] of ["2024-05-01", "2024-05-02", "2024-05-03"].entries()) {
    now = new Date(`${day}T12:00:00Z`);
    const body = JSON.stringify({ id: `evt_${i}`, note: '"quoted" and "body_sha256"' });
    bodies.push(body);
    await log.append({
      receivedAt: now,
      eventType: "call.updated",
      eventId: `evt_${i}`,
      callId: null,
      userId: null,
      signature: "ab".repeat(32),
      body: encoder.encode(body),
    });
  }
  await log.close();
  const index = new DeliveryIndex();
  assert.equal(await loadRecentDeliveries(dir, index, 2), 2);
  const keyOf = (i: number) => DeliveryIndex.keyOf(`evt_${i}`, sha256Hex(bodies[i] ?? ""));
  assert.equal(index.has(keyOf(0)), false, "older than the window");
  assert.equal(index.has(keyOf(1)), true);
  assert.equal(index.has(keyOf(2)), true);
  assert.equal(index.has(DeliveryIndex.keyOf("evt_2", sha256Hex("another body"))), false);
});

/** An audit folder with one line per body, on consecutive days from 2024-05-01. */
async function auditWith(dir: string, bodies: readonly string[], firstDay = 1): Promise<void> {
  let now = new Date("2024-05-01T12:00:00Z");
  const log = await openAuditLog({ dir, clock: () => now });
  try {
    for (const [i, body] of bodies.entries()) {
      now = new Date(`2024-05-${String(firstDay + i).padStart(2, "0")}T12:00:00Z`);
      await log.append({
        receivedAt: now,
        eventType: "call.updated",
        eventId: `evt_${body}`,
        callId: null,
        userId: null,
        signature: "ab".repeat(32),
        body: encoder.encode(body),
      });
    }
  } finally {
    await log.close();
  }
}

const keyFor = (body: string) => DeliveryIndex.keyOf(`evt_${body}`, sha256Hex(body));

Deno.test("a valid delivery snapshot is used, and the audit lines after it are still read", async () => {
  const root = await Deno.makeTempDir();
  const dir = `${root}/audit`;
  const snapshot = `${root}/${DELIVERY_SNAPSHOT_FILE}`;
  await auditWith(dir, ["a", "b"]);
  const first = new DeliveryIndex();
  await restoreDeliveries(dir, snapshot, first);
  // A key only the snapshot knows shows that the snapshot, not the audit files, was read.
  first.add("only-in-the-snapshot");
  assert.equal(await writeDeliverySnapshot(dir, snapshot, first), true);
  // Lines written after the snapshot: one more on the same day, then a new day.
  await auditWith(dir, ["c", "d"], 2);

  const index = new DeliveryIndex();
  const restored = await restoreDeliveries(dir, snapshot, index);
  assert.equal(restored.from, "snapshot");
  for (const body of ["a", "b", "c", "d"]) assert.equal(index.has(keyFor(body)), true, body);
  assert.equal(index.has("only-in-the-snapshot"), true);
  assert.equal(index.has(keyFor("e")), false);
});

Deno.test("a missing, damaged, cut-short or stale delivery snapshot is ignored for the audit files", async () => {
  const root = await Deno.makeTempDir();
  const dir = `${root}/audit`;
  const snapshot = `${root}/${DELIVERY_SNAPSHOT_FILE}`;
  await auditWith(dir, ["a", "b"]);
  const restore = async () => {
    const index = new DeliveryIndex();
    const restored = await restoreDeliveries(dir, snapshot, index);
    return { from: restored.from, index };
  };
  assert.equal((await restore()).from, "audit", "no snapshot yet");

  const written = new DeliveryIndex();
  written.add("only-in-the-snapshot");
  await writeDeliverySnapshot(dir, snapshot, written);
  const good = await Deno.readFile(snapshot);
  assert.equal((await restore()).from, "snapshot");

  await Deno.writeFile(snapshot, good.subarray(0, good.length - 5));
  assert.equal((await restore()).from, "audit", "a snapshot cut short");
  await Deno.writeFile(snapshot, new Uint8Array([...good, ...new Uint8Array(16)]));
  assert.equal((await restore()).from, "audit", "a snapshot with bytes after its keys");
  await Deno.writeFile(snapshot, good.subarray(0, 40));
  assert.equal((await restore()).from, "audit", "a snapshot cut in its header");
  await Deno.writeTextFile(snapshot, "not a snapshot");
  assert.equal((await restore()).from, "audit", "garbage");

  // Another log in the same place: the line the snapshot ends at is not there any more.
  await Deno.writeFile(snapshot, good);
  await Deno.remove(dir, { recursive: true });
  await auditWith(dir, ["x", "y"]);
  const fresh = await restore();
  assert.equal(fresh.from, "audit", "a snapshot of another log");
  assert.equal(fresh.index.has("only-in-the-snapshot"), false);
  assert.equal(fresh.index.has(keyFor("y")), true);

  // A snapshot older than the window (its file is no longer among the newest two).
  await writeDeliverySnapshot(dir, snapshot, new DeliveryIndex());
  await auditWith(dir, ["p", "q"], 5);
  assert.equal((await restore()).from, "audit", "a snapshot older than the window");
});

Deno.test("the delivery snapshot ends at the last complete line, not at a torn one", async () => {
  const root = await Deno.makeTempDir();
  const dir = `${root}/audit`;
  const snapshot = `${root}/${DELIVERY_SNAPSHOT_FILE}`;
  await auditWith(dir, ["a"]);
  const file = `${dir}/2024-05-01.jsonl`;
  await Deno.writeTextFile(file, '{"seq":2,"torn', { append: true });
  const index = new DeliveryIndex();
  await restoreDeliveries(dir, snapshot, index);
  assert.equal(await writeDeliverySnapshot(dir, snapshot, index), true);
  const bytes = await Deno.readFile(snapshot);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(0, bytes.indexOf(10))));
  assert.equal(header.position.seq, 1);
  assert.equal(header.position.lineStart, 0);
  const again = new DeliveryIndex();
  assert.equal((await restoreDeliveries(dir, snapshot, again)).from, "snapshot");
  assert.equal(again.has(keyFor("a")), true);
});

Deno.test("the delivery index keeps exactly the newest keys through many evictions", () => {
  // A small window and many keys, against a plain list: every eviction shifts the hash table.
  for (const capacity of [1, 3, 64, 1000]) {
    const index = new DeliveryIndex(capacity);
    const window: string[] = [];
    let seed = 7;
    const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (let i = 0; i < capacity * 20; i++) {
      // Some keys come back (already held: nothing changes), most are new.
      const n = random() < 0.2 ? Math.floor(random() * i) : i;
      const key = DeliveryIndex.keyOf(`evt_${n}`, sha256Hex(`body ${n}`));
      if (!window.includes(key)) {
        window.push(key);
        if (window.length > capacity) window.shift();
      }
      index.add(key);
      assert.equal(index.size, window.length);
    }
    for (let n = 0; n < capacity * 20; n++) {
      const key = DeliveryIndex.keyOf(`evt_${n}`, sha256Hex(`body ${n}`));
      assert.equal(index.has(key), window.includes(key), `capacity ${capacity}, key ${n}`);
    }
    assert.equal(
      index.has(DeliveryIndex.keyOf("evt_other", sha256Hex("body 1"))),
      false,
      "the event id is part of the key",
    );
  }
});

Deno.test("a snapshot of a full, wrapped-around index restores the same window in order", async () => {
  const root = await Deno.makeTempDir();
  const dir = `${root}/audit`;
  const snapshot = `${root}/${DELIVERY_SNAPSHOT_FILE}`;
  await auditWith(dir, ["a"]);
  const index = new DeliveryIndex(5);
  for (let i = 0; i < 13; i++) index.add(`key ${i}`);
  await writeDeliverySnapshot(dir, snapshot, index);
  const restored = new DeliveryIndex(5);
  assert.equal((await restoreDeliveries(dir, snapshot, restored)).from, "snapshot");
  for (let i = 0; i < 13; i++) assert.equal(restored.has(`key ${i}`), i >= 8, `key ${i}`);
  // Oldest first still: the next key evicts key 8, not a newer one.
  restored.add("key 13");
  assert.equal(restored.has("key 8"), false);
  assert.equal(restored.has("key 9"), true);
});
