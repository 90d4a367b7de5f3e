/**
 * Reads a `multipart/form-data` body part by part as it arrives, so that a
 * file field can be streamed (to the import spool) instead of held:
 * `Request.formData()` buffers the whole body, which is why the console could
 * not import more than the shared body budget (~32 MiB, issue 20).
 *
 * Each part's body must be read to its end (or cancelled) before the next
 * part is read. Headers of a part and the preamble are bounded; a body that
 * ends before its closing delimiter is an error.
 */
import { HttpError } from "./http_error.ts";

/** Largest head of one part (its Content-Disposition and Content-Type lines). */
const MAX_PART_HEAD_BYTES = 16 * 1024;
/** Largest preamble before the first delimiter (browsers send none). */
const MAX_PREAMBLE_BYTES = 16 * 1024;

/** One part of a multipart form. */
export interface MultipartPart {
  /** The field's name. */
  readonly name: string;
  /** The file name, for a file field (an empty string when none was chosen); else null. */
  readonly filename: string | null;
  /** The part's bytes; read or cancel it before asking for the next part. */
  readonly body: ReadableStream<Uint8Array>;
}

/** The boundary of a `multipart/form-data` Content-Type, or null when it is not one. */
export function multipartBoundary(contentType: string | null): string | null {
  if (contentType === null) return null;
  const [type, ...params] = contentType.split(";");
  if (type?.trim().toLowerCase() !== "multipart/form-data") return null;
  for (const param of params) {
    const match = /^\s*boundary\s*=\s*(?:"([^"]{1,70})"|([^\s";]{1,70}))\s*$/i.exec(param);
    const boundary = match?.[1] ?? match?.[2];
    if (boundary) return boundary;
  }
  return null;
}

/** Reads a text field's part to its end, refusing more than `maxBytes`. */
export async function partText(part: MultipartPart, maxBytes: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of part.body) {
    size += chunk.byteLength;
    if (size > maxBytes) {
      throw new HttpError(400, "invalid_form", `The form field ${part.name} is too long.`);
    }
    chunks.push(chunk);
  }
  const text = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    text.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(text);
}

/**
 * The parts of `body`, in order, as they arrive. Throws a 400 `HttpError` for
 * a body that is not well-formed multipart; errors of `body` itself (a client
 * that went away) pass through.
 */
export async function* readMultipart(
  body: ReadableStream<Uint8Array>,
  boundary: string,
  signal?: AbortSignal,
): AsyncGenerator<MultipartPart, void, undefined> {
  const encoder = new TextEncoder();
  // Every delimiter is CRLF "--" boundary; the first one may open the body, so
  // the body is read as if a CRLF came before it.
  const delimiter = encoder.encode(`\r\n--${boundary}`);
  const reader = body.getReader();
  // Aborting stops the body where it is (a pending read then ends): the way out
  // for a caller whose deadline passed while a part was still arriving.
  signal?.addEventListener("abort", () => void reader.cancel().catch(() => {}), { once: true });
  let buffer: Uint8Array = encoder.encode("\r\n");
  let ended = false;

  const readMore = async (): Promise<boolean> => {
    if (ended) return false;
    const { done, value } = await reader.read();
    if (done) {
      ended = true;
      return false;
    }
    const joined = new Uint8Array(buffer.byteLength + value.byteLength);
    joined.set(buffer);
    joined.set(value, buffer.byteLength);
    buffer = joined;
    return true;
  };
  const malformed = (why: string) =>
    new HttpError(400, "invalid_form", `The upload is not a well-formed multipart form: ${why}.`);

  try {
    // The preamble, up to the first delimiter.
    let at = indexOf(buffer, delimiter);
    while (at < 0) {
      if (buffer.byteLength > MAX_PREAMBLE_BYTES) throw malformed("no boundary at its start");
      if (!await readMore()) throw malformed("no boundary");
      at = indexOf(buffer, delimiter);
    }
    buffer = buffer.subarray(at + delimiter.byteLength);
    for (;;) {
      // After a delimiter: "--" ends the form, CRLF opens a part.
      while (buffer.byteLength < 2) {
        if (!await readMore()) throw malformed("it ends inside a delimiter");
      }
      if (buffer[0] === 0x2d && buffer[1] === 0x2d) return;
      let headEnd = indexOf(buffer, HEAD_END);
      while (headEnd < 0) {
        if (buffer.byteLength > MAX_PART_HEAD_BYTES) throw malformed("a part's head is too long");
        if (!await readMore()) throw malformed("it ends inside a part's head");
        headEnd = indexOf(buffer, HEAD_END);
      }
      const head = new TextDecoder().decode(buffer.subarray(0, headEnd));
      buffer = buffer.subarray(headEnd + HEAD_END.byteLength);
      const disposition = /^content-disposition:\s*form-data(.*)$/im.exec(head)?.[1] ?? null;
      const name = disposition === null ? null : parameter(disposition, "name");
      if (name === null) throw malformed("a part has no form-data name");

      const finished = Promise.withResolvers<void>();
      // (Awaited below once the part is handed out; a reader that stops there must not see it unhandled.)
      finished.promise.catch(() => {});
      let partDone = false;
      const partBody = new ReadableStream<Uint8Array>({
        async pull(controller) {
          try {
            for (;;) {
              const end = indexOf(buffer, delimiter);
              if (end >= 0) {
                if (end > 0) controller.enqueue(buffer.slice(0, end));
                buffer = buffer.subarray(end + delimiter.byteLength);
                partDone = true;
                controller.close();
                finished.resolve();
                return;
              }
              // Everything but a tail that may be the start of the delimiter is this part's.
              const safe = buffer.byteLength - (delimiter.byteLength - 1);
              if (safe > 0) {
                controller.enqueue(buffer.slice(0, safe));
                buffer = buffer.subarray(safe);
                return;
              }
              if (!await readMore()) throw malformed("it ends inside a part");
            }
          } catch (error) {
            controller.error(error);
            finished.reject(error);
          }
        },
        cancel() {
          finished.resolve();
        },
      }, { highWaterMark: 0 });
      const filename = parameter(disposition ?? "", "filename");
      yield { name, filename, body: partBody };
      await finished.promise;
      // A part the reader cancelled: skip to its end.
      while (!partDone) {
        const end = indexOf(buffer, delimiter);
        if (end >= 0) {
          buffer = buffer.subarray(end + delimiter.byteLength);
          partDone = true;
        } else {
          buffer = buffer.subarray(Math.max(0, buffer.byteLength - (delimiter.byteLength - 1)));
          if (!await readMore()) throw malformed("it ends inside a part");
        }
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

const HEAD_END = new TextEncoder().encode("\r\n\r\n");

/** A `name="value"` parameter of a Content-Disposition header (quoted as browsers send it). */
function parameter(disposition: string, key: string): string | null {
  const match = new RegExp(`;\\s*${key}="((?:[^"\\\\]|\\\\.)*)"`, "i").exec(disposition) ??
    new RegExp(`;\\s*${key}=([^;\\s]+)`, "i").exec(disposition);
  return match?.[1]?.replace(/\\(.)/g, "$1") ?? null;
}

/** Where `needle` first occurs in `haystack`, or -1. */
function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  const first = needle[0] ?? 0;
  const last = haystack.byteLength - needle.byteLength;
  let at = haystack.indexOf(first, 0);
  while (at >= 0 && at <= last) {
    let i = 1;
    while (i < needle.byteLength && haystack[at + i] === needle[i]) i++;
    if (i === needle.byteLength) return at;
    at = haystack.indexOf(first, at + 1);
  }
  return -1;
}
