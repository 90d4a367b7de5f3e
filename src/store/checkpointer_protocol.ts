/** The messages between the checkpointer (checkpointer.ts) and its thread (checkpoint_worker.ts). */

/** Starts checkpointing `path` every `intervalMs`. */
export interface CheckpointerStart {
  readonly type: "start";
  readonly path: string;
  readonly intervalMs: number;
  /** Quiet time after which the WAL file is truncated. */
  readonly quietMs: number;
  /** How long a checkpoint waits for the writer's transaction in progress. */
  readonly busyMs: number;
}

/** What the thread reports. */
export type CheckpointerReply =
  | { readonly type: "started" }
  | {
    readonly type: "checkpointed";
    readonly busy: number;
    readonly log: number;
    readonly checkpointed: number;
    readonly truncated: boolean;
    readonly ms: number;
  }
  | { readonly type: "failed"; readonly message: string }
  | { readonly type: "stopped" };
