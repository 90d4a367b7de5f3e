/**
 * Out-of-order safety for call snapshots: which of two snapshots is newer, and
 * how an older one is folded into a newer one without regressing any field.
 * Pure; the store keeps the winning order in the `calls.order_*` columns.
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
}

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

/** Builds the order of a snapshot from its raw timestamps and its arrival. */
export function snapshotOrderOf(
  data: Record<string, unknown>,
  createdAtRaw: unknown,
  receivedMs: number,
  seq: number,
): SnapshotOrder {
  return {
    updatedMs: parseTimestamp(data.updated_at),
    createdMs: parseTimestamp(createdAtRaw),
    receivedMs,
    seq,
  };
}

/**
 * Orders two snapshots: negative when `a` is older, positive when newer, 0 when
 * indistinguishable. `updatedMs` decides when both are known and differ, then
 * `createdMs` likewise, then arrival (`receivedMs`, then `seq`).
 */
export function compareSnapshotOrder(a: SnapshotOrder, b: SnapshotOrder): number {
  return compareKnown(a.updatedMs, b.updatedMs) ||
    compareKnown(a.createdMs, b.createdMs) ||
    Math.sign(a.receivedMs - b.receivedMs) ||
    Math.sign(a.seq - b.seq);
}

function compareKnown(a: number | null, b: number | null): number {
  return a === null || b === null ? 0 : Math.sign(a - b);
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
