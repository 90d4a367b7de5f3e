/**
 * The stored row form of a contact (a JSON array of its field values) and the
 * lookup body rebuilt from it without parsing: the two must never disagree.
 */
import { assertEquals } from "../helpers/assert.ts";
import { aContact } from "../helpers/builders.ts";
import {
  type Contact,
  contactFromStored,
  extraNumbersFromStored,
  lookupBodyFromStored,
  STORED_FIELDS,
  toLookupBody,
  toStoredFields,
} from "../../src/contacts/contact.ts";

// Values that could confuse a splitter: the separator itself, quotes,
// backslashes (also at the end of a value), control characters, non-ASCII.
const AWKWARD = [
  '","',
  '"',
  "\\",
  'a\\",\\"b',
  "end\\",
  "line\nbreak\ttab\u0001",
  "Zoë 😀 Łódź",
  "",
  "[]",
  '{"x":1}',
];

function contactWith(value: string, index: number, account: boolean): Contact {
  const contact: Record<string, string> = { ...aContact({ external_id: `C"${index}\\` }) };
  STORED_FIELDS.forEach((field, i) => contact[field] = i % 3 === index % 3 ? value : `v${i}`);
  if (!account) {
    for (const field of STORED_FIELDS) if (field.startsWith("account_")) contact[field] = "";
  }
  return contact as Contact;
}

Deno.test("the lookup body built from a stored row is exactly JSON.stringify(toLookupBody)", () => {
  AWKWARD.forEach((value, index) => {
    for (const account of [true, false]) {
      const contact = contactWith(value, index, account);
      const stored = toStoredFields(contact);
      assertEquals(
        lookupBodyFromStored(contact.external_id, stored),
        JSON.stringify(toLookupBody(contact)),
        `value ${JSON.stringify(value)}, account ${account}`,
      );
    }
  });
});

Deno.test("a stored row reads back into the same contact", () => {
  AWKWARD.forEach((value, index) => {
    const contact = contactWith(value, index, true);
    assertEquals(contactFromStored(contact.external_id, toStoredFields(contact)), contact);
  });
});

Deno.test("a stored row with SQLite's escaping or of another length still gives a valid body", () => {
  const contact = aContact({ external_id: "C1", first_name: "Tab\there", title: "Boss" });
  // SQLite's json_array writes control characters as \u00XX, not \t.
  const sqliteStyle = toStoredFields(contact).replace("\\t", "\\u0009");
  assertEquals(JSON.parse(lookupBodyFromStored("C1", sqliteStyle)), toLookupBody(contact));
  // A shorter array (written by an older or damaged row) falls back to parsing: missing is "".
  assertEquals(
    JSON.parse(lookupBodyFromStored("C1", JSON.stringify(["Sally"]))),
    toLookupBody(aContact({ external_id: "C1", first_name: "Sally" })),
  );
});

Deno.test("a row's extra indexed numbers are kept apart from the body and read back", () => {
  const contact = aContact({ external_id: "C1", work_phone: "+14155550101", title: '","' });
  const stored = toStoredFields(contact, ["+14155550199", "+442079460958"]);
  assertEquals(lookupBodyFromStored("C1", stored), JSON.stringify(toLookupBody(contact)));
  assertEquals(contactFromStored("C1", stored), contact);
  assertEquals(extraNumbersFromStored(stored), ["+14155550199", "+442079460958"]);
  assertEquals(extraNumbersFromStored(toStoredFields(contact)), []);
});
