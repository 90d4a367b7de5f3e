/**
 * Reads a request body under a size limit: refused up front on a too-large
 * `Content-Length`, and cut off while streaming when the sender lied or sent no
 * length, so no more than `limit` bytes are ever buffered.
 */
import { HttpError } from "./http_error.ts";

/** Reads the whole body as bytes, or throws a 413 `HttpError`. */
export async function readBodyLimited(
  request: Request,
  limit: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const declared = request.headers.get("content-length");
  if (declared !== null) {
    const length = Number(declared);
    if (!/^\d+$/.test(declared.trim())) {
      throw new HttpError(400, "bad_content_length", "The Content-Length header is not a number.");
    }
    if (length > limit) throw tooLarge(limit);
  }
  if (!request.body) return new Uint8Array();
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let total = 0;
  const reader = request.body.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limit) {
        await reader.cancel().catch(() => {});
        throw tooLarge(limit);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  if (chunks.length === 1 && chunks[0]) return chunks[0];
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

function tooLarge(limit: number): HttpError {
  return new HttpError(
    413,
    "body_too_large",
    `The request body is larger than the limit of ${limit} bytes.`,
  );
}
