/**
 * `chain-start.json` is trusted only when retention signed it (issue 20,
 * item 7): a hand-made one that hides the deletion of the oldest lines fails
 * `audit verify`, and `audit replay` stops instead of applying from its seq.
 * Run through the real CLI under the start task's flags.
 */
import { join } from "node:path";
import { readAuditRecords } from "../../src/audit/audit_reader.ts";
import { applyRetention } from "../../src/audit/audit_retention.ts";
import { CHAIN_START_FILE } from "../../src/audit/chain_start.ts";
import { importSigningKeys } from "../../src/symbo/signature.ts";
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { writeAuditDays } from "../helpers/audit_days.ts";
import { runCli } from "../helpers/server_process.ts";

const SECRET = "webhook secret for tests";
const NEWER = "the secret after rotation";
const DAYS = ["2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23"];

/** Four days of five signed lines (seqs 1–20) and a config naming `secrets`. */
async function setUp(secrets: { current: readonly string[]; retired?: readonly string[] }) {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-chain-start-" });
  const audit = join(dir, "audit");
  await writeAuditDays(DAYS, 5, audit, SECRET);
  await Deno.writeTextFile(
    join(dir, "config.json"),
    JSON.stringify({
      data_dir: dir,
      database: { url: `file:${dir}/crm.db` },
      audit: { dir: audit, keep_days: 1 },
      symbo: { webhook_secrets: secrets.current, retired_webhook_secrets: secrets.retired ?? [] },
    }),
  );
  return { dir, audit };
}

async function hashOfSeq(audit: string, seq: number): Promise<string> {
  for await (const { record } of readAuditRecords(audit)) {
    if (record.seq === seq) return record.hash;
  }
  throw new Error(`no seq ${seq}`);
}

/**
 * What an attacker does: deletes the first `days` days (five lines each) and
 * writes the chain start that covers it (lines 1–15 by default).
 */
async function forgeChainStart(audit: string, signature?: string, days = 3): Promise<void> {
  const prev = await hashOfSeq(audit, days * 5);
  for (const day of DAYS.slice(0, days)) await Deno.remove(join(audit, `${day}.jsonl`));
  await Deno.writeTextFile(
    join(audit, CHAIN_START_FILE),
    JSON.stringify({
      day: DAYS[days],
      seq: days * 5 + 1,
      prev,
      written_at: "2026-11-24T12:00:00.000Z",
      ...(signature === undefined ? {} : { signature }),
    }),
  );
}

const cli = (dir: string, action: string) =>
  runCli(["audit", action, "--config", "config.json"], { cwd: dir });

Deno.test("a hand-made chain-start.json that hides deleted lines fails audit verify, and replay does not apply from it", async (t) => {
  await t.step("without a signature", async () => {
    const { dir, audit } = await setUp({ current: [SECRET] });
    try {
      await forgeChainStart(audit);
      const verify = await cli(dir, "verify");
      assertEquals(verify.code, 1, verify.stdout + verify.stderr);
      assertMatch(
        verify.stdout,
        /audit log FAILED at chain-start\.json line 1: chain-start\.json carries no signature/,
      );
      const replay = await cli(dir, "replay");
      assertEquals(replay.code, 1, replay.stdout + replay.stderr);
      assertMatch(replay.stderr, /Replay STOPPED: .*the log starts at seq 16, not 1/);
      assertMatch(replay.stderr, /Ignoring the audit folder's chain start/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  await t.step("with a made-up signature", async () => {
    const { dir, audit } = await setUp({ current: [SECRET] });
    try {
      await forgeChainStart(audit, "ab".repeat(32));
      const verify = await cli(dir, "verify");
      assertEquals(verify.code, 1, verify.stdout + verify.stderr);
      assertMatch(verify.stdout, /signature of chain-start\.json does not verify/);
      const replay = await cli(dir, "replay");
      assertEquals(replay.code, 1, replay.stdout + replay.stderr);
      assertMatch(replay.stderr, /Replay STOPPED: .*the log starts at seq 16, not 1/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("the chain start retention signed verifies and replays from its first kept line, also after a secret rotation", async (t) => {
  for (
    const [name, secrets] of [
      ["with the secret that signed it", { current: [SECRET] }],
      ["with that secret retired", { current: [NEWER], retired: [SECRET] }],
    ] as const
  ) {
    await t.step(name, async () => {
      const { dir, audit } = await setUp(secrets);
      try {
        const report = await applyRetention({
          dir: audit,
          keepDays: 1,
          archiveDir: null,
          now: new Date("2026-11-24T12:00:00Z"),
          appliedThrough: () => Promise.resolve({ file: "", seq: 20 }),
          signingKey: (await importSigningKeys([SECRET]))[0] ?? null,
        });
        assertEquals(report.removed, DAYS.slice(0, 3));
        const verify = await cli(dir, "verify");
        assertEquals(verify.code, 0, verify.stdout + verify.stderr);
        assertMatch(verify.stdout, /audit log OK: 5 lines in 1 file, last seq 20/);
        const replay = await cli(dir, "replay");
        assertEquals(replay.code, 0, replay.stdout + replay.stderr);
        assertMatch(replay.stdout, /Replayed 5 audit line\(s\)/);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  }
});

Deno.test("retention with no webhook secret to sign the chain start removes nothing", async () => {
  const { dir, audit } = await setUp({ current: [SECRET] });
  try {
    const report = await applyRetention({
      dir: audit,
      keepDays: 1,
      archiveDir: null,
      now: new Date("2026-11-24T12:00:00Z"),
      appliedThrough: () => Promise.resolve({ file: "", seq: 20 }),
      signingKey: null,
    });
    assertEquals(report.removed, []);
    assertMatch(report.heldBack ?? "", /no webhook secret is configured to sign chain-start\.json/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("retention does not seal lines removed by hand under a chain start of its own", async (t) => {
  for (const forged of [false, true]) {
    await t.step(forged ? "with a hand-made chain-start.json" : "with none", async () => {
      const { dir, audit } = await setUp({ current: [SECRET] });
      try {
        if (forged) await forgeChainStart(audit, undefined, 2);
        else for (const day of DAYS.slice(0, 2)) await Deno.remove(join(audit, `${day}.jsonl`));
        const report = await applyRetention({
          dir: audit,
          keepDays: 1,
          archiveDir: null,
          now: new Date("2026-11-24T12:00:00Z"),
          appliedThrough: () => Promise.resolve({ file: "", seq: 20 }),
          signingKey: (await importSigningKeys([SECRET]))[0] ?? null,
        });
        assertEquals(report.removed, []);
        assertMatch(report.heldBack ?? "", /lines were removed outside retention/);
        const verify = await cli(dir, "verify");
        assertEquals(verify.code, 1, verify.stdout + verify.stderr);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  }
});

Deno.test("audit sign-chain-start signs an unsigned chain start the archive and the kept log bear out, and no other", async (t) => {
  /** Retention into an archive (seqs 1–10 there, the kept log from 11), then the signature dropped. */
  async function upgraded() {
    const { dir, audit } = await setUp({ current: [SECRET] });
    const archive = join(dir, "archive");
    const config = JSON.parse(await Deno.readTextFile(join(dir, "config.json")));
    config.audit.archive_dir = archive;
    await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify(config));
    const report = await applyRetention({
      dir: audit,
      keepDays: 2,
      archiveDir: archive,
      now: new Date("2026-11-24T12:00:00Z"),
      appliedThrough: () => Promise.resolve({ file: "", seq: 20 }),
      signingKey: (await importSigningKeys([SECRET]))[0] ?? null,
    });
    assertEquals(report.removed, DAYS.slice(0, 2));
    // What an older version wrote: the same file without a signature.
    const path = join(audit, CHAIN_START_FILE);
    const { signature: _, ...unsigned } = JSON.parse(await Deno.readTextFile(path));
    await Deno.writeTextFile(path, JSON.stringify(unsigned));
    return { dir, audit };
  }

  await t.step("one written by an older version", async () => {
    const { dir } = await upgraded();
    try {
      assertEquals((await cli(dir, "verify")).code, 1);
      const signed = await cli(dir, "sign-chain-start");
      assertEquals(signed.code, 0, signed.stdout + signed.stderr);
      assertMatch(signed.stdout, /Signed \S*chain-start\.json: the kept log starts at seq 11/);
      const verify = await cli(dir, "verify");
      assertEquals(verify.code, 0, verify.stdout + verify.stderr);
      assertMatch(verify.stdout, /audit log OK: 10 lines in 2 files, last seq 20/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  await t.step("not one that skips lines the archive does not hold", async () => {
    const { dir, audit } = await upgraded();
    try {
      const before = await Deno.readTextFile(join(audit, CHAIN_START_FILE));
      // Lines 11–15 deleted by hand, and a chain start written to cover it.
      const prev = await hashOfSeq(audit, 15);
      await Deno.remove(join(audit, `${DAYS[2]}.jsonl`));
      await Deno.writeTextFile(
        join(audit, CHAIN_START_FILE),
        JSON.stringify({ day: DAYS[3], seq: 16, prev, written_at: "2026-11-24T12:00:00.000Z" }),
      );
      const signed = await cli(dir, "sign-chain-start");
      assertEquals(signed.code, 1, signed.stdout + signed.stderr);
      assertMatch(signed.stderr, /Not signed: the archive \S+ does not end at the line before/);
      assert.ok(before !== await Deno.readTextFile(join(audit, CHAIN_START_FILE)));
      assertEquals((await cli(dir, "verify")).code, 1);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
