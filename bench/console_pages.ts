/**
 * The console's page times and what recording unknown numbers costs a lookup.
 *
 *   deno run -A bench/console_pages.ts [--contacts 1000000] [--calls 100000] [--loads 20]
 *
 * 1. Seeds a store file directly (contacts through the store's own save, calls
 *    and their events by SQL), starts the real server with the start task's
 *    flags, signs in, and loads each console page `--loads` times: p50 and max
 *    of the round trip on 127.0.0.1 (which is server time plus a loopback hop).
 * 2. In-process, times the lookup handler on missing numbers with the
 *    `onResult` of serve_command (unknown-number recorder + hourly counter)
 *    against a no-op `onResult`: the recording's cost per lookup.
 */
import { parseArgs } from "node:util";
import { openStore, type Store } from "../src/store/open_store.ts";
import { saveContact } from "../src/contacts/contact_store.ts";
import { createUnknownNumbersRecorder } from "../src/contacts/unknown_numbers.ts";
import { createHourlyCounters } from "../src/ops/hourly_counters.ts";
import { createLookupHandler } from "../src/symbo/lookup_route.ts";
import { ALL_CONTACT_FIELDS, type Contact } from "../src/contacts/contact.ts";
import { ROOT, startTaskFlags } from "./processes.ts";
import { Prng } from "./prng.ts";
import { TextLineStream } from "./text_lines.ts";

const ADMIN = "admin-token-console-bench-0123456789";
const TOKEN = "lookup-token-console-bench-0123";
const DISPOSITIONS = ["answered_positive", "answered_negative", "voicemail", "no_answer", "busy"];
const DAY = 86_400_000;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    contacts: { type: "string", default: "1000000" },
    calls: { type: "string", default: "100000" },
    loads: { type: "string", default: "20" },
    lookups: { type: "string", default: "200000" },
    "skip-lookups": { type: "boolean", default: false },
  },
});
const CONTACTS = Number(values.contacts);
const CALLS = Number(values.calls);
const LOADS = Number(values.loads);
const LOOKUPS = Number(values.lookups);

function contact(i: number): Contact {
  const fields = Object.fromEntries(ALL_CONTACT_FIELDS.map((f) => [f, ""])) as Record<
    string,
    string
  >;
  fields.external_id = `c-${i}`;
  fields.first_name = `First${i}`;
  fields.last_name = `Last${i % 5000}`;
  fields.work_email = `person${i}@example.com`;
  fields.work_phone = `+1${String(2_000_000_000 + i * 7).slice(0, 10)}`;
  return fields as Contact;
}

async function seed(store: Store): Promise<void> {
  const started = performance.now();
  const now = Date.now();
  for (let from = 0; from < CONTACTS; from += 50_000) {
    await store.write(async (db) => {
      for (let i = from; i < Math.min(CONTACTS, from + 50_000); i++) {
        await saveContact(db, contact(i), now);
      }
    });
  }
  const random = new Prng(42);
  await store.write(async (db) => {
    for (let i = 0; i < CALLS; i++) {
      const seen = now - Math.floor(random.next() * 30 * DAY);
      const contactId = `c-${Math.floor(random.next() * CONTACTS)}`;
      const id = `call-${i}`;
      const data = JSON.stringify({
        id,
        note: i % 10 === 0 ? "wants a demo next week" : "left a message",
        call_disposition: DISPOSITIONS[i % DISPOSITIONS.length],
      });
      await db.run(
        `INSERT INTO calls (id, contact_external_id, user_id, direction, state, disposition,
           to_number, data, order_received_ms, order_seq, first_seen_at, last_event_at, change_seq)
         VALUES (?, ?, ?, ?, 'completed', ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          id,
          contactId,
          `rep-${i % 25}`,
          i % 3 === 0 ? "inbound" : "outbound",
          DISPOSITIONS[i % DISPOSITIONS.length] ?? null,
          "+15555550100",
          data,
          seen,
          i + 1,
          seen,
          seen,
          i + 1,
        ],
      );
      await db.run(
        `INSERT INTO events (event_key, event_id, event_type, object, call_id, audit_seq,
           received_at, outcome, body) VALUES (?, ?, 'call.created', 'Call', ?, NULL, ?, 'applied', ?)`,
        [`k-${i}`, `e-${i}`, id, seen, data],
      );
    }
  });
  console.error(
    `seeded ${CONTACTS} contacts and ${CALLS} calls in ${
      ((performance.now() - started) / 1000).toFixed(1)
    } s`,
  );
}

async function startServer(dir: string): Promise<{ url: string; child: Deno.ChildProcess }> {
  const config = {
    data_dir: `${dir}/data`,
    server: { hostname: "127.0.0.1", port: 0 },
    database: { url: `file:${dir}/data/crm.db` },
    audit: { dir: `${dir}/data/audit` },
    symbo: { webhook_secrets: ["bench secret"], lookup_tokens: [TOKEN] },
    admin: { tokens: [ADMIN] },
    log: { level: "warning" },
  };
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config));
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...(await startTaskFlags()),
      `${ROOT}/main.ts`,
      "serve",
      "--config",
      `${dir}/config.json`,
    ],
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).pipeThrough(
    new TextLineStream(),
  );
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  for await (const line of lines) {
    const match = /listening on (\S+)/.exec(line);
    if (match?.[1]) {
      clearTimeout(timer);
      void lines.pipeTo(new WritableStream()).catch(() => {});
      return { url: match[1], child };
    }
  }
  throw new Error("the server exited before listening");
}

async function signIn(url: string): Promise<string> {
  const page = await fetch(`${url}/console/login`);
  const html = await page.text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
  const loginCookie = (page.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  const response = await fetch(`${url}/console/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: loginCookie },
    body: new URLSearchParams({ csrf, token: ADMIN }),
  });
  await response.body?.cancel();
  const session = response.headers.getSetCookie().find((c) => c.startsWith("symbo_console="));
  if (!session) throw new Error(`sign-in failed: ${response.status}`);
  return session.split(";")[0] ?? "";
}

async function timePages(url: string, cookie: string): Promise<void> {
  const pages = [
    "/console/",
    "/console/calls",
    "/console/calls?disposition=voicemail&direction=inbound",
    "/console/calls?note=demo",
    "/console/calls/call-500",
    "/console/contacts?q=Last42",
    "/console/contacts?q=%2B1%20(200)%20000-0700",
    "/console/contacts/c-100",
    "/console/unknown-numbers",
    "/console/audit",
    "/console/import",
    "/console/api",
  ];
  console.log(`| page | p50 ms | max ms | bytes |`);
  console.log(`| --- | ---: | ---: | ---: |`);
  for (const path of pages) {
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < LOADS; i++) {
      const started = performance.now();
      const response = await fetch(`${url}${path}`, { headers: { cookie } });
      const body = await response.arrayBuffer();
      times.push(performance.now() - started);
      bytes = body.byteLength;
      if (response.status !== 200) throw new Error(`${path}: ${response.status}`);
    }
    times.sort((a, b) => a - b);
    const p50 = times[Math.floor(times.length / 2)] ?? 0;
    console.log(
      `| ${path} | ${p50.toFixed(1)} | ${(times.at(-1) ?? 0).toFixed(1)} | ${bytes} |`,
    );
  }
}

async function lookupOverhead(store: Store): Promise<void> {
  // End-to-end A/B runs of the handler on this shared machine swing by ±20%
  // between identical rounds, so the recording is measured by its parts: the
  // lookup's own cost on a miss, what onResult adds to it, and the background
  // flush's cost per recorded lookup (it runs on the same thread).
  const recorder = createUnknownNumbersRecorder({
    write: store.write,
    defaultRegion: "US",
    maxRows: 100_000,
    retentionDays: 90,
    maxBuffered: 10_000,
  });
  const hourly = createHourlyCounters({ write: store.write });
  const onResult = (result: string, number: string) => {
    if (result === "miss") {
      recorder.record(number);
      hourly.inc("lookup_unknown");
    } else if (result === "hit") hourly.inc("lookup_found");
  };
  const handler = createLookupHandler({
    reader: store.reader,
    lookupTokens: [TOKEN],
    signingKeys: [],
    defaultRegion: "US",
    onResult: () => {},
  });
  // 5,000 distinct valid numbers no contact has, asked round-robin (a busy day's misses).
  const numbers = Array.from({ length: 5000 }, (_, i) => `+1415555${String(i).padStart(4, "0")}`);
  const requests = numbers.map((n) =>
    new Request(`http://x/symbo/lookup?number=${encodeURIComponent(n)}&token=${TOKEN}`)
  );
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

  const lookupUs: number[] = [];
  const recordUs: number[] = [];
  const flushUsPerLookup: number[] = [];
  for (let round = 0; round < 5; round++) {
    let started = performance.now();
    for (let i = 0; i < LOOKUPS; i++) {
      const response = await handler(requests[i % requests.length]!);
      if (response.status !== 404) throw new Error(`expected a miss, got ${response.status}`);
    }
    lookupUs.push((performance.now() - started) * 1000 / LOOKUPS);

    started = performance.now();
    for (let i = 0; i < LOOKUPS; i++) onResult("miss", numbers[i % numbers.length]!);
    recordUs.push((performance.now() - started) * 1000 / LOOKUPS);

    // One flush writes every distinct number the round recorded.
    started = performance.now();
    await recorder.flush();
    await hourly.flush();
    flushUsPerLookup.push((performance.now() - started) * 1000 / LOOKUPS);
  }
  const lookup = median(lookupUs);
  const record = median(recordUs);
  const flush = median(flushUsPerLookup);
  console.log(
    `\nlookup on an unknown number (in-process handler, ${LOOKUPS} lookups x 5 rounds, median):` +
      `\n  the lookup itself: ${lookup.toFixed(2)} µs` +
      `\n  recording it (onResult: unknown number + hourly counter): ${
        (record * 1000).toFixed(0)
      } ns` +
      `\n  the background flush, per recorded lookup (5,000 distinct numbers a flush): ${
        (flush * 1000).toFixed(0)
      } ns` +
      `\n  cost: ${(((record + flush) / lookup) * 100).toFixed(2)}% of a miss's CPU time`,
  );
}

const dir = await Deno.makeTempDir({ prefix: "symbo-crm-console-bench-" });
try {
  await Deno.mkdir(`${dir}/data/audit`, { recursive: true });
  const store = await openStore({ url: `file:${dir}/data/crm.db` });
  try {
    await seed(store);
    if (!values["skip-lookups"]) await lookupOverhead(store);
  } finally {
    store.close();
  }
  const server = await startServer(dir);
  try {
    const cookie = await signIn(server.url);
    console.log(`\nconsole pages, ${CONTACTS} contacts, ${CALLS} calls, ${LOADS} loads each:\n`);
    await timePages(server.url, cookie);
  } finally {
    server.child.kill("SIGTERM");
    await server.child.status;
  }
} finally {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
