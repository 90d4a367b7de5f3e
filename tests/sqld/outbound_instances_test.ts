/**
 * Two symbo-crm instances on one sqld database send each outbound message
 * once (DESIGN §11): a message is claimed under a lease in a write
 * transaction before it is sent, so the two senders never deliver it
 * concurrently. The receiver (on 127.0.0.1) verifies every delivery.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { callEventBody, postSigned } from "../helpers/events.ts";
import { eventually } from "../helpers/eventually.ts";
import { startServerProcess } from "../helpers/server_process.ts";
import { admin, crmConfig, SECRET, startSqld } from "../helpers/sqld.ts";
import { startReceiver } from "../helpers/webhook_receiver.ts";

const CALLS = 30;

Deno.test("two instances on one sqld store deliver each outbound message once", async () => {
  const sqld = await startSqld();
  const receiver = startReceiver();
  const dirs = await Promise.all(
    ["a", "b"].map((name) => Deno.makeTempDir({ prefix: `symbo-crm-outbound-${name}-` })),
  );
  const servers = await Promise.all(dirs.map((dir) =>
    startServerProcess({
      dir,
      config: {
        ...crmConfig(dir, { url: sqld.url }),
        outbound: { allow_private_networks: true, allow_http: true, poll_interval_ms: 20 },
      },
    })
  ));
  const [a, b] = servers;
  assert(a && b);
  try {
    const created = await admin(a.url, "/api/endpoints", {
      method: "POST",
      body: { url: receiver.url },
    });
    assertEquals(created.status, 201);
    receiver.secrets = [String(created.body?.secret)];
    for (let call = 0; call < CALLS; call++) {
      const server = call % 2 === 0 ? a : b;
      const response = await postSigned(
        server.url,
        SECRET,
        callEventBody({ callId: `call-2s-${call}`, eventId: `evt-2s-${call}` }),
      );
      assertEquals(response.status, 200);
      await response.body?.cancel();
    }
    await eventually(
      "every call delivered",
      30_000,
      () =>
        Promise.resolve(
          new Set(receiver.delivered().map((item) => item.body.data.id)).size === CALLS,
        ),
    );
    // Both senders had work to race for; still, no message arrived twice.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const ids = receiver.received.map((item) => item.id);
    assertEquals(ids.length, new Set(ids).size, "a webhook-id was delivered twice");
    assertEquals(ids.length, CALLS);
    assert(receiver.received.every((item) => item.verifiedBy.length === 1));
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await receiver.close();
    await sqld.stop();
    for (const dir of dirs) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
