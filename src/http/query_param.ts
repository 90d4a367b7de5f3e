/**
 * Query parameters of a request URL, read exactly as
 * `new URL(url).searchParams.get(name)` reads them, without building a URL:
 * the lookup reads two parameters per request, and the full URL parser cost
 * it ~2 µs of a budget of a few (issue 12).
 *
 * Only a query made of plain characters (letters, digits, `-._~`, and the
 * `%`, `+`, `=`, `&` of form encoding) is read here; any other query, and any
 * percent-escape that is not valid UTF-8, is handed to `URLSearchParams`, so
 * the answer never differs from it.
 */

const PLAIN_QUERY = /^[A-Za-z0-9._~%+=&-]*$/;

/** The first value of each of `names` in `url`'s query, or null (as `URLSearchParams.get`). */
export function queryParams(url: string, names: readonly string[]): (string | null)[] {
  const values: (string | null)[] = names.map(() => null);
  const start = url.indexOf("?");
  if (start < 0) return values;
  const hash = url.indexOf("#", start);
  const query = hash < 0 ? url.slice(start + 1) : url.slice(start + 1, hash);
  if (!PLAIN_QUERY.test(query)) return bySearchParams(url, names);
  let missing = names.length;
  let from = 0;
  while (from < query.length && missing > 0) {
    let end = query.indexOf("&", from);
    if (end < 0) end = query.length;
    if (end > from) {
      const equals = query.indexOf("=", from);
      const keyEnd = equals < 0 || equals > end ? end : equals;
      const key = decodeFormPart(query.slice(from, keyEnd));
      if (key === null) return bySearchParams(url, names);
      const index = names.indexOf(key);
      if (index >= 0 && values[index] === null) {
        const value = keyEnd === end ? "" : decodeFormPart(query.slice(keyEnd + 1, end));
        if (value === null) return bySearchParams(url, names);
        values[index] = value;
        missing--;
      }
    }
    from = end + 1;
  }
  return values;
}

function bySearchParams(url: string, names: readonly string[]): (string | null)[] {
  const params = new URL(url).searchParams;
  return names.map((name) => params.get(name));
}

/** A form-encoded name or value decoded (`+` is a space), or null when it is not valid UTF-8. */
function decodeFormPart(part: string): string | null {
  if (!part.includes("%") && !part.includes("+")) return part;
  try {
    return decodeURIComponent(part.replaceAll("+", " "));
  } catch {
    return null;
  }
}
