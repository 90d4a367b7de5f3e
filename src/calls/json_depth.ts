/**
 * How deep a JSON text nests arrays and objects, measured on the text before
 * it is parsed. SQLite's JSON functions refuse a document nested 1,000 levels
 * or more ("malformed JSON"), so a call stored with one would break every
 * query that reads calls through them (the feed, the list, the CSV); the
 * webhook refuses such a body instead (it is still audited).
 */

/**
 * The deepest nesting of `text` when it goes beyond `max`, else null. Strings
 * are skipped whole (brackets inside them do not count), so a long
 * transcription costs one `indexOf` per escaped quote, not a look at each
 * character. Text that is not JSON is measured the same way (its parse fails
 * elsewhere).
 */
export function nestingBeyond(text: string, max: number): number | null {
  const structural = /["[\]{}]/g;
  let depth = 0;
  let deepest = 0;
  for (let match = structural.exec(text); match !== null; match = structural.exec(text)) {
    const char = match[0];
    if (char === '"') {
      structural.lastIndex = stringEnd(text, match.index + 1);
    } else if (char === "[" || char === "{") {
      depth++;
      if (depth > deepest) deepest = depth;
    } else if (depth > 0) {
      depth--;
    }
  }
  return deepest > max ? deepest : null;
}

/** The index just past the quote that closes the string whose content starts at `from`. */
function stringEnd(text: string, from: number): number {
  let at = from;
  for (;;) {
    const quote = text.indexOf('"', at);
    if (quote === -1) return text.length;
    // A quote preceded by an odd run of backslashes is escaped.
    let slashes = 0;
    while (text.charCodeAt(quote - 1 - slashes) === 92) slashes++;
    if (slashes % 2 === 0) return quote + 1;
    at = quote + 1;
  }
}
