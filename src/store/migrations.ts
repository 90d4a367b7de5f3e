/**
 * Versioned schema migrations. Each migration runs once, in order, inside one
 * transaction together with the bump of `PRAGMA user_version`, so a crash never
 * leaves the schema half-applied.
 */
import type { Client } from "@libsql/client";

/** One schema step: the statements that take the store from `version - 1` to `version`. */
export interface Migration {
  readonly version: number;
  readonly statements: readonly string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    statements: [
      // A contact is stored as the lookup's answer, serialized once at write time
      // (the hot path reads one column and sends it as is); it holds every field.
      `CREATE TABLE contacts (
        external_id TEXT PRIMARY KEY,
        lookup_json TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      )`,
      // One row per (number, contact): a lookup is one primary-key range probe.
      `CREATE TABLE contact_phones (
        e164 TEXT NOT NULL,
        external_id TEXT NOT NULL,
        PRIMARY KEY (e164, external_id)
      ) WITHOUT ROWID`,
      `CREATE INDEX contact_phones_by_contact ON contact_phones (external_id)`,
      `CREATE TABLE calls (
        id TEXT PRIMARY KEY,
        contact_external_id TEXT,
        prospect_id TEXT,
        user_id TEXT,
        direction TEXT,
        state TEXT,
        disposition TEXT,
        from_number TEXT,
        to_number TEXT,
        started_at TEXT,
        order_updated_ms INTEGER,
        order_created_ms INTEGER,
        order_received_ms INTEGER NOT NULL,
        order_seq INTEGER NOT NULL,
        data TEXT NOT NULL,
        first_seen_at INTEGER NOT NULL,
        last_event_at INTEGER NOT NULL,
        change_seq INTEGER NOT NULL
      )`,
      `CREATE INDEX calls_by_contact ON calls (contact_external_id)`,
      `CREATE INDEX calls_by_user ON calls (user_id)`,
      `CREATE UNIQUE INDEX calls_by_change ON calls (change_seq)`,
      `CREATE TABLE events (
        event_key TEXT PRIMARY KEY,
        event_id TEXT,
        event_type TEXT,
        object TEXT,
        call_id TEXT,
        prospect_id TEXT,
        audit_seq INTEGER,
        received_at INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        body TEXT NOT NULL
      )`,
      `CREATE INDEX events_by_call ON events (call_id, received_at)`,
      `CREATE TABLE prospects (
        id TEXT PRIMARY KEY,
        external_id TEXT,
        data TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      )`,
      `CREATE INDEX prospects_by_external_id ON prospects (external_id)`,
    ],
  },
  {
    version: 2,
    statements: [
      // Where each audit folder's applier stands (DESIGN §5.2): written in the
      // same transaction as the events it applied, so after any crash the store
      // says exactly which audit line comes next. One row per audit folder, so
      // several instances can share a remote store.
      `CREATE TABLE applier_positions (
        instance TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        applied_at INTEGER NOT NULL
      )`,
    ],
  },
  {
    version: 3,
    statements: [
      // The body hash tells an exact re-delivery from a reused event id; flags
      // (a JSON array, NULL when none) mark id conflicts and far-future timestamps.
      `ALTER TABLE events ADD COLUMN body_sha256 TEXT`,
      `ALTER TABLE events ADD COLUMN flags TEXT`,
    ],
  },
  {
    version: 9,
    statements: [
      // One copy of each raw body (issue 15): rows applied from an audit line
      // keep body = "" and name the audit folder (instance) whose line
      // `audit_seq` holds it; body_bytes keeps the history's size decisions
      // without the body. Older rows keep their body: where their line is (if
      // it still is) was never recorded, and rewriting them would copy the
      // whole table in one transaction. No table rebuild: `body` stays NOT NULL.
      `ALTER TABLE events ADD COLUMN body_bytes INTEGER`,
      `ALTER TABLE events ADD COLUMN audit_instance TEXT`,
    ],
  },
];

/**
 * Applies every migration newer than the store's `user_version`.
 * Returns the version the store is at afterwards.
 */
export async function migrate(client: Client): Promise<number> {
  const current = Number((await client.execute("PRAGMA user_version")).rows[0]?.[0] ?? 0);
  const latest = MIGRATIONS.at(-1)?.version ?? 0;
  if (current > latest) {
    throw new Error(
      `The store is at schema version ${current}, newer than this build knows (${latest}). ` +
        "Run a newer symbo-crm, or restore a backup made by this version.",
    );
  }
  for (const migration of MIGRATIONS) {
    if (migration.version <= current) continue;
    await client.batch(
      [...migration.statements, `PRAGMA user_version = ${migration.version}`],
      "write",
    );
  }
  return Math.max(current, latest);
}
