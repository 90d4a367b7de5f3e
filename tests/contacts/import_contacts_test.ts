/**
 * Specification of the CSV import: the streaming reader (delimiters, BOM,
 * multi-line fields, line numbers, broken quoting), the one-transaction import
 * (counts, re-import, updates, prune, dry run, strict, errors that leave the
 * store untouched, shared numbers) and the rejects file.
 */
import assert from "node:assert/strict";
import { countContacts, findContactByPhone, getContact } from "../../src/contacts/contact_store.ts";
import { CsvFormatError, readCsv } from "../../src/contacts/csv_reader.ts";
import {
  importContacts,
  ImportError,
  type ImportOptions,
  type ImportSummary,
  type RejectedRow,
} from "../../src/contacts/import_contacts.ts";
import { createRejectsFile } from "../../src/contacts/rejects_csv.ts";
import { csvCell as rejectsCell } from "../../src/csv/csv_cell.ts";
import { openStore, type Store } from "../../src/store/open_store.ts";

const FIXTURES = new URL("../fixtures/csv/", import.meta.url);

/** A fresh store in its own temp folder, removed afterwards. */
async function withStore(fn: (store: Store, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "import_test_" });
  const store = await openStore({ url: "file:" + dir + "/crm.db" });
  try {
    await fn(store, dir);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** A byte stream of `text`, cut into small chunks so records straddle chunk edges. */
function streamOf(text: string | Uint8Array, chunkSize = 5): ReadableStream<Uint8Array> {
  const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) {
        controller.close();
        return;
      }
      controller.enqueue(bytes.slice(offset, offset + chunkSize));
      offset += chunkSize;
    },
  });
}

async function fixture(name: string): Promise<ReadableStream<Uint8Array>> {
  return (await Deno.open(new URL(name, FIXTURES))).readable;
}

async function records(input: ReadableStream<Uint8Array>): Promise<[number, string[]][]> {
  const out: [number, string[]][] = [];
  for await (const { line, record } of readCsv(input)) out.push([line, record]);
  return out;
}

function options(overrides: Partial<ImportOptions> = {}): ImportOptions {
  return { fileLabel: "contacts.csv", defaultRegion: "US", now: () => 1_000, ...overrides };
}

function counts(s: ImportSummary) {
  return {
    rows: s.rows,
    inserted: s.inserted,
    updated: s.updated,
    unchanged: s.unchanged,
    rejected: s.rejected,
    pruned: s.pruned,
  };
}

async function importText(
  store: Store,
  text: string,
  overrides: Partial<ImportOptions> = {},
): Promise<ImportSummary> {
  return await importContacts(store, streamOf(text, 64), options(overrides));
}

async function rejectsImport(
  promise: Promise<unknown>,
  check: (error: ImportError) => void,
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ImportError, `expected ImportError, got ${String(error)}`);
    check(error);
    return true;
  });
}

async function allIds(store: Store): Promise<string[]> {
  const rows = await store.reader.all("SELECT external_id FROM contacts ORDER BY external_id");
  return rows.map((row) => String(row.external_id));
}

const SMALL = [
  "external_id,first_name,last_name,work_phone,mobile_phone,address_country",
  "1,Ann,One,+1 800 555 0001,,US",
  "2,Bob,Two,020 7946 0001,07700 900001,GB",
  "3,Cat,Three,(800) 555-0003 x3,,",
  "",
].join("\n");

// ---------------------------------------------------------------- reader

Deno.test("the reader detects comma, semicolon and tab from the header line", async (t) => {
  for (const [name, delimiter] of [[",", ","], [";", ";"], ["tab", "\t"]] as const) {
    await t.step(name, async () => {
      // The other candidates appear inside quotes and values; only the header decides.
      const text = `a${delimiter}"b,;\tc"${delimiter}d\n1${delimiter}"x, y; z"${delimiter}3\n`;
      const reader = readCsv(streamOf(text, 3));
      const out: string[][] = [];
      for await (const { record } of reader) out.push(record);
      assert.equal(reader.delimiter, delimiter);
      assert.deepEqual(out, [["a", "b,;\tc", "d"], ["1", "x, y; z", "3"]]);
    });
  }
});

Deno.test("the reader strips a UTF-8 byte order mark", async () => {
  const out = await records(streamOf("\ufeffexternal_id;first_name\n1;Zoë\n", 2));
  assert.deepEqual(out, [[1, ["external_id", "first_name"]], [2, ["1", "Zoë"]]]);
});

Deno.test("the reader reads UTF-16 (Excel 'Unicode text') as well", async () => {
  const text = "id\tname\r\n1\tJosé\r\n2\tÅsa\r\n";
  const bytes = new Uint8Array(2 + text.length * 2);
  bytes.set([0xff, 0xfe]);
  for (let i = 0; i < text.length; i++) {
    bytes[2 + 2 * i] = text.charCodeAt(i) & 0xff;
    bytes[3 + 2 * i] = text.charCodeAt(i) >> 8;
  }
  assert.deepEqual(await records(streamOf(bytes, 3)), [
    [1, ["id", "name"]],
    [2, ["1", "José"]],
    [3, ["2", "Åsa"]],
  ]);
});

Deno.test("line numbers are where each record starts, after multi-line fields too", async (t) => {
  await t.step("LF, with blank lines", async () => {
    const text = 'h1,h2\n1,"a\nb\nc"\n\n2,x\n3,"y\n"\n4,z';
    assert.deepEqual((await records(streamOf(text, 4))).map(([line]) => line), [1, 2, 6, 7, 9]);
  });
  await t.step("CRLF, with a CRLF inside quotes (counted once)", async () => {
    const out = await records(await fixture("multiline_ours.csv"));
    assert.deepEqual(out.map(([line, record]) => [line, record[0]]), [
      [1, "external_id"],
      [2, "m1"],
      [5, "m2"],
      [6, "m3"],
      [7, "m4"],
    ]);
    assert.equal(out[1]?.[1][5], "first line\r\nsecond line\r\nthird line");
  });
  await t.step("a Salesforce export with two multi-line fields in one record", async () => {
    const out = await records(await fixture("salesforce_api.csv"));
    assert.deepEqual(out.map(([line]) => line), [1, 2, 5]);
    assert.equal(out[1]?.[1][16], 'Met at the fair.\nCall back in May, "after" the budget.');
  });
});

Deno.test("broken quoting is a CsvFormatError naming the line", async (t) => {
  await t.step("a quote closing a field early", async () => {
    await assert.rejects(records(await fixture("broken_quotes.csv")), (error: unknown) => {
      assert.ok(error instanceof CsvFormatError);
      assert.equal(error.line, 4);
      assert.match(error.message, /^Cannot parse CSV at line 4: a quoted field \(field 2\)/);
      return true;
    });
  });
  await t.step("a quote that is never closed: the line where its record starts", async () => {
    const text = 'id,name\n1,ok\n2,"never closed\n3,x\n4,y\n';
    await assert.rejects(records(streamOf(text)), (error: unknown) => {
      assert.ok(error instanceof CsvFormatError);
      assert.equal(error.line, 3);
      assert.match(error.problem, /never closed/);
      return true;
    });
  });
  await t.step("a runaway field stops at the record-size limit", async () => {
    const text = 'id,name\n1,"' + "x".repeat(5000);
    await assert.rejects(
      async () => {
        for await (const _ of readCsv(streamOf(text, 512), { maxRecordBytes: 1000 })) {
          // drain
        }
      },
      (error: unknown) => error instanceof CsvFormatError && error.line === 2,
    );
  });
});

// ---------------------------------------------------------------- import

Deno.test("imports each CRM fixture with its own header vocabulary", async (t) => {
  const cases = [
    ["hubspot_contacts.csv", 3, "5102", {
      work_phone: "+49301234567",
      account_name: "Beispiel GmbH",
    }],
    ["salesforce_api.csv", 2, "0035e00000AbCdFAA1", {
      other_phone: "+14155550136",
      account_external_id: "0015e00000XyZaCAA1",
    }],
    ["salesforce_report_semicolon.csv", 2, "0035e00000Q1", {
      mobile_phone: "+491712345678",
      account_name: "Müller, Söhne & Co KG",
    }],
    ["pipedrive_people.csv", 2, "18", { mobile_phone: "+12125550187", account_external_id: "" }],
    ["zoho_contacts.tsv", 2, "zcrm_4876876000000345002", {
      work_phone: "+41446681800",
      account_name: "Muster AG",
      account_external_id: "company:muster-ag",
    }],
  ] as const;
  for (const [name, rows, id, expected] of cases) {
    await t.step(name, async () => {
      await withStore(async (store) => {
        const summary = await importContacts(store, await fixture(name), options());
        assert.deepEqual(counts(summary), {
          rows,
          inserted: rows,
          updated: 0,
          unchanged: 0,
          rejected: 0,
          pruned: 0,
        });
        const contact = (await getContact(store.reader, id))?.contact;
        assert.ok(contact, `${id} stored`);
        const stored = new Map(Object.entries(contact));
        for (const [field, value] of Object.entries(expected)) {
          assert.equal(stored.get(field), value, field);
        }
      });
    });
  }
});

Deno.test("a Google Contacts export imports with derived ids, or with --id-from", async (t) => {
  await t.step("without an id column: derived ids, every number indexed", async () => {
    await withStore(async (store) => {
      const summary = await importContacts(store, await fixture("google_contacts.csv"), options());
      assert.equal(summary.inserted, 2);
      assert.deepEqual(summary.idSource, { kind: "derived", header: null });
      assert.equal(summary.extraNumbers, 1);
      assert.equal(summary.derivedAccountIds, 1);
      const gina = await findContactByPhone(store.reader, "+16505550109");
      assert.match(gina?.external_id ?? "", /^row-[0-9a-z]+$/);
      assert.equal(gina?.work_phone, "+16505550100");
      assert.equal(gina?.account_external_id, "company:gadgets-ltd");
      // Importing the same file again finds the same ids.
      const again = await importContacts(store, await fixture("google_contacts.csv"), options());
      assert.equal(again.unchanged, 2);
    });
  });
  await t.step("--id-from names the column the id comes from", async () => {
    await withStore(async (store) => {
      const summary = await importContacts(
        store,
        await fixture("google_contacts.csv"),
        options({ idFrom: "E-mail 1 - Value" }),
      );
      assert.equal(summary.inserted, 2);
      assert.deepEqual(summary.idSource, { kind: "id_from", header: "E-mail 1 - Value" });
      const gina = (await getContact(store.reader, "gina@example.com"))?.contact;
      assert.equal(gina?.work_phone, "+16505550100");
      assert.equal(gina?.work_email, "gina@example.com");
      assert.equal(gina?.personal_note_1, "Likes calls\nbefore noon");
      const hal = (await getContact(store.reader, "hal@example.org"))?.contact;
      assert.equal(hal?.work_phone, "+442079460000");
      assert.equal(
        (await findContactByPhone(store.reader, "+16505550109"))?.external_id,
        gina?.external_id,
      );
    });
  });
  await t.step("--id-from naming no column is an ImportError at line 1", async () => {
    await withStore(async (store) => {
      await rejectsImport(
        importContacts(store, await fixture("google_contacts.csv"), options({ idFrom: "Nope" })),
        (error) => {
          assert.equal(error.line, 1);
          assert.match(error.message, /--id-from "Nope" names no column/);
        },
      );
    });
  });
});

Deno.test("an invalid --map is an ImportError naming the key", async () => {
  await withStore(async (store) => {
    await rejectsImport(
      importText(store, SMALL, { userMap: { "Cell": "cell_phone" } }),
      (error) => assert.match(error.message, /"Cell" maps to "cell_phone"/),
    );
  });
});

Deno.test("rejected rows carry their line and reason; the rest is imported", async () => {
  await withStore(async (store) => {
    const seen: RejectedRow[] = [];
    const summary = await importContacts(
      store,
      await fixture("multiline_ours.csv"),
      options({ onReject: (row) => void seen.push(row) }),
    );
    assert.deepEqual(counts(summary), {
      rows: 4,
      inserted: 3,
      updated: 0,
      unchanged: 0,
      rejected: 1,
      pruned: 0,
    });
    assert.deepEqual(summary.rejects, [{
      line: 6,
      reason: "first_name is empty",
      record: ["m3", "", "Missing First", "+1 800 555 1213", "US", "rejected: no first_name"],
    }]);
    assert.deepEqual(seen, summary.rejects);
    assert.equal((await getContact(store.reader, "m4"))?.contact.work_phone, "+18005551214");
  });
});

Deno.test("warnings name the line and the field; the row is still imported", async () => {
  await withStore(async (store) => {
    const text = "id,first_name,work_phone,work_email\n1,Ann,not a phone,ann@\n2,Bob,,\n";
    const summary = await importText(store, text);
    assert.equal(summary.inserted, 2);
    assert.equal(summary.warningCount, 2);
    assert.deepEqual(summary.warnings, [
      { line: 2, message: 'work_email "ann@" is not an email address; left empty' },
      {
        line: 2,
        message: 'work_phone "not a phone" is not a phone number for region US; left empty',
      },
    ]);
  });
});

Deno.test("summary lists are capped but counts are not", async () => {
  await withStore(async (store) => {
    const lines = ["id,first_name,work_phone"];
    for (let i = 0; i < 30; i++) lines.push(i % 2 ? `${i},,` : `${i},N${i},bad`);
    const rejectedLines: number[] = [];
    const summary = await importText(store, lines.join("\n"), {
      listLimit: 5,
      onReject: (row) => void rejectedLines.push(row.line),
    });
    assert.equal(summary.rejected, 15);
    assert.equal(summary.rejects.length, 5);
    assert.equal(rejectedLines.length, 15);
    assert.equal(summary.warningCount, 15);
    assert.equal(summary.warnings.length, 5);
  });
});

Deno.test("re-importing the same file reports every row unchanged", async () => {
  await withStore(async (store) => {
    const first = await importText(store, SMALL, { now: () => 1_000 });
    assert.deepEqual(counts(first), {
      rows: 3,
      inserted: 3,
      updated: 0,
      unchanged: 0,
      rejected: 0,
      pruned: 0,
    });
    const again = await importText(store, SMALL, { now: () => 2_000 });
    assert.deepEqual(counts(again), {
      rows: 3,
      inserted: 0,
      updated: 0,
      unchanged: 3,
      rejected: 0,
      pruned: 0,
    });
    assert.equal((await getContact(store.reader, "1"))?.updatedAt, 1_000);
  });
});

Deno.test("a changed row is reported updated and its numbers re-indexed", async () => {
  await withStore(async (store) => {
    await importText(store, SMALL);
    const changed = SMALL.replace("1,Ann,One,+1 800 555 0001", "1,Ann,One,+1 800 555 0099");
    const summary = await importText(store, changed, { now: () => 5_000 });
    assert.deepEqual(counts(summary), {
      rows: 3,
      inserted: 0,
      updated: 1,
      unchanged: 2,
      rejected: 0,
      pruned: 0,
    });
    assert.equal(await findContactByPhone(store.reader, "+18005550001"), undefined);
    assert.equal((await findContactByPhone(store.reader, "+18005550099"))?.external_id, "1");
    assert.equal((await getContact(store.reader, "1"))?.updatedAt, 5_000);
  });
});

Deno.test("the same external_id twice in a file: the later row wins and is counted", async () => {
  await withStore(async (store) => {
    const text = "id,first_name,title\n7,Old,First\n8,Other,\n7,New,Second\n";
    const summary = await importText(store, text);
    assert.equal(summary.duplicateIdsInFile, 1);
    assert.deepEqual(
      [summary.inserted, summary.updated],
      [2, 1],
    );
    const contact = (await getContact(store.reader, "7"))?.contact;
    assert.deepEqual([contact?.first_name, contact?.title], ["New", "Second"]);
  });
});

Deno.test("--prune removes contacts absent from the file, and their numbers", async () => {
  await withStore(async (store) => {
    await importText(store, SMALL);
    const text = "id,first_name,work_phone\n1,Ann,+1 800 555 0001\n3,,\n";
    // forcePrune: half the store goes, past the prune guard (tested on its own).
    const summary = await importText(store, text, { prune: true, forcePrune: true });
    assert.equal(summary.pruned, 1); // 2 goes; 3 is rejected but present, so it stays
    assert.deepEqual(await allIds(store), ["1", "3"]);
    assert.equal(await findContactByPhone(store.reader, "+442079460001"), undefined);
  });
});

Deno.test("--prune refuses a file without a single valid row", async () => {
  await withStore(async (store) => {
    await importText(store, SMALL);
    await rejectsImport(
      importText(store, "id,first_name\n9,\n", { prune: true }),
      (error) => assert.match(error.message, /--prune with no valid rows/),
    );
    assert.deepEqual(await allIds(store), ["1", "2", "3"]);
  });
});

Deno.test("--dry-run reports exact counts and leaves the store untouched", async () => {
  await withStore(async (store) => {
    await importText(store, SMALL);
    const text = [
      "id,first_name,last_name,work_phone,mobile_phone,address_country",
      "1,Ann,Changed,+1 800 555 0001,,US",
      "4,Dan,Four,+1 800 555 0004,,US",
      "5,,Rejected,,,",
    ].join("\n");
    const summary = await importText(store, text, { dryRun: true, prune: true });
    assert.deepEqual(counts(summary), {
      rows: 3,
      inserted: 1,
      updated: 1,
      unchanged: 0,
      rejected: 1,
      pruned: 2,
    });
    assert.equal(summary.dryRun, true);
    assert.equal(summary.committed, false);
    assert.deepEqual(await allIds(store), ["1", "2", "3"]);
    assert.equal((await getContact(store.reader, "1"))?.contact.last_name, "One");
    assert.equal(await findContactByPhone(store.reader, "+18005550004"), undefined);
  });
});

Deno.test("--strict aborts on a rejected row and leaves the store untouched", async () => {
  await withStore(async (store) => {
    await importText(store, SMALL);
    const text = "id,first_name\n1,Changed\n4,New\n5,\n6,Also new\n7,\n";
    await rejectsImport(importText(store, text, { strict: true }), (error) => {
      assert.equal(error.line, 4);
      assert.match(
        error.message,
        /^contacts\.csv, line 4: first_name is empty \(--strict: 2 rows rejected\); nothing was imported$/,
      );
      assert.equal(error.summary?.rejected, 2);
      assert.deepEqual(error.summary?.rejects.map((r) => r.line), [4, 6]);
      assert.equal(error.summary?.committed, false);
    });
    assert.deepEqual(await allIds(store), ["1", "2", "3"]);
    assert.equal((await getContact(store.reader, "1"))?.contact.first_name, "Ann");
  });
});

Deno.test("broken quoting is an ImportError naming the line; the store is untouched", async () => {
  await withStore(async (store) => {
    await importText(store, SMALL);
    await rejectsImport(
      importContacts(store, await fixture("broken_quotes.csv"), options({ fileLabel: "x.csv" })),
      (error) => {
        assert.equal(error.line, 4);
        assert.match(error.message, /^x\.csv, line 4: a quoted field .*; nothing was imported$/);
      },
    );
    assert.deepEqual(await allIds(store), ["1", "2", "3"]);
  });
});

Deno.test("a missing required column is an ImportError naming the column", async () => {
  await withStore(async (store) => {
    await rejectsImport(
      importText(store, "Record ID,Last Name,Phone\n1,One,+18005550001\n"),
      (error) => {
        assert.equal(error.line, 1);
        assert.match(error.message, /missing required column first_name \(the header has/);
      },
    );
    await rejectsImport(
      importText(store, ""),
      (error) => assert.match(error.message, /^contacts\.csv: the file is empty/),
    );
    assert.equal(await countContacts(store.reader), 0);
  });
});

Deno.test("a read error mid-file is an ImportError; nothing is imported", async () => {
  await withStore(async (store) => {
    let sent = 0;
    const input = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ === 0) controller.enqueue(new TextEncoder().encode(SMALL));
        else controller.error(new Error("connection reset"));
      },
    });
    await rejectsImport(
      importContacts(store, input, options()),
      (error) => assert.match(error.message, /connection reset.*nothing was imported/),
    );
    assert.equal(await countContacts(store.reader), 0);
  });
});

Deno.test("numbers shared by several contacts are reported", async () => {
  await withStore(async (store) => {
    const text = [
      "id,first_name,work_phone,mobile_phone",
      "a,A,+1 800 555 0100,+1 800 555 0200",
      "b,B,(800) 555-0100,",
      "c,C,800.555.0100 x7,+1 800 555 0200",
      "d,D,+1 800 555 0300,",
    ].join("\n");
    const summary = await importText(store, text);
    assert.equal(summary.sharedNumberCount, 2);
    assert.deepEqual(summary.sharedNumbers, [
      { e164: "+18005550100", contacts: 3, externalIds: ["a", "b", "c"] },
      { e164: "+18005550200", contacts: 2, externalIds: ["a", "c"] },
    ]);
  });
});

Deno.test("lookups keep reading the committed state while an import runs", async () => {
  await withStore(async (store) => {
    await importText(store, "id,first_name,work_phone\nold,Old,+1 800 555 0001\n");
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => release = resolve);
    let waiting = false;
    const chunks = ["id,first_name,work_phone\n", "new,New,+1 800 555 0002\n", "new2,New,\n"];
    const input = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const chunk = chunks.shift();
        if (chunk !== undefined) return controller.enqueue(new TextEncoder().encode(chunk));
        waiting = true;
        await gate;
        controller.close();
      },
    });
    const running = importContacts(store, input, options({ prune: true, forcePrune: true }));
    while (!waiting) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 50)); // the rows read so far are written
    // Mid-import: the old contact still answers, the new one is not visible yet.
    assert.equal((await findContactByPhone(store.reader, "+18005550001"))?.external_id, "old");
    assert.equal(await findContactByPhone(store.reader, "+18005550002"), undefined);
    assert.equal((await store.client.execute("SELECT COUNT(*) AS n FROM contacts")).rows[0]?.n, 1);
    release();
    const summary = await running;
    assert.deepEqual([summary.inserted, summary.pruned], [2, 1]);
    assert.equal((await findContactByPhone(store.reader, "+18005550002"))?.external_id, "new");
    assert.equal(await findContactByPhone(store.reader, "+18005550001"), undefined);
  });
});

Deno.test("3000 rows in mixed phone formats are each found by their E.164 number", async () => {
  await withStore(async (store) => {
    const formats = [
      (n: string) => `+1 ${n.slice(0, 3)} ${n.slice(3, 6)} ${n.slice(6)}`,
      (n: string) => `(${n.slice(0, 3)}) ${n.slice(3, 6)}-${n.slice(6)}`,
      (n: string) => `${n.slice(0, 3)}.${n.slice(3, 6)}.${n.slice(6)} x${n.slice(7)}`,
      (n: string) => `1-${n.slice(0, 3)}-${n.slice(3, 6)}-${n.slice(6)} ext. 12`,
      (n: string) => `011 1 ${n}`,
      (n: string) => `${n.slice(0, 3)} ${n.slice(3, 6)} ${n.slice(6)} #4`,
    ];
    const lines = ["external_id,first_name,work_phone,mobile_phone,address_country"];
    const expected: [string, string][] = [];
    for (let i = 0; i < 3000; i++) {
      const national = `415${String(2_000_000 + i).padStart(7, "0")}`;
      const written = formats[i % formats.length]?.(national) ?? "";
      // Every 7th row also has a UK mobile, written nationally with country GB.
      const uk = i % 7 === 0 ? `07700 ${String(900000 + i).slice(-6)}` : "";
      const country = i % 7 === 0 ? "United Kingdom" : i % 2 ? "US" : "";
      // The GB row's US number is written internationally so GB does not misread it.
      const work = i % 7 === 0 ? `+1 ${national}` : written;
      lines.push(`c${i},Name ${i},"${work}",${uk},${country}`);
      expected.push([`+1${national}`, `c${i}`]);
      if (uk) expected.push([`+447700${String(900000 + i).slice(-6)}`, `c${i}`]);
    }
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const summary = await importText(store, lines.join("\n"), { defaultRegion: "US" });
    clearInterval(timer);
    assert.equal(summary.inserted, 3000);
    assert.equal(summary.warningCount, 0);
    assert.ok(ticks > 0, "the event loop ran during the import");
    for (const [e164, id] of expected) {
      assert.equal((await findContactByPhone(store.reader, e164))?.external_id, id, e164);
    }
  });
});

Deno.test("without a local driver the import runs in a client write transaction", async () => {
  const store = await openStore({ url: "file::memory:" });
  try {
    assert.equal(store.driver, null);
    const summary = await importText(store, SMALL, { prune: true });
    assert.deepEqual([summary.inserted, summary.committed], [3, true]);
    assert.equal((await findContactByPhone(store.reader, "+18005550003"))?.external_id, "3");
    const dry = await importText(store, "id,first_name\n9,Zed\n", { dryRun: true, prune: true });
    assert.deepEqual([dry.inserted, dry.pruned], [1, 3]);
    await rejectsImport(
      importText(store, "id,first_name\n9,Zed\n10,\n", { strict: true }),
      (error) => assert.equal(error.line, 3),
    );
    assert.deepEqual(await allIds(store), ["1", "2", "3"]);
  } finally {
    store.close();
  }
});

// ---------------------------------------------------------------- rejects file

Deno.test("the rejects file has line, reason, the original columns, and defused formulas", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rejects_test_" });
  try {
    const path = `${dir}/rejects.csv`;
    const rejects = createRejectsFile();
    for (
      const row of [
        { line: 6, reason: "first_name is empty", record: ["m3", "", 'says "hi", twice\nok'] },
        { line: 9, reason: "x", record: ['=HYPERLINK("http://evil")', "+1 800", "@SUM(A1)"] },
        { line: 12, reason: "y", record: ["-2", " padded ", "plain"] },
      ]
    ) await rejects.add(row);
    const written = await rejects.finish(path, ["id", "first_name", "note"]);
    assert.equal(written, 3);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    const back = await records((await Deno.open(path)).readable);
    assert.deepEqual(back, [
      [1, ["line", "reason", "id", "first_name", "note"]],
      [2, ["6", "first_name is empty", "m3", "", 'says "hi", twice\nok']],
      [4, ["9", "x", '\'=HYPERLINK("http://evil")', "'+1 800", "'@SUM(A1)"]],
      [5, ["12", "y", "'-2", " padded ", "plain"]],
    ]);
    assert.equal(rejectsCell("a;b"), '"a;b"');
    assert.equal(rejectsCell("plain"), "plain");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every number of a cell is indexed; a change to an extra number alone is an update", async () => {
  await withStore(async (store) => {
    const csv = (extra: string) =>
      `external_id,first_name,work_phone,mobile_phone\r\n1,Ann,"+1 415 555 0101, ${extra}",` +
      `"+1 415 555 0103 ::: +1 415 555 0104 ::: +1 415 555 0105 ::: +1 415 555 0106"\r\n`;
    const first = await importContacts(store, streamOf(csv("+1 415 555 0102")), options());
    assert.equal(first.extraNumbers, 4);
    for (const n of ["0101", "0102", "0103", "0104", "0105", "0106"]) {
      assert.equal((await findContactByPhone(store.reader, `+1415555${n}`))?.external_id, "1", n);
    }
    const same = await importContacts(store, streamOf(csv("+1 415 555 0102")), options());
    assert.equal(same.unchanged, 1);
    const changed = await importContacts(store, streamOf(csv("+1 415 555 0199")), options());
    assert.equal(changed.updated, 1);
    assert.equal(await findContactByPhone(store.reader, "+14155550102"), undefined);
    assert.equal((await findContactByPhone(store.reader, "+14155550199"))?.external_id, "1");
  });
});
