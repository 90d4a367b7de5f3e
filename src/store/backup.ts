/**
 * Online backup of a local store with `VACUUM INTO`: one consistent snapshot,
 * written to a new owner-only file. A remote store is backed up by its server.
 */
import type { Store } from "./open_store.ts";

/** Why a backup could not be made; the message says what to do instead. */
export class BackupError extends Error {
  override name = "BackupError";
}

/** Writes a consistent copy of the store to `out`, which must not exist yet. */
export async function backupStore(store: Store, out: string): Promise<{ bytes: number }> {
  if (store.mode === "remote") {
    throw new BackupError(
      "The store is a remote libSQL server: back it up on the server (sqld snapshots, or `turso db shell .dump`); VACUUM INTO cannot write a file here.",
    );
  }
  try {
    await Deno.lstat(out);
    throw new BackupError(`${out} already exists; choose a new file name (a backup never overwrites).`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await store.client.execute({ sql: "VACUUM INTO ?", args: [out] });
  await Deno.chmod(out, 0o600);
  return { bytes: (await Deno.stat(out)).size };
}
