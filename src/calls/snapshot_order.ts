/**
 * Out-of-order safety for call snapshots: which of two snapshots is newer, and
 * how an older one is folded into a newer one without regressing any field.
 * Pure; the store keeps the winning order in the `calls.order_*` columns.
 *
 * Invariants (each pinned by a test):
 * - an older snapshot never changes a field of a newer one (it only fills
 *   fields the newer one lacks);
 * - a missing or unparseable timestamp sorts before every known one, so a
 *   snapshot without one never lowers the stored order;
 * - a timestamp more than {@link FAR_FUTURE_MS} after receipt is ordered at its
 *   receipt time instead (and the order says so), so one bogus date cannot
 *   freeze a call against every later real update.
 */
import { isJsonObject } from "./call_event.ts";
import { parseTimestamp } from "./timestamp.ts";

/** Where a snapshot sits in time, from the most to the least authoritative clue. */
export interface SnapshotOrder {
  /** `data.updated_at`, parsed; null when absent or unparseable. */
  readonly updatedMs: number | null;
  /** The envelope `created_at`, parsed; null when absent or unparseable. */
  readonly createdMs: number | null;
  /** When this service received it (epoch ms). */
  readonly receivedMs: number;
  /** The audit sequence number: arrival order within one millisecond. */
  readonly seq: number;
  /**
   * True when `updated_at` or `created_at` lay more than {@link FAR_FUTURE_MS}
   * after receipt and was replaced by the receipt time. Absent on stored orders.
   */
  readonly futureClamped?: boolean;
}

/**
 * How far after its receipt a timestamp may lie and still be believed: one day
 * covers any clock skew and time zone mistake; beyond it the date is bogus.
 */
export const FAR_FUTURE_MS = 24 * 60 * 60 * 1000;

/** A call's `data` object with its place in time. */
export interface Snapshot {
  readonly order: SnapshotOrder;
  readonly data: Record<string, unknown>;
}

/** The result of folding two snapshots together. */
export interface MergedSnapshot extends Snapshot {
  /** True when the incoming snapshot won (it is newer, or indistinguishable in time). */
  readonly incomingIsNewer: boolean;
}

/**
 * Builds the order of a snapshot from its raw timestamps and its arrival. A
 * timestamp far in the future ({@link FAR_FUTURE_MS} after `receivedMs`) is
 * replaced by `receivedMs` and the order is marked `futureClamped`.
 */
export function snapshotOrderOf(
  data: Record<string, unknown>,
  createdAtRaw: unknown,
  receivedMs: number,
  seq: number,
): SnapshotOrder {
  const updated = believable(parseTimestamp(data.updated_at), receivedMs);
  const created = believable(parseTimestamp(createdAtRaw), receivedMs);
  const order = { updatedMs: updated.ms, createdMs: created.ms, receivedMs, seq };
  return updated.clamped || created.clamped ? { ...order, futureClamped: true } : order;
}

function believable(
  ms: number | null,
  receivedMs: number,
): { ms: number | null; clamped: boolean } {
  if (ms !== null && ms - receivedMs > FAR_FUTURE_MS) return { ms: receivedMs, clamped: true };
  return { ms, clamped: false };
}

/**
 * Orders two snapshots: negative when `a` is older, positive when newer, 0 when
 * indistinguishable. `updatedMs` decides when they differ, then `createdMs`,
 * then arrival (`receivedMs`, then `seq`). An unknown timestamp (null) is older
 * than any known one: a snapshot that cannot say when it was taken never beats
 * one that can, so it never lowers the stored order.
 */
export function compareSnapshotOrder(a: SnapshotOrder, b: SnapshotOrder): number {
  return compareKnown(a.updatedMs, b.updatedMs) ||
    compareKnown(a.createdMs, b.createdMs) ||
    Math.sign(a.receivedMs - b.receivedMs) ||
    Math.sign(a.seq - b.seq);
}

function compareKnown(a: number | null, b: number | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  return Math.sign(a - b);
}

/**
 * Folds two snapshots of one call. The newer one's top-level fields win key by
 * key (and, one level down, those of `prospect`), so an older snapshot never
 * overwrites a newer field but fills fields the newer one lacks. A tie goes to
 * the incoming snapshot. The resulting order is the newer one's.
 */
export function mergeSnapshots(stored: Snapshot, incoming: Snapshot): MergedSnapshot {
  const incomingIsNewer = compareSnapshotOrder(stored.order, incoming.order) <= 0;
  const [older, newer] = incomingIsNewer ? [stored, incoming] : [incoming, stored];
  const data: Record<string, unknown> = { ...older.data, ...newer.data };
  const olderProspect = older.data.prospect;
  const newerProspect = newer.data.prospect;
  if (isJsonObject(olderProspect) && isJsonObject(newerProspect)) {
    data.prospect = { ...olderProspect, ...newerProspect };
  }
  return { order: newer.order, data, incomingIsNewer };
}
