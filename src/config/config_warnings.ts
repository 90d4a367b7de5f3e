/**
 * What is allowed but unsafe in a valid configuration: a short webhook secret
 * (Symbo issues it, so we cannot refuse it) and secrets in files that other
 * users may read. `serve` shows these in its banner and log, `check-config`
 * prints them.
 */
import { join } from "node:path";
import { type Config, type ConfigSource, MIN_WEBHOOK_SECRET_LENGTH } from "./config.ts";
import { LOOKUP_TOKEN_FILE } from "./lookup_token.ts";

/** Reads a file's permission bits, or null when there is no such file. */
export type ModeReader = (path: string) => Promise<number | null>;

/** Every warning about `config`, one sentence each. */
export async function configWarnings(
  config: Config,
  source: ConfigSource,
  modeOf: ModeReader = fileMode,
): Promise<string[]> {
  const warnings: string[] = [];
  config.symbo.webhook_secrets.forEach((secret, i) => {
    if (secret.length < MIN_WEBHOOK_SECRET_LENGTH) {
      warnings.push(
        `symbo.webhook_secrets.${i} is only ${secret.length} characters (under ${MIN_WEBHOOK_SECRET_LENGTH}): signatures made with it are easier to forge; ask Symbo for a longer secret.`,
      );
    }
  });
  if (config.outbound.allow_http) {
    warnings.push(
      "outbound.allow_http is on: calls may be sent to plain http:// endpoints, unencrypted (contact data and call notes cross the network readable).",
    );
  }
  if (config.outbound.allow_private_networks) {
    warnings.push(
      "outbound.allow_private_networks is on: endpoints may point at loopback, private and link-local addresses (including cloud metadata services); only for trusted admins on a private network.",
    );
  }
  const secretFiles = [
    ...(source.file !== null ? [source.file] : []),
    join(config.data_dir, LOOKUP_TOKEN_FILE),
  ];
  for (const path of secretFiles) {
    const mode = await modeOf(path);
    if (mode !== null && (mode & 0o077) !== 0) {
      warnings.push(
        `${path} holds secrets and is readable by other users (mode ${
          (mode & 0o777).toString(8).padStart(3, "0")
        }): run chmod 600 ${path}`,
      );
    }
  }
  return warnings;
}

async function fileMode(path: string): Promise<number | null> {
  try {
    return (await Deno.stat(path)).mode;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}
