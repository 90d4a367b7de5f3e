import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { runCli, startServerProcess } from "../helpers/server_process.ts";
import { eventually } from "../helpers/eventually.ts";

const TOKEN = "lookup-token-0123456789abcdef0123456789";
const ADMIN = "admin-token-0123456789abcdef0123456789";

/** A generated row: the CSV cells of its phones and the E.164 each must be found under. */
interface GeneratedRow {
  readonly id: string;
  readonly country: string;
  readonly phones: readonly [string, string][];
}

/** Phone shapes seen in real exports, each with the E.164 it must normalize to. */
function phoneShapes(i: number): { country: string; phones: [string, string][] } {
  const n = String(1000 + (i % 9000)).padStart(4, "0");
  const area = 200 + (Math.floor(i / 9000) % 700);
  const us = `+1${area}555${n}`;
  switch (i % 6) {
    case 0:
      return {
        country: "US",
        phones: [[`(${area}) 555-${n}`, us], [`+1 ${area}-555-${n} x12`, us]],
      };
    case 1:
      return { country: "", phones: [[`${area}.555.${n}`, us]] };
    case 2:
      return { country: "US", phones: [[`1-${area}-555-${n}`, us], [`${area}555${n}`, us]] };
    case 3: {
      const uk = `+4420794${String(10000 + i).slice(-5)}`;
      return {
        country: "GB",
        phones: [[`020 794${String(10000 + i).slice(-5).replace(/^(\d)/, "$1 ")}`, uk]],
      };
    }
    case 4: {
      const de = `+4930${String(1000000 + i).slice(-7)}`;
      return { country: "Germany", phones: [[`030 ${String(1000000 + i).slice(-7)}`, de]] };
    }
    default: {
      const fr = `+336${String(10000000 + i).slice(-8)}`;
      return {
        country: "FR",
        phones: [[`06 ${String(10000000 + i).slice(-8).replace(/(\d\d)(?=\d)/g, "$1 ")}`, fr]],
      };
    }
  }
}

function generate(count: number): { csv: string; rows: GeneratedRow[] } {
  const header =
    "external_id,first_name,last_name,work_phone,mobile_phone,address_country,account_external_id,account_name";
  const lines = [header];
  const rows: GeneratedRow[] = [];
  for (let i = 0; i < count; i++) {
    // Distinct numbers per row: i selects the subscriber number.
    const { country, phones } = phoneShapes(i);
    const id = `gen-${i}`;
    const work = phones[0]?.[0] ?? "";
    const mobile = phones[1]?.[0] ?? "";
    const account = i % 10 === 0 ? `acc-${i},"Company ${i}, Inc."` : ",";
    lines.push(`${id},First${i},"Last ""${i}""",${work},${mobile},${country},${account}`);
    rows.push({ id, country, phones });
  }
  return { csv: lines.join("\r\n") + "\r\n", rows };
}

function configFor(dir: string) {
  return {
    database: { url: `file:${dir}/crm.db` },
    audit: { dir: `${dir}/audit` },
    data_dir: dir,
    symbo: { lookup_tokens: [TOKEN] },
    admin: { tokens: [ADMIN] },
    log: { level: "warning" },
  };
}

Deno.test("a few thousand generated rows import and every number is found in every format", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-import-" });
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(configFor(dir)));
  const { csv, rows } = generate(3000);
  await Deno.writeTextFile(`${dir}/export.csv`, csv);

  const imported = await runCli(["import", "export.csv", "--config", "config.json"], { cwd: dir });
  assertEquals(imported.code, 0, imported.stderr);
  assertMatch(imported.stdout, /3000 row\(s\) — 3000 inserted, 0 updated, 0 unchanged, 0 rejected/);

  const again = await runCli(["import", "export.csv", "--config", "config.json"], { cwd: dir });
  assertMatch(again.stdout, /0 inserted, 0 updated, 3000 unchanged/);

  const server = await startServerProcess({ dir, config: configFor(dir) });
  try {
    const lookup = async (number: string) => {
      const response = await fetch(
        `${server.url}/symbo/lookup?number=${encodeURIComponent(number)}&token=${TOKEN}`,
      );
      return response.status === 200
        ? (await response.json()).external_id
        : (await response.body?.cancel(), null);
    };
    for (const row of rows) {
      for (const [written, e164] of row.phones) {
        assertEquals(await lookup(e164), row.id, `${row.id} by ${e164}`);
        // As Symbo may send it: the unencoded + arrives as a space.
        const response = await fetch(`${server.url}/symbo/lookup?number=${e164}&token=${TOKEN}`);
        assertEquals((await response.json()).external_id, row.id, `${row.id} by unencoded ${e164}`);
        if (row.country === "US" || row.country === "") {
          assertEquals(await lookup(written), row.id, `${row.id} by ${written}`);
        }
      }
    }
    const sample =
      await (await fetch(`${server.url}/symbo/lookup?number=%2B12005551000&token=${TOKEN}`)).json();
    assertEquals(sample.account, {
      external_id: "acc-0",
      name: "Company 0, Inc.",
      website_url: "",
      industry: "",
    });
    assertEquals(sample.last_name, 'Last "0"');
  } finally {
    await server.stop();
  }
});

Deno.test("bad input names file, line and problem, exits 1 and leaves the store untouched", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-import-bad-" });
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(configFor(dir)));
  await Deno.writeTextFile(
    `${dir}/good.csv`,
    "external_id,first_name,work_phone\n1,Ann,+18005550001\n",
  );
  assertEquals(
    (await runCli(["import", "good.csv", "--config", "config.json"], { cwd: dir })).code,
    0,
  );

  const cases: [string, string, RegExp][] = [
    ["missing required column", "id_number,last_name\n2,Bob\n", /first_name/],
    ["broken quoting", 'external_id,first_name\n2,"Bob\n3,Cy\n', /line 2/],
  ];
  for (const [name, content, pattern] of cases) {
    await t.step(name, async () => {
      await Deno.writeTextFile(`${dir}/bad.csv`, content);
      const result = await runCli(["import", "bad.csv", "--config", "config.json"], { cwd: dir });
      assertEquals(result.code, 1, result.stdout);
      assertMatch(result.stderr, /bad\.csv/);
      assertMatch(result.stderr, pattern);
    });
  }

  await t.step("unreadable file", async () => {
    const result = await runCli(["import", "missing.csv", "--config", "config.json"], { cwd: dir });
    assertEquals(result.code, 1);
    assertMatch(result.stderr, /missing\.csv/);
  });

  await t.step("--strict with a rejected row", async () => {
    await Deno.writeTextFile(`${dir}/strict.csv`, "external_id,first_name\n5,Eve\n6,\n");
    const result = await runCli(["import", "strict.csv", "--strict", "--config", "config.json"], {
      cwd: dir,
    });
    assertEquals(result.code, 1);
    assertMatch(result.stderr, /line 3/);
  });

  await t.step("the store still holds exactly the good import", async () => {
    const server = await startServerProcess({ dir, config: configFor(dir) });
    try {
      const contacts = await (await fetch(`${server.url}/api/contacts?q=e`, {
        headers: { authorization: `Bearer ${ADMIN}` },
      })).json();
      assertEquals(contacts.contacts, []);
      const ann = await fetch(`${server.url}/api/contacts/1`, {
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      assertEquals((await ann.json()).first_name, "Ann");
    } finally {
      await server.stop();
    }
  });
});

Deno.test("--rejects writes every rejected row; --dry-run writes nothing; --prune removes the absent", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-import-flags-" });
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(configFor(dir)));
  const lines = ["external_id,first_name,work_phone"];
  for (let i = 0; i < 1200; i++) {
    lines.push(i % 2 === 0 ? `${i},Name${i},+1800555${String(1000 + i)}` : `${i},,`);
  }
  await Deno.writeTextFile(`${dir}/mixed.csv`, lines.join("\n") + "\n");

  const dry = await runCli(["import", "mixed.csv", "--dry-run", "--config", "config.json"], {
    cwd: dir,
  });
  assertEquals(dry.code, 0, dry.stderr);
  assertMatch(dry.stdout, /Dry run/);
  const result = await runCli([
    "import",
    "mixed.csv",
    "--rejects",
    "rejects.csv",
    "--config",
    "config.json",
  ], {
    cwd: dir,
  });
  assertEquals(result.code, 0, result.stderr);
  assertMatch(result.stdout, /600 inserted, 0 updated, 0 unchanged, 600 rejected/);
  const rejects = (await Deno.readTextFile(`${dir}/rejects.csv`)).trim().split("\r\n");
  assertEquals(rejects.length, 601, "all 600 rejects, past the summary's cap of shown rows");
  assertEquals(rejects[0], "line,reason,external_id,first_name,work_phone");
  assertEquals(
    [...(await Deno.readFile(`${dir}/rejects.csv`)).slice(0, 3)],
    [0xef, 0xbb, 0xbf],
    "a UTF-8 BOM",
  );
  assertMatch(rejects[1] ?? "", /^3,.*first_name/);
  assertEquals((await Deno.stat(`${dir}/rejects.csv`)).mode! & 0o777, 0o600);

  await Deno.writeTextFile(`${dir}/small.csv`, "external_id,first_name\n0,Name0\n2,Name2\n");
  // A file that would delete 598 of 600 contacts looks cut off: the prune guard refuses it.
  const refused = await runCli(["import", "small.csv", "--prune", "--config", "config.json"], {
    cwd: dir,
  });
  assertEquals(refused.code, 1, refused.stdout);
  assertMatch(refused.stderr, /would delete 598 of the 600 stored contacts/);
  assertMatch(refused.stderr, /--force-prune/);
  // A person who checked the file forces it.
  const pruned = await runCli([
    "import",
    "small.csv",
    "--prune",
    "--force-prune",
    "--config",
    "config.json",
  ], { cwd: dir });
  assertEquals(pruned.code, 0, pruned.stderr);
  assertMatch(pruned.stdout, /598 pruned/);
});

Deno.test("POST /api/contacts/import runs the same import over HTTP", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-import-api-" });
  const server = await startServerProcess({ dir, config: configFor(dir) });
  const post = (body: string, query = "") =>
    fetch(`${server.url}/api/contacts/import${query}`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "text/csv" },
      body,
    });
  try {
    const csv =
      "Record ID;First Name;Phone Number;Country/Region\n77;Zoe;020 7946 0958;United Kingdom\n";
    const dry = await (await post(csv, "?dry_run=1")).json();
    assertEquals([dry.inserted, dry.committed], [1, false]);
    const response = await post(csv);
    assertEquals(response.status, 200);
    const summary = await response.json();
    assertEquals([summary.inserted, summary.rejected], [1, 0]);
    const found = await fetch(`${server.url}/symbo/lookup?number=%2B442079460958&token=${TOKEN}`);
    assertEquals((await found.json()).external_id, "77");

    const broken = await post('external_id,first_name\n1,"open\n');
    assertEquals(broken.status, 422);
    const body = await broken.json();
    assertEquals(body.error, "import_failed");
    assert(body.message.includes("line 2"), body.message);
  } finally {
    await server.stop();
  }
});

Deno.test("an HTTP import longer than a request becomes a job that reports progress and outcome", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-import-job-" });
  const config = { ...configFor(dir), server: { request_timeout_ms: 100 } };
  const server = await startServerProcess({ dir, config });
  const auth = { authorization: `Bearer ${ADMIN}` };
  try {
    const { csv } = generate(30_000);
    const bad = "\r\ngen-bad,,+1 415 555 0199,,US,,\r\n";
    const response = await fetch(`${server.url}/api/contacts/import?file_name=big.csv`, {
      method: "POST",
      headers: { ...auth, "content-type": "text/csv" },
      body: csv.trimEnd() + bad,
    });
    assertEquals(response.status, 202);
    const accepted = await response.json();
    assertEquals(accepted.job.state, "running");
    assertEquals(accepted.job.fileName, "big.csv");
    assertEquals(accepted.status_url, `/api/imports/${accepted.job.id}`);

    // While it runs, a second import is refused (one at a time), naming the first.
    const second = await fetch(`${server.url}/api/contacts/import`, {
      method: "POST",
      headers: { ...auth, "content-type": "text/csv" },
      body: "external_id,first_name\r\nx,y\r\n",
    });
    const secondBody = await second.json();
    if (second.status === 409) {
      assertEquals(secondBody.error, "import_running");
      assert(secondBody.message.includes(accepted.job.id), secondBody.message);
    } else {
      assertEquals(second.status, 200); // the first had already finished
    }

    let job: Record<string, unknown> = accepted.job;
    await eventually("the import job finishes", 120_000, async () => {
      const status = await fetch(`${server.url}${accepted.status_url}`, { headers: auth });
      assertEquals(status.status, 200);
      job = await status.json();
      return job.state !== "running";
    }, 100);
    assertEquals(job.state, "succeeded");
    assertEquals(job.bytesRead, job.bytesTotal);
    const summary = job.summary as Record<string, unknown>;
    assertEquals([summary.inserted, summary.rejected], [30_000, 1]);
    assertEquals(job.hasRejects, true);

    // What the answer said is what happened: the contacts are there.
    const found = await fetch(`${server.url}/symbo/lookup?number=%2B12005551000&token=${TOKEN}`);
    assertEquals((await found.json()).external_id, "gen-0");

    const rejects = await fetch(`${server.url}/api/imports/${accepted.job.id}/rejects.csv`, {
      headers: auth,
    });
    assertEquals(rejects.status, 200);
    assertEquals(rejects.headers.get("content-type"), "text/csv; charset=utf-8");
    const rejectsText = await rejects.text();
    assert(rejectsText.includes("first_name is empty,gen-bad"), rejectsText);

    const unknown = await fetch(`${server.url}/api/imports/nope`, { headers: auth });
    assertEquals(unknown.status, 404);
    await unknown.body?.cancel();
    const anonymous = await fetch(`${server.url}${accepted.status_url}`);
    assertEquals(anonymous.status, 401);
    await anonymous.body?.cancel();
  } finally {
    await server.stop();
  }
});

Deno.test("a dry run shows the column mapping before the counts, in the CLI and over HTTP", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-import-mapping-" });
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(configFor(dir)));
  // Windows-1252 bytes (what Excel on Windows writes): "Müller" with ü = 0xFC.
  const csv = Uint8Array.from([
    ...new TextEncoder().encode("Full Name;Company;Phone;Birthday\r\nAnna M"),
    0xfc,
    ...new TextEncoder().encode("ller;Nordwind GmbH;+49 30 1234567;1980-01-01\r\n"),
  ]);
  await Deno.writeFile(`${dir}/people.csv`, csv);

  await t.step("the CLI prints the mapping table, then the encoding and the counts", async () => {
    const result = await runCli(["import", "people.csv", "--dry-run", "--config", "config.json"], {
      cwd: dir,
    });
    assertEquals(result.code, 0, result.stderr);
    const lines = result.stdout.split("\n");
    const table = lines.indexOf("Column mapping:");
    const counts = lines.findIndex((line) => line.startsWith("Dry run (nothing written): 1 row"));
    assert(table >= 0 && counts > table, result.stdout);
    assertMatch(result.stdout, /Full Name +first_name \+ last_name +a full name, split/);
    assertMatch(result.stdout, /Company +account_name +known export header/);
    assertMatch(result.stdout, /Birthday +— +ignored: not a field we know/);
    assertMatch(result.stdout, /\(derived\) +external_id +no id column/);
    assertMatch(result.stdout, /\(derived\) +account_external_id +no company id column/);
    assertMatch(result.stdout, /Read as windows-1252 \(detected\)/);
  });

  const server = await startServerProcess({ dir, config: configFor(dir) });
  try {
    await t.step("HTTP: the summary carries the mapping and the encoding as data", async () => {
      const response = await fetch(
        `${server.url}/api/contacts/import?dry_run=1&encoding=windows-1252`,
        {
          method: "POST",
          headers: { authorization: `Bearer ${ADMIN}`, "content-type": "text/csv" },
          body: csv,
        },
      );
      assertEquals(response.status, 200);
      const summary = await response.json();
      assertEquals([summary.inserted, summary.committed], [1, false]);
      assertEquals([summary.encoding, summary.encodingSource], ["windows-1252", "option"]);
      assertEquals(summary.idSource, { kind: "derived", header: null });
      assertEquals(summary.derivedAccountIds, 1);
      assertEquals(summary.mapping[0], {
        header: "Full Name",
        field: "first_name + last_name",
        reason: "a full name, split (the file has no first-name column)",
      });
      assertEquals(summary.mapping[3].field, null);
    });
    await t.step("HTTP: an unknown encoding label is a 400 naming the parameter", async () => {
      const response = await fetch(`${server.url}/api/contacts/import?encoding=klingon`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN}`, "content-type": "text/csv" },
        body: csv,
      });
      assertEquals(response.status, 400);
      const body = await response.json();
      assertEquals(body.error, "invalid_query");
      assertMatch(body.message, /^encoding: /);
    });
  } finally {
    await server.stop();
  }
});

Deno.test("an upload that stalls holds no lock: other writes go on, then the import finishes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-import-stall-" });
  const server = await startServerProcess({ dir, config: configFor(dir) });
  const auth = { authorization: `Bearer ${ADMIN}` };
  try {
    const release = Promise.withResolvers<void>();
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(encoder.encode("external_id,first_name,work_phone\r\n"));
        controller.enqueue(encoder.encode("s-1,Stall,+1 415 555 0191\r\n"));
        await release.promise; // the client stops sending here
        controller.enqueue(encoder.encode("s-2,Resume,+1 415 555 0192\r\n"));
        controller.close();
      },
    });
    const upload = fetch(`${server.url}/api/contacts/import`, {
      method: "POST",
      headers: { ...auth, "content-type": "text/csv" },
      body,
    });
    // While the upload stalls it is only being spooled: no import has started.
    const during = await fetch(`${server.url}/api/imports`, { headers: auth });
    assertEquals(during.status, 200);
    assertEquals((await during.json()).jobs, []);
    // And a write (here an admin PUT) is not blocked by it.
    await eventually(
      "the stalled upload has reached the server",
      10_000,
      () => Promise.resolve(true),
    );
    const put = await fetch(`${server.url}/api/contacts/w-1`, {
      method: "PUT",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ first_name: "Writer", work_phone: "+1 415 555 0190" }),
    });
    assertEquals(put.status, 201);
    await put.body?.cancel();
    release.resolve();
    const response = await upload;
    assertEquals(response.status, 200);
    const summary = await response.json();
    assertEquals([summary.inserted, summary.rejected], [2, 0]);
    const after = await (await fetch(`${server.url}/api/imports`, { headers: auth })).json();
    assertEquals(after.jobs.map((job: { state: string }) => job.state), ["succeeded"]);
  } finally {
    await server.stop();
  }
});
