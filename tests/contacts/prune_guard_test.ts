/**
 * The prune guard (issue 19): an import that would prune more than
 * `maxPruneFraction` of the stored contacts is refused before anything is
 * written, says how many and how to force it; a person may force it.
 */
import { assertEquals, assertMatch } from "../helpers/assert.ts";
import { countContacts } from "../../src/contacts/contact_store.ts";
import {
  importContacts,
  ImportError,
  type ImportOptions,
} from "../../src/contacts/import_contacts.ts";
import { openStore, type Store } from "../../src/store/open_store.ts";

function csvOf(ids: readonly number[]): ReadableStream<Uint8Array> {
  const text = "external_id,first_name\n" + ids.map((i) => `p${i},Name${i}`).join("\n") + "\n";
  return new Blob([text]).stream();
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

async function withTen(fn: (store: Store) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-prune-guard-" });
  const store = await openStore({ url: `file:${dir}/crm.db` });
  try {
    await importContacts(store, csvOf(range(10)), options());
    await fn(store);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function options(overrides: Partial<ImportOptions> = {}): ImportOptions {
  return { fileLabel: "export.csv", defaultRegion: "US", ...overrides };
}

Deno.test("a prune of more than the fraction is refused, says how many and how to force it; nothing is written", async () => {
  await withTen(async (store) => {
    let error: unknown;
    try {
      // Cut off after 2 rows, one of them new: 8 of the 10 would go.
      await importContacts(store, csvOf([0, 1, 99]), options({ prune: true }));
    } catch (caught) {
      error = caught;
    }
    if (!(error instanceof ImportError)) throw new Error("expected an ImportError");
    assertEquals(error.reason, "prune_guard");
    assertMatch(error.message, /would delete 8 of the 10 stored contacts \(80%\)/);
    assertMatch(error.message, /contacts\.max_prune_fraction \(20%\)/);
    assertMatch(error.message, /--force-prune/);
    assertMatch(error.message, /nothing was imported/);
    assertEquals(await countContacts(store.reader), 10);
  });
});

Deno.test("a prune at the fraction goes through; forcePrune and a larger fraction pass the guard", async (t) => {
  await t.step("exactly 20%", async () => {
    await withTen(async (store) => {
      const summary = await importContacts(store, csvOf(range(8)), options({ prune: true }));
      assertEquals(summary.pruned, 2);
    });
  });
  await t.step("forced", async () => {
    await withTen(async (store) => {
      const summary = await importContacts(
        store,
        csvOf([0, 1]),
        options({ prune: true, forcePrune: true }),
      );
      assertEquals([summary.pruned, await countContacts(store.reader)], [8, 2]);
    });
  });
  await t.step("contacts.max_prune_fraction 0.9", async () => {
    await withTen(async (store) => {
      const summary = await importContacts(
        store,
        csvOf([0, 1]),
        options({ prune: true, maxPruneFraction: 0.9 }),
      );
      assertEquals(summary.pruned, 8);
    });
  });
  await t.step("a dry run reports the count without refusing", async () => {
    await withTen(async (store) => {
      const summary = await importContacts(
        store,
        csvOf([0, 1]),
        options({ prune: true, dryRun: true }),
      );
      assertEquals([summary.pruned, await countContacts(store.reader)], [8, 10]);
    });
  });
});

Deno.test("the commit hook runs in the import's transaction with the counts", async () => {
  await withTen(async (store) => {
    const seen: unknown[] = [];
    await importContacts(
      store,
      csvOf([...range(10), 10]),
      options({
        beforeCommit: async (db, counts) => {
          seen.push(counts);
          await db.run("INSERT INTO source_state (source) VALUES ('hook')");
        },
      }),
    );
    assertEquals(seen, [{
      rows: 11,
      inserted: 1,
      updated: 0,
      unchanged: 10,
      rejected: 0,
      pruned: 0,
    }]);
    const row = await store.reader.first("SELECT source FROM source_state WHERE source = 'hook'");
    assertEquals(row?.source, "hook");
  });
});
