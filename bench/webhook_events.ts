/**
 * The webhook load: a pool of realistic, pre-signed ~2 KB Symbo call events,
 * in the order they will be sent. The mix follows what a dialer produces:
 * new calls (`call.created`), later snapshots of earlier calls
 * (`call.updated`: disposition, note, recording, transcription — about one in
 * ten older than what was already sent, i.e. out of order), and ~10% exact
 * re-deliveries of an earlier request (same bytes, same signature).
 *
 * Signing happens here, once per data set (the pool is cached next to the
 * CSV), so the load generator (wrk) does no crypto and both sides of the
 * comparison receive the very same bytes.
 */
import type { ExpectedNumber } from "./dataset.ts";
import { field, numberField } from "./json_fields.ts";
import { Prng } from "./prng.ts";

/**
 * The webhook secret of the benchmark. Fixed (it guards nothing: the servers
 * under test listen on 127.0.0.1 for the length of a run), so the signed pool
 * can be generated once per data set and cached like the CSV.
 */
export const BENCH_WEBHOOK_SECRET = "symbo-crm-bench-webhook-secret-not-for-production";

/** Bump when the pool changes shape, so cached pools are rebuilt. */
const POOL_VERSION = 2;
/** Events of the warm-up run (more than 2 s of it at any plausible rate). */
export const WARMUP_EVENTS = 20_000;
/**
 * Events of the measured run: more than a 10 s run can send at up to 10k
 * events/s. Should a faster server wrap around, the wrk script counts it and
 * the run is flagged (the wrapped requests are all re-deliveries).
 */
export const MEASURED_EVENTS = 100_000;

/** What the pool holds (the measured part). */
export interface PoolMix {
  readonly created: number;
  readonly updated: number;
  /** Of `updated`: snapshots older than one already sent. */
  readonly outOfOrder: number;
  readonly duplicates: number;
  readonly meanBodyBytes: number;
}

/** A pool on disk: one request per line, `<hex signature> <body>`, in sending order. */
export interface EventPool {
  readonly warmupPath: string;
  readonly measuredPath: string;
  readonly warmup: number;
  readonly measured: number;
  readonly mix: PoolMix;
  readonly cached: boolean;
}

interface CallState {
  readonly callId: string;
  readonly userId: string;
  readonly prospect: ExpectedNumber;
  readonly prospectId: string;
  readonly firstName: string;
  readonly lastName: string;
  readonly createdMs: number;
  latestUpdatedMs: number;
}

const DISPOSITIONS = [
  "answered_positive",
  "answered_negative",
  "no_answer",
  "left_voicemail",
  "busy",
  "wrong_number",
];
const NOTES = [
  "Interested in the annual plan; send pricing.",
  "Asked to call back next Tuesday after 2pm.",
  "Gatekeeper; got the direct line.",
  "Not the decision maker, referred to CFO.",
  "Left a voicemail about the renewal.",
];
const SENTENCES = [
  "Thanks for taking the call, do you have a minute?",
  "We spoke last quarter about the renewal and the new seats.",
  "Sure, go ahead, I have about five minutes before my next meeting.",
  "The team is evaluating two other vendors right now.",
  "Could you send over the security questionnaire and the SOC 2 report?",
  "Pricing is the main concern, the budget was cut this year.",
  "I'll loop in our head of operations for the next call.",
];
const FIRST_NAMES = ["Sally", "James", "Maria", "Wei", "Aisha", "Liam", "Emma", "Priya"];
const LAST_NAMES = ["Sample", "Smith", "García", "Chen", "Okafor", "Patel", "Rossi", "Brown"];
/** How far back (in requests) a re-delivery reaches at least, so its original was answered. */
const DUPLICATE_MIN_DISTANCE = 128;
const TARGET_BODY_BYTES = 2048;
const T0 = Date.UTC(2025, 0, 6, 14, 0, 0);

/**
 * Returns the cached pool in `cacheDir`, or builds, signs (with
 * {@link BENCH_WEBHOOK_SECRET}) and writes it. `prospects` are numbers of
 * stored contacts, so the calls link to real contacts.
 */
export async function ensureEventPool(
  cacheDir: string,
  prospects: readonly ExpectedNumber[],
): Promise<EventPool> {
  const warmupPath = `${cacheDir}/webhook_warmup.txt`;
  const measuredPath = `${cacheDir}/webhook_measured.txt`;
  const metaPath = `${cacheDir}/webhook_pool.json`;
  try {
    const meta: unknown = JSON.parse(await Deno.readTextFile(metaPath));
    const what = "bench cache (delete bench/.cache to rebuild it)";
    if (
      numberField(meta, "version", what) === POOL_VERSION &&
      numberField(meta, "warmup", what) === WARMUP_EVENTS &&
      numberField(meta, "measured", what) === MEASURED_EVENTS
    ) {
      const mix = field(meta, "mix");
      return {
        warmupPath,
        measuredPath,
        warmup: WARMUP_EVENTS,
        measured: MEASURED_EVENTS,
        mix: {
          created: numberField(mix, "created", what),
          updated: numberField(mix, "updated", what),
          outOfOrder: numberField(mix, "outOfOrder", what),
          duplicates: numberField(mix, "duplicates", what),
          meanBodyBytes: numberField(mix, "meanBodyBytes", what),
        },
        cached: true,
      };
    }
  } catch {
    // no usable cache: build it
  }
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(BENCH_WEBHOOK_SECRET),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const prng = new Prng(5);
  const warmup = generateSegment(prng, WARMUP_EVENTS, prospects, T0);
  const measured = generateSegment(prng, MEASURED_EVENTS, prospects, T0 + 86_400_000);
  await writeSigned(`${warmupPath}.tmp`, warmup.bodies, key);
  await writeSigned(`${measuredPath}.tmp`, measured.bodies, key);
  await Deno.rename(`${warmupPath}.tmp`, warmupPath);
  await Deno.rename(`${measuredPath}.tmp`, measuredPath);
  await Deno.writeTextFile(
    metaPath,
    JSON.stringify({
      version: POOL_VERSION,
      warmup: WARMUP_EVENTS,
      measured: MEASURED_EVENTS,
      mix: measured.mix,
    }),
  );
  return {
    warmupPath,
    measuredPath,
    warmup: WARMUP_EVENTS,
    measured: MEASURED_EVENTS,
    mix: measured.mix,
    cached: false,
  };
}

/** Reads the bodies of a pool file (for the no-HTTP append loop), at most `limit`. */
export async function readPoolBodies(path: string, limit: number): Promise<Uint8Array[]> {
  const encoder = new TextEncoder();
  const bodies: Uint8Array[] = [];
  for (const line of (await Deno.readTextFile(path)).split("\n")) {
    if (bodies.length >= limit) break;
    const space = line.indexOf(" ");
    if (space > 0) bodies.push(encoder.encode(line.slice(space + 1)));
  }
  return bodies;
}

async function writeSigned(path: string, bodies: readonly string[], key: CryptoKey): Promise<void> {
  const encoder = new TextEncoder();
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    let chunk = "";
    for (const body of bodies) {
      // JSON.stringify never emits a raw newline, so one request is one line.
      const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(body)));
      const signature = Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
      chunk += `${signature} ${body}\n`;
      if (chunk.length > 1 << 20) {
        await writeAll(file, encoder.encode(chunk));
        chunk = "";
      }
    }
    await writeAll(file, encoder.encode(chunk));
  } finally {
    file.close();
  }
}

/**
 * `count` call events in sending order from `startMs` (one every 40 ms);
 * without `duplicates`, no exact re-deliveries (what an audit log holds).
 */
export function generateSegment(
  prng: Prng,
  count: number,
  prospects: readonly ExpectedNumber[],
  startMs: number,
  withDuplicates = true,
): { bodies: string[]; mix: PoolMix } {
  const bodies: string[] = [];
  const calls: CallState[] = [];
  let created = 0, updated = 0, outOfOrder = 0, duplicates = 0, bytes = 0;
  for (let i = 0; i < count; i++) {
    const nowMs = startMs + i * 40;
    const roll = prng.next();
    if (withDuplicates && roll < 0.1 && bodies.length > DUPLICATE_MIN_DISTANCE) {
      const original = bodies[prng.int(bodies.length - DUPLICATE_MIN_DISTANCE)];
      if (original !== undefined) {
        bodies.push(original);
        duplicates++;
        bytes += original.length;
        continue;
      }
    }
    let body: string;
    if (roll < 0.4 && calls.length > 0) {
      const call = prng.pick(calls);
      const older = prng.chance(0.1);
      const updatedMs = older
        ? call.createdMs + 1000 + prng.int(5000)
        : Math.max(nowMs, call.latestUpdatedMs + 1000);
      if (!older) call.latestUpdatedMs = updatedMs;
      body = callEvent(prng, call, "call.updated", updatedMs, nowMs);
      updated++;
      if (older) outOfOrder++;
    } else {
      const prospect = prng.pick(prospects);
      const call: CallState = {
        callId: prng.uuid(),
        userId: `u-${prng.int(40)}`,
        prospect,
        prospectId: prng.uuid(),
        firstName: prng.pick(FIRST_NAMES),
        lastName: prng.pick(LAST_NAMES),
        createdMs: nowMs - 30_000,
        latestUpdatedMs: nowMs,
      };
      calls.push(call);
      body = callEvent(prng, call, "call.created", nowMs, nowMs);
      created++;
    }
    bodies.push(body);
    bytes += body.length;
  }
  return {
    bodies,
    mix: { created, updated, outOfOrder, duplicates, meanBodyBytes: count > 0 ? bytes / count : 0 },
  };
}

/** One call event in the shape of Symbo's guide (see tests/fixtures/symbo_guide_call_created.json). */
function callEvent(
  prng: Prng,
  call: CallState,
  description: "call.created" | "call.updated",
  updatedMs: number,
  sentMs: number,
): string {
  const iso = (ms: number) => new Date(ms).toISOString();
  const to = call.prospect.e164;
  const from = `+1989718${String(1000 + prng.int(9000))}`;
  const talk = 2000 + prng.int(300_000);
  const event = {
    id: prng.uuid(),
    object: "Call",
    description,
    user_id: call.userId,
    created_at: iso(sentMs),
    data: {
      prospect: {
        id: call.prospectId,
        external_id: call.prospect.external_id,
        external_source: "custom_crm",
        first_name: call.firstName,
        full_name: `${call.firstName} ${call.lastName}`,
        last_name: call.lastName,
        linkedin_url: "",
        title: "Sales Manager",
      },
      id: call.callId,
      answered_at: iso(call.createdMs + 4000),
      call_disposition: prng.pick(DISPOSITIONS),
      completed_at: iso(call.createdMs + 4000 + talk),
      created_at: iso(call.createdMs),
      dialed_at: iso(call.createdMs),
      direction: "outbound",
      from,
      from_formatted: from,
      note: prng.pick(NOTES),
      recording_url: description === "call.updated" && prng.chance(0.5)
        ? `https://recordings.example.com/${call.callId}.mp3`
        : "",
      should_record_call: "record",
      state: "completed",
      state_changed_at: iso(call.createdMs + 4000 + talk),
      to,
      to_formatted: to,
      transcription: "",
      transcription_completed_at: iso(updatedMs),
      total_talk_time_millis: talk,
      total_conversation_duration_millis: talk + 800,
      rep_talk_time_millis: Math.floor(talk * 0.55),
      prospect_talk_time_millis: Math.floor(talk * 0.45),
      rep_overall_sentiment: 0,
      prospect_overall_sentiment: 0,
      rep_words_per_minute: 120 + prng.int(40),
      prospect_words_per_minute: 100 + prng.int(60),
      total_silence_time_millis: prng.int(5000),
      updated_at: iso(updatedMs),
    },
  };
  let transcription = "";
  const base = JSON.stringify(event).length;
  while (base + transcription.length < TARGET_BODY_BYTES - 60) {
    transcription += `${prng.chance(0.5) ? "Rep" : "Prospect"}:<br>${prng.pick(SENTENCES)}<br><br>`;
  }
  event.data.transcription = transcription;
  return JSON.stringify(event);
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  for (let written = 0; written < data.length;) written += await file.write(data.subarray(written));
}
