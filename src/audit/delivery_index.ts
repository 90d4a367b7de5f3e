/**
 * The recent deliveries the webhook has audited, by (event id, body SHA-256):
 * an exact re-delivery is answered `duplicate` without a second audit line
 * (DESIGN §5.3). Bounded (oldest keys forgotten first): a re-delivery older
 * than the window is audited again and the applier still applies it once.
 */
import { AuditReadError, listAuditFiles, readAuditFileLines } from "./audit_reader.ts";

/** How many deliveries are remembered by default (~100 bytes each). */
export const DEFAULT_DELIVERY_WINDOW = 100_000;

/** A bounded set of delivery keys, oldest evicted first. */
export class DeliveryIndex {
  readonly #keys = new Set<string>();
  readonly #capacity: number;

  /** Creates an empty index keeping at most `capacity` keys. */
  constructor(capacity: number = DEFAULT_DELIVERY_WINDOW) {
    this.#capacity = capacity;
  }

  /** The key of a delivery: its event id (when it has one) and its body hash. */
  static keyOf(eventId: string | null, bodySha256: string): string {
    return `${eventId ?? ""}\n${bodySha256}`;
  }

  /** True when this exact delivery was audited before (within the window). */
  has(key: string): boolean {
    return this.#keys.has(key);
  }

  /** Remembers a delivery, forgetting the oldest when full. */
  add(key: string): void {
    if (this.#keys.has(key)) return;
    this.#keys.add(key);
    if (this.#keys.size > this.#capacity) {
      const oldest = this.#keys.values().next();
      if (!oldest.done) this.#keys.delete(oldest.value);
    }
  }

  /** How many keys are held. */
  get size(): number {
    return this.#keys.size;
  }
}

/**
 * Fills `index` from the newest audit files (at most `maxFiles`, oldest of
 * them first), so the window survives a restart. Lines that do not parse are
 * skipped here: the applier and `audit verify` are the ones that judge them.
 */
export async function loadRecentDeliveries(
  dir: string,
  index: DeliveryIndex,
  maxFiles = 2,
): Promise<number> {
  let files: string[];
  try {
    files = await listAuditFiles(dir);
  } catch {
    return 0;
  }
  let loaded = 0;
  for (const file of files.slice(-maxFiles)) {
    try {
      for await (const line of readAuditFileLines(dir, file)) {
        if (!line.endsWithNewline) continue;
        const key = keyOfLine(line.text);
        if (key === null) continue;
        index.add(key);
        loaded++;
      }
    } catch (error) {
      // A file that cannot be read to its end (damaged, a line over the bound)
      // keeps what was read before; the applier and `audit verify` name it.
      if (!(error instanceof AuditReadError)) throw error;
    }
  }
  return loaded;
}

const BODY_SHA = ',"body_sha256":"';

function keyOfLine(text: string): string | null {
  // Every field the key needs comes before the body: parse only that prefix,
  // so a restart does not JSON-parse megabytes of bodies.
  const at = text.indexOf(BODY_SHA);
  if (at === -1) return null;
  const prefix = `${text.slice(0, at + BODY_SHA.length + 64)}"}`;
  try {
    const parsed: unknown = JSON.parse(prefix);
    if (typeof parsed !== "object" || parsed === null) return null;
    const eventId = "event_id" in parsed ? parsed.event_id : null;
    const sha = "body_sha256" in parsed ? parsed.body_sha256 : null;
    if (typeof sha !== "string") return null;
    return DeliveryIndex.keyOf(typeof eventId === "string" ? eventId : null, sha);
  } catch {
    return null;
  }
}
