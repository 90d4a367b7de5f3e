/**
 * The lookup handler on its own: what it reads of a request and what it
 * answers, over a synchronous read (the local store's path).
 */
import { assertEquals } from "../helpers/assert.ts";
import { createLookupHandler } from "../../src/symbo/lookup_route.ts";
import type { SqlExecutor } from "../../src/store/sql.ts";
import { watchedRequest } from "../helpers/watched_request.ts";

const TOKEN = "lookup-token-0123456789abcdef0123456789";
const BODY = '{"external_id":"12345","first_name":"Sally"}';

function handler() {
  const results: string[] = [];
  const lookup = createLookupHandler({
    reader: {} as SqlExecutor,
    readBodyNow: (e164) => (e164 === "+18005551212" ? BODY : undefined),
    lookupTokens: [TOKEN],
    signingKeys: [],
    defaultRegion: "US",
    onResult: (result) => results.push(result),
  });
  return { lookup, results };
}

Deno.test("a lookup authorized by ?token= answers without reading a request header", () => {
  const { lookup, results } = handler();
  for (const number of ["%2B18005551212", "%2B18005550000", "(800)%20555-1212"]) {
    const { request, headersRead } = watchedRequest(
      `http://localhost/symbo/lookup?number=${number}&token=${TOKEN}`,
    );
    const response = lookup(request);
    if (!(response instanceof Response)) throw new Error("expected a synchronous answer");
    assertEquals(headersRead(), false, number);
    assertEquals([...response.headers.keys()], ["content-type"]);
  }
  assertEquals(results, ["hit", "miss", "hit"]);
});

Deno.test("a lookup without a query token is authorized by its Authorization header", async () => {
  const { lookup } = handler();
  const { request, headersRead } = watchedRequest(
    "http://localhost/symbo/lookup?number=%2B18005551212",
    { authorization: `Bearer ${TOKEN}` },
  );
  const response = await lookup(request);
  assertEquals(headersRead(), true);
  assertEquals(response.status, 200);
  assertEquals(await response.text(), BODY);
});
