/**
 * The import's worker: receives the input stream (transferred, so bytes never
 * pass through the importing thread), runs `mapCsvRows`, and posts the events
 * back. At most `MAX_IN_FLIGHT` row batches wait unacknowledged, so a slow
 * writer holds the worker back instead of letting batches pile up in memory.
 */
/// <reference lib="deno.worker" />
import { CsvFormatError } from "./csv_reader.ts";
import { mapCsvRows } from "./mapped_rows.ts";
import { isWorkerStart, MAX_IN_FLIGHT, type WorkerReply } from "./import_worker_protocol.ts";
import { messageOf } from "../error_message.ts";

let inFlight = 0;
let wake: (() => void) | null = null;

function post(reply: WorkerReply): void {
  self.postMessage(reply);
}

self.onmessage = (event: MessageEvent<unknown>) => {
  const message = event.data;
  if (message === "ack") {
    inFlight--;
    wake?.();
    wake = null;
    return;
  }
  if (!isWorkerStart(message)) return;
  void (async () => {
    try {
      for await (const mapped of mapCsvRows(message.input, message)) {
        if (mapped.kind === "rows") {
          while (inFlight >= MAX_IN_FLIGHT) await new Promise<void>((resolve) => wake = resolve);
          inFlight++;
        }
        post({ type: "event", event: mapped });
      }
      post({ type: "done" });
    } catch (error) {
      post(
        error instanceof CsvFormatError
          ? { type: "csv_error", line: error.line, problem: error.problem, code: error.code }
          : { type: "error", message: messageOf(error) },
      );
    }
  })();
};
