/**
 * What one call event costs the audit folder on disk: realistic signed Symbo
 * bodies (the webhook bench's pool, re-deliveries left out as the webhook
 * leaves them out) written through the real audit writer into one day, then
 * that day closed and compressed by the real compaction. Prints bytes per
 * line plain and gzip'd, and the same day through zstd (node:zlib) at a few
 * levels, for the README's disk figures and the choice of gzip.
 *
 *   deno run -A bench/audit_footprint.ts [events]
 */
import { gzipSync, zstdCompressSync } from "node:zlib";
import { constants } from "node:zlib";
import { compressClosedDays } from "../src/audit/audit_compaction.ts";
import { openAuditLog } from "../src/audit/audit_log.ts";
import { ensureEventPool } from "./webhook_events.ts";
import { field } from "./json_fields.ts";

const DAY = "2026-11-30";
const events = Number(Deno.args[0] ?? 30_000);
const dir = await Deno.makeTempDir({ prefix: "bench-audit-footprint-" });
try {
  // Prospects only shape the bodies (numbers, ids); they need not be stored anywhere.
  const prospects = Array.from({ length: 5_000 }, (_, i) => {
    const digits = String(i).padStart(4, "0");
    return {
      e164: `+1202555${digits}`,
      external_id: `ext-${i}`,
      raw: `(202) 555-${digits}`,
      region: "US" as const,
    };
  });
  const pool = await ensureEventPool(dir, prospects);
  const encoder = new TextEncoder();
  const clock = () => new Date(`${DAY}T12:00:00Z`);
  const audit = await openAuditLog({ dir: `${dir}/audit`, clock });
  const seen = new Set<string>();
  let lines = 0;
  let bodyBytes = 0;
  let pending: Promise<unknown>[] = [];
  for (const line of (await Deno.readTextFile(pool.measuredPath)).split("\n")) {
    if (lines >= events) break;
    const space = line.indexOf(" ");
    if (space <= 0) continue;
    const body = line.slice(space + 1);
    if (seen.has(body)) continue; // an exact re-delivery adds no audit line
    seen.add(body);
    const parsed: unknown = JSON.parse(body);
    const text = (value: unknown) => typeof value === "string" ? value : null;
    const bytes = encoder.encode(body);
    bodyBytes += bytes.length;
    lines++;
    pending.push(audit.append({
      receivedAt: clock(),
      eventType: text(field(parsed, "description")),
      eventId: text(field(parsed, "id")),
      callId: text(field(field(parsed, "data"), "id")),
      userId: text(field(parsed, "user_id")),
      signature: line.slice(0, space),
      body: bytes,
    }));
    if (pending.length >= 256) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
  await audit.close();

  const plain = await Deno.readFile(`${dir}/audit/${DAY}.jsonl`);
  const started = performance.now();
  const report = await compressClosedDays({
    dir: `${dir}/audit`,
    now: new Date(Date.parse(`${DAY}T00:00:00Z`) + 2 * 86_400_000),
  });
  const compactionMs = performance.now() - started;
  const gz = report.compressed[0];
  if (gz === undefined) throw new Error(`the day was not compressed: ${JSON.stringify(report)}`);

  const perLine = (bytes: number) => (bytes / lines).toFixed(0);
  console.log(`${lines} audit lines, mean body ${perLine(bodyBytes)} B`);
  console.log(
    `plain:    ${perLine(plain.length)} B/line (${
      (plain.length / bodyBytes).toFixed(2)
    }× the body)`,
  );
  console.log(
    `gzip (audit compaction, CompressionStream): ${perLine(gz.compressedBytes)} B/line ` +
      `(${(gz.compressedBytes / bodyBytes).toFixed(3)}× the body, ` +
      `${(plain.length / gz.compressedBytes).toFixed(2)}× smaller), ` +
      `compress + verify + fsync ${compactionMs.toFixed(0)} ms`,
  );
  const compare: [string, () => Uint8Array][] = [
    ["gzip -6 (node:zlib)", () => gzipSync(plain)],
    ["zstd -3", () => zstdCompressSync(plain)],
    [
      "zstd -9",
      () => zstdCompressSync(plain, { params: { [constants.ZSTD_c_compressionLevel]: 9 } }),
    ],
  ];
  for (const [name, compress] of compare) {
    const t = performance.now();
    const out = compress();
    const ms = performance.now() - t;
    console.log(
      `${name.padEnd(20)} ${perLine(out.length)} B/line, ` +
        `${(plain.length / out.length).toFixed(2)}× smaller, ${ms.toFixed(0)} ms`,
    );
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
