// The outbound client against servers on loopback only; names are resolved by
// an injected resolver, and every non-loopback address is refused before any
// packet could leave.
import { assert, assertEquals } from "../helpers/assert.ts";
import { createHttpClient, OutboundError } from "../../src/outbound/http_client.ts";

const fixtures = new URL("../fixtures/tls/", import.meta.url);
const cert = Deno.readTextFileSync(new URL("crm_example_test_cert.pem", fixtures));
const key = Deno.readTextFileSync(new URL("crm_example_test_key.pem", fixtures));

function serve(
  handler: (
    request: Request,
    info: Deno.ServeHandlerInfo<Deno.NetAddr>,
  ) => Response | Promise<Response>,
  tls = false,
  hostname = "127.0.0.1",
) {
  return Deno.serve({ hostname, port: 0, onListen() {}, ...(tls ? { cert, key } : {}) }, handler);
}

async function rejects(promise: Promise<unknown>, code: string, message?: RegExp) {
  try {
    await promise;
  } catch (error) {
    assert(error instanceof OutboundError, String(error));
    assertEquals(error.code, code, error.message);
    if (message) assert(message.test(error.message), error.message);
    return error;
  }
  throw new Error("expected a rejection");
}

Deno.test("a POST reaches a loopback server and its answer is read, with keep-alive reuse", async () => {
  const peers: string[] = [];
  const server = serve(async (request, info) => {
    peers.push(`${info.remoteAddr.port}`);
    return new Response(`got ${await request.text()} at ${new URL(request.url).pathname}`, {
      status: 202,
    });
  });
  const client = createHttpClient({ allowPrivateNetworks: true, allowHttp: true });
  try {
    for (const n of [1, 2, 3]) {
      const response = await client.request({
        method: "POST",
        url: `http://127.0.0.1:${server.addr.port}/hook?x=${n}`,
        headers: { "content-type": "text/plain", "webhook-id": "msg_1" },
        body: `body ${n}`,
      });
      assertEquals(response.status, 202);
      const { bytes, truncated } = await response.readPrefix(1024);
      assertEquals(new TextDecoder().decode(bytes), `got body ${n} at /hook`);
      assertEquals(truncated, false);
    }
    assertEquals(new Set(peers).size, 1, "one kept-alive connection for the three requests");
  } finally {
    client.close();
    await server.shutdown();
  }
});

Deno.test("a chunked answer is decoded and a long one is cut at the prefix limit", async () => {
  const server = serve((request) => {
    const size = Number(new URL(request.url).searchParams.get("size"));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < size; i += 1000) controller.enqueue(new Uint8Array(1000).fill(97));
        controller.close();
      },
    });
    return new Response(stream);
  });
  const client = createHttpClient({ allowPrivateNetworks: true, allowHttp: true });
  try {
    const small = await client.request({
      method: "GET",
      url: `http://localhost:${server.addr.port}/?size=3000`,
    });
    assertEquals(small.headers.get("transfer-encoding"), "chunked");
    assertEquals((await small.readPrefix(65536)).bytes.length, 3000);
    const large = await client.request({
      method: "GET",
      url: `http://localhost:${server.addr.port}/?size=200000`,
    });
    const prefix = await large.readPrefix(65536);
    assertEquals(prefix.bytes.length, 65536);
    assertEquals(prefix.truncated, true);
  } finally {
    client.close();
    await server.shutdown();
  }
});

Deno.test("a redirect is answered as it is, never followed", async () => {
  let followed = 0;
  const server = serve((request) => {
    if (new URL(request.url).pathname === "/inside") followed++;
    return new Response(null, { status: 302, headers: { location: "/inside" } });
  });
  const client = createHttpClient({ allowPrivateNetworks: true, allowHttp: true });
  try {
    const response = await client.request({
      method: "POST",
      url: `http://127.0.0.1:${server.addr.port}/`,
      body: "{}",
    });
    assertEquals(response.status, 302);
    assertEquals(response.headers.get("location"), "/inside");
    await response.body.cancel();
    assertEquals(followed, 0);
  } finally {
    client.close();
    await server.shutdown();
  }
});

Deno.test("loopback URLs are refused before connecting when private networks are not allowed", async () => {
  let requests = 0;
  const server = serve(() => {
    requests++;
    return new Response("no");
  });
  const v6 = serve(
    () => {
      requests++;
      return new Response("no");
    },
    false,
    "::1",
  );
  const client = createHttpClient({ allowPrivateNetworks: false, allowHttp: true });
  try {
    for (
      const url of [
        `http://localhost:${server.addr.port}/`,
        `http://127.0.0.1:${server.addr.port}/`,
        `http://[::1]:${v6.addr.port}/`,
        `http://[::ffff:127.0.0.1]:${server.addr.port}/`,
      ]
    ) {
      await rejects(
        client.request({ method: "POST", url, body: "{}" }),
        "refused_address",
        /loopback.*allow_private_networks/,
      );
    }
    assertEquals(requests, 0);
  } finally {
    client.close();
    await server.shutdown();
    await v6.shutdown();
  }
});

Deno.test("a name resolving to any private address is refused whole, before any connection", async () => {
  const client = createHttpClient({
    allowPrivateNetworks: false,
    allowHttp: false,
    resolve: () => Promise.resolve(["93.184.215.14", "10.0.0.7"]),
  });
  await rejects(
    client.request({ method: "POST", url: "https://crm.example.test/hook", body: "{}" }),
    "refused_address",
    /crm\.example\.test resolves to 10\.0\.0\.7 is a private-network address/,
  );
  const metadata = createHttpClient({
    allowPrivateNetworks: false,
    allowHttp: true,
    resolve: () => Promise.resolve(["169.254.169.254"]),
  });
  await rejects(
    metadata.request({ method: "GET", url: "http://metadata.example.test/" }),
    "refused_address",
    /link-local/,
  );
});

Deno.test("plain http is refused unless allowed, and URLs with credentials always", async () => {
  const client = createHttpClient({ allowPrivateNetworks: true, allowHttp: false });
  await rejects(
    client.request({ method: "POST", url: "http://127.0.0.1:9/" }),
    "bad_url",
    /allow_http/,
  );
  await rejects(
    client.request({ method: "POST", url: "https://u:p@127.0.0.1:9/" }),
    "bad_url",
    /user name/,
  );
  await rejects(client.request({ method: "POST", url: "ftp://127.0.0.1/" }), "bad_url");
});

Deno.test("TLS goes to the checked address with the URL's name for SNI and verification", async () => {
  const server = serve((request) => new Response(`host=${request.headers.get("host")}`), true);
  const resolved: string[] = [];
  const options = {
    allowPrivateNetworks: true,
    allowHttp: false,
    resolve: (name: string) => {
      resolved.push(name);
      return Promise.resolve(["127.0.0.1"]);
    },
  };
  const client = createHttpClient({ ...options, caCerts: [cert] });
  const untrusting = createHttpClient(options);
  try {
    const url = `https://crm.example.test:${server.addr.port}/hook`;
    const response = await client.request({ method: "POST", url, body: "{}" });
    assertEquals(response.status, 200);
    assertEquals(
      new TextDecoder().decode((await response.readPrefix(100)).bytes),
      `host=crm.example.test:${server.addr.port}`,
    );
    assertEquals(resolved, ["crm.example.test"]);
    await rejects(untrusting.request({ method: "POST", url, body: "{}" }), "tls");
  } finally {
    client.close();
    untrusting.close();
    await server.shutdown();
  }
});

Deno.test("a receiver that never answers times out, and so does one that never accepts TLS", async () => {
  const { promise: never, resolve: release } = Promise.withResolvers<Response>();
  const server = serve(() => never);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  const client = createHttpClient({
    allowPrivateNetworks: true,
    allowHttp: true,
    connectTimeoutMs: 200,
    answerTimeoutMs: 200,
    resolve: () => Promise.resolve(["127.0.0.1"]),
  });
  try {
    await rejects(
      client.request({ method: "POST", url: `http://127.0.0.1:${server.addr.port}/`, body: "{}" }),
      "answer_timeout",
    );
    await rejects(
      client.request({
        method: "POST",
        url: `https://crm.example.test:${listener.addr.port}/`,
        body: "{}",
      }),
      "connect_timeout",
    );
  } finally {
    client.close();
    release(new Response("late"));
    await server.shutdown();
    listener.close();
    held.forEach((conn) => conn.close());
  }
});

Deno.test("a kept-alive connection the server closed is replaced transparently", async () => {
  const server = serve(() => new Response("ok"));
  const client = createHttpClient({ allowPrivateNetworks: true, allowHttp: true });
  try {
    const first = await client.request({
      method: "POST",
      url: `http://127.0.0.1:${server.addr.port}/`,
      body: "1",
    });
    await first.readPrefix(10);
    await server.shutdown();
    const again = serve(() => new Response("ok again"));
    const second = await client.request({
      method: "POST",
      url: `http://127.0.0.1:${again.addr.port}/`,
      body: "2",
    });
    assertEquals(new TextDecoder().decode((await second.readPrefix(100)).bytes), "ok again");
    await again.shutdown();
  } finally {
    client.close();
  }
});
