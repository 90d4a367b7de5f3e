/** The messages between the importer and its worker (import_worker.ts). */
import type { CountryCode } from "libphonenumber-js";
import type { UserMap } from "./csv_headers.ts";
import type { MappedEvent } from "./mapped_rows.ts";

/** Row batches the worker may post before the importer acknowledges one. */
export const MAX_IN_FLIGHT = 8;

/** Importer → worker: the input (transferred) and how to map it. Then `"ack"` per row batch. */
export interface WorkerStart {
  readonly type: "start";
  readonly input: ReadableStream<Uint8Array>;
  readonly userMap: UserMap | undefined;
  readonly defaultRegion: CountryCode | undefined;
  readonly idFrom: string | undefined;
  readonly encoding: string | undefined;
}

/** Worker → importer. */
export type WorkerReply =
  | { readonly type: "event"; readonly event: MappedEvent }
  | { readonly type: "done" }
  | {
    readonly type: "csv_error";
    readonly line: number;
    readonly problem: string;
    readonly code: string;
  }
  | { readonly type: "error"; readonly message: string };

/** Recognizes the start message (messages cross a thread boundary: check, don't trust). */
export function isWorkerStart(value: unknown): value is WorkerStart {
  return typeof value === "object" && value !== null && "type" in value && value.type === "start" &&
    "input" in value && value.input instanceof ReadableStream;
}
