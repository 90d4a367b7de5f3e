/**
 * `symbo-crm import FILE.csv`: streams the CRM export into the store in one
 * transaction and prints what happened; progress on a terminal.
 */
import type { Config } from "../config/config.ts";
import { importContacts, ImportError, type ImportSummary } from "../contacts/import_contacts.ts";
import { runInBackgroundPriority } from "./background_priority.ts";
import { toRegion } from "../contacts/phone.ts";
import { HeaderMapError, parseUserMap, type UserMap } from "../contacts/csv_headers.ts";
import { createRejectsFile } from "../contacts/rejects_csv.ts";
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
  readonly rejectsFile?: string | undefined;
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
  const userMap = options.mapFile ? await readMapFile(options.mapFile) : undefined;
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
      prune: options.prune,
      fileLabel: options.file,
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
  const lines = [
    `${options.dryRun ? "Dry run (nothing written)" : "Imported"}: ${summary.rows} row(s) — ` +
    `${summary.inserted} inserted, ${summary.updated} updated, ${summary.unchanged} unchanged, ` +
    `${summary.rejected} rejected${summary.pruned > 0 ? `, ${summary.pruned} pruned` : ""}.`,
  ];
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
