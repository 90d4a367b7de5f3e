/**
 * Lookup baseline (b), the read ceiling (issue 12): a bare `Deno.serve` that
 * reads `?number=` with `URL`, runs the lookup's exact query
 * (`LOOKUP_BY_PHONE_SQL`) as a statement prepared once on the `libsql` driver
 * in raw mode over the same store, and answers the contact's stored body (404
 * when there is none). The store keeps a contact as a compact fields array
 * (issue 15), so "the stored body" is that row turned into the guide's JSON
 * by the store's own function, `lookupBodyFromStored` — the same bytes the
 * lookup answers. No auth, no normalization, no metrics, no routing: what a
 * lookup that does one read and nothing else can reach.
 * It lives apart from baseline_server.ts because loading the driver needs
 * FFI, which the other baselines are not given.
 *
 * Usage: deno run --allow-net --allow-read --allow-env --allow-ffi --allow-sys
 *        bench/read_ceiling_server.ts STORE.db
 */
import Database from "libsql";
import { lookupBodyFromStored } from "../src/contacts/contact.ts";
import { LOOKUP_BY_PHONE_SQL } from "../src/contacts/contact_store.ts";

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };
const NOT_FOUND = JSON.stringify({ error: "not_found" });

/** Serves the read ceiling over the store at `dbPath` on a free port of 127.0.0.1. */
export function serveReadCeiling(dbPath: string): Deno.HttpServer {
  const db = new Database(dbPath, { readonly: true });
  const statement = db.prepare(LOOKUP_BY_PHONE_SQL).raw(true);
  const server = Deno.serve(
    {
      hostname: "127.0.0.1",
      port: 0,
      onListen: (addr) =>
        console.error(`baseline listening on http://${addr.hostname}:${addr.port}`),
    },
    (request) => {
      const number = new URL(request.url).searchParams.get("number") ?? "";
      const row = statement.get(number) as unknown[] | undefined;
      return row === undefined
        ? new Response(NOT_FOUND, { status: 404, headers: JSON_HEADERS })
        : new Response(lookupBodyFromStored(String(row[1]), String(row[0])), {
          headers: JSON_HEADERS,
        });
    },
  );
  server.finished.then(() => db.close());
  return server;
}

if (import.meta.main) {
  const [path] = Deno.args;
  if (!path) {
    console.error("usage: read_ceiling_server.ts STORE.db");
    Deno.exit(2);
  }
  const server = serveReadCeiling(path);
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(signal, () => void server.shutdown());
  }
  await server.finished;
}
