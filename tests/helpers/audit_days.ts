/** Builds real audit logs for tests: lines written through the real writer, per UTC day. */
import { openAuditLog } from "../../src/audit/audit_log.ts";
import { signBody } from "../../src/symbo/signature.ts";

const encoder = new TextEncoder();

/**
 * Writes `perDay` lines on each of `days` (`YYYY-MM-DD`) into `dir` (a new
 * temp folder when not given) through the real writer; returns the folder.
 * With `secret`, each line carries a real signature of its body (what the
 * applier and `audit verify` check); without, a placeholder.
 */
export async function writeAuditDays(
  days: readonly string[],
  perDay: number,
  dir?: string,
  secret?: string,
): Promise<string> {
  const folder = dir ?? await Deno.makeTempDir();
  let now = new Date(`${days[0]}T12:00:00Z`);
  const log = await openAuditLog({ dir: folder, clock: () => now, onWarning: () => {} });
  try {
    for (const day of days) {
      now = new Date(`${day}T12:00:00Z`);
      for (let i = 0; i < perDay; i++) {
        const n = crypto.randomUUID();
        const body = `{"id":"evt_${n}","day":"${day}","note":"hello ${i}"}`;
        await log.append({
          receivedAt: now,
          eventType: "call.updated",
          eventId: `evt_${n}`,
          callId: `call_${n}`,
          userId: "user_1",
          signature: secret === undefined ? "cd".repeat(32) : await signBody(secret, body),
          body: encoder.encode(body),
        });
      }
    }
  } finally {
    await log.close();
  }
  return folder;
}

/** The names in `dir`, sorted (only audit day files with `days`). */
export async function namesIn(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}
