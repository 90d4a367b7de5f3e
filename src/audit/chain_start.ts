/**
 * The chain's recorded start (`chain-start.json` in the audit folder): once
 * retention has removed the oldest days, the first kept line no longer
 * follows the genesis hash, so its `seq` and `prev` are written here and
 * `audit verify` anchors the chain on them (a kept day removed later is then
 * still detected). Written atomically, owner-only.
 */
import { join } from "node:path";
import { z } from "zod";
import { syncDirectory } from "./audit_files.ts";
import { messageOf } from "../error_message.ts";

/** The file's name inside the audit folder. */
export const CHAIN_START_FILE = "chain-start.json";

const ChainStartSchema = z.strictObject({
  /** The UTC day of the first kept file. */
  day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  /** The seq of the first kept line. */
  seq: z.number().int().min(1),
  /** That line's `prev`: the hash of the last removed line. */
  prev: z.string().regex(/^[0-9a-f]{64}$/),
  /** When retention wrote it (ISO 8601), for the operator. */
  written_at: z.string(),
});

/** Where the kept part of the chain starts. */
export type ChainStart = z.infer<typeof ChainStartSchema>;

/**
 * Reads `chain-start.json` from `dir`: null when there is none (the log starts
 * at the genesis). Throws naming the file when it is unreadable, invalid, or
 * not a regular file.
 */
export async function readChainStart(dir: string): Promise<ChainStart | null> {
  const path = join(dir, CHAIN_START_FILE);
  try {
    const info = await Deno.lstat(path);
    if (!info.isFile) throw new Error("it is not a regular file (a symlink?)");
    const parsed = ChainStartSchema.safeParse(JSON.parse(await Deno.readTextFile(path)));
    if (!parsed.success) {
      throw new Error(
        parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "),
      );
    }
    return parsed.data;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw new Error(`cannot use ${path}: ${messageOf(error)}`, { cause: error });
  }
}

/** Writes `chain-start.json` atomically (temp file, fsync, rename, fsync of the folder), 0600. */
export async function writeChainStart(dir: string, start: ChainStart): Promise<void> {
  const path = join(dir, CHAIN_START_FILE);
  const temp = `${path}.tmp`;
  // A leftover temp (or a link planted there) is removed, and createNew never follows a link.
  await Deno.remove(temp).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o600 });
  try {
    const bytes = new TextEncoder().encode(`${JSON.stringify(start, null, 2)}\n`);
    for (let offset = 0; offset < bytes.length;) offset += await file.write(bytes.subarray(offset));
    await file.syncData();
  } finally {
    file.close();
  }
  await Deno.rename(temp, path);
  await syncDirectory(dir);
}
