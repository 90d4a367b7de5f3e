import { assertEquals } from "../helpers/assert.ts";
import { CONTACT_FIELDS, emptyContact, toLookupBody } from "../../src/contacts/contact.ts";

Deno.test("lookup body has exactly the guide's fields in order, unknown ones as empty strings", () => {
  const contact = { ...emptyContact(), external_id: "12345", first_name: "Sally" };
  const body = toLookupBody(contact);
  assertEquals(Object.keys(body), [...CONTACT_FIELDS]);
  assertEquals(body.external_id, "12345");
  assertEquals(body.last_name, "");
  assertEquals("account" in body, false);
});

Deno.test("lookup body includes the account only when the contact has one", () => {
  const contact = {
    ...emptyContact(),
    external_id: "12345",
    first_name: "Sally",
    account_external_id: "9876",
    account_name: "Sample Company",
    account_industry: "Technology",
  };
  assertEquals(toLookupBody(contact).account, {
    external_id: "9876",
    name: "Sample Company",
    website_url: "",
    industry: "Technology",
  });
});
