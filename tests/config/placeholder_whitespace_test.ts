/**
 * The example's placeholders are refused however they are padded, and in
 * `symbo.retired_webhook_secrets` too (issue 20, item 17): checked through
 * the real `check-config` command.
 */
import { assertEquals, assertMatch } from "../helpers/assert.ts";
import { runCli } from "../helpers/server_process.ts";

async function checkConfig(config: unknown): Promise<{ code: number; text: string }> {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-placeholder-" });
  try {
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config));
    const { code, stdout, stderr } = await runCli(["check-config", "--config", "config.json"], {
      cwd: dir,
    });
    return { code, text: stdout + stderr };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("check-config refuses the example's placeholders with leading or trailing whitespace", async () => {
  const { code, text } = await checkConfig({
    symbo: {
      webhook_secrets: [" paste-the-webhook_secret-Symbo-gave-you"],
      lookup_tokens: ["\treplace-with-output-of-openssl-rand-hex-24"],
    },
    admin: { tokens: ["replace-with-another-openssl-rand-hex-24 \n"] },
    metrics: { token: "  Replace-With-Output-Of-Openssl-Rand-Hex-24" },
  });
  assertEquals(code, 1, text);
  assertMatch(text, /symbo\.webhook_secrets\.0: .*placeholder of config\.example\.json/);
  assertMatch(text, /symbo\.lookup_tokens\.0: .*placeholder of config\.example\.json/);
  assertMatch(text, /admin\.tokens\.0: .*placeholder of config\.example\.json/);
  assertMatch(text, /metrics\.token: .*placeholder of config\.example\.json/);
});

Deno.test("check-config refuses a placeholder in symbo.retired_webhook_secrets", async () => {
  const { code, text } = await checkConfig({
    symbo: {
      webhook_secrets: ["a-real-secret-0123456789abcdef"],
      retired_webhook_secrets: [" paste-the-webhook_secret-Symbo-gave-you"],
    },
  });
  assertEquals(code, 1, text);
  assertMatch(text, /symbo\.retired_webhook_secrets\.0: .*placeholder of config\.example\.json/);
});

Deno.test("check-config accepts real secrets (the placeholder check does not over-reach)", async () => {
  const { code, text } = await checkConfig({
    symbo: {
      webhook_secrets: ["a-real-secret-0123456789abcdef"],
      retired_webhook_secrets: ["an-older-real-secret-0123456789"],
    },
  });
  assertEquals(code, 0, text);
});
