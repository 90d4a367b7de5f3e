/**
 * The row counts /metrics reports (migration 10) stay equal to COUNT(*)
 * through every way rows come and go, and start right on an existing store.
 */
import { join } from "node:path";
import { assertEquals } from "../helpers/assert.ts";
import { aContact } from "../helpers/builders.ts";
import { countContacts, deleteContact, saveContact } from "../../src/contacts/contact_store.ts";
import { importContacts } from "../../src/contacts/import_contacts.ts";
import { countedRows } from "../../src/store/row_counts.ts";
import { openStore, type Store } from "../../src/store/open_store.ts";

async function counted(store: Store) {
  const real = async (table: string) =>
    Number((await store.reader.first(`SELECT COUNT(*) AS n FROM ${table}`))?.n);
  return {
    contacts: [await countContacts(store.reader), await real("contacts")],
    calls: [await countedRows(store.reader, "calls"), await real("calls")],
  };
}

function csv(rows: number, prefix: string): ReadableStream<Uint8Array> {
  const lines = ["external_id,first_name,work_phone"];
  for (let i = 0; i < rows; i++) {
    lines.push(`${prefix}${i},Name ${i},+1415555${String(i).padStart(4, "0")}`);
  }
  return ReadableStream.from([new TextEncoder().encode(lines.join("\n") + "\n")]);
}

const insertCall = (id: string) =>
  `INSERT INTO calls (id, order_received_ms, order_seq, data, first_seen_at, last_event_at, change_seq)
   VALUES ('${id}', 0, 0, '{}', 0, 0, (SELECT COALESCE(MAX(change_seq), 0) + 1 FROM calls))`;

Deno.test("row counts follow saves, upserts, deletes, imports and pruning", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-row-counts-" });
  const store = await openStore({ url: `file:${join(dir, "crm.db")}` });
  try {
    assertEquals(await counted(store), { contacts: [0, 0], calls: [0, 0] });
    await store.write(async (db) => {
      await saveContact(db, aContact({ external_id: "a", first_name: "A" }), 1);
      await saveContact(db, aContact({ external_id: "b", first_name: "B" }), 1);
      // An upsert of an existing contact changes no count.
      await saveContact(db, aContact({ external_id: "a", first_name: "A2" }), 2);
      await db.run(insertCall("call-1"));
      await db.run(insertCall("call-2"));
      await db.run("DELETE FROM calls WHERE id = 'call-1'");
    });
    assertEquals(await counted(store), { contacts: [2, 2], calls: [1, 1] });
    await store.write((db) => deleteContact(db, "b"));
    assertEquals((await counted(store)).contacts, [1, 1]);
    const options = { fileLabel: "c.csv", defaultRegion: "US" as const, now: () => 5 };
    await importContacts(store, csv(300, "i"), options);
    assertEquals((await counted(store)).contacts, [301, 301]);
    // A rolled-back (dry) run leaves the count as it was; pruning brings it down.
    await importContacts(store, csv(500, "d"), { ...options, dryRun: true });
    assertEquals((await counted(store)).contacts, [301, 301]);
    await importContacts(store, csv(100, "i"), { ...options, prune: true, forcePrune: true });
    assertEquals((await counted(store)).contacts, [100, 100]);
  } finally {
    store.close();
  }
});

Deno.test("migration 10 starts the counts at the rows an existing store holds", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-row-counts-" });
  const url = `file:${join(dir, "crm.db")}`;
  const store = await openStore({ url });
  try {
    await store.write(async (db) => {
      for (const id of ["x", "y", "z"]) {
        await saveContact(db, aContact({ external_id: id, first_name: id }), 1);
      }
      await db.run(insertCall("call-1"));
    });
    // Back to a version-9 store: no counts, no triggers.
    for (
      const sql of [
        "DROP TRIGGER contacts_counted_on_insert",
        "DROP TRIGGER contacts_counted_on_delete",
        "DROP TRIGGER calls_counted_on_insert",
        "DROP TRIGGER calls_counted_on_delete",
        "DROP TABLE row_counts",
        "PRAGMA user_version = 9",
      ]
    ) await store.client.execute(sql);
  } finally {
    store.close();
  }
  const migrated = await openStore({ url });
  try {
    assertEquals(await counted(migrated), { contacts: [3, 3], calls: [1, 1] });
  } finally {
    migrated.close();
  }
});
