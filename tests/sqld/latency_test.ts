/**
 * Lookup latency of the three store modes in the same run, on the same data:
 * the embedded file (prepared statements), a remote sqld over HTTP, and an
 * embedded replica of that sqld. Printed, not asserted (beyond every answer
 * being right): a measurement, not a benchmark gate.
 */
import { assertEquals } from "../helpers/assert.ts";
import { aContact } from "../helpers/builders.ts";
import { type ServerProcess, startServerProcess } from "../helpers/server_process.ts";
import { crmConfig, LOOKUP_TOKEN, startSqld } from "../helpers/sqld.ts";
import { findContactByPhone, saveContact } from "../../src/contacts/contact_store.ts";
import { openStore, type Store } from "../../src/store/open_store.ts";

const CONTACTS = 500;
const WARMUP = 100;
const SAMPLES = 1000;
const CONCURRENCY = 16;

const phoneOf = (i: number) => `+1555${String(2000000 + i).padStart(7, "0")}`;

async function seed(store: Store): Promise<void> {
  await store.write(async (db) => {
    for (let i = 0; i < CONTACTS; i++) {
      await saveContact(
        db,
        aContact({ external_id: `lat-${i}`, mobile_phone: phoneOf(i) }),
        1000 + i,
      );
    }
  });
}

function summary(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  const mean = sorted.reduce((sum, x) => sum + x, 0) / sorted.length;
  const f = (ms: number) => `${(ms * 1000).toFixed(0).padStart(6)} µs`;
  return `p50 ${f(at(0.5))}  p90 ${f(at(0.9))}  p99 ${f(at(0.99))}  mean ${f(mean)}`;
}

async function measureStore(store: Store): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < WARMUP + SAMPLES; i++) {
    const started = performance.now();
    const contact = await findContactByPhone(store.reader, phoneOf(i % CONTACTS));
    const elapsed = performance.now() - started;
    assertEquals(contact?.external_id, `lat-${i % CONTACTS}`);
    if (i >= WARMUP) samples.push(elapsed);
  }
  return samples;
}

async function measureHttp(
  server: ServerProcess,
): Promise<{ samples: number[]; perSecond: number }> {
  const get = async (i: number) => {
    const response = await fetch(
      `${server.url}/symbo/lookup?number=${
        encodeURIComponent(phoneOf(i % CONTACTS))
      }&token=${LOOKUP_TOKEN}`,
    );
    assertEquals(response.status, 200);
    await response.body?.cancel();
  };
  const samples: number[] = [];
  for (let i = 0; i < WARMUP + SAMPLES; i++) {
    const started = performance.now();
    await get(i);
    if (i >= WARMUP) samples.push(performance.now() - started);
  }
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < SAMPLES) await get(next++);
  }));
  return { samples, perSecond: SAMPLES / ((performance.now() - started) / 1000) };
}

Deno.test("lookup latency: embedded file vs remote sqld vs embedded replica (printed)", async () => {
  const sqld = await startSqld();
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-latency-" });
  const databases: Record<string, Record<string, unknown>> = {
    "embedded file": { url: `file:${dir}/file/crm.db` },
    "remote sqld (http)": { url: sqld.url },
    "embedded replica": { url: `file:${dir}/replica/crm.db`, sync_url: sqld.url },
  };
  const lines = [
    `lookup latency, ${CONTACTS} contacts, ${SAMPLES} sequential lookups after ${WARMUP} warm-up; ` +
    `throughput with ${CONCURRENCY} concurrent clients`,
  ];
  try {
    const fileStore = await openStore({ url: `file:${dir}/file/crm.db` });
    await seed(fileStore);
    fileStore.close();
    const remoteStore = await openStore({ url: sqld.url });
    await seed(remoteStore);
    remoteStore.close();

    for (const [name, database] of Object.entries(databases)) {
      const store = await openStore({
        url: String(database.url),
        syncUrl: database.sync_url === undefined ? undefined : String(database.sync_url),
      });
      try {
        lines.push(`  ${name.padEnd(20)} store.reader  ${summary(await measureStore(store))}`);
      } finally {
        store.close();
      }
      const serverDir = `${dir}/${name.replaceAll(/\W+/g, "-")}`;
      await Deno.mkdir(serverDir);
      const server = await startServerProcess({
        dir: serverDir,
        config: crmConfig(serverDir, database),
      });
      try {
        const { samples, perSecond } = await measureHttp(server);
        lines.push(
          `  ${name.padEnd(20)} HTTP lookup   ${summary(samples)}  ~${Math.round(perSecond)} req/s`,
        );
      } finally {
        await server.stop();
      }
    }
  } finally {
    await sqld.stop();
  }
  console.log(lines.join("\n"));
});
