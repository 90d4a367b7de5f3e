/**
 * Checkpoints off the request thread (issue 22): the writer's automatic
 * checkpoints are turned off (`wal_autocheckpoint = 0`), and a worker with its
 * own connection checkpoints the WAL every tick instead (checkpoint_worker.ts),
 * so a commit on the JavaScript thread only appends to the WAL; while a
 * checkpoint copies, the writer's BEGIN waits asynchronously (the event loop
 * goes on answering) instead of the whole thread waiting inside a COMMIT. If the worker
 * cannot start or fails, the writer's automatic checkpoints come back: the
 * WAL never grows without bound.
 */
import type { WriteTransactionRunner } from "./write_transaction.ts";
import type { CheckpointerReply, CheckpointerStart } from "./checkpointer_protocol.ts";

/** SQLite's default automatic checkpoint threshold (frames). */
const SQLITE_AUTOCHECKPOINT = 1000;

/** The part of a logger the checkpointer uses. */
export interface CheckpointerLog {
  warn(message: string, properties?: Record<string, unknown>): void;
}

/** What the checkpointer did, for metrics. */
export interface CheckpointerStatus {
  /** True while the worker checkpoints (false: the writer's automatic checkpoints do). */
  readonly running: boolean;
  /** Frames in the WAL at the last checkpoint. */
  readonly walFrames: number;
  readonly checkpoints: number;
  readonly failures: number;
}

/** A running checkpointer. */
export interface Checkpointer {
  status(): CheckpointerStatus;
  /** Stops the worker (a last checkpoint first) and gives the writer its automatic checkpoints back. */
  stop(): Promise<void>;
}

/** Starts the checkpointer for the local store file at `path`, written through `write`. */
export async function startCheckpointer(options: {
  readonly path: string;
  readonly write: WriteTransactionRunner;
  readonly log: CheckpointerLog;
  readonly intervalMs?: number;
  readonly quietMs?: number;
  /** Failures in a row after which the worker is given up. */
  readonly maxFailures?: number;
}): Promise<Checkpointer> {
  const status = { running: false, walFrames: 0, checkpoints: 0, failures: 0 };
  const maxFailures = options.maxFailures ?? 5;
  let failuresInARow = 0;
  let stopped = Promise.withResolvers<void>();
  const autocheckpoint = (frames: number) =>
    options.write((db) => db.run(`PRAGMA wal_autocheckpoint = ${frames}`)).then(() => {});
  const giveUp = async (reason: string) => {
    if (!status.running) return;
    status.running = false;
    options.log.warn(
      "The store's checkpoint thread stopped ({reason}); the writer checkpoints the WAL itself again.",
      { reason },
    );
    worker.terminate();
    stopped.resolve();
    await autocheckpoint(SQLITE_AUTOCHECKPOINT).catch(() => {});
  };

  const worker = new Worker(new URL("./checkpoint_worker.ts", import.meta.url), {
    type: "module",
  });
  const started = Promise.withResolvers<void>();
  worker.onmessage = (event: MessageEvent<CheckpointerReply>) => {
    const reply = event.data;
    switch (reply.type) {
      case "started":
        started.resolve();
        break;
      case "checkpointed":
        status.checkpoints++;
        status.walFrames = reply.truncated ? 0 : reply.log;
        failuresInARow = 0;
        break;
      case "failed":
        status.failures++;
        started.reject(new Error(reply.message));
        if (++failuresInARow >= maxFailures) void giveUp(reply.message);
        break;
      case "stopped":
        stopped.resolve();
        break;
    }
  };
  worker.onerror = (event) => {
    event.preventDefault();
    started.reject(new Error(event.message));
    void giveUp(event.message);
  };
  const start: CheckpointerStart = {
    type: "start",
    path: options.path,
    intervalMs: options.intervalMs ?? 200,
    quietMs: options.quietMs ?? 5_000,
    busyMs: 100,
  };
  worker.postMessage(start);
  try {
    await started.promise;
  } catch (error) {
    worker.terminate();
    options.log.warn(
      "The store's checkpoint thread did not start ({reason}); the writer checkpoints the WAL itself.",
      { reason: String(error) },
    );
    return { status: () => ({ ...status }), stop: () => Promise.resolve() };
  }
  status.running = true;
  await autocheckpoint(0);
  return {
    status: () => ({ ...status }),
    async stop() {
      if (!status.running) return;
      status.running = false;
      // Back to automatic checkpoints first: from here the worker copies no more.
      await autocheckpoint(SQLITE_AUTOCHECKPOINT).catch(() => {});
      worker.postMessage({ type: "stop" });
      const timer = setTimeout(() => stopped.resolve(), 5_000);
      await stopped.promise;
      clearTimeout(timer);
      worker.terminate();
      stopped = Promise.withResolvers<void>();
    },
  };
}
