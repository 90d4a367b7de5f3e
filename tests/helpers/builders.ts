/** Small builders for test rows. */
import { type Contact, emptyContact } from "../../src/contacts/contact.ts";

/** A contact with sensible defaults; override any field. */
export function aContact(overrides: Partial<Contact> & { external_id: string }): Contact {
  return { ...emptyContact(), first_name: "Test", ...overrides };
}
