/**
 * Contact search by name, email, external id or any phone format, shared by
 * the admin API and the console. A query with six or more digits is tried as a
 * phone number (every way it could be read), else as words in the name/email.
 */
import type { CountryCode } from "libphonenumber-js";
import type { SqlExecutor } from "../store/sql.ts";
import { type LookupBody, toLookupBody } from "./contact.ts";
import { contactFromRow } from "./contact_store.ts";
import { lookupCandidates } from "./phone.ts";

/** Up to `limit` contacts matching `q`, most recently updated first. */
export async function searchContacts(
  db: SqlExecutor,
  q: string,
  limit: number,
  defaultRegion: CountryCode | undefined,
): Promise<LookupBody[]> {
  const digits = q.replace(/\D/g, "");
  const numbers = digits.length >= 6 ? lookupCandidates(q, defaultRegion) : [];
  if (numbers.length > 0) {
    const rows = await db.all(
      `SELECT c.lookup_json FROM contact_phones p
       JOIN contacts c ON c.external_id = p.external_id
       WHERE p.e164 IN (${numbers.map(() => "?").join(", ")})
       ORDER BY c.updated_at DESC, c.external_id DESC LIMIT ?`,
      [...numbers, limit],
    );
    return rows.map((row) => toLookupBody(contactFromRow(row)));
  }
  const pattern = `%${q.toLowerCase().replace(/[\\%_]/g, (c) => "\\" + c)}%`;
  const field = (name: string) => `lower(json_extract(lookup_json, '$.${name}'))`;
  const rows = await db.all(
    `SELECT lookup_json FROM contacts
     WHERE ${field("first_name")} || ' ' || ${field("last_name")} LIKE ?1 ESCAPE '\\'
        OR ${field("work_email")} LIKE ?1 ESCAPE '\\' OR ${
      field("personal_email")
    } LIKE ?1 ESCAPE '\\'
        OR external_id = ?2
     ORDER BY updated_at DESC, external_id DESC LIMIT ?3`,
    [pattern, q, limit],
  );
  return rows.map((row) => toLookupBody(contactFromRow(row)));
}
