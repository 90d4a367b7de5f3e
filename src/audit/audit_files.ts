/**
 * The audit folder's day files as the readers see them: which files make up
 * the log (one per UTC day, `YYYY-MM-DD.jsonl` while open or plain,
 * `YYYY-MM-DD.jsonl.gz` once compressed), in order, and each one opened as a
 * stream of text whatever its form. Symlinks are never followed: a day file
 * must be a regular file inside the folder.
 */
import { join } from "node:path";

const DAY_FILE_NAME = /^(\d{4}-\d{2}-\d{2})\.jsonl(\.gz)?$/;

/** One day file of the audit log. */
export interface AuditDayFile {
  /** The UTC day, `YYYY-MM-DD`. */
  readonly day: string;
  /** The file's name inside the audit folder. */
  readonly name: string;
  /** True for the gzip form (`.jsonl.gz`). */
  readonly compressed: boolean;
}

/** The name and day of a day file, or null when `name` is not one. */
export function parseDayFileName(name: string): AuditDayFile | null {
  const match = DAY_FILE_NAME.exec(name);
  if (match === null || match[1] === undefined) return null;
  return { day: match[1], name, compressed: match[2] !== undefined };
}

/** The plain file name of a day (`2026-11-30` → `2026-11-30.jsonl`). */
export function plainDayFileName(day: string): string {
  return `${day}.jsonl`;
}

/** The compressed file name of a day (`2026-11-30` → `2026-11-30.jsonl.gz`). */
export function compressedDayFileName(day: string): string {
  return `${day}.jsonl.gz`;
}

/**
 * Every day file in `dir`, both forms, sorted by day (plain before compressed
 * within a day). Symlinks and other names are left out. Throws when `dir`
 * does not exist, naming the config key.
 */
export async function listAllDayFiles(dir: string): Promise<AuditDayFile[]> {
  const files: AuditDayFile[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      // A symlink reports isFile false: never part of the log.
      if (!entry.isFile) continue;
      const file = parseDayFileName(entry.name);
      if (file !== null) files.push(file);
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(`audit directory ${dir} does not exist (check audit.dir in the config)`, {
        cause: error,
      });
    }
    throw error;
  }
  // ISO dates sort as strings; ".jsonl" sorts before ".jsonl.gz".
  return files.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/**
 * The log's files, one per day, oldest first. When a day has both forms (a
 * compaction interrupted between writing the compressed file and removing
 * the plain one) the plain file is the log's and the other is ignored.
 */
export async function listAuditDayFiles(dir: string): Promise<AuditDayFile[]> {
  const days: AuditDayFile[] = [];
  for (const file of await listAllDayFiles(dir)) {
    if (days.at(-1)?.day === file.day) continue;
    days.push(file);
  }
  return days;
}

/**
 * Opens `name` in `dir` for reading without following a symlink: the path is
 * checked with `lstat`, then the opened file must be that same inode (so a
 * swap between the two is caught too). Throws naming the file otherwise.
 */
export async function openRegularFile(dir: string, name: string): Promise<Deno.FsFile> {
  const path = join(dir, name);
  const info = await Deno.lstat(path);
  if (!info.isFile) {
    throw new Error(
      `audit file ${path} is ${
        info.isSymlink ? "a symlink" : "not a regular file"
      }; audit files are never followed through links (replace it with the real file)`,
    );
  }
  const file = await Deno.open(path, { read: true });
  try {
    const opened = await file.stat();
    if (opened.ino !== info.ino || opened.dev !== info.dev) {
      throw new Error(`audit file ${path} was replaced while being opened; try again`);
    }
  } catch (error) {
    file.close();
    throw error;
  }
  return file;
}

/**
 * The raw (uncompressed) bytes of a day file as a stream, gunzipped when
 * `gzip` (by default: when the name ends in `.gz`). A plain day compressed
 * since it was listed is read from its `.gz`. Cancelling the stream closes
 * the file.
 */
export async function openDayBytes(
  dir: string,
  name: string,
  gzip: boolean = name.endsWith(".gz"),
): Promise<ReadableStream<Uint8Array>> {
  let file: Deno.FsFile;
  try {
    file = await openRegularFile(dir, name);
  } catch (error) {
    const day = parseDayFileName(name);
    if (!(error instanceof Deno.errors.NotFound) || day === null || day.compressed) throw error;
    file = await openRegularFile(dir, compressedDayFileName(day.day));
    gzip = true;
  }
  return gzip
    ? file.readable.pipeThrough(inPieces(GZIP_INPUT_PIECE)).pipeThrough(
      new DecompressionStream("gzip"),
    )
    : file.readable;
}

/**
 * Compressed bytes are fed to the decompressor this many at a time: each
 * piece comes out whole, and deflate expands at most ~1,032×, so a read of a
 * gzip bomb yields chunks of at most ~16 MB (a 64 KiB read gave 66 MB at once)
 * that the line readers can refuse before holding more.
 */
const GZIP_INPUT_PIECE = 16 * 1024;

/** Splits chunks larger than `size` bytes (views, no copy). */
function inPieces(
  size: number,
): TransformStream<Uint8Array<ArrayBuffer>, Uint8Array<ArrayBuffer>> {
  return new TransformStream({
    transform(chunk, controller) {
      for (let offset = 0; offset < chunk.length; offset += size) {
        controller.enqueue(chunk.subarray(offset, offset + size));
      }
    },
  });
}

/**
 * The text of a day file as a stream of decoded chunks, whatever its form.
 * Splitting the chunks on "\n" is safe: that byte never occurs inside a UTF-8
 * sequence.
 */
export async function openDayText(dir: string, name: string): Promise<ReadableStream<string>> {
  return (await openDayBytes(dir, name)).pipeThrough(new TextDecoderStream("utf-8"));
}

/** Makes renames and removals in `dir` durable (fsync of the folder). */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await Deno.open(dir, { read: true });
  try {
    await handle.syncData();
  } finally {
    handle.close();
  }
}
