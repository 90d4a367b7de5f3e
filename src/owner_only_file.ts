/**
 * Files the service creates for its operator (backups, rejects, …): owner-only
 * from the first byte, never over an existing file, never through a symlink.
 */

/** True when `path` exists (a symlink counts as itself; it is never followed). */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * Creates `path` for writing with mode 0600; throws `exists(path)` when
 * anything (a file, a symlink) already stands there.
 */
export async function createOwnerOnlyFile(
  path: string,
  exists: (path: string) => Error,
): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) throw exists(path);
    throw error;
  }
}
