/**
 * A streamed CSV download: the header line, then one line a row as the reader
 * yields it (pulled, so a slow client holds back the query, not memory), the
 * reader closed when the client goes away. Every CSV the service answers with
 * (calls, unknown numbers, the console's exports) goes through it, so each
 * cell is written by `csvLine` (formula cells neutralized).
 */
import { SECURITY_HEADERS } from "../http/http_error.ts";
import { csvLine } from "./csv_cell.ts";

/** Streams `rows` as `fileName`: `header`, then `toLine(row)` for each row. */
export function csvDownload<T>(
  fileName: string,
  header: readonly string[],
  rows: AsyncGenerator<T>,
  toLine: (row: T) => readonly unknown[],
): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(csvLine(header)));
    },
    async pull(controller) {
      const next = await rows.next();
      if (next.done) {
        controller.close();
        return;
      }
      controller.enqueue(encoder.encode(csvLine(toLine(next.value))));
    },
    async cancel() {
      await rows.return(undefined);
    },
  });
  return new Response(body, {
    headers: {
      ...SECURITY_HEADERS,
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${fileName}"`,
    },
  });
}
