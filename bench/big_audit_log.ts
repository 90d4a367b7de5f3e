/**
 * A big audit log for `startup_ms_big_log` (issue 22): 200,000 signed call
 * events in the newest two audit days (yesterday and today, UTC, when it was
 * built), written by the real audit writer (`openAuditLog`: hash chain, group
 * commit), then applied to a fresh store by the real server, so a start-up
 * over it has nothing to catch up. Cached in `bench/.cache/big_log/` (the
 * folder is the server's data folder: `crm.db`, `audit/`); each measurement
 * runs on a copy, so what the server does to its folder (compressing a
 * closed day, snapshots) never changes the cache.
 */
import { openAuditLog } from "../src/audit/audit_log.ts";
import { DELIVERY_SNAPSHOT_FILE } from "../src/audit/delivery_index.ts";
import { readEvent } from "../src/calls/call_event.ts";
import type { ExpectedNumber } from "./dataset.ts";
import { numberField } from "./json_fields.ts";
import { ROOT, runOrThrow } from "./processes.ts";
import { Prng } from "./prng.ts";
import { startRealServer, waitReady } from "./real_server.ts";
import { BENCH_WEBHOOK_SECRET, generateSegment } from "./webhook_events.ts";

/** Events in the big log (issue 22). */
export const BIG_LOG_EVENTS = 200_000;
/** Bump when the folder changes shape, so a cached one is rebuilt. */
const BIG_LOG_VERSION = 1;
const CHUNK = 10_000;
const IN_FLIGHT = 256;

/** A built big log: the data folder to copy. */
export interface BigLog {
  readonly dir: string;
  readonly events: number;
  readonly auditBytes: number;
  readonly cached: boolean;
  readonly buildSeconds: number;
}

/**
 * Returns the cached big log, or builds it: the events through the audit
 * writer (the first half dated yesterday, the rest today), then one start of
 * the real server until its applier reports `caught_up`.
 */
export async function ensureBigLog(options: {
  readonly prospects: readonly ExpectedNumber[];
  readonly configFor: (dir: string, dbPath: string) => Promise<string>;
  readonly flags: readonly string[];
  readonly log: (line: string) => void;
}): Promise<BigLog> {
  const dir = `${ROOT}/bench/.cache/big_log`;
  const metaPath = `${dir}/big_log.json`;
  try {
    const meta: unknown = JSON.parse(await Deno.readTextFile(metaPath));
    const what = "big log cache (delete bench/.cache/big_log to rebuild it)";
    if (
      numberField(meta, "version", what) === BIG_LOG_VERSION &&
      numberField(meta, "events", what) === BIG_LOG_EVENTS
    ) {
      return {
        dir,
        events: BIG_LOG_EVENTS,
        auditBytes: numberField(meta, "auditBytes", what),
        cached: true,
        buildSeconds: 0,
      };
    }
  } catch {
    // build it
  }
  const started = performance.now();
  const build = `${dir}.new`;
  await Deno.remove(build, { recursive: true }).catch(() => {});
  await Deno.mkdir(build, { recursive: true });
  options.log(`  building a ${BIG_LOG_EVENTS.toLocaleString("en-US")}-event audit log (once)…`);
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(BENCH_WEBHOOK_SECRET),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const today = Date.UTC(
    new Date().getUTCFullYear(),
    new Date().getUTCMonth(),
    new Date().getUTCDate(),
  );
  // Yesterday 00:00 … today 00:00 for the first half, today from 00:00 on for the rest
  // (every event a few ms apart, so both halves fit their day).
  let nowMs = today - 86_400_000;
  const audit = await openAuditLog({ dir: `${build}/audit`, clock: () => new Date(nowMs) });
  const encoder = new TextEncoder();
  const prng = new Prng(22);
  try {
    for (let done = 0; done < BIG_LOG_EVENTS; done += CHUNK) {
      const { bodies } = generateSegment(
        prng,
        Math.min(CHUNK, BIG_LOG_EVENTS - done),
        options.prospects,
        Date.now() - 86_400_000 + done * 40,
        false,
      );
      const pending = new Set<Promise<unknown>>();
      for (const [i, text] of bodies.entries()) {
        const n = done + i;
        nowMs = n < BIG_LOG_EVENTS / 2
          ? today - 86_400_000 + n * 100
          : today + (n - BIG_LOG_EVENTS / 2) * 100;
        const body = encoder.encode(text);
        const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, body));
        const signature = Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
        const append = audit.append({
          receivedAt: new Date(nowMs),
          ...readEvent(text).summary,
          signature,
          body,
        });
        pending.add(append);
        append.finally(() => pending.delete(append));
        if (pending.size >= IN_FLIGHT) await Promise.race(pending);
      }
      await Promise.all(pending);
    }
  } finally {
    await audit.close();
  }

  options.log("  applying it to a fresh store (the real server, until caught up)…");
  const configPath = await options.configFor(build, `${build}/crm.db`);
  const server = await startRealServer({ configPath, flags: options.flags, prefix: [] });
  try {
    await waitReady(server.url, 120_000);
    const deadline = performance.now() + 900_000;
    for (;;) {
      const body = await (await fetch(`${server.url}/readyz`)).json();
      if (body?.applier?.state === "caught_up") break;
      if (body?.applier?.state === "stopped" || performance.now() > deadline) {
        throw new Error(`the big log did not apply: ${JSON.stringify(body?.applier)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    await server.stop();
  }
  await runOrThrow(["sqlite3", `${build}/crm.db`, "PRAGMA wal_checkpoint(TRUNCATE);"]);
  const auditBytes = Number(
    (await runOrThrow(["du", "-sb", `${build}/audit`])).split(/\s+/)[0],
  );
  await Deno.writeTextFile(
    `${build}/big_log.json`,
    JSON.stringify({ version: BIG_LOG_VERSION, events: BIG_LOG_EVENTS, auditBytes }),
  );
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.rename(build, dir);
  return {
    dir,
    events: BIG_LOG_EVENTS,
    auditBytes,
    cached: false,
    buildSeconds: (performance.now() - started) / 1000,
  };
}

/** Copies the big log's folder to `to` (a fresh data folder for one series of starts), without a snapshot. */
export async function copyBigLog(log: BigLog, to: string): Promise<void> {
  await Deno.remove(to, { recursive: true }).catch(() => {});
  await runOrThrow(["cp", "-a", log.dir, to], 300_000);
  // The first start over the copy finds no snapshot of the re-delivery window
  // (the build's own stop may have written one).
  await Deno.remove(`${to}/${DELIVERY_SNAPSHOT_FILE}`).catch(() => {});
}
