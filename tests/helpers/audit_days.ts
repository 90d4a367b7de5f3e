/** Builds real audit logs for tests: lines written through the real writer, per UTC day. */
import { openAuditLog } from "../../src/audit/audit_log.ts";

const encoder = new TextEncoder();

/**
 * Writes `perDay` lines on each of `days` (`YYYY-MM-DD`) into `dir` (a new
 * temp folder when not given) through the real writer; returns the folder.
 */
export async function writeAuditDays(
  days: readonly string[],
  perDay: number,
  dir?: string,
): Promise<string> {
  const folder = dir ?? await Deno.makeTempDir();
  let now = new Date(`${days[0]}T12:00:00Z`);
  const log = await openAuditLog({ dir: folder, clock: () => now, onWarning: () => {} });
  try {
    for (const day of days) {
      now = new Date(`${day}T12:00:00Z`);
      for (let i = 0; i < perDay; i++) {
        const n = crypto.randomUUID();
        await log.append({
          receivedAt: now,
          eventType: "call.updated",
          eventId: `evt_${n}`,
          callId: `call_${n}`,
          userId: "user_1",
          signature: "cd".repeat(32),
          body: encoder.encode(`{"id":"evt_${n}","day":"${day}","note":"hello ${i}"}`),
        });
      }
    }
  } finally {
    await log.close();
  }
  return folder;
}

/** The names in `dir`, sorted. */
export async function namesIn(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}
