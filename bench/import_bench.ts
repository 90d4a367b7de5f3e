/**
 * Measurement 3 (CSV import): the generated N-row export imported by the real
 * `main.ts import FILE.csv` into a fresh store — which then IS the store the
 * lookup benchmark serves — versus (d) the `sqlite3` shell's `.import --csv`
 * of the same file into a fresh database whose table has the same indexes as
 * the real contact lookup needs: `external_id` primary key plus one index on
 * each of the 4 phone columns (raw text as written; sqlite3 normalizes and
 * validates nothing). Both are timed wall-clock, process start to exit, with
 * peak RSS from `/usr/bin/time -v`.
 */
import { CSV_COLUMNS, type Dataset } from "./dataset.ts";
import { runOrThrow, runTimed, type TimedRun } from "./processes.ts";
import { mainCommand, NEUTRAL_ENV } from "./real_server.ts";

/** One side of the import comparison (stdout/stderr left out). */
export type ImportRun = Omit<TimedRun, "stdout" | "stderr" | "code">;

/** What the import benchmark measured. */
export interface ImportBenchResult {
  readonly server: ImportRun & {
    readonly summaryLine: string;
    readonly rows: number;
    readonly inserted: number;
    readonly rejected: number;
    readonly rowsPerSecond: number;
    /** What the import left in the store's WAL file, and how long checkpointing it took. */
    readonly walMbLeft: number;
    readonly checkpointSeconds: number;
    /** The store file after the import and the checkpoint (issue 15). */
    readonly storeBytes: number;
  };
  readonly baseline: ImportRun & { readonly rows: number; readonly schema: string };
  /** server wall ÷ baseline wall. */
  readonly ratio: number;
  /** storeBytes ÷ the CSV's bytes. */
  readonly storeBytesVsCsv: number;
}

/** The baseline's schema: the CSV's 20 columns, the contact key, 4 phone indexes. */
export function baselineSchema(): string {
  const columns = CSV_COLUMNS.map((
    c,
  ) => (c === "external_id" ? `${c} TEXT PRIMARY KEY` : `${c} TEXT`));
  const phones = ["work_phone", "mobile_phone", "home_phone", "other_phone"];
  return [
    `CREATE TABLE contacts_csv (${columns.join(", ")});`,
    ...phones.map((p) => `CREATE INDEX contacts_csv_${p} ON contacts_csv (${p});`),
  ].join("\n");
}

/**
 * Runs (d) then the real import (so both read a CSV already in the page
 * cache). The real import writes the store at `storePath`, which must not exist.
 */
export async function runImportBench(options: {
  readonly workDir: string;
  readonly dataset: Dataset;
  readonly configPath: string;
  /** The store file the config points at (fresh). */
  readonly storePath: string;
  readonly flags: readonly string[];
  readonly timeoutMs: number;
  readonly log: (line: string) => void;
}): Promise<ImportBenchResult> {
  const { dataset } = options;
  options.log(`  (d) sqlite3 .import --csv into a table with 4 phone indexes…`);
  const baselineDb = `${options.workDir}/sqlite3_import.db`;
  const script = `${options.workDir}/sqlite3_import.sql`;
  const schema = baselineSchema();
  await Deno.writeTextFile(
    script,
    `${schema}\n.import --csv --skip 1 "${dataset.csvPath}" contacts_csv\n`,
  );
  const baselineRun = await runTimed(["sqlite3", "-bail", baselineDb, `.read "${script}"`], {
    timeoutMs: options.timeoutMs,
  });
  if (baselineRun.code !== 0) {
    throw new Error(`sqlite3 .import failed (exit ${baselineRun.code}):\n${baselineRun.stderr}`);
  }
  const baselineRows = Number(
    (await runOrThrow(["sqlite3", baselineDb, "SELECT count(*) FROM contacts_csv"])).trim(),
  );
  await Deno.remove(baselineDb);
  if (baselineRows !== dataset.rows) {
    throw new Error(`sqlite3 .import loaded ${baselineRows} rows, expected ${dataset.rows}`);
  }

  options.log(
    `  symbo-crm import: ${dataset.rows.toLocaleString("en-US")} rows into a fresh store…`,
  );
  const run = await runTimed(
    mainCommand(options.flags, ["import", dataset.csvPath, "--config", options.configPath]),
    { env: NEUTRAL_ENV, timeoutMs: options.timeoutMs },
  );
  const summaryLine = run.stdout.split("\n").find((line) => line.startsWith("Imported:")) ?? "";
  if (run.code !== 0 || summaryLine === "") {
    throw new Error(
      `main.ts import failed (exit ${run.code}):\n${run.stdout.slice(0, 2000)}\n${
        run.stderr.slice(0, 2000)
      }`,
    );
  }
  const counts =
    /Imported: (\d+) row\(s\) — (\d+) inserted, (\d+) updated, (\d+) unchanged, (\d+) rejected/
      .exec(summaryLine);
  const rows = Number(counts?.[1] ?? NaN);
  const inserted = Number(counts?.[2] ?? NaN);
  const rejected = Number(counts?.[5] ?? NaN);
  if (rows !== dataset.rows || rejected !== 0) {
    throw new Error(
      `the import read ${rows} rows and rejected ${rejected}; expected ${dataset.rows} and 0`,
    );
  }
  // The import leaves its whole transaction in the WAL, and nothing in the
  // product checkpoints it (not even closing the store). Checkpoint it here,
  // outside the measured wall time, so the lookup and webhook measurements
  // start from a clean file; its size and the time it took are reported.
  const walMbLeft = await fileSize(`${options.storePath}-wal`) / 2 ** 20;
  const checkpointStarted = performance.now();
  await runOrThrow(
    ["sqlite3", options.storePath, "PRAGMA wal_checkpoint(TRUNCATE);"],
    options.timeoutMs,
  );
  const checkpointSeconds = (performance.now() - checkpointStarted) / 1000;
  const storeBytes = await fileSize(options.storePath) + await fileSize(`${options.storePath}-wal`);
  const { stdout: _o, stderr: _e, code: _c, ...serverRun } = run;
  const { stdout: _bo, stderr: _be, code: _bc, ...baseRun } = baselineRun;
  return {
    server: {
      ...serverRun,
      summaryLine,
      rows,
      inserted,
      rejected,
      rowsPerSecond: rows / run.wallSeconds,
      walMbLeft,
      checkpointSeconds,
      storeBytes,
    },
    baseline: { ...baseRun, rows: baselineRows, schema },
    ratio: run.wallSeconds / baselineRun.wallSeconds,
    storeBytesVsCsv: storeBytes / dataset.csvBytes,
  };
}

/** A file's size in bytes, 0 when it does not exist. */
export async function fileSize(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return 0;
    throw error;
  }
}
