/**
 * The checkpointer's thread: its own connection to the store file, on which
 * it checkpoints the WAL every tick (see checkpoint_policy.ts), so the copy of
 * WAL frames back into the database file and its fsync never run on the
 * thread that answers webhooks and lookups. Messages: see checkpointer.ts.
 */
import Database from "libsql";
import {
  type CheckpointResult,
  initialCheckpointState,
  shouldTruncate,
} from "./checkpoint_policy.ts";
import type { CheckpointerReply, CheckpointerStart } from "./checkpointer_protocol.ts";

const self = globalThis as unknown as {
  postMessage(message: CheckpointerReply): void;
  onmessage: ((event: MessageEvent) => void) | null;
  close(): void;
};

let db: Database.Database | null = null;
let timer: ReturnType<typeof setInterval> | null = null;

function checkpoint(mode: "RESTART" | "PASSIVE" | "TRUNCATE"): CheckpointResult {
  if (db === null) throw new Error("the checkpointer's connection is closed");
  const row = db.prepare(`PRAGMA wal_checkpoint(${mode})`).raw(true).get() as unknown[];
  return { busy: Number(row[0]), log: Number(row[1]), checkpointed: Number(row[2]) };
}

function start(message: CheckpointerStart): void {
  // A short busy wait, on this thread only: a RESTART waits for the writer's
  // transaction in progress (the JavaScript thread's writer meanwhile retries
  // its BEGIN asynchronously), else copies what it can like a PASSIVE one and
  // the next tick tries again.
  db = new Database(message.path, { timeout: message.busyMs });
  let state = initialCheckpointState(Date.now());
  timer = setInterval(() => {
    try {
      const started = performance.now();
      // RESTART, not PASSIVE: a PASSIVE checkpoint racing the writer's commits
      // never catches up with them, so the WAL would never start over and grow
      // for as long as webhooks keep coming. RESTART holds the writers off while
      // it copies, and the next commit then writes from the WAL's start.
      let result = checkpoint("RESTART");
      const decision = shouldTruncate(message.quietMs, state, result, Date.now());
      state = decision.state;
      if (decision.truncate) result = checkpoint("TRUNCATE");
      self.postMessage({
        type: "checkpointed",
        ...result,
        truncated: decision.truncate && result.busy === 0,
        ms: performance.now() - started,
      });
    } catch (error) {
      self.postMessage({ type: "failed", message: String(error) });
    }
  }, message.intervalMs);
  self.postMessage({ type: "started" });
}

function stop(): void {
  if (timer !== null) clearInterval(timer);
  timer = null;
  try {
    // What the last tick left: copied now, so the file is whole for a backup.
    if (db !== null) checkpoint("PASSIVE");
  } catch {
    // The writer's own checkpoint at close covers it.
  }
  db?.close();
  db = null;
  self.postMessage({ type: "stopped" });
  self.close();
}

self.onmessage = (event: MessageEvent) => {
  const message = event.data as CheckpointerStart | { type: "stop" };
  try {
    if (message.type === "start") start(message);
    else if (message.type === "stop") stop();
  } catch (error) {
    self.postMessage({ type: "failed", message: String(error) });
  }
};
