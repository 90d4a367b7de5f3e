/**
 * The importer's side of the worker: starts import_worker.ts, hands it the
 * input stream, and turns its replies back into `MappedEvent`s (and errors)
 * as an async iterator. Ending the iteration early terminates the worker.
 */
import type { CountryCode } from "libphonenumber-js";
import type { UserMap } from "./csv_headers.ts";
import { CsvFormatError } from "./csv_reader.ts";
import type { WorkerReply, WorkerStart } from "./import_worker_protocol.ts";
import type { MappedEvent } from "./mapped_rows.ts";

/** Maps `input` on a worker thread; yields the same events as `mapCsvRows`. */
export async function* mapCsvRowsInWorker(
  input: ReadableStream<Uint8Array>,
  options: {
    userMap: UserMap | undefined;
    defaultRegion: CountryCode | undefined;
    idFrom: string | undefined;
    encoding: string | undefined;
  },
): AsyncGenerator<MappedEvent, void, undefined> {
  const worker = new Worker(new URL("./import_worker.ts", import.meta.url), { type: "module" });
  const replies: WorkerReply[] = [];
  let notify: (() => void) | null = null;
  let failure: Error | null = null;
  worker.onmessage = (event: MessageEvent<WorkerReply>) => {
    replies.push(event.data);
    notify?.();
    notify = null;
  };
  worker.onerror = (event) => {
    event.preventDefault();
    failure = new Error(`the import worker failed: ${event.message}`);
    notify?.();
    notify = null;
  };
  const start: WorkerStart = { type: "start", input, ...options };
  worker.postMessage(start, [input]);
  try {
    for (;;) {
      while (replies.length === 0 && failure === null) {
        await new Promise<void>((resolve) => notify = resolve);
      }
      const reply = replies.shift();
      if (reply === undefined) throw failure ?? new Error("the import worker stopped");
      switch (reply.type) {
        case "event":
          if (reply.event.kind === "rows") worker.postMessage("ack");
          yield reply.event;
          break;
        case "done":
          return;
        case "csv_error":
          throw new CsvFormatError(reply.line, reply.problem, reply.code);
        case "error":
          throw new Error(reply.message);
      }
    }
  } finally {
    worker.terminate();
  }
}
