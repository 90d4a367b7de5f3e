/**
 * `symbo-crm import FILE.csv`: streams the CRM export into the store in one
 * transaction and prints what happened; progress on a terminal.
 */
import type { Config } from "../config/config.ts";
import { importContacts, ImportError, type ImportSummary } from "../contacts/import_contacts.ts";
import { runInBackgroundPriority } from "./background_priority.ts";
import { toRegion } from "../contacts/phone.ts";
import { isEncodingLabel } from "../contacts/import_jobs.ts";
import type { MappingEntry } from "../contacts/csv_headers.ts";
import { HeaderMapError, parseUserMap, type UserMap } from "../contacts/csv_headers.ts";
import { checkRejectsTarget, createRejectsFile } from "../contacts/rejects_csv.ts";
import { openConfiguredStore } from "./open_configured_store.ts";
import { UsageError } from "./usage.ts";
import { messageOf } from "../error_message.ts";

/** The import command's options, from the command line. */
export interface ImportCommandOptions {
  readonly file: string;
  readonly region?: string | undefined;
  readonly mapFile?: string | undefined;
  readonly dryRun: boolean;
  readonly strict: boolean;
  readonly prune: boolean;
  /** `--force-prune`: prune past contacts.max_prune_fraction (the file was checked). */
  readonly forcePrune?: boolean;
  readonly rejectsFile?: string | undefined;
  /** `--encoding`: a WHATWG label such as windows-1252 (default: detected). */
  readonly encoding?: string | undefined;
  /** `--id-from`: the column external_id is taken from. */
  readonly idFrom?: string | undefined;
}

/** Runs the import; returns the exit code. */
export async function runImportCommand(
  config: Config,
  options: ImportCommandOptions,
): Promise<number> {
  const regionCode = options.region ?? config.contacts.default_region;
  const region = toRegion(regionCode);
  if (!region) {
    throw new UsageError(`--region ${regionCode} is not a country code libphonenumber knows.`);
  }
  if (options.encoding !== undefined && !isEncodingLabel(options.encoding)) {
    throw new UsageError(
      `--encoding ${options.encoding} is not an encoding label we know ` +
        "(e.g. utf-8, windows-1252, utf-16le, iso-8859-2).",
    );
  }
  const userMap = options.mapFile ? await readMapFile(options.mapFile) : undefined;
  // Refused before the import runs, not after it committed.
  if (options.rejectsFile) await checkRejectsTarget(options.rejectsFile);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(options.file, { read: true });
  } catch (error) {
    console.error(
      `Cannot read ${options.file}: ${messageOf(error)}`,
    );
    return 1;
  }
  const size = (await file.stat()).size;
  // Before the parsing worker starts, so that it inherits the lower priority.
  runInBackgroundPriority();
  const store = await openConfiguredStore(config);
  const progress = Deno.stderr.isTerminal() ? progressPrinter(size) : undefined;
  const rejects = options.rejectsFile ? createRejectsFile() : undefined;
  let summary: ImportSummary;
  try {
    summary = await importContacts(store, file.readable, {
      defaultRegion: region,
      userMap,
      dryRun: options.dryRun,
      strict: options.strict,
      prune: options.prune || options.forcePrune === true,
      forcePrune: options.forcePrune ?? false,
      maxPruneFraction: config.contacts.max_prune_fraction,
      fileLabel: options.file,
      encoding: options.encoding,
      idFrom: options.idFrom,
      onProgress: progress?.update,
      onReject: rejects?.add,
    });
  } catch (error) {
    progress?.done();
    if (error instanceof ImportError) {
      if (error.summary) {
        for (const line of formatSummary(error.summary, options)) console.error(line);
      }
      console.error(error.message);
      await rejects?.discard();
      return 1;
    }
    await rejects?.discard();
    throw error;
  } finally {
    store.close();
  }
  progress?.done();
  for (const line of formatSummary(summary, options)) console.log(line);
  if (options.rejectsFile && rejects) {
    await rejects.finish(options.rejectsFile, summary.headerRow);
    console.log(`${summary.rejected} rejected row(s) written to ${options.rejectsFile}.`);
  }
  return 0;
}

async function readMapFile(path: string): Promise<UserMap> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new UsageError(
      `--map ${path}: ${messageOf(error)}`,
    );
  }
  try {
    return parseUserMap(text, `--map ${path}`);
  } catch (error) {
    if (error instanceof HeaderMapError) throw new UsageError(error.message);
    throw error;
  }
}

/** The summary as printed lines. */
export function formatSummary(
  summary: ImportSummary,
  options: { dryRun: boolean; rejectsFile?: string | undefined },
): string[] {
  const lines: string[] = [];
  if (options.dryRun) lines.push(...formatMapping(summary.mapping), "");
  lines.push(
    `Read as ${summary.encoding} (${ENCODING_SOURCES[summary.encodingSource]}); ` +
      `external_id ${ID_SOURCES[summary.idSource.kind](summary.idSource.header ?? "")}.`,
  );
  lines.push(
    `${options.dryRun ? "Dry run (nothing written)" : "Imported"}: ${summary.rows} row(s) — ` +
      `${summary.inserted} inserted, ${summary.updated} updated, ${summary.unchanged} unchanged, ` +
      `${summary.rejected} rejected${summary.pruned > 0 ? `, ${summary.pruned} pruned` : ""}.`,
  );
  if (summary.extraNumbers > 0) {
    lines.push(
      `${summary.extraNumbers} extra number(s) from cells holding several, indexed for lookup.`,
    );
  }
  if (summary.derivedAccountIds > 0) {
    lines.push(
      `${summary.derivedAccountIds} contact(s) got an account id derived from the company name ` +
        '("company:" + the normalized name; the file has no company id column).',
    );
  }
  if (summary.headers.unknown.length > 0) {
    lines.push(`Columns not used: ${summary.headers.unknown.join(", ")}.`);
  }
  if (summary.duplicateIdsInFile > 0) {
    lines.push(
      `${summary.duplicateIdsInFile} row(s) repeat an external_id already in the file; the later row won.`,
    );
  }
  for (const reject of summary.rejects.slice(0, 20)) {
    lines.push(`  line ${reject.line}: rejected: ${reject.reason}`);
  }
  if (summary.rejected > 20 && !options.rejectsFile) {
    lines.push(`  … and ${summary.rejected - 20} more (use --rejects OUT.csv to get them all).`);
  }
  for (const warning of summary.warnings.slice(0, 20)) {
    lines.push(`  line ${warning.line}: warning: ${warning.message}`);
  }
  if (summary.warningCount > 20) lines.push(`  … ${summary.warningCount} warnings in all.`);
  if (summary.sharedNumberCount > 0) {
    lines.push(
      `${summary.sharedNumberCount} number(s) are shared by several contacts (the most recently updated wins a lookup):`,
    );
    for (const shared of summary.sharedNumbers.slice(0, 10)) {
      lines.push(`  ${shared.e164}: ${shared.externalIds.join(", ")}`);
    }
  }
  return lines;
}

const ENCODING_SOURCES = {
  bom: "byte order mark",
  detected: "detected",
  option: "--encoding",
} as const;

const ID_SOURCES = {
  column: (header: string) => `from column ${JSON.stringify(header)}`,
  id_from: (header: string) => `from column ${JSON.stringify(header)} (--id-from)`,
  derived: () => "derived from each row's cells (no id column; --id-from COLUMN to choose one)",
} as const;

/**
 * The column-mapping table a dry run prints before the counts: each header,
 * the field it feeds (or "—"), and why.
 */
export function formatMapping(mapping: readonly MappingEntry[]): string[] {
  const rows = mapping.map((entry) => [entry.header, entry.field ?? "—", entry.reason]);
  const head = ["Column", "Field", "Why"];
  const widths = [0, 1].map((i) =>
    Math.min(40, Math.max(head[i]?.length ?? 0, ...rows.map((row) => row[i]?.length ?? 0)))
  );
  const line = (cells: readonly string[]) =>
    `  ${(cells[0] ?? "").padEnd(widths[0] ?? 0)}  ${(cells[1] ?? "").padEnd(widths[1] ?? 0)}  ${
      cells[2] ?? ""
    }`.trimEnd();
  return [
    "Column mapping:",
    line(head),
    line(head.map((h, i) => "-".repeat(i < 2 ? widths[i] ?? 0 : h.length))),
    ...rows.map(line),
  ];
}

function progressPrinter(totalBytes: number) {
  const encoder = new TextEncoder();
  let last = 0;
  return {
    update(progress: { rows: number; bytes?: number }) {
      const now = performance.now();
      if (now - last < 200) return;
      last = now;
      const percent = progress.bytes !== undefined && totalBytes > 0
        ? ` (${Math.min(100, Math.round((progress.bytes / totalBytes) * 100))}%)`
        : "";
      Deno.stderr.writeSync(
        encoder.encode(`\r  ${progress.rows.toLocaleString("en-US")} rows${percent}   `),
      );
    },
    done() {
      if (last > 0) Deno.stderr.writeSync(encoder.encode("\n"));
    },
  };
}
