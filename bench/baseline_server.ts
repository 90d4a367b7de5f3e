/**
 * The baselines the real server is measured against, each run in its own
 * process exactly like the server:
 *
 * - `lookup`: a bare `Deno.serve` answering every request with one fixed
 *   600-byte contact JSON (no routing, no parsing, no store) — the ceiling of
 *   an HTTP answer on this machine.
 * - `jsonl FILE`: a bare `Deno.serve` that verifies nothing and, one request at
 *   a time, appends the body as a line to FILE and `syncData()`s before
 *   answering — the simplest durable webhook receiver.
 *
 * Usage: deno run --allow-net --allow-write bench/baseline_server.ts lookup|jsonl [FILE]
 */

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };

/** A realistic lookup body of exactly 600 bytes (the guide's fields, padded by the note). */
export function fixedContactJson(): string {
  const body = {
    external_id: "C0018072",
    first_name: "Sally",
    last_name: "Sample",
    work_email: "sally.sample18072@acme2496.example.com",
    personal_email: "sally.sample18072@mail.example.org",
    work_phone: "+14155550134",
    mobile_phone: "+14155550135",
    home_phone: "+14155550136",
    other_phone: "",
    address_city: "San Francisco",
    address_country: "US",
    address_state: "CA",
    address_street: "1246 Market St",
    address_street_2: "",
    address_zip: "94105",
    linkedin_url: "https://www.linkedin.com/in/sally.sample-18072",
    facebook_url: "",
    personal_note_1: "",
    time_zone: "America/Los_Angeles",
    title: "Sales Manager",
    website_url_1: "",
    account: {
      external_id: "A006140",
      name: "Acme2496, Inc.",
      website_url: "",
      industry: "",
    },
  };
  const unpadded = new TextEncoder().encode(JSON.stringify(body)).length;
  body.personal_note_1 = "x".repeat(Math.max(0, 600 - unpadded));
  return JSON.stringify(body);
}

function serveLookup(): Deno.HttpServer {
  const body = new TextEncoder().encode(fixedContactJson());
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: announce },
    () => new Response(body, { headers: JSON_HEADERS }),
  );
}

async function serveJsonl(path: string): Promise<Deno.HttpServer> {
  const file = await Deno.open(path, { append: true, create: true });
  const newline = new Uint8Array([10]);
  const answer = JSON.stringify({ status: "applied" });
  let tail: Promise<void> = Promise.resolve();
  const append = async (body: Uint8Array) => {
    const line = new Uint8Array(body.length + 1);
    line.set(body);
    line.set(newline, body.length);
    for (let written = 0; written < line.length;) {
      written += await file.write(line.subarray(written));
    }
    await file.syncData();
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: announce },
    async (request) => {
      const body = new Uint8Array(await request.arrayBuffer());
      // Serialized: each line is written and fsync'd before the next one starts.
      const done = tail.then(() => append(body));
      tail = done.catch(() => {});
      await done;
      return new Response(answer, { headers: JSON_HEADERS });
    },
  );
  server.finished.then(() => file.close());
  return server;
}

function announce(addr: Deno.NetAddr): void {
  console.error(`baseline listening on http://${addr.hostname}:${addr.port}`);
}

if (import.meta.main) {
  const [mode, path] = Deno.args;
  const server = mode === "lookup"
    ? serveLookup()
    : mode === "jsonl" && path
    ? await serveJsonl(path)
    : null;
  if (server === null) {
    console.error("usage: baseline_server.ts lookup | jsonl FILE");
    Deno.exit(2);
  }
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(signal, () => void server.shutdown());
  }
  await server.finished;
}
