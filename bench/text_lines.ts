/**
 * Splits a text stream into lines (without their `\n` or `\r\n`), the part of
 * `@std/streams` the benchmark needs (JSR is not reachable from our machines).
 */

/** A TransformStream of text chunks into lines; a last line without `\n` is kept. */
export class TextLineStream extends TransformStream<string, string> {
  constructor() {
    let rest = "";
    super({
      transform(chunk, controller) {
        const parts = (rest + chunk).split("\n");
        rest = parts.pop() ?? "";
        for (const part of parts) {
          controller.enqueue(part.endsWith("\r") ? part.slice(0, -1) : part);
        }
      },
      flush(controller) {
        if (rest !== "") controller.enqueue(rest);
      },
    });
  }
}
