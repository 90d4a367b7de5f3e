/**
 * The `contacts.sources` configuration (DESIGN §12): each source is either a
 * `url` (the CRM's export endpoint) or a `dir` (a drop folder), on a schedule,
 * with the CLI's import options. The schema is checked once, at start, by
 * config.ts, which also substitutes `${NAME}` in request headers from the
 * environment it read (this module never reads the environment).
 */
import { z } from "zod";
import { toRegion } from "../phone.ts";
import { validateUserMap } from "../csv_headers.ts";
import { cronProblem, parseEvery } from "./schedule.ts";

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/;
const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** One source as configured. */
export const SourceConfigSchema = z.strictObject({
  name: z.string().regex(
    NAME,
    "a source name is 1–40 letters, digits, - or _ (it is used in URLs)",
  ),
  url: z.url({ protocol: /^https?$/, error: "expected an https:// URL" }).optional(),
  headers: z.record(
    z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, "not a valid header name"),
    z.string().max(8192),
  ).default({}),
  dir: z.string().min(1).optional(),
  every: z.string().refine(
    (text) => (parseEvery(text) ?? 0) >= 5000,
    'expected a period such as "30s", "15m", "2h" or "1d" (at least 5s)',
  ).optional(),
  cron: z.string().refine((text) => cronProblem(text) === null, {
    error: (issue) => `not a cron expression: ${cronProblem(String(issue.input))}`,
  }).optional(),
  prune: z.boolean().default(false),
  map: z.record(z.string(), z.string().nullable()).superRefine((map, ctx) => {
    try {
      validateUserMap(map, "map");
    } catch (error) {
      ctx.addIssue({
        code: "custom",
        message: error instanceof Error ? error.message : String(error),
      });
    }
  }).optional(),
  region: z.string().refine((code) => toRegion(code) !== undefined, {
    error: "expected a two-letter country code libphonenumber knows, such as US, GB or DE",
  }).optional(),
  encoding: z.string().refine((label) => {
    try {
      new TextDecoder(label);
      return true;
    } catch {
      return false;
    }
  }, "expected an encoding label such as utf-8, windows-1252 or utf-16le").optional(),
  id_from: z.string().min(1).optional(),
  strict: z.boolean().default(false),
  /** URL sources: allow loopback/private addresses and plain http (a CRM on the LAN, tests). */
  allow_private_networks: z.boolean().default(false),
  timeout_ms: z.number().int().min(1000).max(600_000).default(60_000),
  retries: z.number().int().min(0).max(10).default(3),
  /** Drop folders: a file is whole once unchanged this long (size and mtime). */
  settle_seconds: z.number().min(0).max(3600).default(5),
  /** A scheduled run that finds an import running waits this long, then is `skipped`. */
  wait_for_import_seconds: z.number().int().min(0).max(86_400).default(600),
}).superRefine((source, ctx) => {
  if ((source.url === undefined) === (source.dir === undefined)) {
    ctx.addIssue({
      code: "custom",
      message: "set either url (an export endpoint) or dir (a drop folder)",
    });
  }
  if ((source.every === undefined) === (source.cron === undefined)) {
    ctx.addIssue({
      code: "custom",
      message: 'set either every (e.g. "15m") or cron (e.g. "*/15 * * * *")',
    });
  }
  if (
    source.url !== undefined && source.url.startsWith("http:") && !source.allow_private_networks
  ) {
    ctx.addIssue({
      code: "custom",
      path: ["url"],
      message:
        "must be https:// (plain http only with allow_private_networks: true, for a CRM on your own network)",
    });
  }
  if (source.dir !== undefined && Object.keys(source.headers).length > 0) {
    ctx.addIssue({
      code: "custom",
      path: ["headers"],
      message: "headers apply to url sources only",
    });
  }
});

/** The list, with names unique. */
export const SourcesSchema = z.array(SourceConfigSchema).max(100).default([]).superRefine(
  (sources, ctx) => {
    const seen = new Set<string>();
    sources.forEach((source, i) => {
      if (seen.has(source.name)) {
        ctx.addIssue({
          code: "custom",
          path: [i, "name"],
          message: `${source.name} is used twice`,
        });
      }
      seen.add(source.name);
    });
  },
);

/** A validated source. */
export type SourceConfig = z.infer<typeof SourceConfigSchema>;

/**
 * Replaces `${NAME}` in each source's header values with the environment
 * variable NAME (so a token stays out of the file). Returns the sources and one
 * problem (with its key path) per variable that is not set.
 */
export function substituteHeaderEnv(
  sources: readonly SourceConfig[],
  env: Readonly<Record<string, string | undefined>>,
): { sources: SourceConfig[]; problems: string[] } {
  const problems: string[] = [];
  const out = sources.map((source, i) => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(source.headers)) {
      headers[name] = value.replace(ENV_REFERENCE, (_whole, variable: string) => {
        const found = env[variable];
        if (found === undefined || found === "") {
          problems.push(
            `contacts.sources.${i}.headers.${name}: \${${variable}} is not set in the environment ` +
              `(export ${variable}=… before starting)`,
          );
          return "";
        }
        return found;
      });
    }
    return { ...source, headers };
  });
  return { sources: out, problems };
}
