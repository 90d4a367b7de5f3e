/**
 * The chain's recorded start (`chain-start.json` in the audit folder): once
 * retention has removed the oldest days, the first kept line no longer
 * follows the genesis hash, so its `seq` and `prev` are written here and
 * `audit verify` anchors the chain on them (a kept day removed later is then
 * still detected). Written atomically, owner-only.
 *
 * Signed: whoever can delete the oldest lines can also write this file, and
 * `prev` is no secret (it is the hash of the last removed line), so an
 * unsigned file would hide the deletion. Retention signs it with a key
 * derived from the current webhook secret (HMAC of a fixed label, so the
 * signature is never a valid `X-Hmac-Signature` of anything); `audit verify`,
 * replay and the applier trust it only when that signature verifies under a
 * configured or retired secret.
 */
import { join } from "node:path";
import { z } from "zod";
import { syncDirectory } from "./audit_files.ts";
import { messageOf } from "../error_message.ts";
import { type SigningKey, toHex } from "../symbo/signature.ts";

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
  /** Hex HMAC-SHA256 of the fields above ({@link signChainStart}); absent in hand-made files. */
  signature: z.string().regex(/^[0-9a-f]{64}$/).optional(),
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

const encoder = new TextEncoder();
/** The label the signing key is derived with (a webhook body never equals it). */
const KEY_LABEL = "symbo-crm chain-start.json signing key v1";

/** The fields as signed, one per line, after a fixed header. */
function signedBytes(start: Omit<ChainStart, "signature">): Uint8Array<ArrayBuffer> {
  return encoder.encode(
    `symbo-crm chain-start v1\n${start.day}\n${start.seq}\n${start.prev}\n${start.written_at}`,
  );
}

/** The chain-start key of a webhook secret: HMAC(secret, label), so it signs nothing else. */
async function chainStartKey(key: SigningKey): Promise<CryptoKey> {
  const derived = await crypto.subtle.sign("HMAC", key.key, encoder.encode(KEY_LABEL));
  return await crypto.subtle.importKey(
    "raw",
    derived,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
}

/** `start` with its `signature` under `key` (the current webhook secret). */
export async function signChainStart(
  start: Omit<ChainStart, "signature">,
  key: SigningKey,
): Promise<ChainStart> {
  const mac = await crypto.subtle.sign("HMAC", await chainStartKey(key), signedBytes(start));
  return { ...start, signature: toHex(new Uint8Array(mac)) };
}

/**
 * Null when `start` carries a signature that verifies under one of `keys`
 * (current and retired webhook secrets); else why it cannot be trusted.
 */
export async function chainStartProblem(
  start: ChainStart,
  keys: readonly SigningKey[],
): Promise<string | null> {
  const signature = start.signature;
  if (signature === undefined) {
    return `${CHAIN_START_FILE} carries no signature, so it was not written by this version's ` +
      `retention: a hand-made file can hide the deletion of the log's oldest lines`;
  }
  const bytes = new Uint8Array(32);
  for (let i = 0; i < 32; i++) bytes[i] = parseInt(signature.slice(i * 2, i * 2 + 2), 16);
  for (const key of keys) {
    if (await crypto.subtle.verify("HMAC", await chainStartKey(key), bytes, signedBytes(start))) {
      return null;
    }
  }
  return `the signature of ${CHAIN_START_FILE} does not verify under any configured or retired ` +
    `webhook secret: it was forged or edited (it can hide the deletion of the log's oldest ` +
    `lines), or signed with a secret no longer in symbo.retired_webhook_secrets`;
}

/** Where the kept log starts, or why `chain-start.json` cannot be used. */
export type TrustedChainStart =
  | { readonly start: ChainStart | null; readonly problem: null }
  | { readonly start: null; readonly problem: string };

/**
 * Reads `chain-start.json` and checks its signature under `keys`: the start
 * (null when there is no file: the log starts at the genesis), or the problem
 * (unreadable, invalid, unsigned, or a signature that does not verify).
 */
export async function readTrustedChainStart(
  dir: string,
  keys: readonly SigningKey[],
): Promise<TrustedChainStart> {
  let start: ChainStart | null;
  try {
    start = await readChainStart(dir);
  } catch (error) {
    return { start: null, problem: messageOf(error) };
  }
  if (start === null) return { start: null, problem: null };
  const problem = await chainStartProblem(start, keys);
  return problem === null ? { start, problem: null } : { start: null, problem };
}
