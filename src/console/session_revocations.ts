/**
 * Where console logouts are kept, so that a logged-out cookie stays refused
 * after a restart (the signing key is on disk; revocations held only in
 * memory let a cookie work again after a restart for the rest of its life).
 * The file lies next to the session key in the data folder, owner-only: one
 * line `<nonce> <expiry ms>` per revoked session until its cookie would have
 * expired. Instances sharing the folder (and so the key) share it too: it is
 * read again whenever it changed on disk.
 */
import { join } from "node:path";

/** The revocations file's name inside the data folder. */
export const REVOKED_SESSIONS_FILE = "console_revoked_sessions";

/** Keeps revoked session nonces with the expiry of their cookie. */
export interface SessionRevocations {
  /** Every revoked nonce and its cookie's expiry (epoch ms), as last saved by anyone. */
  load(): Promise<ReadonlyMap<string, number>>;
  /** Replaces what is kept. */
  save(revoked: ReadonlyMap<string, number>): Promise<void>;
}

/** Revocations kept in memory only (tests, or a signer without a data folder). */
export function memoryRevocations(): SessionRevocations {
  let kept: ReadonlyMap<string, number> = new Map();
  return {
    load: () => Promise.resolve(kept),
    save: (revoked) => {
      kept = new Map(revoked);
      return Promise.resolve();
    },
  };
}

const LINE = /^([A-Za-z0-9_-]{16,64}) (\d{1,15})$/;

/**
 * Revocations in `<dataDir>/console_revoked_sessions`, written whole to a
 * temporary file (0600, synced) and renamed over the old one; read again
 * only when its modification time or size changed.
 */
export function fileRevocations(dataDir: string): SessionRevocations {
  const path = join(dataDir, REVOKED_SESSIONS_FILE);
  let cached: { stamp: string; revoked: ReadonlyMap<string, number> } = {
    stamp: "absent",
    revoked: new Map(),
  };
  const stampOf = async (): Promise<string> => {
    try {
      const info = await Deno.lstat(path);
      if (!info.isFile) throw new Error(`${path} is not a regular file; remove it`);
      return `${info.mtime?.getTime() ?? 0}:${info.size}`;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return "absent";
      throw error;
    }
  };
  return {
    async load() {
      const stamp = await stampOf();
      if (stamp === cached.stamp) return cached.revoked;
      const revoked = new Map<string, number>();
      if (stamp !== "absent") {
        for (const line of (await Deno.readTextFile(path)).split("\n")) {
          const match = LINE.exec(line);
          if (match?.[1] !== undefined) revoked.set(match[1], Number(match[2]));
        }
      }
      cached = { stamp, revoked };
      return revoked;
    },
    async save(revoked) {
      const text = [...revoked].map(([nonce, expiry]) => `${nonce} ${expiry}\n`).join("");
      const temporary = `${path}.${crypto.randomUUID()}.tmp`;
      const file = await Deno.open(temporary, { write: true, createNew: true, mode: 0o600 });
      try {
        const bytes = new TextEncoder().encode(text);
        for (let at = 0; at < bytes.length;) at += await file.write(bytes.subarray(at));
        await file.syncData();
      } finally {
        file.close();
      }
      try {
        await Deno.rename(temporary, path);
      } catch (error) {
        await Deno.remove(temporary).catch(() => {});
        throw error;
      }
      cached = { stamp: await stampOf(), revoked: new Map(revoked) };
    },
  };
}
