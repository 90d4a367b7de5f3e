/**
 * Classifies a verified webhook body: a call event (upsert of the call by
 * `data.id`), a prospect event (snapshot kept by prospect id), or something this
 * service does not act on. Pure: no I/O, no clock. Both event-name spellings of
 * Symbo's guides are accepted (`call.created` and `call:created`).
 */
import { z } from "zod";
import { isRawJson, parseJsonExact } from "./exact_json.ts";
import { nestingBeyond } from "./json_depth.ts";

/** A webhook body, sorted into what the store does with it. */
export type ClassifiedEvent =
  | {
    kind: "call";
    /** The event type as sent (`call.created`, `call:updated`, …), or the object name. */
    eventType: string;
    /** The envelope `id` as its exact JSON text (a string's value, a number's digits); null when absent. */
    eventId: string | null;
    /** `data.id`, as its exact JSON text: digits beyond 2^53 are never rounded. */
    callId: string;
    userId: string | null;
    /** The envelope `created_at` exactly as sent (it may not be a valid timestamp). */
    createdAtRaw: unknown;
    data: Record<string, unknown>;
    envelope: Record<string, unknown>;
  }
  | {
    kind: "prospect";
    eventType: string;
    eventId: string | null;
    /** `data.id`, stringified: Symbo's prospect id. */
    prospectId: string;
    /** `data.external_id`: our contact id, when Symbo knows it. */
    externalId: string | null;
    userId: string | null;
    data: Record<string, unknown>;
    envelope: Record<string, unknown>;
  }
  | { kind: "ignored"; eventType: string | null; eventId: string | null; reason: string };

/** A verified body that is not a valid event; `path` names the offending key ("" for the body). */
export class InvalidEventError extends Error {
  override name = "InvalidEventError";
  /** Dotted key path, e.g. `data.id`; `""` when the body is not JSON at all. */
  readonly path: string;

  constructor(path: string, problem: string) {
    super(path === "" ? problem : `${path}: ${problem}`);
    this.path = path;
  }
}

/** True for a JSON object (not null, not an array, not an exact integer kept as raw JSON). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !isRawJson(value);
}

/**
 * An id as Symbo may send it: a non-blank string (kept as sent), a finite
 * number (stringified), or an integer beyond 2^53 kept by the exact parser (its
 * digits as sent); anything else is null.
 */
export function idString(value: unknown): string | null {
  if (typeof value === "string") return value.trim() === "" ? null : value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (isRawJson(value)) return value.rawJSON;
  return null;
}

// Every C0 and C1 control character, NUL included: an id holding one reads back
// cut short or looks like another id in a CSV or a terminal.
const CONTROL_CHARACTER = /\p{Cc}/u;

/** Id fields checked for control characters, as paths into the envelope. */
const ID_PATHS: readonly (readonly string[])[] = [
  ["id"],
  ["user_id"],
  ["data", "id"],
  ["data", "user_id"],
  ["data", "external_id"],
  ["data", "prospect", "id"],
  ["data", "prospect", "external_id"],
];

function valueAt(envelope: Record<string, unknown>, path: readonly string[]): unknown {
  let value: unknown = envelope;
  for (const key of path) {
    if (!isJsonObject(value)) return undefined;
    value = value[key];
  }
  return value;
}

/** Refuses an id (any of {@link ID_PATHS}) that holds a control character. */
function requirePrintableIds(envelope: Record<string, unknown>): void {
  for (const path of ID_PATHS) {
    const value = valueAt(envelope, path);
    if (typeof value !== "string") continue;
    const match = CONTROL_CHARACTER.exec(value);
    if (match === null) continue;
    const code = match[0].codePointAt(0) ?? 0;
    throw new InvalidEventError(
      path.join("."),
      `contains the control character U+${
        code.toString(16).toUpperCase().padStart(4, "0")
      }; an id must be printable text`,
    );
  }
}

/** Envelope keys that may carry the event name, in order of precedence. */
const TYPE_KEYS = ["description", "event", "type", "event_type"] as const;

const CALL_TYPES: ReadonlySet<string> = new Set([
  "call.created",
  "call.completed",
  "call.updated",
  "call.recording-completed",
]);

const CONTACT_LOOKUP_TYPE = "call.contactlookup";

const ID_PROBLEM = "expected a non-empty string or a number";

const IdSchema = z.union([
  z.string().refine((s) => s.trim() !== "", { error: ID_PROBLEM }),
  z.number().finite(),
  z.custom((value) => isRawJson(value)),
], { error: ID_PROBLEM });

const KeyedDataSchema = z.looseObject({
  data: z.looseObject({ id: IdSchema }, { error: "expected an object" }),
});

type TypeClass = "call" | "prospect" | "lookup" | "unknown";

/** One spelling for both guides: lower case, `:` → `.`, `_` → `-`. */
function normalizeType(type: string): string {
  return type.trim().toLowerCase().replaceAll(":", ".").replaceAll("_", "-");
}

function classifyType(type: string): TypeClass {
  const normalized = normalizeType(type);
  if (CALL_TYPES.has(normalized)) return "call";
  if (normalized === CONTACT_LOOKUP_TYPE) return "lookup";
  if (normalized.startsWith("prospect.") && normalized.length > "prospect.".length) {
    return "prospect";
  }
  return "unknown";
}

/** The first recognised event name among the type keys, else the first name present. */
function eventTypeOf(envelope: Record<string, unknown>): { type: string | null; cls: TypeClass } {
  let first: string | null = null;
  for (const key of TYPE_KEYS) {
    const value = envelope[key];
    if (typeof value !== "string" || value.trim() === "") continue;
    const cls = classifyType(value);
    if (cls !== "unknown") return { type: value, cls };
    first ??= value;
  }
  return { type: first, cls: "unknown" };
}

/**
 * The deepest nesting of arrays and objects a body may have. SQLite's JSON
 * functions stop at 1,000 levels, and a call stored deeper than that broke
 * every reader of calls; Symbo's events nest 3 levels, so 100 leaves room for
 * any custom field.
 */
export const MAX_EVENT_NESTING = 100;

function parseBody(bodyText: string): Record<string, unknown> {
  // Before parsing: the store could not read it back, and a parser's reviver recurses.
  const depth = nestingBeyond(bodyText, MAX_EVENT_NESTING);
  if (depth !== null) {
    throw new InvalidEventError(
      "body",
      `nests arrays and objects ${depth} levels deep; at most ${MAX_EVENT_NESTING} are stored`,
    );
  }
  let body: unknown;
  try {
    body = parseJsonExact(bodyText);
  } catch (error) {
    const detail = error instanceof SyntaxError ? `: ${error.message}` : "";
    throw new InvalidEventError("", `body is not valid JSON${detail}`);
  }
  if (!isJsonObject(body)) throw new InvalidEventError("body", "expected a JSON object");
  return body;
}

/** Checks `data` is an object with an id; returns the stringified id. */
function requireKeyedData(envelope: Record<string, unknown>): {
  data: Record<string, unknown>;
  id: string;
} {
  const result = KeyedDataSchema.safeParse(envelope);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue ? issue.path.map(String).join(".") : "data";
    throw new InvalidEventError(path, issue?.message ?? "expected an object");
  }
  const data = envelope.data;
  const id = idString(result.data.data.id);
  // Both hold once the schema passed; the checks keep the types honest without a cast.
  if (!isJsonObject(data) || id === null) throw new InvalidEventError("data.id", ID_PROBLEM);
  return { data, id };
}

function userIdOf(envelope: Record<string, unknown>, data: Record<string, unknown>) {
  return idString(envelope.user_id) ?? idString(data.user_id);
}

/**
 * Sorts a verified webhook body. The event name is taken from `description`
 * (original guide), else `event`, `type`, `event_type`; the first of those that
 * names a known event wins. Without a known name, `object: "Call"` (or
 * `"Prospect"`) still decides. Unknown events and the `call:contactlookup`
 * GET event are `ignored`.
 *
 * Numbers are read exactly: an integer id beyond 2^53 keeps its digits.
 *
 * @throws {InvalidEventError} when the body is not a JSON object, nests deeper
 *   than {@link MAX_EVENT_NESTING}, an id holds a control character, or a call or prospect event lacks an object `data` with a
 *   non-empty `data.id`.
 */
export function classifyEvent(bodyText: string): ClassifiedEvent {
  return classifyEnvelope(parseBody(bodyText));
}

function classifyEnvelope(envelope: Record<string, unknown>): ClassifiedEvent {
  requirePrintableIds(envelope);
  const eventId = idString(envelope.id);
  const { type, cls } = eventTypeOf(envelope);
  const objectName = typeof envelope.object === "string" ? envelope.object : null;
  const objectClass = objectName?.trim().toLowerCase();

  let kind: "call" | "prospect";
  if (cls === "call" || cls === "prospect") kind = cls;
  else if (cls === "lookup") {
    return {
      kind: "ignored",
      eventType: type,
      eventId,
      reason: "call:contactlookup is answered by the lookup GET, not applied as a POST event",
    };
  } else if (objectClass === "call") kind = "call";
  else if (objectClass === "prospect") kind = "prospect";
  else {
    return { kind: "ignored", eventType: type, eventId, reason: unknownReason(type, objectName) };
  }

  const { data, id } = requireKeyedData(envelope);
  const eventType = type ?? objectName ?? kind;
  const userId = userIdOf(envelope, data);
  if (kind === "call") {
    return {
      kind,
      eventType,
      eventId,
      callId: id,
      userId,
      createdAtRaw: envelope.created_at,
      data,
      envelope,
    };
  }
  return {
    kind,
    eventType,
    eventId,
    prospectId: id,
    externalId: idString(data.external_id),
    userId,
    data,
    envelope,
  };
}

function unknownReason(type: string | null, objectName: string | null): string {
  if (type !== null) return `unknown event type ${JSON.stringify(type)}`;
  if (objectName !== null) return `unknown object ${JSON.stringify(objectName)}`;
  return "no event type and no object";
}

/** What the audit line records about a body, whether or not it is a valid event. */
export interface EventSummary {
  eventType: string | null;
  eventId: string | null;
  callId: string | null;
  userId: string | null;
}

/** A verified body read once: its classification (or why it is invalid) and the audit facts. */
export interface ReadEvent {
  readonly event: ClassifiedEvent | null;
  readonly invalid: InvalidEventError | null;
  readonly summary: EventSummary;
}

const NO_SUMMARY: EventSummary = { eventType: null, eventId: null, callId: null, userId: null };

/**
 * Parses and classifies a body once, for the webhook: the event (or the
 * reason it is invalid) and, in every case, what the audit line records.
 * Never throws.
 */
export function readEvent(bodyText: string | null): ReadEvent {
  if (bodyText === null) {
    return {
      event: null,
      invalid: new InvalidEventError("body", "the body is not valid UTF-8"),
      summary: NO_SUMMARY,
    };
  }
  let envelope: Record<string, unknown>;
  try {
    envelope = parseBody(bodyText);
  } catch (error) {
    if (!(error instanceof InvalidEventError)) throw error;
    return { event: null, invalid: error, summary: NO_SUMMARY };
  }
  const data = isJsonObject(envelope.data) ? envelope.data : {};
  const facts = { eventId: idString(envelope.id), userId: userIdOf(envelope, data) };
  try {
    const event = classifyEnvelope(envelope);
    const callId = event.kind === "call" ? event.callId : null;
    return { event, invalid: null, summary: { ...facts, eventType: event.eventType, callId } };
  } catch (error) {
    if (!(error instanceof InvalidEventError)) throw error;
    // An invalid event is still audited; these facts are all there is.
    const summary = { ...facts, eventType: eventTypeOf(envelope).type, callId: null };
    return { event: null, invalid: error, summary };
  }
}
