/**
 * The recent deliveries the webhook has audited, by (event id, body SHA-256):
 * an exact re-delivery is answered `duplicate` without a second audit line
 * (DESIGN §5.3). Bounded (oldest keys forgotten first): a re-delivery older
 * than the window is audited again and the applier still applies it once.
 */
import { AuditReadError, listAuditFiles, readAuditFileLines } from "./audit_reader.ts";
import { openRegularFile } from "./audit_files.ts";
import { type PeriodicFlush, periodicFlush } from "../ops/periodic_flush.ts";

/** How many deliveries are remembered by default (16 bytes each, plus their hash table). */
export const DEFAULT_DELIVERY_WINDOW = 100_000;

/** Words (32-bit) of one key's fingerprint: 128 bits. */
const WORDS = 4;

/**
 * A bounded set of delivery keys, oldest evicted first. Each key is kept as a
 * 128-bit fingerprint (the body's SHA-256, whose first 128 bits are already
 * uniform and collision-resistant, with the event id folded in) in a ring in
 * insertion order and an open-addressing hash table of ring slots: 100,000
 * keys take ~2.6 MB in two typed arrays instead of ~100,000 strings, and a
 * snapshot is those 1.6 MB of words, read back in milliseconds.
 */
export class DeliveryIndex {
  readonly #capacity: number;
  /** Fingerprints, WORDS per slot; slot `(#oldest + i) % capacity` is the i-th oldest. */
  readonly #ring: Uint32Array;
  /** Ring slot + 1 per bucket (0: empty); linear probing, a power of two ≥ 2 × capacity. */
  readonly #table: Int32Array;
  readonly #mask: number;
  #oldest = 0;
  #size = 0;
  #changes = 0;
  readonly #scratch = new Uint32Array(WORDS);

  /** Creates an empty index keeping at most `capacity` keys. */
  constructor(capacity: number = DEFAULT_DELIVERY_WINDOW) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`capacity must be a positive whole number, not ${capacity}`);
    }
    this.#capacity = capacity;
    this.#ring = new Uint32Array(capacity * WORDS);
    let buckets = 2;
    while (buckets < capacity * 2) buckets *= 2;
    this.#table = new Int32Array(buckets);
    this.#mask = buckets - 1;
  }

  /** The key of a delivery: its event id (when it has one) and its body hash. */
  static keyOf(eventId: string | null, bodySha256: string): string {
    return `${bodySha256}${eventId ?? ""}`;
  }

  /** True when this exact delivery was audited before (within the window). */
  has(key: string): boolean {
    return this.#find(fingerprint(key, this.#scratch), 0) !== -1;
  }

  /** Remembers a delivery, forgetting the oldest when full. */
  add(key: string): void {
    this.#insert(fingerprint(key, this.#scratch), 0);
  }

  /** How many keys are held. */
  get size(): number {
    return this.#size;
  }

  /** How many keys were ever added (a snapshot is due when this moved). */
  get changes(): number {
    return this.#changes;
  }

  /** The fingerprints held, oldest first (WORDS words each), for a snapshot. */
  fingerprints(): Uint32Array {
    // The ring from its oldest slot to its end, then from its start (two copies).
    const out = new Uint32Array(this.#size * WORDS);
    const first = Math.min(this.#size, this.#capacity - this.#oldest);
    out.set(this.#ring.subarray(this.#oldest * WORDS, (this.#oldest + first) * WORDS));
    out.set(this.#ring.subarray(0, (this.#size - first) * WORDS), first * WORDS);
    return out;
  }

  /** Adds fingerprints from {@link fingerprints} (oldest first). */
  addFingerprints(words: Uint32Array): void {
    for (let at = 0; at + WORDS <= words.length; at += WORDS) this.#insert(words, at);
  }

  /** The bucket holding the fingerprint at `print[from…]`, or -1. */
  #find(print: Uint32Array, from: number): number {
    const ring = this.#ring;
    const first = print[from] as number;
    for (let bucket = first & this.#mask;; bucket = (bucket + 1) & this.#mask) {
      const entry = this.#table[bucket] as number;
      if (entry === 0) return -1;
      const at = (entry - 1) * WORDS;
      if (
        ring[at] === first && ring[at + 1] === print[from + 1] &&
        ring[at + 2] === print[from + 2] && ring[at + 3] === print[from + 3]
      ) {
        return bucket;
      }
    }
  }

  #insert(print: Uint32Array, from: number): void {
    if (this.#find(print, from) !== -1) return;
    if (this.#size === this.#capacity) {
      const bucket = this.#find(this.#ring, this.#oldest * WORDS);
      if (bucket !== -1) this.#remove(bucket);
      this.#oldest = (this.#oldest + 1) % this.#capacity;
      this.#size--;
    }
    const slot = (this.#oldest + this.#size) % this.#capacity;
    const ring = this.#ring;
    for (let i = 0; i < WORDS; i++) ring[slot * WORDS + i] = print[from + i] as number;
    let bucket = (print[from] as number) & this.#mask;
    while (this.#table[bucket] !== 0) bucket = (bucket + 1) & this.#mask;
    this.#table[bucket] = slot + 1;
    this.#size++;
    this.#changes++;
  }

  /** Empties `bucket`, shifting back the entries after it that probed past it. */
  #remove(bucket: number): void {
    const table = this.#table;
    const mask = this.#mask;
    let hole = bucket;
    table[hole] = 0;
    for (let next = (hole + 1) & mask;; next = (next + 1) & mask) {
      const entry = table[next] as number;
      if (entry === 0) return;
      const home = (this.#ring[(entry - 1) * WORDS] as number) & mask;
      // The entry may move into the hole when its home is not in (hole, next].
      const between = hole <= next ? home > hole && home <= next : home > hole || home <= next;
      if (!between) {
        table[hole] = entry;
        table[next] = 0;
        hole = next;
      }
    }
  }
}

const HEX = /^[0-9a-f]{32}/;

/**
 * A key's 128-bit fingerprint into `out`: the first 128 bits of its body
 * SHA-256 (the key's first 32 hex digits) with a hash of the rest (the event
 * id) folded in; a key that does not start with a hash is hashed whole.
 */
function fingerprint(key: string, out: Uint32Array): Uint32Array {
  let rest = key;
  if (HEX.test(key)) {
    for (let i = 0; i < WORDS; i++) out[i] = parseInt(key.slice(i * 8, i * 8 + 8), 16);
    rest = key.slice(64);
  } else {
    out.fill(0);
  }
  // FNV-1a with four seeds over the rest (the event id, or a whole non-hash key), in one pass.
  let h0 = 0x811c9dc5 ^ 0x9e3779b9, h1 = 0x811c9dc5 ^ 0x3c6ef372;
  let h2 = 0x811c9dc5 ^ 0xdaa66d2b, h3 = 0x811c9dc5 ^ 0x78dde6e4;
  for (let c = 0; c < rest.length; c++) {
    const code = rest.charCodeAt(c);
    h0 = Math.imul(h0 ^ code, 0x01000193);
    h1 = Math.imul(h1 ^ code, 0x01000193);
    h2 = Math.imul(h2 ^ code, 0x01000193);
    h3 = Math.imul(h3 ^ code, 0x01000193);
  }
  out[0] = ((out[0] as number) ^ h0) >>> 0;
  out[1] = ((out[1] as number) ^ h1) >>> 0;
  out[2] = ((out[2] as number) ^ h2) >>> 0;
  out[3] = ((out[3] as number) ^ h3) >>> 0;
  return out;
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
      loaded += await addFileKeys(dir, file, index);
    } catch (error) {
      // A file that cannot be read to its end (damaged, a line over the bound)
      // keeps what was read before; the applier and `audit verify` name it.
      if (!(error instanceof AuditReadError)) throw error;
    }
  }
  return loaded;
}

/**
 * Adds the keys of a file's complete lines (a torn last line is not
 * acknowledged yet) to `index`; returns how many. Throws the reader's
 * {@link AuditReadError} for a file that cannot be read to its end.
 */
async function addFileKeys(dir: string, file: string, index: DeliveryIndex): Promise<number> {
  let added = 0;
  for await (const line of readAuditFileLines(dir, file)) {
    if (!line.endsWithNewline) continue;
    const key = keyOfLine(line.text);
    if (key === null) continue;
    index.add(key);
    added++;
  }
  return added;
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

/** The snapshot's file name (in the data folder). */
export const DELIVERY_SNAPSHOT_FILE = "delivery_index.snapshot";
const SNAPSHOT_VERSION = 1;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** The longest last line the snapshot writer looks back over (a line is ≤ ~7 MiB by default). */
const MAX_TAIL_BYTES = 16 * 1024 * 1024;

/** Where a snapshot stands in the audit log: the last complete line it covers. */
interface AuditPosition {
  /** A plain day file's name. */
  readonly file: string;
  /** Byte offsets of that line's start and just past its newline. */
  readonly lineStart: number;
  readonly offset: number;
  readonly seq: number;
  readonly hash: string;
}

/**
 * Fills `index` as {@link loadRecentDeliveries} would, but from the snapshot
 * at `snapshotPath` when it is valid: its keys, then only the audit lines
 * written after it. A snapshot is used only when the line it ends at is still
 * in the log (same file, offset, seq and hash) in one of the newest `maxFiles`
 * plain files; a missing, stale, damaged or foreign one is ignored and the
 * index is rebuilt from the audit files. Returns how it was filled.
 */
export async function restoreDeliveries(
  auditDir: string,
  snapshotPath: string,
  index: DeliveryIndex,
  maxFiles = 2,
): Promise<{ readonly from: "snapshot" | "audit"; readonly loaded: number }> {
  const snapshot = await readSnapshot(auditDir, snapshotPath, maxFiles);
  if (snapshot === null) {
    return { from: "audit", loaded: await loadRecentDeliveries(auditDir, index, maxFiles) };
  }
  index.addFingerprints(snapshot.words);
  let loaded = snapshot.words.length / WORDS;
  try {
    loaded += await addLinesFrom(auditDir, snapshot.position.file, snapshot.position.offset, index);
    for (const file of snapshot.later) loaded += await addFileKeys(auditDir, file, index);
  } catch (error) {
    if (!(error instanceof AuditReadError)) throw error;
  }
  return { from: "snapshot", loaded };
}

/**
 * Writes the index's keys and the audit position they cover to
 * `snapshotPath` (via a temporary file and a rename). The position is read first, then the keys: a key the
 * index holds is never missing for a line at or before the position, except a
 * delivery whose append finished in between (it would be audited again after a
 * restart, and applied once all the same). Returns false when the log's tip
 * could not be found (nothing is written then).
 */
export async function writeDeliverySnapshot(
  auditDir: string,
  snapshotPath: string,
  index: DeliveryIndex,
): Promise<boolean> {
  const position = await auditTip(auditDir);
  if (position === null) return false;
  // A JSON header line, then the fingerprints' bytes (little-endian words, oldest first).
  const words = index.fingerprints();
  const header = new TextEncoder().encode(
    `${
      JSON.stringify({
        version: SNAPSHOT_VERSION,
        position,
        count: words.length / WORDS,
        little_endian: LITTLE_ENDIAN,
      })
    }\n`,
  );
  const bytes = new Uint8Array(header.length + words.byteLength);
  bytes.set(header);
  bytes.set(new Uint8Array(words.buffer, words.byteOffset, words.byteLength), header.length);
  const temporary = `${snapshotPath}.tmp`;
  await Deno.writeFile(temporary, bytes, { mode: 0o600 });
  await Deno.rename(temporary, snapshotPath);
  return true;
}

/**
 * Writes a snapshot of `index` every `intervalMs` when it changed (so a crash
 * loses at most that much of the shortcut; the lines after it are read again)
 * and once more on stop, after the audit log is closed.
 */
export function deliverySnapshots(
  auditDir: string,
  snapshotPath: string,
  index: DeliveryIndex,
  intervalMs = 5 * 60_000,
): PeriodicFlush {
  let writtenAt = -1;
  return periodicFlush(async () => {
    const changes = index.changes;
    if (changes === writtenAt) return;
    if (await writeDeliverySnapshot(auditDir, snapshotPath, index)) writtenAt = changes;
  }, intervalMs);
}

async function readSnapshot(
  auditDir: string,
  snapshotPath: string,
  maxFiles: number,
): Promise<{ position: AuditPosition; words: Uint32Array; later: string[] } | null> {
  let bytes: Uint8Array;
  let header: unknown;
  let body: number;
  try {
    bytes = await Deno.readFile(snapshotPath);
    body = bytes.indexOf(0x0a) + 1;
    if (body === 0 || body > 4096) return null;
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(0, body - 1)));
  } catch {
    return null;
  }
  if (typeof header !== "object" || header === null) return null;
  const { version, position, count, little_endian } = header as Record<string, unknown>;
  if (version !== SNAPSHOT_VERSION || !isPosition(position)) return null;
  if (little_endian !== LITTLE_ENDIAN || !Number.isSafeInteger(count)) return null;
  // A snapshot cut short (written by a crashed process) is not as long as it says.
  if (bytes.length - body !== (count as number) * WORDS * 4) return null;
  const words = new Uint32Array(bytes.slice(body).buffer);
  let files: string[];
  try {
    files = (await listAuditFiles(auditDir)).slice(-maxFiles);
  } catch {
    return null;
  }
  const at = files.indexOf(position.file);
  if (at === -1) return null;
  if (!(await lineMatches(auditDir, position))) return null;
  return { position, words, later: files.slice(at + 1) };
}

function isPosition(value: unknown): value is AuditPosition {
  if (typeof value !== "object" || value === null) return false;
  const p = value as Record<string, unknown>;
  return typeof p.file === "string" && /^\d{4}-\d{2}-\d{2}\.jsonl$/.test(p.file) &&
    Number.isSafeInteger(p.lineStart) && Number.isSafeInteger(p.offset) &&
    Number.isSafeInteger(p.seq) && typeof p.hash === "string" &&
    (p.lineStart as number) >= 0 && (p.offset as number) > (p.lineStart as number) &&
    (p.offset as number) - (p.lineStart as number) <= MAX_TAIL_BYTES;
}

/** True when the bytes at the position are a whole line with its seq and hash. */
async function lineMatches(auditDir: string, position: AuditPosition): Promise<boolean> {
  let file: Deno.FsFile;
  try {
    file = await openRegularFile(auditDir, position.file);
  } catch {
    return false;
  }
  try {
    const bytes = new Uint8Array(position.offset - position.lineStart);
    await file.seek(position.lineStart, Deno.SeekMode.Start);
    let filled = 0;
    while (filled < bytes.length) {
      const read = await file.read(bytes.subarray(filled));
      if (read === null) return false;
      filled += read;
    }
    if (bytes[bytes.length - 1] !== 0x0a || bytes.subarray(0, -1).includes(0x0a)) return false;
    if (position.lineStart > 0) {
      // The line must start a line: the byte before it is a newline.
      const before = new Uint8Array(1);
      await file.seek(position.lineStart - 1, Deno.SeekMode.Start);
      if (await file.read(before) !== 1 || before[0] !== 0x0a) return false;
    }
    const record = recordTail(new TextDecoder().decode(bytes.subarray(0, -1)));
    return record !== null && record.seq === position.seq && record.hash === position.hash;
  } catch {
    return false;
  } finally {
    file.close();
  }
}

/** A line's seq and hash (the first and last fields), or null when it is not a record. */
function recordTail(text: string): { seq: number; hash: string } | null {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null) return null;
    const { seq, hash } = parsed as Record<string, unknown>;
    return typeof seq === "number" && typeof hash === "string" ? { seq, hash } : null;
  } catch {
    return null;
  }
}

/** Adds the keys of the complete lines of a plain file after `offset`; returns how many. */
async function addLinesFrom(
  auditDir: string,
  name: string,
  offset: number,
  index: DeliveryIndex,
): Promise<number> {
  const file = await openRegularFile(auditDir, name);
  let loaded = 0;
  try {
    await file.seek(offset, Deno.SeekMode.Start);
    const decoder = new TextDecoder();
    let partial: Uint8Array[] = [];
    let partialBytes = 0;
    const buffer = new Uint8Array(1 << 20);
    for (;;) {
      const read = await file.read(buffer);
      if (read === null) break;
      const chunk = buffer.slice(0, read);
      let start = 0;
      for (;;) {
        const newline = chunk.indexOf(0x0a, start);
        if (newline === -1) {
          partial.push(chunk.subarray(start));
          partialBytes += chunk.length - start;
          if (partialBytes > MAX_TAIL_BYTES * 8) {
            throw new AuditReadError(`${auditDir}/${name}`, 0, "a line is too long");
          }
          break;
        }
        const piece = chunk.subarray(start, newline);
        let text: string;
        if (partial.length === 0) {
          text = decoder.decode(piece);
        } else {
          const whole = new Uint8Array(partialBytes + piece.length);
          let at = 0;
          for (const part of partial) {
            whole.set(part, at);
            at += part.length;
          }
          whole.set(piece, at);
          text = decoder.decode(whole);
          partial = [];
          partialBytes = 0;
        }
        const key = keyOfLine(text);
        if (key !== null) {
          index.add(key);
          loaded++;
        }
        start = newline + 1;
      }
    }
  } finally {
    file.close();
  }
  return loaded;
}

/**
 * The last complete line of the newest audit file, when that file is plain;
 * null for an empty log (or one whose newest day is compressed).
 */
async function auditTip(auditDir: string): Promise<AuditPosition | null> {
  let files: string[];
  try {
    files = await listAuditFiles(auditDir);
  } catch {
    return null;
  }
  const name = files.at(-1);
  if (name === undefined || !name.endsWith(".jsonl")) return null;
  const file = await openRegularFile(auditDir, name);
  try {
    const size = (await file.stat()).size;
    // `tail` holds the file's bytes from `readFrom` to its end, read backwards.
    let tail = new Uint8Array(0);
    let readFrom = size;
    for (;;) {
      // Only complete lines count: past the last newline may be a torn write.
      const last = tail.lastIndexOf(0x0a);
      const previous = last > 0 ? tail.lastIndexOf(0x0a, last - 1) : -1;
      if (last !== -1 && (previous !== -1 || readFrom === 0)) {
        const record = recordTail(new TextDecoder().decode(tail.subarray(previous + 1, last)));
        if (record === null) return null;
        return {
          file: name,
          lineStart: readFrom + previous + 1,
          offset: readFrom + last + 1,
          seq: record.seq,
          hash: record.hash,
        };
      }
      if (readFrom === 0 || size - readFrom > MAX_TAIL_BYTES) return null;
      const step = Math.min(readFrom, 64 * 1024);
      const chunk = new Uint8Array(step + tail.length);
      await file.seek(readFrom - step, Deno.SeekMode.Start);
      let filled = 0;
      while (filled < step) {
        const read = await file.read(chunk.subarray(filled, step));
        if (read === null) return null;
        filled += read;
      }
      chunk.set(tail, step);
      tail = chunk;
      readFrom -= step;
    }
  } finally {
    file.close();
  }
}
