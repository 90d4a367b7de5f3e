/** The URL fetcher of contact sources: conditional requests, bounds, retries, redirects, the address guard. */
import { assert, assertEquals, assertMatch } from "../../helpers/assert.ts";
import {
  fetchExport,
  type FetchOptions,
  SourceFetchError,
} from "../../../src/contacts/sources/url_fetcher.ts";
import {
  RefusedRequestError,
  type SourceHttp,
  sourceHttpOver,
  type SourceRequest,
} from "../../../src/contacts/sources/source_http.ts";
import { createHttpClient, type Resolver } from "../../../src/outbound/http_client.ts";

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

/** The sources' two clients, with a fake resolver (nothing leaves 127.0.0.1). */
function sourceClients(resolve: Resolver = () => Promise.resolve(["127.0.0.1"])) {
  const guarded = createHttpClient({ allowPrivateNetworks: false, allowHttp: false, resolve });
  const privateNetworks = createHttpClient({
    allowPrivateNetworks: true,
    allowHttp: true,
    resolve,
  });
  return {
    http: sourceHttpOver({ guarded, privateNetworks }),
    close: () => {
      guarded.close();
      privateNetworks.close();
    },
  };
}

Deno.test("the address guard refuses loopback and private addresses unless the source allows them", async () => {
  const resolved: string[] = [];
  const { http, close } = sourceClients((host) => {
    resolved.push(host);
    return Promise.resolve(host === "crm.internal" ? ["10.0.0.5"] : ["127.0.0.1"]);
  });
  try {
    for (
      const url of [
        "https://127.0.0.1/e.csv",
        "https://crm.internal/e.csv",
        "https://[::1]/e.csv",
        "https://rebound.example.com/e.csv",
      ]
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
      assert(error instanceof RefusedRequestError, url);
      assertMatch(error.message, /allow_private_networks/);
    }
    assertEquals(resolved, ["crm.internal", "rebound.example.com"]);
  } finally {
    close();
  }
});

Deno.test("a refused address fails the fetch at once, never retried, never naming the query", async () => {
  let resolutions = 0;
  const { http, close } = sourceClients(() => {
    resolutions++;
    return Promise.resolve(["192.168.1.20"]);
  });
  try {
    let error: unknown;
    try {
      await fetchExport(http, await options({ retries: 3 }));
    } catch (caught) {
      error = caught;
    }
    assert(error instanceof SourceFetchError);
    assertMatch(error.message, /^https:\/\/crm\.example\.com\/export\.csv: refused: /);
    assertMatch(error.message, /allow_private_networks/);
    assert(!error.message.includes("secret"), error.message);
    assertEquals(resolutions, 1);
  } finally {
    close();
  }
});

Deno.test("through the outbound client, a gzip export is decompressed as it spools, bounded by its real size", async () => {
  const seen: { encoding: string | null; authorization: string | null }[] = [];
  let body = CSV;
  const crm = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    seen.push({
      encoding: request.headers.get("accept-encoding"),
      authorization: request.headers.get("authorization"),
    });
    return new Response(new Blob([body]).stream().pipeThrough(new CompressionStream("gzip")), {
      headers: { "content-type": "text/csv", "content-encoding": "gzip", etag: '"v1"' },
    });
  });
  const { http, close } = sourceClients();
  try {
    const url = `http://127.0.0.1:${crm.addr.port}/export.csv`;
    const result = await fetchExport(http, await options({ url, allowPrivateNetworks: true }));
    assert(result.kind === "body");
    assertEquals(await Deno.readTextFile(result.path), CSV);
    assertEquals(result.validators.etag, '"v1"');
    assertEquals(seen[0], { encoding: "gzip", authorization: "Bearer t" });

    body = "x".repeat(4000); // compresses far below the bound, decompresses above it
    let error: unknown;
    try {
      await fetchExport(http, await options({ url, allowPrivateNetworks: true, retries: 0 }));
    } catch (caught) {
      error = caught;
    }
    assert(error instanceof SourceFetchError);
    assertMatch(error.message, /larger than admin\.max_import_bytes \(1024 bytes\)/);
  } finally {
    close();
    await crm.shutdown();
  }
});
