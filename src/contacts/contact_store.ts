/**
 * Contacts in the store: the one place that knows the `contacts` and
 * `contact_phones` tables. Every function takes the executor first, so the
 * same code runs on the prepared local driver, the client, or a transaction.
 */
import type { SqlExecutor, SqlRow } from "../store/sql.ts";
import { text } from "../store/sql.ts";
import { type Contact, contactFromLookupJson, PHONE_FIELDS, toLookupBody } from "./contact.ts";

/** The owner of a number: the most recently updated contact, ties broken by external_id. */
const byPhone = (columns: string) =>
  `SELECT ${columns} FROM contact_phones p JOIN contacts c ON c.external_id = p.external_id
  WHERE p.e164 = ? ORDER BY c.updated_at DESC, c.external_id DESC LIMIT 1`;
const LOOKUP_BODY_BY_PHONE_SQL = byPhone("c.lookup_json");
const GET_SQL = "SELECT lookup_json, updated_at FROM contacts WHERE external_id = ?";
const GET_HASH_SQL = "SELECT content_hash FROM contacts WHERE external_id = ?";
const INSERT_SQL = `INSERT INTO contacts (external_id, lookup_json, content_hash, updated_at)
  VALUES (?, ?, ?, ?) ON CONFLICT (external_id) DO NOTHING`;
const UPDATE_SQL =
  "UPDATE contacts SET lookup_json = ?, content_hash = ?, updated_at = ? WHERE external_id = ?";
const DELETE_PHONES_SQL = "DELETE FROM contact_phones WHERE external_id = ?";
// One statement per count of numbers (1–4): a contact's index rows in one step.
const INSERT_PHONES_SQL = [1, 2, 3, 4].map((n) =>
  `INSERT OR IGNORE INTO contact_phones (e164, external_id) VALUES ${
    Array(n).fill("(?, ?)").join(", ")
  }`
);

/** What saving a contact did. */
export type SaveOutcome = "inserted" | "updated" | "unchanged";

/** Reads a stored row (its `lookup_json` column) into a contact. */
export function contactFromRow(row: SqlRow): Contact {
  return contactFromLookupJson(text(row, "lookup_json"));
}

/**
 * The contact that owns `e164`: the most recently updated one when several share
 * it (ties broken by external_id, so the answer is deterministic).
 */
export async function findContactByPhone(
  db: SqlExecutor,
  e164: string,
): Promise<Contact | undefined> {
  const body = await findLookupBody(db, e164);
  return body === undefined ? undefined : contactFromLookupJson(body);
}

/**
 * The lookup body (the guide's JSON, serialized when the contact was saved) of
 * the contact that owns `e164`, by the same rule as `findContactByPhone`.
 */
export async function findLookupBody(db: SqlExecutor, e164: string): Promise<string | undefined> {
  const row = await db.first(LOOKUP_BODY_BY_PHONE_SQL, [e164]);
  return row ? text(row, "lookup_json") : undefined;
}

/** The contact with this external id, with its last update time (epoch ms). */
export async function getContact(
  db: SqlExecutor,
  externalId: string,
): Promise<{ contact: Contact; updatedAt: number } | undefined> {
  const row = await db.first(GET_SQL, [externalId]);
  return row ? { contact: contactFromRow(row), updatedAt: Number(row.updated_at) } : undefined;
}

/** The distinct E.164 numbers of a contact (its phone index rows). */
export function contactNumbers(contact: Contact): string[] {
  const numbers = new Set<string>();
  for (const field of PHONE_FIELDS) if (contact[field] !== "") numbers.add(contact[field]);
  return [...numbers];
}

/** A contact ready to store: its lookup body, the body's hash, and its numbers. */
export interface SerializedContact {
  readonly externalId: string;
  readonly body: string;
  readonly hash: string;
  readonly numbers: readonly string[];
}

/**
 * Serializes a contact for the store (pure; the import does it on its worker
 * thread, so the writing thread only runs SQL). `extraNumbers` are indexed for
 * lookup too (a cell that held several numbers) and count in the hash, so a
 * change to them alone is an update.
 */
export function serializeContact(
  contact: Contact,
  extraNumbers: readonly string[] = [],
): SerializedContact {
  const body = JSON.stringify(toLookupBody(contact));
  const numbers = contactNumbers(contact);
  for (const e164 of extraNumbers) if (!numbers.includes(e164)) numbers.push(e164);
  return {
    externalId: contact.external_id,
    body,
    hash: contentHash(extraNumbers.length === 0 ? body : `${body}\n${extraNumbers.join(" ")}`),
    numbers,
  };
}

/**
 * Inserts or updates a contact by `external_id` and keeps its phone index rows
 * in step. A contact whose content did not change is left untouched (its
 * `updated_at` too), so re-importing the same export changes nothing.
 */
export function saveContact(db: SqlExecutor, contact: Contact, now: number): Promise<SaveOutcome> {
  return saveSerializedContact(db, serializeContact(contact), now);
}

/** `saveContact` for a contact already serialized. */
export async function saveSerializedContact(
  db: SqlExecutor,
  contact: SerializedContact,
  now: number,
): Promise<SaveOutcome> {
  const { externalId, body, hash, numbers } = contact;
  // Insert first: a new contact (the common case of an import) costs one statement.
  const { changes } = await db.run(INSERT_SQL, [externalId, body, hash, now]);
  if (changes === 0) {
    const existing = await db.first(GET_HASH_SQL, [externalId]);
    if (existing && text(existing, "content_hash") === hash) return "unchanged";
    await db.run(UPDATE_SQL, [body, hash, now, externalId]);
    await db.run(DELETE_PHONES_SQL, [externalId]);
  }
  const insertPhones = INSERT_PHONES_SQL[numbers.length - 1];
  if (insertPhones) {
    await db.run(insertPhones, numbers.flatMap((e164) => [e164, externalId]));
  } else {
    // A contact's extra numbers can make more than four: index rows four at a time.
    for (let i = 0; i < numbers.length; i += 4) {
      const batch = numbers.slice(i, i + 4);
      const insertBatch = INSERT_PHONES_SQL[batch.length - 1];
      if (insertBatch) await db.run(insertBatch, batch.flatMap((e164) => [e164, externalId]));
    }
  }
  return changes === 0 ? "updated" : "inserted";
}

/**
 * Deletes a contact and its phone index rows. Its calls stay, without the link.
 * Returns false when there was no such contact.
 */
export async function deleteContact(db: SqlExecutor, externalId: string): Promise<boolean> {
  await db.run(DELETE_PHONES_SQL, [externalId]);
  await db.run("UPDATE calls SET contact_external_id = NULL WHERE contact_external_id = ?", [
    externalId,
  ]);
  const { changes } = await db.run("DELETE FROM contacts WHERE external_id = ?", [externalId]);
  return changes > 0;
}

/** Number of stored contacts. */
export async function countContacts(db: SqlExecutor): Promise<number> {
  const row = await db.first("SELECT COUNT(*) AS n FROM contacts");
  return row ? Number(row.n) : 0;
}

/**
 * A fast 53-bit hash (cyrb53) of a contact's serialized lookup body, which
 * holds every stored field: used only to tell "unchanged" from "updated", not a
 * security boundary.
 */
export function contentHash(body: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < body.length; i++) {
    const code = body.charCodeAt(i);
    h1 = Math.imul(h1 ^ code, 2654435761);
    h2 = Math.imul(h2 ^ code, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}
