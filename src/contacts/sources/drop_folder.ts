/**
 * A drop folder: the CRM's cron job writes exports into it; symbo-crm takes
 * only whole files (unchanged in size and mtime for `settle` — a file renamed
 * into place qualifies as soon as it settles), claims each by renaming it into
 * `processing/<run id>-<name>` (atomic: a file is claimed once), and after the
 * import moves it to `done/` or `failed/` with a `<name>.result.json` beside
 * it. The run id in the claimed name lets a restart tell, from the store,
 * whether the import committed (move it to done/) or not (import it again).
 */

/** A file waiting in the folder. */
export interface DroppedFile {
  readonly name: string;
  readonly size: number;
  readonly mtimeMs: number;
}

/** A file claimed by a run, found in `processing/`. */
export interface ClaimedFile {
  /** Its name in `processing/`: `<run id>-<original name>`. */
  readonly claimedName: string;
  readonly runId: number;
  readonly originalName: string;
}

const SUBFOLDERS = ["processing", "done", "failed"] as const;

/** True for a name a writer uses while a file is incomplete, or a hidden file. */
function isPartialName(name: string): boolean {
  return name.startsWith(".") || /\.(tmp|part|partial|crdownload|swp)$/i.test(name) ||
    name.endsWith("~");
}

/** Creates `processing/`, `done/` and `failed/` in the folder when missing. */
export async function prepareFolder(dir: string): Promise<void> {
  for (const sub of SUBFOLDERS) await Deno.mkdir(`${dir}/${sub}`, { recursive: true });
}

/** The plain files at the folder's top level (not hidden, not named as partial), oldest first. */
export async function listDropped(dir: string): Promise<DroppedFile[]> {
  const files: DroppedFile[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || isPartialName(entry.name)) continue;
    try {
      const info = await Deno.lstat(`${dir}/${entry.name}`);
      if (!info.isFile) continue;
      files.push({ name: entry.name, size: info.size, mtimeMs: info.mtime?.getTime() ?? 0 });
    } catch {
      // gone in between
    }
  }
  return files.sort((a, b) => a.mtimeMs - b.mtimeMs || a.name.localeCompare(b.name));
}

/**
 * The files that are whole: seen twice `settleMs` apart with the same size
 * and mtime, and not modified for `settleMs`. Waits `settleMs` when any file is waiting.
 */
export async function settledFiles(
  dir: string,
  settleMs: number,
  now: () => number,
  sleep: (ms: number) => Promise<void>,
): Promise<DroppedFile[]> {
  const first = await listDropped(dir);
  if (first.length === 0) return [];
  await sleep(settleMs);
  const second = new Map((await listDropped(dir)).map((file) => [file.name, file]));
  const at = now();
  return first.filter((file) => {
    const again = second.get(file.name);
    return again !== undefined && again.size === file.size && again.mtimeMs === file.mtimeMs &&
      at - again.mtimeMs >= settleMs;
  });
}

/** Claims a file for a run: renames it into `processing/`. Returns its claimed name, or null when it is gone. */
export async function claimFile(dir: string, name: string, runId: number): Promise<string | null> {
  const claimedName = `${runId}-${name}`;
  try {
    await Deno.rename(`${dir}/${name}`, `${dir}/processing/${claimedName}`);
    return claimedName;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** Renames a claimed file to a new run's id (a restart re-imports it under its own run). */
export async function reclaimFile(
  dir: string,
  claimed: ClaimedFile,
  runId: number,
): Promise<string> {
  const claimedName = `${runId}-${claimed.originalName}`;
  await Deno.rename(`${dir}/processing/${claimed.claimedName}`, `${dir}/processing/${claimedName}`);
  return claimedName;
}

/** Puts a claimed file back in the folder (its run could not import it now). */
export async function unclaimFile(dir: string, claimedName: string, name: string): Promise<void> {
  await Deno.rename(`${dir}/processing/${claimedName}`, `${dir}/${name}`);
}

/** The files in `processing/` (claimed by a run that did not finish moving them). */
export async function listClaimed(dir: string): Promise<ClaimedFile[]> {
  const claimed: ClaimedFile[] = [];
  for await (const entry of Deno.readDir(`${dir}/processing`)) {
    const match = /^(\d+)-(.+)$/.exec(entry.name);
    if (!entry.isFile || !match) continue;
    claimed.push({
      claimedName: entry.name,
      runId: Number(match[1]),
      originalName: match[2] ?? "",
    });
  }
  return claimed.sort((a, b) => a.runId - b.runId);
}

/** The path of a claimed file. */
export function claimedPath(dir: string, claimedName: string): string {
  return `${dir}/processing/${claimedName}`;
}

/**
 * Moves a claimed file to `done/` or `failed/` and writes its result next to
 * it (`<claimed name>.result.json`). The result is written first: a crash in
 * between leaves the file in processing/, which a restart finishes again.
 */
export async function finishFile(
  dir: string,
  claimedName: string,
  to: "done" | "failed",
  result: Record<string, unknown>,
): Promise<void> {
  await Deno.writeTextFile(
    `${dir}/${to}/${claimedName}.result.json`,
    JSON.stringify(result, null, 2) + "\n",
    { mode: 0o600 },
  );
  await Deno.rename(`${dir}/processing/${claimedName}`, `${dir}/${to}/${claimedName}`);
}
