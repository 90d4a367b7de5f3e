/**
 * Outbound endpoints: where calls are sent (DESIGN §11). An endpoint is a URL,
 * the event types it takes, a description, and its Standard Webhooks secret
 * (generated here; during a rotation the previous one keeps signing alongside
 * until its grace period ends). Store functions take the executor or the write
 * runner first; the admin API and the console share them.
 */
import { Buffer } from "node:buffer";
import type { SqlExecutor, SqlRow } from "../store/sql.ts";
import type { WriteTransactionRunner } from "../store/write_transaction.ts";
import { checkAddress, parseIpLiteral } from "./address_guard.ts";
import { checkOutboundUrl, OutboundError } from "./http_client.ts";
import { generateSecret } from "./signing.ts";

/** The event types an endpoint can take. */
export const OUTBOUND_EVENT_TYPES = [
  "call.created",
  "call.updated",
  "unknown_number.first_dialed",
] as const;

/** One event type an endpoint can take. */
export type OutboundEventType = typeof OUTBOUND_EVENT_TYPES[number];

/** What an endpoint takes when its types are not given. */
export const DEFAULT_EVENT_TYPES: readonly OutboundEventType[] = ["call.created", "call.updated"];

/** An endpoint as the API and the console show it (never with its secret). */
export interface Endpoint {
  readonly id: string;
  readonly url: string;
  readonly description: string;
  readonly types: OutboundEventType[];
  readonly enabled: boolean;
  /** Why it was disabled by the sender (failing for days); null when enabled or disabled by hand. */
  readonly disabled_reason: string | null;
  readonly created_at: string;
  readonly updated_at: string;
  /** Since when every attempt failed (null: the last one succeeded, or none was made). */
  readonly failing_since: string | null;
  readonly last_success_at: string | null;
  readonly last_error: string | null;
  readonly last_error_at: string | null;
  /** Until when the previous secret still signs too (a rotation's grace period), or null. */
  readonly previous_secret_until: string | null;
}

/** An endpoint's row with its secrets, for the sender. */
export interface EndpointSecrets {
  readonly secret: string;
  readonly previousSecret: string | null;
  readonly previousSecretUntil: number | null;
}

/** A request the caller got wrong (answered 400/404/409 by the routes). */
export class EndpointError extends Error {
  override name = "EndpointError";
  constructor(readonly code: "invalid_url" | "too_many_endpoints", message: string) {
    super(message);
  }
}

/** What decides whether an endpoint URL is acceptable. */
export interface UrlPolicy {
  readonly allowHttp: boolean;
  readonly allowPrivateNetworks: boolean;
}

const COLUMNS = `id, url, description, types, enabled, disabled_reason, created_at, updated_at,
  failing_since, last_success_at, last_error, last_error_at, previous_secret_until`;

/**
 * Checks an endpoint URL at registration: https (http only where allowed), no
 * credentials, and a literal IP address must pass the guard. A name is checked
 * again at every connection (what it resolves to can change).
 */
export function checkEndpointUrl(url: string, policy: UrlPolicy): string {
  let parsed: URL;
  try {
    parsed = checkOutboundUrl(url, policy.allowHttp);
  } catch (error) {
    throw new EndpointError(
      "invalid_url",
      error instanceof OutboundError ? error.message : "not a valid URL",
    );
  }
  if (parsed.hash !== "") throw new EndpointError("invalid_url", "a URL cannot have a #fragment");
  const literal = parseIpLiteral(parsed.hostname);
  if (literal !== null) {
    const verdict = checkAddress(literal.toString(), policy);
    if (!verdict.allowed) throw new EndpointError("invalid_url", `refused: ${verdict.reason}`);
  }
  return parsed.href;
}

/** Creates an endpoint with a new secret; at most `maxEndpoints` may exist. */
export function createEndpoint(
  write: WriteTransactionRunner,
  input: { url: string; types?: readonly OutboundEventType[]; description?: string },
  options: { now: number; maxEndpoints: number },
): Promise<{ endpoint: Endpoint; secret: string }> {
  const id = `ep_${randomId(12)}`;
  const secret = generateSecret();
  return write(async (db) => {
    const count = Number((await db.first("SELECT COUNT(*) AS n FROM outbound_endpoints"))?.n);
    if (count >= options.maxEndpoints) {
      throw new EndpointError(
        "too_many_endpoints",
        `At most ${options.maxEndpoints} endpoints can be registered; delete one first.`,
      );
    }
    await db.run(
      `INSERT INTO outbound_endpoints (id, url, description, types, enabled, secret, created_at,
        updated_at) VALUES (?, ?, ?, ?, 1, ?, ?, ?)`,
      [
        id,
        input.url,
        input.description ?? "",
        JSON.stringify(uniqueTypes(input.types ?? DEFAULT_EVENT_TYPES)),
        secret,
        options.now,
        options.now,
      ],
    );
    const row = await db.first(`SELECT ${COLUMNS} FROM outbound_endpoints WHERE id = ?`, [id]);
    return { endpoint: endpointOf(row!), secret };
  });
}

/** Every endpoint, oldest first. */
export async function listEndpoints(db: SqlExecutor): Promise<Endpoint[]> {
  const rows = await db.all(`SELECT ${COLUMNS} FROM outbound_endpoints ORDER BY created_at, id`);
  return rows.map(endpointOf);
}

/** One endpoint, or null. */
export async function getEndpoint(db: SqlExecutor, id: string): Promise<Endpoint | null> {
  const row = await db.first(`SELECT ${COLUMNS} FROM outbound_endpoints WHERE id = ?`, [id]);
  return row ? endpointOf(row) : null;
}

/** What `PATCH /api/endpoints/:id` may change. */
export interface EndpointPatch {
  readonly url?: string;
  readonly types?: readonly OutboundEventType[];
  readonly description?: string;
  readonly enabled?: boolean;
}

/**
 * Changes an endpoint; null when there is none. Enabling one clears why it was
 * disabled and its failure streak (its pending messages are then sent again).
 */
export function updateEndpoint(
  write: WriteTransactionRunner,
  id: string,
  patch: EndpointPatch,
  now: number,
): Promise<Endpoint | null> {
  return write(async (db) => {
    const row = await db.first("SELECT enabled FROM outbound_endpoints WHERE id = ?", [id]);
    if (!row) return null;
    const sets: string[] = ["updated_at = ?"];
    const args: (string | number | null)[] = [now];
    const set = (column: string, value: string | number) => {
      sets.push(`${column} = ?`);
      args.push(value);
    };
    if (patch.url !== undefined) set("url", patch.url);
    if (patch.types !== undefined) set("types", JSON.stringify(uniqueTypes(patch.types)));
    if (patch.description !== undefined) set("description", patch.description);
    if (patch.enabled !== undefined) {
      set("enabled", patch.enabled ? 1 : 0);
      if (patch.enabled) sets.push("disabled_reason = NULL", "failing_since = NULL");
    }
    await db.run(`UPDATE outbound_endpoints SET ${sets.join(", ")} WHERE id = ?`, [...args, id]);
    return endpointOf(
      (await db.first(`SELECT ${COLUMNS} FROM outbound_endpoints WHERE id = ?`, [id]))!,
    );
  });
}

/** Deletes an endpoint with its messages and attempts; false when there was none. */
export function deleteEndpoint(write: WriteTransactionRunner, id: string): Promise<boolean> {
  return write(async (db) => {
    const { changes } = await db.run("DELETE FROM outbound_endpoints WHERE id = ?", [id]);
    if (changes === 0) return false;
    await db.run("DELETE FROM outbound_messages WHERE endpoint_id = ?", [id]);
    await db.run("DELETE FROM outbound_attempts WHERE endpoint_id = ?", [id]);
    return true;
  });
}

/**
 * Gives an endpoint a new secret; the current one keeps signing alongside for
 * `graceMs` (receivers accept either while they switch). Null when there is no endpoint.
 */
export function rotateSecret(
  write: WriteTransactionRunner,
  id: string,
  options: { now: number; graceMs: number },
): Promise<{ endpoint: Endpoint; secret: string } | null> {
  const secret = generateSecret();
  return write(async (db) => {
    const { changes } = await db.run(
      `UPDATE outbound_endpoints SET previous_secret = secret, previous_secret_until = ?,
        secret = ?, updated_at = ? WHERE id = ?`,
      [options.now + options.graceMs, secret, options.now, id],
    );
    if (changes === 0) return null;
    const row = await db.first(`SELECT ${COLUMNS} FROM outbound_endpoints WHERE id = ?`, [id]);
    return { endpoint: endpointOf(row!), secret };
  });
}

/** The secrets that sign a delivery now: the current one, and the previous one during its grace period. */
export function activeSecrets(secrets: EndpointSecrets, now: number): string[] {
  return secrets.previousSecret !== null && (secrets.previousSecretUntil ?? 0) > now
    ? [secrets.secret, secrets.previousSecret]
    : [secrets.secret];
}

/** The enabled endpoints that take `type`, by id (the applier asks in its transaction). */
export async function endpointsTaking(db: SqlExecutor, type: OutboundEventType): Promise<string[]> {
  const rows = await db.all(
    "SELECT id, types FROM outbound_endpoints WHERE enabled = 1 ORDER BY id",
  );
  return rows.filter((row) => parseTypes(row.types).includes(type)).map((row) => String(row.id));
}

/** Reads an endpoint row (selected with its public columns). */
export function endpointOf(row: SqlRow): Endpoint {
  return {
    id: String(row.id),
    url: String(row.url),
    description: String(row.description ?? ""),
    types: parseTypes(row.types),
    enabled: Number(row.enabled) === 1,
    disabled_reason: textOrNull(row.disabled_reason),
    created_at: iso(row.created_at)!,
    updated_at: iso(row.updated_at)!,
    failing_since: iso(row.failing_since),
    last_success_at: iso(row.last_success_at),
    last_error: textOrNull(row.last_error),
    last_error_at: iso(row.last_error_at),
    previous_secret_until: iso(row.previous_secret_until),
  };
}

function parseTypes(value: unknown): OutboundEventType[] {
  try {
    const parsed: unknown = JSON.parse(String(value));
    return Array.isArray(parsed)
      ? OUTBOUND_EVENT_TYPES.filter((type) => parsed.includes(type))
      : [];
  } catch {
    return [];
  }
}

function uniqueTypes(types: readonly OutboundEventType[]): OutboundEventType[] {
  return OUTBOUND_EVENT_TYPES.filter((type) => types.includes(type));
}

function iso(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return new Date(Number(value)).toISOString();
}

function textOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

/** Random URL-safe characters (ids). */
export function randomId(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("base64url");
}
