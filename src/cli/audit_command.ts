/** `symbo-crm audit verify|replay`. */
import { auditInstanceId, existingAuditInstanceId } from "../audit/audit_instance.ts";
import { formatVerifyReport, verifyAuditLog } from "../audit/audit_verify.ts";
import {
  CHAIN_START_FILE,
  readChainStart,
  signChainStart,
  writeChainStart,
} from "../audit/chain_start.ts";
import { join } from "node:path";
import { readApplierPosition } from "../calls/applier.ts";
import { AuditChainError, replayAuditLog } from "../calls/replay.ts";
import type { Config } from "../config/config.ts";
import { messageOf } from "../error_message.ts";
import { logger } from "../log/logging.ts";
import { localPathOf } from "../store/open_store.ts";
import { openConfiguredStore } from "./open_configured_store.ts";
import { importSigningKeys, type SigningKey } from "../symbo/signature.ts";
import { pathExists } from "../owner_only_file.ts";

/** The actions of `symbo-crm audit`. */
export type AuditAction = "verify" | "replay" | "sign-chain-start";

/** Runs `audit verify`, `audit replay` or `audit sign-chain-start`; returns the exit code. */
export async function runAuditCommand(config: Config, action: AuditAction): Promise<number> {
  if (action === "sign-chain-start") return await signExistingChainStart(config);
  return action === "verify" ? await verify(config) : await replay(config);
}

/**
 * `audit sign-chain-start`: signs a `chain-start.json` the operator vouches
 * for (one written by an older version, which did not sign it). With
 * `audit.archive_dir` it is checked first: the archive must verify from the
 * genesis and end at the line just before the recorded start. Then the kept
 * log must verify from it, signatures included.
 */
async function signExistingChainStart(config: Config): Promise<number> {
  const dir = config.audit.dir;
  const [key] = await importSigningKeys(config.symbo.webhook_secrets);
  if (key === undefined) {
    console.error("Cannot sign: no webhook secret is configured (symbo.webhook_secrets).");
    return 1;
  }
  let start;
  try {
    start = await readChainStart(dir);
  } catch (error) {
    console.error(messageOf(error));
    return 1;
  }
  if (start === null) {
    console.error(`Nothing to sign: ${join(dir, CHAIN_START_FILE)} does not exist.`);
    return 1;
  }
  const keys = await verifyKeysOf(config);
  if (config.audit.archive_dir !== null && await pathExists(config.audit.archive_dir)) {
    // The anchor fails the archive unless its line at seq - 1 has the hash the start names.
    const anchor = { seq: start.seq - 1, hash: start.prev };
    const archived = await verifyAuditLog(config.audit.archive_dir, { keys, anchor });
    if (!archived.ok || archived.lastSeq !== start.seq - 1) {
      console.error(
        `Not signed: the archive ${config.audit.archive_dir} does not end at the line before ` +
          `the recorded start (seq ${start.seq - 1}):\n${formatVerifyReport(archived)}`,
      );
      return 1;
    }
  }
  const { signature: _old, ...fields } = start;
  const signed = await signChainStart(fields, key);
  const report = await verifyAuditLog(dir, { keys, chainStart: signed });
  if (!report.ok) {
    console.error(
      `Not signed: the kept log does not verify from it.\n${formatVerifyReport(report)}`,
    );
    return 1;
  }
  await writeChainStart(dir, signed);
  console.log(
    `Signed ${join(dir, CHAIN_START_FILE)}: the kept log starts at seq ${start.seq} ` +
      `(day ${start.day}); ${report.lines} line(s) verified from it.`,
  );
  return 0;
}

async function verifyKeysOf(config: Config): Promise<SigningKey[]> {
  return [
    ...await importSigningKeys(config.symbo.webhook_secrets),
    ...await importSigningKeys(config.symbo.retired_webhook_secrets),
  ];
}

async function verify(config: Config): Promise<number> {
  const keys = await verifyKeysOf(config);
  if (keys.length === 0) {
    console.log(
      "audit log NOT VERIFIED: no webhook secret is configured, so the lines' signatures " +
        "cannot be checked. Set symbo.webhook_secrets (and symbo.retired_webhook_secrets).",
    );
    return 1;
  }
  // The store is the external anchor: a log that ends before the line the
  // store applied last was cut. A store that cannot be opened only loses that check.
  let anchor: { seq: number; hash: string } | null = null;
  try {
    const instance = await existingAuditInstanceId(config.audit.dir);
    const localPath = localPathOf(config.database.url);
    const storeExists = localPath === null || await pathExists(localPath);
    if (instance !== null && storeExists) {
      const store = await openConfiguredStore(config);
      try {
        anchor = await readApplierPosition(store.reader, instance);
      } finally {
        store.close();
      }
    }
  } catch (error) {
    console.error(
      `warning: the store's applier position could not be read (${messageOf(error)}); ` +
        `a log cut after its last line cannot be detected without it`,
    );
  }
  let report;
  try {
    report = await verifyAuditLog(config.audit.dir, { keys, anchor });
  } catch (error) {
    console.log(`audit log FAILED: ${messageOf(error)}`);
    return 1;
  }
  console.log(formatVerifyReport(report));
  if (
    config.audit.keep_days === null && await pathExists(join(config.audit.dir, CHAIN_START_FILE))
  ) {
    console.log(
      `warning: ${CHAIN_START_FILE} is present but audit.keep_days is not set: only retention ` +
        `writes it. If retention never ran here, the log's oldest lines were removed by hand.`,
    );
  }
  if (report.ok && report.lines > 0) {
    console.log("Every line's X-Hmac-Signature verifies under a configured webhook secret.");
  }
  return report.ok ? 0 : 1;
}

async function replay(config: Config): Promise<number> {
  const keys = await verifyKeysOf(config);
  if (keys.length === 0) {
    console.error(
      "Cannot replay: no webhook secret is configured, and only lines whose signature " +
        "verifies are applied. Set symbo.webhook_secrets (and symbo.retired_webhook_secrets).",
    );
    return 1;
  }
  const store = await openConfiguredStore(config);
  let lastPrinted = 0;
  try {
    const summary = await replayAuditLog({
      write: store.write,
      reader: store.reader,
      auditDir: config.audit.dir,
      instance: await auditInstanceId(config.audit.dir),
      verifyKeys: keys,
      log: logger("replay"),
      maxBatch: store.mode === "file" ? 256 : 32,
      onProgress: (progress, seq) => {
        const now = Date.now();
        if (now - lastPrinted < 1_000) return;
        lastPrinted = now;
        console.error(
          `replay: ${progress.lines} line(s) applied so far (at seq ${seq}): ` +
            `${progress.applied} new, ${progress.duplicate} already stored`,
        );
      },
    });
    console.log(
      `Replayed ${summary.lines} audit line(s): ${summary.applied} applied, ` +
        `${summary.duplicate} already stored, ${summary.ignored} ignored, ` +
        `${summary.invalid} invalid, ${summary.failed} failed.`,
    );
    return summary.failed > 0 ? 1 : 0;
  } catch (error) {
    if (error instanceof AuditChainError) {
      console.error(
        `Replay STOPPED: ${error.message}. Lines before it were applied; nothing after it was.`,
      );
      return 1;
    }
    throw error;
  } finally {
    store.close();
  }
}
