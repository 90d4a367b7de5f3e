/** A request that records whether anything read its headers (`request.headers`). */
export function watchedRequest(
  url: string,
  headers: Record<string, string> = {},
): { request: Request; headersRead: () => boolean } {
  const request = new Request(url, { headers });
  const real = request.headers;
  let read = false;
  Object.defineProperty(request, "headers", {
    get() {
      read = true;
      return real;
    },
  });
  return { request, headersRead: () => read };
}
