/**
 * Configuration: one zod schema with the defaults of DESIGN §4, read from a
 * JSON file and then overridden from the environment. Every problem is reported
 * at once with its key path. This is the only module that reads `Deno.env`.
 */
import { z } from "zod";
import { toRegion } from "../contacts/phone.ts";
import { parseCidr } from "../http/ip_allowlist.ts";
import { messageOf } from "../error_message.ts";
import { SourcesSchema, substituteHeaderEnv } from "../contacts/sources/source_config.ts";
import { DEFAULT_RETRY_SCHEDULE_SECONDS } from "../outbound/retry_schedule.ts";

/** Lookup, admin and metrics tokens shorter than this are refused at start. */
export const MIN_TOKEN_LENGTH = 24;
/** A webhook secret shorter than this is accepted (Symbo issues it) with a loud warning. */
export const MIN_WEBHOOK_SECRET_LENGTH = 16;
const MIB = 1024 * 1024;
const GENERATE = "generate one with: openssl rand -hex 24";

/**
 * The placeholders of config.example.json: a server started from the example
 * as is must not take them as credentials.
 */
export const EXAMPLE_PLACEHOLDERS: readonly string[] = [
  "paste-the-webhook_secret-Symbo-gave-you",
  "replace-with-output-of-openssl-rand-hex-24",
  "replace-with-another-openssl-rand-hex-24",
];

/**
 * True for a value that is (or plainly is meant to be replaced like) an example
 * placeholder, whatever blanks surround it (a leading space must not get one past).
 */
export function isPlaceholder(value: string): boolean {
  const bare = value.trim();
  return EXAMPLE_PLACEHOLDERS.includes(bare) || /^(replace-with-|paste-the-)/i.test(bare);
}

const notPlaceholder = (value: string) => !isPlaceholder(value);

const token = (what: string) =>
  z.string()
    .min(MIN_TOKEN_LENGTH, `${what} must be at least ${MIN_TOKEN_LENGTH} characters (${GENERATE})`)
    .refine(
      (value) => !/^(.)\1*$/s.test(value),
      `${what} is one character repeated, which anyone can guess (${GENERATE})`,
    )
    .refine(
      notPlaceholder,
      `${what} is still the placeholder of config.example.json (${GENERATE})`,
    );

const webhookSecret = z.string()
  .min(1, "a webhook secret cannot be empty")
  .refine(
    notPlaceholder,
    "a webhook secret is still the placeholder of config.example.json: paste the webhook_secret Symbo gave you",
  );

const cidr = z.string().refine(
  (value) => parseCidr(value) !== null,
  "expected an IP address or CIDR such as 203.0.113.0/24 or 2001:db8::/32",
);

export const ConfigSchema = z.strictObject({
  data_dir: z.string().min(1).default("data"),
  server: z.strictObject({
    hostname: z.string().min(1).default("0.0.0.0"),
    port: z.number().int().min(0).max(65535).default(8787),
    trust_proxy: z.boolean().default(false),
    request_timeout_ms: z.number().int().min(100).max(600_000).default(30_000),
    shutdown_timeout_ms: z.number().int().min(0).max(600_000).default(10_000),
    max_body_bytes_in_flight: z.number().int().min(MIB).max(1024 * MIB).default(32 * MIB),
    body_stall_timeout_ms: z.number().int().min(100).max(600_000).default(10_000),
    // After body_stall_timeout_ms, a body must keep arriving at least this fast (0: no minimum).
    body_min_bytes_per_second: z.number().int().min(0).max(1024 * MIB).default(8 * 1024),
    tls: z.strictObject({ cert_file: z.string().min(1), key_file: z.string().min(1) }).optional(),
  }).prefault({}),
  database: z.strictObject({
    url: z.string().regex(/^(file:|libsql:|https?:|wss?:)/, {
      message: "expected a libSQL URL: file:PATH, libsql://, http(s):// or ws(s)://",
    }).default("file:data/crm.db"),
    auth_token: z.string().min(1).optional(),
    sync_url: z.string().regex(/^(libsql:|https?:|wss?:)/, {
      message: "expected the primary's URL: libsql://, http(s):// or ws(s)://",
    }).optional(),
    sync_interval_seconds: z.number().positive().max(86_400).optional(),
    busy_timeout_ms: z.number().int().min(0).max(600_000).default(5_000),
  }).prefault({}),
  audit: z.strictObject({
    dir: z.string().min(1).default("data/audit"),
    compress: z.boolean().default(true),
    keep_days: z.number().int().min(1, "keep at least 1 day (null keeps every day)").max(36_500)
      .nullable().default(null),
    archive_dir: z.string().min(1).nullable().default(null),
  }).prefault({}),
  symbo: z.strictObject({
    webhook_secrets: z.array(webhookSecret).default([]),
    lookup_tokens: z.array(token("a lookup token")).default([]),
    max_body_bytes: z.number().int().min(1024).max(100 * MIB).default(5 * MIB),
    allowed_ips: z.array(cidr).default([]),
    retired_webhook_secrets: z.array(
      z.string().min(1, "a retired secret cannot be empty").refine(
        notPlaceholder,
        "a retired webhook secret is still the placeholder of config.example.json: list only secrets Symbo used",
      ),
    ).default([]),
    apply_wait_ms: z.number().int().min(0).max(60_000).default(1_000),
    apply_lag_warning_seconds: z.number().positive().max(86_400).default(60),
  }).prefault({}),
  admin: z.strictObject({
    tokens: z.array(token("an admin token")).default([]),
    max_import_bytes: z.number().int().min(1024).max(10 * 1024 * MIB).default(512 * MIB),
    // A whole CSV upload (API or console) must arrive within this: it holds the only import slot.
    import_upload_timeout_ms: z.number().int().min(1000).max(86_400_000).default(30 * 60_000),
  }).prefault({}),
  contacts: z.strictObject({
    default_region: z.string().refine((code) => toRegion(code) !== undefined, {
      message: "expected a two-letter country code libphonenumber knows, such as US, GB or DE",
    }).default("US"),
    unknown_numbers_max_rows: z.number().int().min(100).max(10_000_000).default(100_000),
    unknown_numbers_retention_days: z.number().int().min(1).max(3650).default(90),
    // The prune guard (issue 19): a prune of more of the stored contacts than this is refused unless forced.
    max_prune_fraction: z.number().min(0).max(1).default(0.2),
    sources: SourcesSchema,
    // A POST /api/contacts/batch body larger than this is refused (413); it is held (and parsed) in memory.
    batch_max_bytes: z.number().int().min(1024).max(64 * MIB).default(8 * MIB),
  }).prefault({}),
  console: z.strictObject({
    session_ttl_minutes: z.number().int().min(5).max(7 * 24 * 60).default(480),
    // Issue 21: the display time zone's default (the operator can change it in the
    // console), and when a quiet webhook turns the overview amber (twice as long: red).
    time_zone: z.string().refine(isTimeZone, {
      message: "expected an IANA time zone such as UTC, Europe/Berlin or America/New_York",
    }).default("UTC"),
    webhook_silence_minutes: z.number().int().min(0).max(7 * 24 * 60).default(60),
    working_hours: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$/, {
      message: "expected HH:MM-HH:MM, such as 08:00-18:00",
    }).default("08:00-18:00"),
    working_days: z.array(z.enum(["mon", "tue", "wed", "thu", "fri", "sat", "sun"])).default([
      "mon",
      "tue",
      "wed",
      "thu",
      "fri",
    ]),
  }).prefault({}),
  metrics: z.strictObject({
    token: token("the metrics token").optional(),
    public: z.boolean().default(false),
  }).prefault({}),
  log: z.strictObject({
    level: z.enum(["debug", "info", "warning", "error"]).default("info"),
  }).prefault({}),
  // Calls sent to the CRM (DESIGN §11): endpoints are registered through the admin API.
  outbound: z.strictObject({
    allow_private_networks: z.boolean().default(false),
    allow_http: z.boolean().default(false),
    keep_days: z.number().min(1).max(3650).default(14),
    retry_schedule_seconds: z.array(z.number().min(0).max(7 * 86_400)).min(1).max(30)
      .default([...DEFAULT_RETRY_SCHEDULE_SECONDS]),
    disable_after_days: z.number().positive().max(365).default(5),
    concurrency: z.number().int().min(1).max(256).default(16),
    concurrency_per_endpoint: z.number().int().min(1).max(64).default(4),
    max_endpoints: z.number().int().min(1).max(1000).default(50),
    secret_grace_hours: z.number().min(0).max(30 * 24).default(24),
    poll_interval_ms: z.number().int().min(10).max(60_000).default(1_000),
    connect_timeout_ms: z.number().int().min(100).max(60_000).default(5_000),
    answer_timeout_ms: z.number().int().min(100).max(120_000).default(15_000),
  }).prefault({}),
}).refine(
  (config) => config.server.max_body_bytes_in_flight >= config.symbo.max_body_bytes,
  {
    path: ["server", "max_body_bytes_in_flight"],
    message:
      "must be at least symbo.max_body_bytes, or a webhook of the largest allowed size is always refused",
  },
).refine(
  (config) => config.server.max_body_bytes_in_flight >= config.contacts.batch_max_bytes,
  {
    path: ["contacts", "batch_max_bytes"],
    message:
      "must be at most server.max_body_bytes_in_flight, or a batch of the largest allowed size is always refused",
  },
);

/** The validated configuration. */
export type Config = z.infer<typeof ConfigSchema>;

/** Where the configuration came from (shown by the banner and check-config). */
export interface ConfigSource {
  readonly file: string | null;
  readonly envOverrides: readonly string[];
}

/** Every problem found in the configuration, each with its key path. */
export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(readonly origin: string, readonly problems: readonly string[]) {
    super(`Invalid configuration in ${origin}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

/** The environment variables that override file values. */
export const ENV_OVERRIDES = {
  PORT: "server.port",
  DATABASE_URL: "database.url",
  DATABASE_AUTH_TOKEN: "database.auth_token",
  SYMBO_WEBHOOK_SECRETS: "symbo.webhook_secrets",
  SYMBO_LOOKUP_TOKENS: "symbo.lookup_tokens",
  ADMIN_TOKENS: "admin.tokens",
} as const;

/** Options of `loadConfig`; the environment and file reader are injected. */
export interface LoadConfigOptions {
  /** `--config` from the command line. */
  readonly path?: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly readTextFile?: (path: string) => Promise<string>;
  readonly exists?: (path: string) => Promise<boolean>;
}

/**
 * Loads the configuration: `--config`, else `SYMBO_CRM_CONFIG`, else
 * `./config.json` when present, else the defaults; then the env overrides.
 */
export async function loadConfig(
  options: LoadConfigOptions,
): Promise<{ config: Config; source: ConfigSource }> {
  const readTextFile = options.readTextFile ?? Deno.readTextFile;
  const exists = options.exists ?? fileExists;
  const explicit = options.path ?? nonEmpty(options.env.SYMBO_CRM_CONFIG);
  const file = explicit ?? (await exists("config.json") ? "config.json" : null);
  let raw: unknown = {};
  if (file !== null) {
    let text: string;
    try {
      text = await readTextFile(file);
    } catch (error) {
      throw new ConfigError(file, [`cannot read the file: ${messageOf(error)}`]);
    }
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw new ConfigError(file, [`not valid JSON: ${messageOf(error)}`]);
    }
  }
  const { value, applied } = applyEnvOverrides(raw, options.env);
  const result = ConfigSchema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const path = issue.path.map(String).join(".");
      const envName = Object.entries(ENV_OVERRIDES).find(([, key]) => path.startsWith(key))?.[0];
      const fromEnv = envName !== undefined && applied.includes(envName)
        ? ` (from ${envName})`
        : "";
      return `${path === "" ? "(top level)" : path}${fromEnv}: ${issue.message}`;
    });
    throw new ConfigError(file ?? "the built-in defaults", problems);
  }
  // `${NAME}` in a source's request headers comes from the environment (a token stays out of the file).
  const substituted = substituteHeaderEnv(result.data.contacts.sources, options.env);
  if (substituted.problems.length > 0) {
    throw new ConfigError(file ?? "the built-in defaults", substituted.problems);
  }
  const config = {
    ...result.data,
    contacts: { ...result.data.contacts, sources: substituted.sources },
  };
  return { config, source: { file, envOverrides: applied } };
}

/** Reads the process environment (the one place that does). */
export function readEnvironment(): Record<string, string> {
  return Deno.env.toObject();
}

function applyEnvOverrides(
  raw: unknown,
  env: Readonly<Record<string, string | undefined>>,
): { value: unknown; applied: string[] } {
  if (!isPlainObject(raw)) return { value: raw, applied: [] };
  const value: Record<string, unknown> = structuredClone(raw);
  const applied: string[] = [];
  for (const [name, path] of Object.entries(ENV_OVERRIDES)) {
    const text = nonEmpty(env[name]);
    if (text === undefined) continue;
    const [section, key] = path.split(".") as [string, string];
    const existing = value[section];
    const target: Record<string, unknown> = isPlainObject(existing) ? { ...existing } : {};
    target[key] = name === "PORT"
      ? (/^\d+$/.test(text.trim()) ? Number(text.trim()) : text)
      : path.endsWith("s") && key !== "auth_token"
      ? text.split(",").map((part) => part.trim()).filter((part) => part !== "")
      : text;
    value[section] = target;
    applied.push(name);
  }
  return { value, applied };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

async function fileExists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** Whether the runtime knows `zone` as an IANA time zone. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return zone.length <= 64;
  } catch {
    return false;
  }
}
