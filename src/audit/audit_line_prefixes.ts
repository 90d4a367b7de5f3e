/**
 * Reading an audit file for people: each line's first characters and its
 * length, never the whole line. A line holds a body of up to
 * `symbo.max_body_bytes` (5 MiB, ~6 MB once escaped), and a prefix cut from a
 * whole line keeps that line alive in memory (V8's sliced strings), so a page
 * of 100 such lines ran the server out of heap; here a line is never joined.
 */
import { openDayText } from "./audit_files.ts";

/** The start of one line of an audit file. */
export interface AuditLinePrefix {
  /** 1-based line number within the file. */
  readonly lineNumber: number;
  /** The line's first characters (at most the `maxChars` asked for). */
  readonly prefix: string;
  /** The whole line's length in characters (UTF-16 code units), newline excluded. */
  readonly length: number;
}

/**
 * Streams the lines of one audit file (a name inside `dir`, plain or gzip),
 * each as its first `maxChars` characters and its length. Memory holds one
 * decoded chunk and one prefix at a time, whatever the lines' length.
 */
export async function* readAuditLinePrefixes(
  dir: string,
  file: string,
  maxChars: number,
): AsyncGenerator<AuditLinePrefix, void, undefined> {
  const chunks = await openDayText(dir, file);
  let parts: string[] = [];
  let kept = 0;
  let length = 0;
  let lineNumber = 0;
  const take = (chunk: string, from: number, to: number) => {
    length += to - from;
    if (kept < maxChars && to > from) {
      const part = chunk.slice(from, Math.min(to, from + maxChars - kept));
      parts.push(part);
      kept += part.length;
    }
  };
  const finish = (): AuditLinePrefix => {
    lineNumber++;
    // Copied, not sliced: a slice would keep its whole chunk alive as long as the prefix.
    const prefix = flatCopy(parts.join(""));
    const line = { lineNumber, prefix, length };
    parts = [];
    kept = 0;
    length = 0;
    return line;
  };
  // Leaving the loop early (break/return/throw) cancels the stream, which closes the file.
  for await (const chunk of chunks) {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf("\n", start);
      if (newline === -1) {
        take(chunk, start, chunk.length);
        break;
      }
      take(chunk, start, newline);
      yield finish();
      start = newline + 1;
    }
  }
  if (length > 0) yield finish();
}

function flatCopy(text: string): string {
  return text.length === 0 ? "" : new TextDecoder().decode(new TextEncoder().encode(text));
}
