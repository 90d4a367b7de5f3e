/** The URL fetcher of contact sources: conditional requests, bounds, retries, redirects, the address guard. */
import { assert, assertEquals, assertMatch } from "../../helpers/assert.ts";
import {
  fetchExport,
  type FetchOptions,
  SourceFetchError,
} from "../../../src/contacts/sources/url_fetcher.ts";
import {
  createFetchSourceHttp,
  RefusedAddressError,
  type SourceHttp,
  type SourceRequest,
} from "../../../src/contacts/sources/source_http.ts";

const CSV = "external_id,first_name\n1,Ann\n";

/** A fake CRM: answers from a list, records every request. */
function fakeHttp(answers: (Response | Error)[]): { http: SourceHttp; seen: SourceRequest[] } {
  const seen: SourceRequest[] = [];
  return {
    seen,
    http: (request) => {
      seen.push(request);
      const next = answers.shift();
      if (next === undefined) throw new Error("no more answers");
      if (next instanceof Error) return Promise.reject(next);
      return Promise.resolve({ status: next.status, headers: next.headers, body: next.body });
    },
  };
}

async function options(overrides: Partial<FetchOptions> = {}): Promise<FetchOptions> {
  return {
    url: "https://crm.example.com/export.csv?token=secret",
    headers: { authorization: "Bearer t" },
    allowPrivateNetworks: false,
    timeoutMs: 5000,
    retries: 2,
    maxBytes: 1024,
    spoolDir: await Deno.makeTempDir({ prefix: "symbo-crm-fetch-" }),
    previous: { etag: null, lastModified: null, contentSha256: null },
    retryBaseMs: 1,
    ...overrides,
  };
}

Deno.test("a fetch spools the body owner-only and keeps its validators", async () => {
  const { http } = fakeHttp([
    new Response(CSV, {
      headers: { etag: '"v1"', "last-modified": "Tue, 01 Dec 2026 10:00:00 GMT" },
    }),
  ]);
  const result = await fetchExport(http, await options());
  assert(result.kind === "body");
  assertEquals(await Deno.readTextFile(result.path), CSV);
  assertEquals((await Deno.stat(result.path)).mode! & 0o777, 0o600);
  assertEquals(result.validators.etag, '"v1"');
  assertEquals(result.validators.lastModified, "Tue, 01 Dec 2026 10:00:00 GMT");
  assertEquals(result.validators.contentSha256?.length, 64);
});

Deno.test("the next fetch is conditional; a 304 or the same content hash is unchanged", async (t) => {
  await t.step("304", async () => {
    const { http, seen } = fakeHttp([new Response(null, { status: 304 })]);
    const previous = {
      etag: '"v1"',
      lastModified: "Tue, 01 Dec 2026 10:00:00 GMT",
      contentSha256: null,
    };
    const result = await fetchExport(http, await options({ previous }));
    assertEquals(result.kind, "not_modified");
    assertEquals(seen[0]?.headers["if-none-match"], '"v1"');
    assertEquals(seen[0]?.headers["if-modified-since"], "Tue, 01 Dec 2026 10:00:00 GMT");
  });
  await t.step("same bytes, no validators from the server", async () => {
    const first = await fetchExport(fakeHttp([new Response(CSV)]).http, await options());
    assert(first.kind === "body");
    const again = await fetchExport(
      fakeHttp([new Response(CSV)]).http,
      await options({ previous: first.validators }),
    );
    assertEquals(again.kind, "same_content");
  });
});

Deno.test("a server error is retried with backoff; a 4xx is not", async (t) => {
  await t.step("503, network error, then 200", async () => {
    const { http, seen } = fakeHttp([
      new Response("busy", { status: 503 }),
      new TypeError("connection reset"),
      new Response(CSV),
    ]);
    const result = await fetchExport(http, await options());
    assertEquals([result.kind, seen.length], ["body", 3]);
  });
  await t.step("401 fails at once and names the status, never the token", async () => {
    const { http, seen } = fakeHttp([new Response("no", { status: 401 })]);
    let error: unknown;
    try {
      await fetchExport(http, await options());
    } catch (caught) {
      error = caught;
    }
    assert(error instanceof SourceFetchError);
    assertMatch(error.message, /https:\/\/crm\.example\.com\/export\.csv answered 401/);
    assert(!error.message.includes("secret"));
    assertEquals(seen.length, 1);
  });
});

Deno.test("an export larger than admin.max_import_bytes is refused, declared or not", async () => {
  for (
    const response of [
      new Response("x".repeat(2000), { headers: { "content-length": "2000" } }),
      new Response(new Blob(["x".repeat(2000)]).stream()),
    ]
  ) {
    let error: unknown;
    try {
      await fetchExport(fakeHttp([response]).http, await options({ retries: 0 }));
    } catch (caught) {
      error = caught;
    }
    assert(error instanceof SourceFetchError);
    assertMatch(error.message, /larger than admin\.max_import_bytes \(1024 bytes\)/);
  }
});

Deno.test("redirects are followed only to https", async (t) => {
  await t.step("https → https", async () => {
    const { http, seen } = fakeHttp([
      new Response(null, { status: 302, headers: { location: "https://files.example.com/e.csv" } }),
      new Response(CSV),
    ]);
    assertEquals((await fetchExport(http, await options())).kind, "body");
    assertEquals(seen[1]?.url.href, "https://files.example.com/e.csv");
  });
  await t.step("https → http is refused", async () => {
    const { http } = fakeHttp([
      new Response(null, { status: 301, headers: { location: "http://files.example.com/e.csv" } }),
    ]);
    let error: unknown;
    try {
      await fetchExport(http, await options());
    } catch (caught) {
      error = caught;
    }
    assert(error instanceof SourceFetchError);
    assertMatch(error.message, /only https redirects are followed/);
  });
});

Deno.test("the address guard refuses loopback and private addresses unless the source allows them", async () => {
  const http = createFetchSourceHttp((host) =>
    Promise.resolve(host === "crm.internal" ? ["10.0.0.5"] : ["127.0.0.1"])
  );
  for (
    const url of ["https://127.0.0.1/e.csv", "https://crm.internal/e.csv", "https://[::1]/e.csv"]
  ) {
    let error: unknown;
    try {
      await http({
        url: new URL(url),
        headers: {},
        signal: AbortSignal.timeout(1000),
        allowPrivateNetworks: false,
      });
    } catch (caught) {
      error = caught;
    }
    assert(error instanceof RefusedAddressError, url);
    assertMatch(error.message, /allow_private_networks/);
  }
});
