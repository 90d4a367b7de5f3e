/**
 * `symbo-crm backup OUT.db`: a consistent copy of the store taken while the
 * server runs (`VACUUM INTO` reads one snapshot), never over an existing file.
 */
import type { Config } from "../config/config.ts";
import { backupStore } from "../store/backup.ts";
import { openConfiguredStore } from "./open_configured_store.ts";

/** Runs the backup; returns the exit code. */
export async function runBackupCommand(config: Config, out: string): Promise<number> {
  const store = await openConfiguredStore(config);
  try {
    const { bytes } = await backupStore(store, out);
    console.log(`Backup written to ${out} (${bytes} bytes).`);
    return 0;
  } finally {
    store.close();
  }
}
