/**
 * The generated lookup token: when no lookup token is configured, one is made on
 * first start, kept owner-only in the data folder, and shown once, so a fresh
 * install answers lookups for whoever was handed the token and nobody else.
 */
import { join } from "node:path";
import { MIN_TOKEN_LENGTH } from "./config.ts";

/** The token file's name inside the data folder. */
export const LOOKUP_TOKEN_FILE = "lookup_token";

/** Reads the stored token, or generates and stores one. `created` says which. */
export async function ensureLookupToken(
  dataDir: string,
): Promise<{ token: string; created: boolean; path: string }> {
  const path = join(dataDir, LOOKUP_TOKEN_FILE);
  try {
    const token = (await Deno.readTextFile(path)).trim();
    if (token.length >= MIN_TOKEN_LENGTH) return { token, created: false, path };
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  const token = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  await Deno.writeTextFile(path, token + "\n", { mode: 0o600 });
  await Deno.chmod(path, 0o600);
  return { token, created: true, path };
}
