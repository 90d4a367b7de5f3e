/** Contact search: by words of the name, email, external id, or any phone format. */
import { assertEquals } from "../helpers/assert.ts";
import { aContact } from "../helpers/builders.ts";
import { searchContacts } from "../../src/contacts/contact_search.ts";
import { saveContact } from "../../src/contacts/contact_store.ts";
import { openStore } from "../../src/store/open_store.ts";

Deno.test("search finds contacts across first and last name, emails, ids and phone formats", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-search-" });
  const store = await openStore({ url: `file:${dir}/crm.db` });
  try {
    await store.write(async (db) => {
      await saveContact(
        db,
        aContact({
          external_id: "c-1",
          first_name: "Ada",
          last_name: "Lovelace",
          work_email: "ada@example.com",
          work_phone: "+14155550134",
        }),
        1,
      );
      await saveContact(
        db,
        aContact({ external_id: "c-2", first_name: 'Jo "JJ"', last_name: "O'Brien" }),
        2,
      );
      await saveContact(
        db,
        aContact({ external_id: "c-3", first_name: "Alan", last_name: "Turing" }),
        3,
      );
    });
    const ids = async (q: string) =>
      (await searchContacts(store.reader, q, 10, "US")).map((c) => c.external_id);
    assertEquals(await ids("ada love"), ["c-1"], "words spanning first and last name");
    assertEquals(await ids("LOVELACE"), ["c-1"], "case-insensitive");
    assertEquals(await ids("EXAMPLE.COM"), ["c-1"]);
    assertEquals(await ids("c-3"), ["c-3"], "by external id");
    assertEquals(await ids("(415) 555-0134"), ["c-1"], "a formatted phone number");
    assertEquals(await ids('"JJ"'), ["c-2"], "a word with a quote still matches the name");
    assertEquals(await ids("o'brien"), ["c-2"]);
    assertEquals(await ids("a"), ["c-3", "c-1"], "most recently updated first");
    assertEquals(await ids("nobody"), []);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
