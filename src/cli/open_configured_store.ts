/** Opens the store the configuration describes (every command uses this). */
import type { Config } from "../config/config.ts";
import { openStore, type Store } from "../store/open_store.ts";

/** Opens and migrates the configured store. */
export function openConfiguredStore(config: Config): Promise<Store> {
  return openStore({
    url: config.database.url,
    authToken: config.database.auth_token,
    syncUrl: config.database.sync_url,
    syncIntervalSeconds: config.database.sync_interval_seconds,
    busyTimeoutMs: config.database.busy_timeout_ms,
  });
}
