/**
 * What the audit log's fsync costs the webhook, measured in one run: the real
 * webhook handler (signature, audit, the applier's batched store apply) driven
 * in-process by 64 concurrent senders, once with the real audit log and once
 * with an audit log that does not write. Prints events/s for both and the ratio.
 *
 *   deno run -A bench/audit_cost.ts [events]
 */
import type { AuditLog } from "../src/audit/audit_log.ts";
import { openAuditLog } from "../src/audit/audit_log.ts";
import { chainRecord, GENESIS_HASH, prepareEntry } from "../src/audit/audit_record.ts";
import { DeliveryIndex } from "../src/audit/delivery_index.ts";
import { Applier } from "../src/calls/applier.ts";
import { configureLogging, logger } from "../src/log/logging.ts";
import { openStore } from "../src/store/open_store.ts";
import { importSigningKeys, signBody } from "../src/symbo/signature.ts";
import { createWebhookHandler } from "../src/symbo/webhook_route.ts";

const SECRET = "bench secret";
const SENDERS = 64;

/** An audit log that numbers entries and writes nothing (the "without audit" side). */
function nullAuditLog(): AuditLog {
  let seq = 0;
  let hash = GENESIS_HASH;
  return {
    append: (entry) => {
      const record = chainRecord(++seq, hash, prepareEntry(entry));
      hash = record.hash;
      return Promise.resolve(record);
    },
    close: () => Promise.resolve(),
    healthy: true,
    get lastSeq() {
      return seq;
    },
    failure: null,
  };
}

async function run(events: number, withAudit: boolean): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "bench-audit-cost-" });
  const store = await openStore({ url: `file:${dir}/crm.db` });
  const audit = withAudit ? await openAuditLog({ dir: `${dir}/audit` }) : nullAuditLog();
  const signingKeys = await importSigningKeys([SECRET]);
  const applier = new Applier({
    write: store.write,
    reader: store.reader,
    auditDir: `${dir}/audit`,
    instance: "bench",
    verifyKeys: signingKeys,
    tip: () => audit.lastSeq,
    log: logger("bench"),
  });
  applier.start();
  const handler = createWebhookHandler({
    signingKeys,
    audit,
    applier,
    deliveries: new DeliveryIndex(),
    applyWaitMs: 10_000,
    maxBodyBytes: 1 << 20,
    clock: () => new Date(),
    log: logger("bench"),
  });
  const bodies = await Promise.all(Array.from({ length: events }, async (_, i) => {
    const body = JSON.stringify({
      id: `evt-${i}`,
      object: "Call",
      description: i % 3 === 0 ? "call.updated" : "call.created",
      user_id: "user-1",
      created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, i % 60)).toISOString(),
      data: {
        id: `call-${i % (events / 2)}`,
        call_disposition: "answered_positive",
        direction: "outbound",
        to: `+1415555${String(i % 10000).padStart(4, "0")}`,
        note: "x".repeat(1500),
        updated_at: new Date(Date.UTC(2026, 0, 1, 0, 0, i % 60)).toISOString(),
      },
    });
    return { body, signature: await signBody(SECRET, body) };
  }));
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: SENDERS }, async () => {
    for (let i = next++; i < events; i = next++) {
      const { body, signature } = bodies[i]!;
      const response = await handler(
        new Request("http://bench/symbo/webhook", {
          method: "POST",
          headers: { "x-hmac-signature": signature },
          body,
        }),
      );
      if (response.status !== 200) throw new Error(`answer ${response.status}`);
    }
  }));
  const perSecond = events / ((performance.now() - started) / 1000);
  await applier.stop();
  await audit.close();
  store.close();
  await Deno.remove(dir, { recursive: true });
  return perSecond;
}

if (import.meta.main) {
  configureLogging({ level: "error" });
  const events = Number(Deno.args[0] ?? 20_000);
  const without = await run(events, false);
  const withAudit = await run(events, true);
  console.log(`webhook in-process, ${events} events, ${SENDERS} senders:`);
  console.log(`  without the audit write: ${Math.round(without)} events/s`);
  console.log(`  with the audit fsync:    ${Math.round(withAudit)} events/s`);
  console.log(`  ratio: ${(withAudit / without).toFixed(2)}×`);
}
