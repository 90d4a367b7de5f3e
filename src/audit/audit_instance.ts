/**
 * The audit folder's instance id: a random id kept in the folder itself
 * (`instance-id`), so the store can hold one applier position per audit folder
 * and several instances can share one remote store without mixing positions.
 */
import { join } from "node:path";

const FILE_NAME = "instance-id";
const ID = /^[0-9a-f-]{36}$/;

/**
 * Reads the folder's instance id, creating it (0600, from the first byte) on
 * first use. Throws when the file exists but does not hold an id, rather than
 * silently starting a second position for the same log.
 */
export async function auditInstanceId(dir: string): Promise<string> {
  const path = join(dir, FILE_NAME);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    return parseId(await Deno.readTextFile(path), path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const id = crypto.randomUUID();
  try {
    const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
    try {
      await file.write(new TextEncoder().encode(`${id}\n`));
      await file.syncData();
    } finally {
      file.close();
    }
    return id;
  } catch (error) {
    // Another process created it first: use theirs.
    if (error instanceof Deno.errors.AlreadyExists) {
      return parseId(await Deno.readTextFile(path), path);
    }
    throw error;
  }
}

/** The folder's instance id, or null when it has none yet (never creates it). */
export async function existingAuditInstanceId(dir: string): Promise<string | null> {
  const path = join(dir, FILE_NAME);
  try {
    return parseId(await Deno.readTextFile(path), path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

function parseId(text: string, path: string): string {
  const id = text.trim();
  if (ID.test(id)) return id;
  throw new Error(
    `${path} does not hold an audit instance id; restore it, or delete it if this audit ` +
      `folder has never fed a store`,
  );
}
