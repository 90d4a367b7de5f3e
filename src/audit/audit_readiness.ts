/**
 * The audit log's readiness for `/readyz`: ready when its last real append
 * succeeded and the folder still takes a new file. The outcome of writing is
 * what counts (a full disk still lets an empty probe file be created). The
 * message never shows a path: `/readyz` is open to anonymous clients.
 */
import type { AuditLog } from "./audit_log.ts";

/** Creates and removes an empty file in `dir`; rejects when it cannot. */
export type AuditProbe = (dir: string) => Promise<void>;

async function probeFile(dir: string): Promise<void> {
  const probe = `${dir}/.readyz-${crypto.randomUUID()}`;
  await Deno.writeTextFile(probe, "", { mode: 0o600 });
  await Deno.remove(probe);
}

/** Resolves when the audit log can take webhooks; throws `failing: <reason>` otherwise. */
export async function checkAuditReadiness(
  audit: Pick<AuditLog, "failure">,
  dir: string,
  probe: AuditProbe = probeFile,
): Promise<void> {
  const failure = audit.failure;
  if (failure !== null) throw new Error(`failing: ${redactPaths(failure)}`);
  try {
    await probe(dir);
  } catch (error) {
    throw new Error(`failing: the audit folder is not writable (${redactPaths(String(error))})`);
  }
}

/** Replaces absolute paths in a message shown to anonymous clients with `<path>`. */
export function redactPaths(message: string): string {
  return message.replace(/(^|[\s'"(=])\/[^\s'")]*/g, "$1<path>");
}
