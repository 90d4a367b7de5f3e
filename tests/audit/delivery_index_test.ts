import assert from "node:assert/strict";
import { openAuditLog } from "../../src/audit/audit_log.ts";
import { DeliveryIndex, loadRecentDeliveries } from "../../src/audit/delivery_index.ts";
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
