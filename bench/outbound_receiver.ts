/**
 * A CRM's receiving endpoint for the outbound benchmark: a bare `Deno.serve`
 * on 127.0.0.1 that answers every POST `204` after reading its body (it
 * verifies nothing: its own cost is not what is measured), and answers
 * `GET /count` with how many deliveries it got.
 *
 * Usage: deno run --allow-net bench/outbound_receiver.ts
 */
let deliveries = 0;
const server = Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => console.error(`receiver listening on http://127.0.0.1:${port}`),
}, async (request) => {
  if (request.method === "GET") return new Response(String(deliveries));
  await request.arrayBuffer();
  deliveries++;
  return new Response(null, { status: 204 });
});
Deno.addSignalListener("SIGTERM", () => server.shutdown());
