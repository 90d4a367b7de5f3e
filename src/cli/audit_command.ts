/** `symbo-crm audit verify|replay`. */
import { readAuditRecords } from "../audit/audit_reader.ts";
import { recordBodyBytes } from "../audit/audit_record.ts";
import { formatVerifyReport, verifyAuditLog } from "../audit/audit_verify.ts";
import { createEventApplier } from "../calls/event_applier.ts";
import { replayAuditLog } from "../calls/replay.ts";
import type { Config } from "../config/config.ts";
import { openConfiguredStore } from "./open_configured_store.ts";
import { importSigningKeys, verifySignature } from "../symbo/signature.ts";

/** Runs `audit verify` or `audit replay`; returns the exit code. */
export async function runAuditCommand(
  config: Config,
  action: "verify" | "replay",
): Promise<number> {
  return action === "verify" ? await verify(config) : await replay(config);
}

async function verify(config: Config): Promise<number> {
  const report = await verifyAuditLog(config.audit.dir);
  console.log(formatVerifyReport(report));
  if (!report.ok) return 1;
  if (config.symbo.webhook_secrets.length > 0 && report.lines > 0) {
    // The chain proves nothing was changed after writing; the signatures prove
    // Symbo sent the bodies. A secret rotated away since is not an error.
    const keys = await importSigningKeys(config.symbo.webhook_secrets);
    let unsigned = 0;
    for await (const { record } of readAuditRecords(config.audit.dir)) {
      const body = new Uint8Array(recordBodyBytes(record));
      if (!(await verifySignature(keys, body, record.signature))) unsigned++;
    }
    console.log(
      unsigned === 0
        ? "Every line's X-Hmac-Signature verifies under a configured webhook secret."
        : `${unsigned} line(s) do not verify under the secrets configured now (rotated away since?).`,
    );
  }
  return 0;
}

async function replay(config: Config): Promise<number> {
  const store = await openConfiguredStore(config);
  try {
    const summary = await replayAuditLog(createEventApplier(store.write), config.audit.dir, {
      onWarning: (message) => console.error(`warning: ${message}`),
    });
    console.log(
      `Replayed ${summary.lines} audit line(s): ${summary.applied} applied, ${summary.duplicate} already stored, ` +
        `${summary.ignored} ignored, ${summary.invalid} invalid.`,
    );
    return 0;
  } finally {
    store.close();
  }
}
