/** `symbo-crm check-config`: validates the configuration and says what is set. */
import type { Config, ConfigSource } from "../config/config.ts";
import { redactUrl } from "../store/open_store.ts";

/** Describes a valid configuration without printing any secret. */
export function describeConfig(config: Config, source: ConfigSource): string[] {
  return [
    `Configuration is valid (${source.file ?? "built-in defaults"}${
      source.envOverrides.length > 0 ? `, overridden by ${source.envOverrides.join(", ")}` : ""
    }).`,
    `  listen:          ${config.server.hostname}:${config.server.port}${
      config.server.tls ? " (TLS)" : ""
    }`,
    `  store:           ${redactUrl(config.database.url)}`,
    `  audit dir:       ${config.audit.dir}`,
    `  webhook secrets: ${config.symbo.webhook_secrets.length}${
      config.symbo.webhook_secrets.length === 0 ? " (the webhook answers 503 until one is set)" : ""
    }`,
    `  lookup tokens:   ${config.symbo.lookup_tokens.length}${
      config.symbo.lookup_tokens.length === 0
        ? ` (one is generated in ${config.data_dir}/ on first start)`
        : ""
    }`,
    `  admin tokens:    ${config.admin.tokens.length}${
      config.admin.tokens.length === 0 ? " (admin API off)" : ""
    }`,
    `  default region:  ${config.contacts.default_region}`,
    `  sources:         ${
      config.contacts.sources.length === 0
        ? "none"
        : config.contacts.sources.map((source) => source.name).join(", ")
    } (prune guard: more than ${
      Math.round(config.contacts.max_prune_fraction * 100)
    }% of the contacts is refused unless forced)`,
    `  request bodies:  at most ${config.server.max_body_bytes_in_flight} bytes in flight; aborted after ${config.server.body_stall_timeout_ms} ms without a byte`,
    `  /metrics:        ${
      config.metrics.public ? "public (no token needed)" : "admin token or metrics.token required"
    }`,
  ];
}
