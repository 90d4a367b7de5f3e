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
  /**
   * Run `VACUUM` after it (outside its transaction): for a migration that
   * frees much space, so the file shrinks instead of keeping free pages.
   */
  readonly vacuum?: boolean;
}

// Where migration 6 finds each stored field (contacts/contact.ts STORED_FIELDS)
// in a version-1 row's lookup body. Spelled out, not derived: a migration must
// not change when the code does.
const V1_BODY_PATHS = [
  "$.first_name",
  "$.last_name",
  "$.work_email",
  "$.personal_email",
  "$.work_phone",
  "$.mobile_phone",
  "$.home_phone",
  "$.other_phone",
  "$.address_city",
  "$.address_country",
  "$.address_state",
  "$.address_street",
  "$.address_street_2",
  "$.address_zip",
  "$.linkedin_url",
  "$.facebook_url",
  "$.personal_note_1",
  "$.time_zone",
  "$.title",
  "$.website_url_1",
  "$.account.external_id",
  "$.account.name",
  "$.account.website_url",
  "$.account.industry",
];

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
    // The operator console (issue 11): dialed numbers no contact has, hourly
    // activity counters for its charts, and the indexes its pages sort by.
    version: 5,
    statements: [
      `CREATE TABLE IF NOT EXISTS unknown_numbers (
        number TEXT PRIMARY KEY,
        count INTEGER NOT NULL,
        first_seen_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL
      ) WITHOUT ROWID`,
      `CREATE INDEX IF NOT EXISTS unknown_numbers_by_last_seen ON unknown_numbers (last_seen_at)`,
      `CREATE TABLE IF NOT EXISTS hourly_counters (
        hour INTEGER NOT NULL,
        name TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (hour, name)
      ) WITHOUT ROWID`,
      // Newest-first pages of calls, and (covering) the overview's calls per day by disposition.
      `CREATE INDEX IF NOT EXISTS calls_by_first_seen ON calls (first_seen_at, id, disposition)`,
      `CREATE INDEX IF NOT EXISTS events_by_received ON events (received_at)`,
    ],
  },
  {
    // Contacts smaller (issue 15): a row keeps its fields as a JSON array of
    // values in STORED_FIELDS order (contacts/contact.ts), not the lookup body
    // with its 25 key names; the key is the table's only index (WITHOUT ROWID);
    // the phone index by contact goes (updates and deletes find a contact's
    // index rows from the numbers its row holds); the content hash goes (the
    // fields text itself is compared).
    version: 6,
    vacuum: true,
    statements: [
      `CREATE TABLE contacts_v6 (
        external_id TEXT PRIMARY KEY,
        fields TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      ) WITHOUT ROWID`,
      `INSERT INTO contacts_v6 (external_id, fields, updated_at)
        SELECT external_id, json_array(${
        V1_BODY_PATHS.map((path) =>
          `coalesce(CAST(json_extract(lookup_json, '${path}') AS TEXT), '')`
        ).join(", ")
      }), updated_at FROM contacts`,
      `DROP TABLE contacts`,
      `ALTER TABLE contacts_v6 RENAME TO contacts`,
      `DROP INDEX IF EXISTS contact_phones_by_contact`,
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
  {
    version: 10,
    statements: [
      // The row counts /metrics reports, kept by triggers (issue 12): a
      // COUNT(*) over a million contacts read every leaf page on the thread
      // that answers lookups (90–370 ms during an import). Every writer keeps
      // them, the CLI import and the admin API alike. Rows are only ever
      // inserted and deleted plainly (no REPLACE, whose implicit delete fires
      // no trigger); an upsert's update leaves the count alone.
      `CREATE TABLE row_counts (name TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID`,
      `INSERT INTO row_counts (name, n) SELECT 'contacts', COUNT(*) FROM contacts`,
      `INSERT INTO row_counts (name, n) SELECT 'calls', COUNT(*) FROM calls`,
      ...["contacts", "calls"].flatMap((table) => [
        `CREATE TRIGGER ${table}_counted_on_insert AFTER INSERT ON ${table}
         BEGIN UPDATE row_counts SET n = n + 1 WHERE name = '${table}'; END`,
        `CREATE TRIGGER ${table}_counted_on_delete AFTER DELETE ON ${table}
         BEGIN UPDATE row_counts SET n = n - 1 WHERE name = '${table}'; END`,
      ]),
    ],
  },
  {
    version: 11,
    statements: [
      // Scheduled contact sources (issue 19). source_state: one row per source,
      // its schedule slot and lease (several instances on one store run each
      // period once), and what the last good fetch saw (ETag, Last-Modified,
      // content hash). source_runs: one row per run (a drop folder: per file).
      `CREATE TABLE IF NOT EXISTS source_state (
        source TEXT PRIMARY KEY,
        next_due_ms INTEGER NOT NULL DEFAULT 0,
        lease_holder TEXT,
        lease_until_ms INTEGER NOT NULL DEFAULT 0,
        etag TEXT,
        last_modified TEXT,
        content_sha256 TEXT,
        last_success_ms INTEGER,
        consecutive_failures INTEGER NOT NULL DEFAULT 0
      ) WITHOUT ROWID`,
      `CREATE TABLE IF NOT EXISTS source_runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        source TEXT NOT NULL,
        trigger TEXT NOT NULL,
        instance TEXT NOT NULL,
        started_ms INTEGER NOT NULL,
        finished_ms INTEGER,
        outcome TEXT NOT NULL,
        file TEXT,
        content_sha256 TEXT,
        bytes INTEGER,
        rows INTEGER,
        inserted INTEGER,
        updated INTEGER,
        unchanged INTEGER,
        rejected INTEGER,
        pruned INTEGER,
        message TEXT
      )`,
      `CREATE INDEX IF NOT EXISTS source_runs_by_source ON source_runs (source, id)`,
    ],
  },
  {
    version: 12,
    statements: [
      // Outbound deliveries (issue 23, DESIGN §11). Endpoints hold their own
      // secret (and the previous one during a rotation's grace period).
      `CREATE TABLE IF NOT EXISTS outbound_endpoints (
        id TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        types TEXT NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 1,
        secret TEXT NOT NULL,
        previous_secret TEXT,
        previous_secret_until INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        disabled_reason TEXT,
        failing_since INTEGER,
        last_success_at INTEGER,
        last_error TEXT,
        last_error_at INTEGER
      )`,
      // The outbox: written in the applier's transaction, one open message per
      // endpoint and subject (a call, or a dialed number), coalesced by the
      // next change. A message is claimed with a lease before it is sent.
      // Every insert is on the webhook's path, so two indexes only (and no
      // rowid): next_attempt_at is when a pending message is due and when a
      // finished one finished, so one index serves claims, lists by status and
      // retention.
      `CREATE TABLE IF NOT EXISTS outbound_messages (
        id TEXT PRIMARY KEY,
        endpoint_id TEXT NOT NULL,
        subject TEXT NOT NULL,
        call_id TEXT,
        type TEXT NOT NULL,
        revision INTEGER NOT NULL,
        payload TEXT,
        status TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT,
        lease_until INTEGER,
        last_error TEXT
      ) WITHOUT ROWID`,
      `CREATE INDEX IF NOT EXISTS outbound_messages_open ON outbound_messages (endpoint_id, subject, status)`,
      `CREATE INDEX IF NOT EXISTS outbound_messages_due ON outbound_messages (endpoint_id, status, next_attempt_at)`,
      `CREATE TABLE IF NOT EXISTS outbound_attempts (
        id INTEGER PRIMARY KEY,
        message_id TEXT NOT NULL,
        endpoint_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        status_code INTEGER,
        latency_ms INTEGER NOT NULL,
        response TEXT,
        error TEXT
      )`,
      `CREATE INDEX IF NOT EXISTS outbound_attempts_by_message ON outbound_attempts (message_id, at)`,
      `CREATE INDEX IF NOT EXISTS outbound_attempts_by_endpoint ON outbound_attempts (endpoint_id, at)`,
    ],
  },
  {
    version: 13,
    statements: [
      // The console's answers (issue 21): recent rejected webhooks (time, reason,
      // size, source; never a body), bounded by their writer; the names the
      // operator gives Symbo's user ids; the console's settings (display time zone).
      `CREATE TABLE IF NOT EXISTS webhook_rejections (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        reason TEXT NOT NULL,
        bytes INTEGER,
        source TEXT
      )`,
      `CREATE TABLE IF NOT EXISTS rep_names (user_id TEXT PRIMARY KEY, name TEXT NOT NULL) WITHOUT ROWID`,
      `CREATE TABLE IF NOT EXISTS console_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID`,
    ],
  },
  {
    version: 14,
    statements: [
      // Import history (issue 21): each import job's summary as JSON (state,
      // counts, options, times, warnings), bounded to the newest 100 by its writer,
      // so the console's list of imports survives a restart.
      `CREATE TABLE IF NOT EXISTS import_history (
        id TEXT PRIMARY KEY,
        started_at TEXT NOT NULL,
        state TEXT NOT NULL,
        job TEXT NOT NULL
      ) WITHOUT ROWID`,
      `CREATE INDEX IF NOT EXISTS import_history_by_start ON import_history (started_at)`,
    ],
  },
  {
    version: 15,
    statements: [
      // The outbox's entries (issue 23): one appended row per change of a call
      // and matching endpoint, in the apply transaction (its rowid puts every
      // insert on the table's last page, so the webhook's path writes no index);
      // the sender turns them into messages in its own transactions.
      `CREATE TABLE IF NOT EXISTS outbox_entries (
        seq INTEGER PRIMARY KEY,
        endpoint_id TEXT NOT NULL,
        call_id TEXT NOT NULL,
        type TEXT NOT NULL,
        revision INTEGER NOT NULL,
        at INTEGER NOT NULL
      )`,
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
  let vacuum = false;
  for (const migration of MIGRATIONS) {
    if (migration.version <= current) continue;
    await client.batch(
      [...migration.statements, `PRAGMA user_version = ${migration.version}`],
      "write",
    );
    vacuum ||= migration.vacuum === true;
  }
  if (vacuum) {
    // Only gives free pages back; a server that refuses VACUUM (a remote
    // libSQL server may) leaves them for reuse, which is still correct.
    await client.execute("VACUUM").catch(() => {});
  }
  return Math.max(current, latest);
}
