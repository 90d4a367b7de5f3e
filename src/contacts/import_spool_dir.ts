/**
 * The folder import uploads are spooled to: `<data_dir>/import-spool`,
 * owner-only, emptied at every start. Under the data folder (not the system's
 * temp folder) so that contact data a crash left behind stays where the data
 * is kept, and is removed by the next start instead of surviving for good.
 */

/** The spool folder's name inside the data folder. */
export const IMPORT_SPOOL_DIR_NAME = "import-spool";

/**
 * Empties (or creates) `<dataDir>/import-spool` and returns its path. Whatever
 * is there is what a previous process left: spooled uploads and rejects files
 * that no job refers to any more. A symlink planted in its place is removed,
 * never followed.
 */
export async function resetImportSpoolDir(dataDir: string): Promise<string> {
  const dir = `${dataDir}/${IMPORT_SPOOL_DIR_NAME}`;
  try {
    const info = await Deno.lstat(dir);
    // Deno.remove on a symlink removes the link, not what it points at.
    await Deno.remove(dir, { recursive: info.isDirectory });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  await Deno.chmod(dir, 0o700);
  return dir;
}
