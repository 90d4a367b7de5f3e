/** Where the console's login leads once signed in (its `next` field). */

// A console path and query in printable ASCII only: no control character (CR/LF
// in a Location header made the login answer 500), no non-ASCII (U+2028), no
// space, backslash or fragment, so the answer's Location is always a valid header.
const SAFE_NEXT = /^\/console\/[\x21\x22\x24-\x5b\x5d-\x7e]{0,2000}$/;
// A dot segment (literal or percent-encoded) could walk out of /console/.
const DOT_SEGMENT = /\/(?:\.|%2e){1,2}(?:[/?]|$)/i;

/** Only console paths on this site are followed after login; anything else goes to the overview. */
export function safeNext(next: string | null | undefined): string {
  return typeof next === "string" && SAFE_NEXT.test(next) && !DOT_SEGMENT.test(next)
    ? next
    : "/console/";
}
