/**
 * Migration 6 (issue 15): a store whose contacts hold the lookup body
 * (version 1's form) is converted to the compact row form; lookups answer the
 * same bodies, the phone index by contact is gone, and updates and deletes
 * still keep the phone index in step.
 */
import { createClient } from "@libsql/client";
import { assert, assertEquals } from "../helpers/assert.ts";
import { aContact } from "../helpers/builders.ts";
import { type Contact, toLookupBody } from "../../src/contacts/contact.ts";
import {
  countContacts,
  deleteContact,
  findLookupBody,
  getContact,
  saveContact,
  saveSerializedContact,
  serializeContact,
} from "../../src/contacts/contact_store.ts";
import { MIGRATIONS } from "../../src/store/migrations.ts";
import { openStore } from "../../src/store/open_store.ts";

const CONTACTS: Contact[] = [
  aContact({
    external_id: "c-1",
    first_name: 'Zoë "Z"',
    last_name: "O'Brien, Jr.\\",
    work_phone: "+14155550101",
    mobile_phone: "+14155550102",
    title: "line\nbreak",
    account_external_id: "a-1",
    account_name: "Acme",
  }),
  aContact({ external_id: "c-2", first_name: "Sam", home_phone: "+442079460958" }),
];

/** Writes a store at schema version 1 with contacts in version 1's form. */
async function versionOneStore(path: string): Promise<void> {
  const client = createClient({ url: `file:${path}` });
  try {
    const v1 = MIGRATIONS.find((m) => m.version === 1);
    assert(v1 !== undefined);
    await client.batch([...v1.statements, "PRAGMA user_version = 1"], "write");
    for (const contact of CONTACTS) {
      await client.execute({
        sql: "INSERT INTO contacts (external_id, lookup_json, content_hash, updated_at) " +
          "VALUES (?, ?, 'h', 1000)",
        args: [contact.external_id, JSON.stringify(toLookupBody(contact))],
      });
      for (const field of ["work_phone", "mobile_phone", "home_phone", "other_phone"] as const) {
        if (contact[field] === "") continue;
        await client.execute({
          sql: "INSERT INTO contact_phones (e164, external_id) VALUES (?, ?)",
          args: [contact[field], contact.external_id],
        });
      }
    }
  } finally {
    client.close();
  }
}

Deno.test("migration 6 converts version-1 contacts; lookups answer the same bodies", async () => {
  const dir = await Deno.makeTempDir({ prefix: "migration6_test_" });
  try {
    await versionOneStore(`${dir}/crm.db`);
    const store = await openStore({ url: `file:${dir}/crm.db` });
    try {
      assertEquals(await countContacts(store.reader), 2);
      for (const contact of CONTACTS) {
        const e164 = contact.work_phone || contact.home_phone;
        assertEquals(
          await findLookupBody(store.reader, e164),
          JSON.stringify(toLookupBody(contact)),
        );
        assertEquals((await getContact(store.reader, contact.external_id))?.contact, contact);
        assertEquals((await getContact(store.reader, contact.external_id))?.updatedAt, 1000);
      }
      const indexes = await store.reader.all(
        "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name IN ('contacts', 'contact_phones')",
      );
      assertEquals(indexes.map((row) => row.name), []);
      const columns = await store.reader.all("SELECT name FROM pragma_table_info('contacts')");
      assertEquals(columns.map((row) => row.name), ["external_id", "fields", "updated_at"]);

      // Re-saving the same contact changes nothing; a changed number moves its index row.
      assertEquals(await saveContact(store.reader, CONTACTS[1]!, 2000), "unchanged");
    } finally {
      store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an update or delete removes exactly the contact's own phone index rows", async () => {
  const store = await openStore({ url: "file::memory:" });
  try {
    const db = store.reader;
    const first = aContact({
      external_id: "c-1",
      work_phone: "+14155550101",
      mobile_phone: "+14155550102",
    });
    const other = aContact({ external_id: "c-2", work_phone: "+14155550102" });
    assertEquals(await saveContact(db, first, 1), "inserted");
    assertEquals(await saveContact(db, other, 2), "inserted");
    assertEquals(await saveContact(db, first, 3), "unchanged");
    assertEquals(await saveContact(db, { ...first, mobile_phone: "+14155550103" }, 4), "updated");
    const rows = async () =>
      (await db.all("SELECT e164, external_id FROM contact_phones ORDER BY 1, 2")).map((r) =>
        `${r.e164} ${r.external_id}`
      );
    assertEquals(await rows(), [
      "+14155550101 c-1",
      "+14155550102 c-2",
      "+14155550103 c-1",
    ]);
    assertEquals(await deleteContact(db, "c-1"), true);
    assertEquals(await rows(), ["+14155550102 c-2"]);
    assertEquals(await findLookupBody(db, "+14155550101"), undefined);
    assertEquals(await deleteContact(db, "c-1"), false);
  } finally {
    store.close();
  }
});

Deno.test("a contact's extra numbers are indexed, and dropped with it or when they change", async () => {
  const store = await openStore({ url: "file::memory:" });
  try {
    const db = store.reader;
    const contact = aContact({ external_id: "c-1", work_phone: "+14155550101" });
    const rows = async () =>
      (await db.all("SELECT e164 FROM contact_phones ORDER BY 1")).map((r) => r.e164);
    const save = (extra: string[], now: number) =>
      saveSerializedContact(db, serializeContact(contact, extra), now);
    assertEquals(await save(["+14155550102", "+14155550103"], 1), "inserted");
    assertEquals(await rows(), ["+14155550101", "+14155550102", "+14155550103"]);
    assertEquals(
      await findLookupBody(db, "+14155550103"),
      JSON.stringify(toLookupBody(contact)),
    );
    assertEquals(await save(["+14155550102", "+14155550103"], 2), "unchanged");
    assertEquals(await save(["+14155550104"], 3), "updated");
    assertEquals(await rows(), ["+14155550101", "+14155550104"]);
    assertEquals(await deleteContact(db, "c-1"), true);
    assertEquals(await rows(), []);
  } finally {
    store.close();
  }
});
