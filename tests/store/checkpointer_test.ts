// The checkpointer on a real store file: the writer's automatic checkpoints
// are off while a worker thread checkpoints and finally truncates the WAL;
// they come back when it stops or cannot start.
import { join } from "node:path";
import { assert, assertEquals } from "../helpers/assert.ts";
import { startCheckpointer } from "../../src/store/checkpointer.ts";
import { openStore, type Store } from "../../src/store/open_store.ts";

async function withStore(fn: (store: Store, path: string, dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-checkpointer-" });
  const path = join(dir, "crm.db");
  const store = await openStore({ url: `file:${path}` });
  try {
    await fn(store, path, dir);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const quietLog = {
  warnings: [] as string[],
  warn(message: string) {
    this.warnings.push(message);
  },
};

async function autocheckpoint(store: Store): Promise<number> {
  return await store.write(async (db) =>
    Number(Object.values((await db.first("PRAGMA wal_autocheckpoint"))!)[0])
  );
}

async function waitFor(condition: () => Promise<boolean> | boolean, what: string) {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Commits `rows` settings of ~2 KB in one write transaction. */
function writeRows(store: Store, batch: number, rows: number): Promise<void> {
  return store.write(async (db) => {
    for (let i = 0; i < rows; i++) {
      await db.run("INSERT INTO console_settings (key, value) VALUES (?, ?)", [
        `k-${batch}-${i}`,
        "x".repeat(2_000),
      ]);
    }
  });
}

async function walBytes(path: string): Promise<number> {
  try {
    return (await Deno.stat(`${path}-wal`)).size;
  } catch {
    return 0;
  }
}

Deno.test("while the checkpointer runs, commits do not checkpoint; its thread does, then truncates the WAL once quiet", async () => {
  await withStore(async (store, path) => {
    const checkpointer = await startCheckpointer({
      path,
      write: store.write,
      log: quietLog,
      intervalMs: 20,
      quietMs: 200,
    });
    try {
      assertEquals(checkpointer.status().running, true);
      assertEquals(await autocheckpoint(store), 0);
      for (let batch = 0; batch < 20; batch++) await writeRows(store, batch, 50);
      assert(await walBytes(path) > 0);
      await waitFor(() => checkpointer.status().checkpoints > 0, "a checkpoint");
      await waitFor(async () => await walBytes(path) === 0, "the WAL to be truncated");
      const rows = await store.reader.first("SELECT COUNT(*) AS n FROM console_settings");
      assertEquals(Number(rows!.n), 1_000);
    } finally {
      await checkpointer.stop();
    }
    assertEquals(checkpointer.status().running, false);
    assertEquals(await autocheckpoint(store), 1000);
  });
});

Deno.test("under a steady stream of commits the WAL starts over after each checkpoint instead of growing", async () => {
  await withStore(async (store, path) => {
    const checkpointer = await startCheckpointer({
      path,
      write: store.write,
      log: quietLog,
      intervalMs: 20,
      quietMs: 60_000,
    });
    try {
      let largest = 0;
      const transactions = 300;
      for (let batch = 0; batch < transactions; batch++) {
        await writeRows(store, batch, 20);
        largest = Math.max(largest, await walBytes(path));
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      // Each commit adds ~3 pages (16 KB each): without a restart the WAL file
      // would hold every one of them (~15 MB); its size is its high-water mark.
      assert(checkpointer.status().checkpoints > 5);
      assert(largest < transactions * 3 * 16_384 / 2, `the WAL grew to ${largest} bytes`);
    } finally {
      await checkpointer.stop();
    }
  });
});

Deno.test("a checkpointer that cannot open the store leaves the writer checkpointing itself, and says so", async () => {
  await withStore(async (store, _path, dir) => {
    const log = {
      warnings: [] as string[],
      warn(message: string) {
        this.warnings.push(message);
      },
    };
    const checkpointer = await startCheckpointer({
      path: join(dir, "no-such-folder", "crm.db"),
      write: store.write,
      log,
      intervalMs: 20,
    });
    assertEquals(checkpointer.status().running, false);
    assertEquals(await autocheckpoint(store), 1000);
    assertEquals(log.warnings.length, 1);
    await checkpointer.stop();
  });
});
