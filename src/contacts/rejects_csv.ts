/**
 * The `--rejects OUT.csv` file: every rejected row of an import with its line
 * and reason, then the row's original columns, so an operator can fix the rows
 * in a spreadsheet and import them again. Cells that a spreadsheet would run
 * as a formula are neutralized (CSV injection), and the file is created
 * owner-only because it holds contact data.
 */
import { csvLine } from "../csv/csv_cell.ts";
import type { RejectedRow } from "./import_contacts.ts";
import { createOwnerOnlyFile, pathExists } from "../owner_only_file.ts";

const FLUSH_AT = 64 * 1024;

/** The header line of a rejects file (with CRLF). */
export function rejectsHeaderLine(header: readonly string[]): string {
  return csvLine(["line", "reason", ...header]);
}

/** One line of a rejects file (with CRLF). */
export function rejectsLine(row: RejectedRow): string {
  return csvLine([String(row.line), row.reason, ...row.record]);
}

/** The `--rejects` file of one import, filled while the import runs. */
export interface RejectsFile {
  /** Records one rejected row (every one, not only the summary's first thousand). */
  add(row: RejectedRow): Promise<void>;
  /** Writes `out` (BOM, header line, every row added); returns the row count. */
  finish(out: string, header: readonly string[]): Promise<number>;
  /** Drops what was collected (the import failed). */
  discard(): Promise<void>;
}

/**
 * Collects rejected rows in a temporary file (bounded memory) while the import
 * runs, because the file's header line is only known once reading is done.
 * The output is created owner-only: it holds contact data.
 */
export function createRejectsFile(options: { readonly dir?: string } = {}): RejectsFile {
  const encoder = new TextEncoder();
  let spool: { path: string; file: Deno.FsFile } | null = null;
  let pending = "";
  let count = 0;
  const flush = async () => {
    if (pending === "") return;
    spool ??= await (async () => {
      const path = await Deno.makeTempFile({ dir: options.dir, prefix: "symbo-crm-rejects-" });
      return { path, file: await Deno.open(path, { write: true, append: true }) };
    })();
    await writeAll(spool.file, encoder.encode(pending));
    pending = "";
  };
  const discard = async () => {
    pending = "";
    if (!spool) return;
    try {
      spool.file.close();
    } catch { /* already closed */ }
    await Deno.remove(spool.path).catch(() => {});
    spool = null;
  };
  return {
    async add(row) {
      pending += rejectsLine(row);
      count++;
      if (pending.length >= FLUSH_AT) await flush();
    },
    async finish(out, header) {
      await flush();
      const target = await openRejectsTarget(out);
      try {
        await writeAll(target, encoder.encode("\ufeff" + rejectsHeaderLine(header)));
        if (spool) {
          spool.file.close();
          const source = await Deno.open(spool.path, { read: true });
          await source.readable.pipeTo(target.writable, { preventClose: true });
        }
      } finally {
        target.close();
        await discard();
      }
      return count;
    },
    discard,
  };
}

/**
 * Opens a new rejects file, owner-only from its first byte. An existing file
 * or symlink at `out` is refused (createNew: O_EXCL never follows a symlink),
 * so a rejects file can neither widen an existing file's mode nor be
 * redirected onto another file.
 */
export function openRejectsTarget(out: string): Promise<Deno.FsFile> {
  return createOwnerOnlyFile(out, rejectsExists);
}

/** Refuses up front (before an import runs) a rejects path that already exists. */
export async function checkRejectsTarget(out: string): Promise<void> {
  if (await pathExists(out)) throw rejectsExists(out);
}

function rejectsExists(out: string): Error {
  return new Error(
    `${out} already exists; choose a new file name for --rejects (it never overwrites a file or follows a symlink).`,
  );
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}
