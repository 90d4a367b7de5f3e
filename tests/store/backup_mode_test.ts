import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { backupStore } from "../../src/store/backup.ts";
import type { Store } from "../../src/store/open_store.ts";

/**
 * A file-mode store whose VACUUM INTO behaves as SQLite's does with files: an
 * existing empty file is filled as it is, else a new file is created with the
 * default mode (0644 here). It records the mode the file had when the first
 * byte was written.
 */
function fakeFileStore(): { store: Store; modeAtFirstByte: () => number | null } {
  let mode: number | null = null;
  const client = {
    execute: async (statement: { sql: string; args: string[] }) => {
      assertMatch(statement.sql, /^VACUUM INTO \?$/);
      const out = statement.args[0]!;
      const file = await Deno.open(out, { write: true, create: true, mode: 0o644 });
      mode = (await Deno.stat(out)).mode! & 0o777;
      await file.write(new TextEncoder().encode("SQLite format 3\0"));
      file.close();
      return { rows: [] };
    },
  };
  return {
    store: { mode: "file", client } as unknown as Store,
    modeAtFirstByte: () => mode,
  };
}

Deno.test("a backup file is owner-only from its first byte, not chmod'ed after the copy", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-backup-mode-" });
  const { store, modeAtFirstByte } = fakeFileStore();
  const { bytes } = await backupStore(store, `${dir}/b.db`);
  assertEquals(bytes, 16);
  assertEquals(modeAtFirstByte(), 0o600);
  assertEquals((await Deno.stat(`${dir}/b.db`)).mode! & 0o777, 0o600);
});

Deno.test("a backup refuses a symlink at its path and leaves the link's target alone", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-backup-link-" });
  await Deno.writeTextFile(`${dir}/target`, "keep");
  await Deno.symlink(`${dir}/target`, `${dir}/b.db`);
  const { store } = fakeFileStore();
  let message = "";
  try {
    await backupStore(store, `${dir}/b.db`);
  } catch (error) {
    message = String(error);
  }
  assertMatch(message, /already exists/);
  assertEquals(await Deno.readTextFile(`${dir}/target`), "keep");
  assert((await Deno.lstat(`${dir}/b.db`)).isSymlink);
});
