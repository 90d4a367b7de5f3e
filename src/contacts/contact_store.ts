/**
 * Contacts in the store: the one place that knows the `contacts` and
 * `contact_phones` tables. Every function takes the executor first, so the
 * same code runs on the prepared local driver, the client, or a transaction.
 */
import type { PreparedDriver, SqlExecutor, SqlRow } from "../store/sql.ts";
import { countedRows } from "../store/row_counts.ts";
import { text } from "../store/sql.ts";
import {
  type Contact,
  contactFromStored,
  extraNumbersFromStored,
  lookupBodyFromStored,
  PHONE_FIELDS,
  STORED_FIELDS,
  toStoredFields,
} from "./contact.ts";

/**
 * The columns a contact is read from (its key and its fields array, see
 * `STORED_FIELDS`), for `SELECT ${CONTACT_COLUMNS} FROM contacts c`; read the
 * row with {@link contactFromRow}.
 */
export const CONTACT_COLUMNS = "c.fields, c.external_id";

/**
 * SQL for one stored field of `contacts` (aliased `c`): `json_extract` of its
 * place in the fields array (for searches and sorts in SQL).
 */
export function contactFieldSql(field: typeof STORED_FIELDS[number]): string {
  return `json_extract(c.fields, '$[${STORED_FIELDS.indexOf(field)}]')`;
}

/** The owner of a number: the most recently updated contact, ties broken by external_id. */
const byPhone = (columns: string) =>
  `SELECT ${columns} FROM contact_phones p JOIN contacts c ON c.external_id = p.external_id
  WHERE p.e164 = ? ORDER BY c.updated_at DESC, c.external_id DESC LIMIT 1`;
/**
 * The lookup's one read: the stored row of the contact that owns a number
 * (fields array, then key). Exported so the benchmark's read-ceiling baseline
 * runs exactly it.
 */
export const LOOKUP_BY_PHONE_SQL = byPhone(CONTACT_COLUMNS);
const GET_SQL = `SELECT ${CONTACT_COLUMNS}, c.updated_at FROM contacts c WHERE c.external_id = ?`;
const GET_FIELDS_SQL = "SELECT fields FROM contacts WHERE external_id = ?";
const INSERT_SQL = `INSERT INTO contacts (external_id, fields, updated_at)
  VALUES (?, ?, ?) ON CONFLICT (external_id) DO NOTHING`;
const UPDATE_SQL = "UPDATE contacts SET fields = ?, updated_at = ? WHERE external_id = ?";
// contact_phones has one index, (e164, external_id): a contact's rows are
// found from the numbers its stored row holds, not through a second index on
// external_id (which cost the 1M store ~100 MB, issue 15).
const DELETE_PHONE_SQL = "DELETE FROM contact_phones WHERE e164 = ? AND external_id = ?";
// One statement per count of numbers: a contact's index rows in one step.
const insertPhonesSql = (n: number) =>
  `INSERT OR IGNORE INTO contact_phones (e164, external_id) VALUES ${
    Array(n).fill("(?, ?)").join(", ")
  }`;
const INSERT_PHONES_SQL = [1, 2, 3, 4].map(insertPhonesSql);

/** What saving a contact did. */
export type SaveOutcome = "inserted" | "updated" | "unchanged";

/** Reads a stored row (its `fields` and `external_id` columns) into a contact. */
export function contactFromRow(row: SqlRow): Contact {
  return contactFromStored(text(row, "external_id"), text(row, "fields"));
}

/**
 * The contact that owns `e164`: the most recently updated one when several share
 * it (ties broken by external_id, so the answer is deterministic).
 */
export async function findContactByPhone(
  db: SqlExecutor,
  e164: string,
): Promise<Contact | undefined> {
  const row = await db.first(LOOKUP_BY_PHONE_SQL, [e164]);
  return row ? contactFromRow(row) : undefined;
}

/**
 * The lookup body (the guide's JSON, `toLookupBody`'s shape) of the contact
 * that owns `e164`, by the same rule as `findContactByPhone`.
 */
export async function findLookupBody(db: SqlExecutor, e164: string): Promise<string | undefined> {
  const row = await db.first(LOOKUP_BY_PHONE_SQL, [e164]);
  return row ? lookupBodyFromStored(text(row, "external_id"), text(row, "fields")) : undefined;
}

/**
 * `findLookupBody` as a synchronous function over a local driver connection
 * (the statement prepared once): the lookup's hot path on a `file:` store.
 */
export function lookupBodyReader(driver: PreparedDriver): (e164: string) => string | undefined {
  const { statement } = driver.query(LOOKUP_BY_PHONE_SQL);
  return (e164) => {
    const row = statement.get(e164) as unknown[] | undefined;
    return row === undefined ? undefined : lookupBodyFromStored(String(row[1]), String(row[0]));
  };
}

/** The contact with this external id, with its last update time (epoch ms). */
export async function getContact(
  db: SqlExecutor,
  externalId: string,
): Promise<{ contact: Contact; updatedAt: number; extraNumbers: string[] } | undefined> {
  const row = await db.first(GET_SQL, [externalId]);
  return row
    ? {
      contact: contactFromRow(row),
      updatedAt: Number(row.updated_at),
      extraNumbers: extraNumbersFromStored(text(row, "fields")),
    }
    : undefined;
}

/**
 * The distinct E.164 numbers of a contact's phone fields. A stored contact's
 * index rows are exactly these plus the extra numbers its row names
 * (`toStoredFields`): that is how an update or a delete finds them.
 */
export function contactNumbers(contact: Contact): string[] {
  // A plain array, not a Set: at most four numbers, and the import's worker calls this per row.
  const numbers: string[] = [];
  for (const field of PHONE_FIELDS) {
    const e164 = contact[field];
    if (e164 !== "" && !numbers.includes(e164)) numbers.push(e164);
  }
  return numbers;
}

/** A contact ready to store: its key, its stored fields array, and its numbers. */
export interface SerializedContact {
  readonly externalId: string;
  /** The row form (`toStoredFields`); two contacts are the same when these are equal. */
  readonly fields: string;
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
  const numbers = contactNumbers(contact);
  const extra: string[] = [];
  for (const e164 of extraNumbers) {
    if (e164 !== "" && !numbers.includes(e164)) {
      numbers.push(e164);
      extra.push(e164);
    }
  }
  return { externalId: contact.external_id, fields: toStoredFields(contact, extra), numbers };
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
  const { externalId, fields, numbers } = contact;
  // Insert first: a new contact (the common case of an import) costs one statement.
  const { changes } = await db.run(INSERT_SQL, [externalId, fields, now]);
  if (changes === 0) {
    const existing = await db.first(GET_FIELDS_SQL, [externalId]);
    const before = text(existing ?? {}, "fields");
    if (before === fields) return "unchanged";
    await db.run(UPDATE_SQL, [fields, now, externalId]);
    await deletePhones(db, externalId, before);
  }
  await insertPhones(db, externalId, numbers);
  return changes === 0 ? "updated" : "inserted";
}

async function insertPhones(db: SqlExecutor, externalId: string, numbers: readonly string[]) {
  if (numbers.length === 0) return;
  const sql = INSERT_PHONES_SQL[numbers.length - 1] ?? insertPhonesSql(numbers.length);
  await db.run(sql, numbers.flatMap((e164) => [e164, externalId]));
}

/** Deletes the phone index rows of the contact whose stored fields were `fields`. */
async function deletePhones(db: SqlExecutor, externalId: string, fields: string) {
  const numbers = [
    ...contactNumbers(contactFromStored(externalId, fields)),
    ...extraNumbersFromStored(fields),
  ];
  for (const e164 of numbers) await db.run(DELETE_PHONE_SQL, [e164, externalId]);
}

/**
 * Deletes a contact and its phone index rows. Its calls stay, without the link.
 * Returns false when there was no such contact.
 */
export async function deleteContact(db: SqlExecutor, externalId: string): Promise<boolean> {
  const existing = await db.first(GET_FIELDS_SQL, [externalId]);
  if (existing) await deletePhones(db, externalId, text(existing, "fields"));
  await db.run("UPDATE calls SET contact_external_id = NULL WHERE contact_external_id = ?", [
    externalId,
  ]);
  const { changes } = await db.run("DELETE FROM contacts WHERE external_id = ?", [externalId]);
  return changes > 0;
}

/** Number of stored contacts. */
export async function countContacts(db: SqlExecutor): Promise<number> {
  return await countedRows(db, "contacts");
}
