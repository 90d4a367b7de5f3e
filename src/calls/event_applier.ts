/**
 * Group commit for the store: events handed in while a write transaction runs
 * are applied together in the next one, each inside its own savepoint (one bad
 * event fails alone), and each caller is answered only after the commit that
 * holds its event. Queue order is apply order, so replay and live agree.
 */
import type { WriteTransactionRunner } from "../store/write_transaction.ts";
import { type ApplyContext, applyEvent, type ApplyOutcome } from "./apply_event.ts";
import type { ClassifiedEvent } from "./call_event.ts";

/** Applies events durably; resolves after the commit that holds the event. */
export type EventApplier = (event: ClassifiedEvent, context: ApplyContext) => Promise<ApplyOutcome>;

interface Pending {
  readonly event: ClassifiedEvent;
  readonly context: ApplyContext;
  readonly settle: PromiseWithResolvers<ApplyOutcome>;
}

type Settled = { ok: true; outcome: ApplyOutcome } | { ok: false; error: unknown };

/** Creates a group-committing applier over the store's write transactions. */
export function createEventApplier(
  write: WriteTransactionRunner,
  options: { maxBatch?: number } = {},
): EventApplier {
  const maxBatch = options.maxBatch ?? 256;
  const queue: Pending[] = [];
  let draining = false;

  const drain = async () => {
    draining = true;
    try {
      while (queue.length > 0) {
        const batch = queue.splice(0, maxBatch);
        let results: Settled[];
        try {
          results = await write(async (db) => {
            const settled: Settled[] = [];
            for (const item of batch) {
              await db.run("SAVEPOINT apply_event");
              try {
                const outcome = await applyEvent(db, item.event, item.context);
                await db.run("RELEASE apply_event");
                settled.push({ ok: true, outcome });
              } catch (error) {
                await db.run("ROLLBACK TO apply_event");
                await db.run("RELEASE apply_event");
                settled.push({ ok: false, error });
              }
            }
            return settled;
          });
        } catch (error) {
          results = batch.map(() => ({ ok: false, error }));
        }
        batch.forEach((item, i) => {
          const result = results[i];
          if (result?.ok) item.settle.resolve(result.outcome);
          else item.settle.reject(result?.error ?? new Error("the event was not applied"));
        });
      }
    } finally {
      draining = false;
    }
  };

  return (event, context) => {
    const settle = Promise.withResolvers<ApplyOutcome>();
    queue.push({ event, context, settle });
    if (!draining) void drain();
    return settle.promise;
  };
}
