/**
 * The store's write transactions against a real sqld, side by side with the
 * local runners: group commit's per-event savepoints (held and sent with the
 * next statement over the network) behave exactly as when sent one by one, a
 * failed statement rolls back and frees the lock, and an unreachable server is
 * a {@link StoreUnavailableError}, not a hang.
 */
import { createClient } from "@libsql/client";
import { assert, assertEquals } from "../helpers/assert.ts";
import { startSqld } from "../helpers/sqld.ts";
import { migrate } from "../../src/store/migrations.ts";
import { openStore } from "../../src/store/open_store.ts";
import type { SqlExecutor } from "../../src/store/sql.ts";
import {
  clientWriteTransactions,
  StoreUnavailableError,
  type WriteTransactionRunner,
} from "../../src/store/write_transaction.ts";

/** Applies items as the group-commit applier does: one savepoint each, a failure rolls back alone. */
async function applyAll(
  db: SqlExecutor,
  items: { id: string; fail: boolean }[],
): Promise<string[]> {
  const outcomes: string[] = [];
  for (const item of items) {
    await db.run("SAVEPOINT apply_event");
    try {
      await db.run("INSERT INTO prospects (id, data, updated_at) VALUES (?, '{}', 1)", [item.id]);
      if (item.fail) await db.run("INSERT INTO no_such_table VALUES (1)");
      await db.run("RELEASE apply_event");
      outcomes.push("ok");
    } catch {
      await db.run("ROLLBACK TO apply_event");
      await db.run("RELEASE apply_event");
      outcomes.push("failed");
    }
  }
  return outcomes;
}

async function ids(read: (sql: string) => Promise<unknown[]>, prefix: string): Promise<string[]> {
  const rows = await read(`SELECT id FROM prospects WHERE id LIKE '${prefix}%' ORDER BY id`);
  return rows.map((row) => String((row as { id: unknown }).id));
}

async function specification(
  t: Deno.TestContext,
  write: WriteTransactionRunner,
  read: (sql: string) => Promise<unknown[]>,
): Promise<void> {
  await t.step("a failing event in the middle rolls back alone", async () => {
    const outcomes = await write((db) =>
      applyAll(db, [
        { id: "mid-1", fail: false },
        { id: "mid-2", fail: true },
        { id: "mid-3", fail: false },
      ])
    );
    assertEquals(outcomes, ["ok", "failed", "ok"]);
    assertEquals(await ids(read, "mid-"), ["mid-1", "mid-3"]);
  });

  await t.step("a failing last event is rolled back before the commit", async () => {
    const outcomes = await write((db) =>
      applyAll(db, [{ id: "last-1", fail: false }, { id: "last-2", fail: true }])
    );
    assertEquals(outcomes, ["ok", "failed"]);
    assertEquals(await ids(read, "last-"), ["last-1"]);
  });

  await t.step(
    "a failing statement outside a savepoint rolls the whole transaction back",
    async () => {
      let failure: unknown;
      try {
        await write(async (db) => {
          await db.run("INSERT INTO prospects (id, data, updated_at) VALUES ('whole-1', '{}', 1)");
          await db.run("INSERT INTO no_such_table VALUES (1)");
        });
      } catch (error) {
        failure = error;
      }
      assert(
        failure instanceof Error && !(failure instanceof StoreUnavailableError),
        String(failure),
      );
      assertEquals(await ids(read, "whole-"), []);
      // The lock was released: the next transaction goes through (a held lock
      // would fail it with the busy timeout).
      await write((db) =>
        db.run("INSERT INTO prospects (id, data, updated_at) VALUES ('whole-2', '{}', 1)")
      );
      assertEquals(await ids(read, "whole-"), ["whole-2"]);
    },
  );

  await t.step("reads inside the transaction see its own writes", async () => {
    const seen = await write(async (db) => {
      await db.run("SAVEPOINT s");
      await db.run("INSERT INTO prospects (id, data, updated_at) VALUES ('own-1', '{}', 1)");
      await db.run("RELEASE s");
      return await db.first("SELECT COUNT(*) AS n FROM prospects WHERE id = 'own-1'");
    });
    assertEquals(Number(seen?.n), 1);
  });
}

Deno.test("write transactions on a remote sqld", async (t) => {
  const sqld = await startSqld();
  try {
    const store = await openStore({ url: sqld.url });
    try {
      await specification(t, store.write, (sql) => store.reader.all(sql));
    } finally {
      store.close();
    }

    await t.step(
      "an unreachable server is StoreUnavailableError, for writes and reads",
      async () => {
        const store = await openStore({ url: sqld.url, readTimeoutMs: 300, remoteTimeoutMs: 500 });
        try {
          sqld.pause();
          const [write, read] = await Promise.allSettled([
            store.write((db) =>
              db.run("INSERT INTO prospects (id, data, updated_at) VALUES ('x', '{}', 1)")
            ),
            store.reader.all("SELECT 1"),
          ]);
          assert(
            write.status === "rejected" && write.reason instanceof StoreUnavailableError,
            String(write),
          );
          assert(
            read.status === "rejected" && read.reason instanceof StoreUnavailableError,
            String(read),
          );
          let pinged: unknown = null;
          await store.ping().catch((error) => pinged = error);
          assert(pinged instanceof StoreUnavailableError);
          sqld.resume();
          await sqld.kill();
          const refused = await store.reader.all("SELECT 1").catch((error) => error);
          assert(refused instanceof StoreUnavailableError, String(refused));
        } finally {
          sqld.resume();
          store.close();
        }
      },
    );
  } finally {
    await sqld.stop();
  }
});

Deno.test("write transactions on local stores follow the same specification", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-write-tx-" });
  try {
    await t.step("the file store's driver writer", async (t) => {
      const store = await openStore({ url: `file:${dir}/driver.db` });
      try {
        await specification(t, store.write, (sql) => store.reader.all(sql));
      } finally {
        store.close();
      }
    });
    await t.step("a client writer on a local file", async (t) => {
      const client = createClient({ url: `file:${dir}/client.db` });
      try {
        await migrate(client);
        await specification(
          t,
          clientWriteTransactions(client),
          async (sql) => (await client.execute(sql)).rows,
        );
      } finally {
        client.close();
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
