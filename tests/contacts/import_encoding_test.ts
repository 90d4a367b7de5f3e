/**
 * Specification of the import's encodings, end to end (bytes in, letters out
 * of the store): UTF-8 with and without a BOM, UTF-16 LE and BE, Windows-1252
 * detected or named with --encoding, and invalid bytes, which are an error
 * naming their line and never a silent U+FFFD. Also: a pathological cell is
 * read in linear time.
 */
import assert from "node:assert/strict";
import { countContacts, findContactByPhone } from "../../src/contacts/contact_store.ts";
import {
  importContacts,
  ImportError,
  type ImportOptions,
} from "../../src/contacts/import_contacts.ts";
import { openStore, type Store } from "../../src/store/open_store.ts";

async function withStore(fn: (store: Store) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "import_encoding_test_" });
  const store = await openStore({ url: "file:" + dir + "/crm.db" });
  try {
    await fn(store);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function options(overrides: Partial<ImportOptions> = {}): ImportOptions {
  return { fileLabel: "people.csv", defaultRegion: "US", now: () => 1_000, ...overrides };
}

/** Bytes cut into small chunks, so characters straddle chunk edges. */
function streamOf(bytes: Uint8Array, chunkSize = 7): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + chunkSize));
      offset += chunkSize;
    },
  });
}

const TEXT = "external_id;first_name;last_name;account_name;work_phone\r\n" +
  "1;Jürgen;Müller;Ærø Señor € Café;+1 415 555 0101\r\n" +
  "2;Zoë;Ñúñez;Größe;+1 415 555 0102\r\n";

const utf8 = (text: string) => new TextEncoder().encode(text);
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
};

function utf16(text: string, littleEndian: boolean): Uint8Array {
  const out = new Uint8Array(2 + text.length * 2);
  const view = new DataView(out.buffer);
  view.setUint16(0, 0xfeff, littleEndian);
  for (let i = 0; i < text.length; i++) view.setUint16(2 + i * 2, text.charCodeAt(i), littleEndian);
  return out;
}

function windows1252(text: string): Uint8Array {
  return Uint8Array.from([...text].map((ch) => {
    if (ch === "€") return 0x80;
    const code = ch.charCodeAt(0);
    if (code > 0xff) throw new Error(`${ch} is not in this test's Windows-1252 table`);
    return code;
  }));
}

async function assertLetters(store: Store): Promise<void> {
  const first = await findContactByPhone(store.reader, "+14155550101");
  assert.equal(first?.first_name, "Jürgen");
  assert.equal(first?.last_name, "Müller");
  assert.equal(first?.account_name, "Ærø Señor € Café");
  assert.equal(first?.account_external_id, "company:ærø-señor-café");
  const second = await findContactByPhone(store.reader, "+14155550102");
  assert.equal(second?.first_name, "Zoë");
  assert.equal(second?.last_name, "Ñúñez");
  assert.equal(second?.account_name, "Größe");
}

Deno.test("every letter arrives in each supported encoding, and the summary names it", async (t) => {
  const cases: [string, Uint8Array, string, string][] = [
    ["UTF-8", utf8(TEXT), "utf-8", "detected"],
    ["UTF-8 with a BOM", concat(Uint8Array.of(0xef, 0xbb, 0xbf), utf8(TEXT)), "utf-8", "bom"],
    ["UTF-16 LE with a BOM", utf16(TEXT, true), "utf-16le", "bom"],
    ["UTF-16 BE with a BOM", utf16(TEXT, false), "utf-16be", "bom"],
    ["Windows-1252 (Excel on Windows), detected", windows1252(TEXT), "windows-1252", "detected"],
  ];
  for (const [name, bytes, encoding, source] of cases) {
    await t.step(name, async () => {
      await withStore(async (store) => {
        const summary = await importContacts(store, streamOf(bytes), options());
        assert.equal(summary.inserted, 2);
        assert.equal(summary.warningCount, 0);
        assert.equal(summary.encoding, encoding);
        assert.equal(summary.encodingSource, source);
        await assertLetters(store);
      });
    });
  }
});

Deno.test("--encoding names the encoding when detection cannot see it", async (t) => {
  // A Windows-1252 file whose first accented letter comes after the part
  // detection looks at (64 KiB): without --encoding it is an error naming the line.
  const filler = Array.from({ length: 4000 }, (_, i) => `f${i};Filler;Row;;\r\n`).join("");
  const text = TEXT.split("\r\n")[0] + "\r\n" + filler + TEXT.split("\r\n").slice(1).join("\r\n");
  const bytes = windows1252(text);
  assert.ok(bytes.length > 64 * 1024);
  await t.step("without it: an error naming the line and the fix; nothing imported", async () => {
    await withStore(async (store) => {
      await assert.rejects(importContacts(store, streamOf(bytes, 4096), options()), (error) => {
        assert.ok(error instanceof ImportError);
        assert.equal(error.line, 4002);
        assert.match(
          error.message,
          /^people\.csv, line 4002: the text is not valid utf-8 \(byte 0xFC\)/,
        );
        assert.match(error.message, /--encoding \(e\.g\. windows-1252\)/);
        return true;
      });
      assert.equal(await countContacts(store.reader), 0);
    });
  });
  await t.step("with it: every letter arrives", async () => {
    await withStore(async (store) => {
      const summary = await importContacts(
        store,
        streamOf(bytes, 4096),
        options({ encoding: "cp1252" }),
      );
      assert.equal(summary.inserted, 4002);
      assert.equal(summary.encoding, "windows-1252");
      assert.equal(summary.encodingSource, "option");
      await assertLetters(store);
    });
  });
});

Deno.test("invalid UTF-8 in the middle of a UTF-8 file is an error naming the line, never U+FFFD", async () => {
  await withStore(async (store) => {
    // Valid UTF-8 letters first (so the file is UTF-8), then a Windows-1252 "ü" on line 3.
    const bytes = concat(
      utf8("external_id,first_name\r\n1,Jürgen\r\n2,M"),
      Uint8Array.of(0xfc),
      utf8("ller\r\n3,Ann\r\n"),
    );
    await assert.rejects(importContacts(store, streamOf(bytes, 3), options()), (error) => {
      assert.ok(error instanceof ImportError);
      assert.equal(error.line, 3);
      assert.match(
        error.message,
        /line 3: the text is not valid utf-8 \(byte 0xFC\); nothing was replaced/,
      );
      assert.match(error.message, /nothing was imported$/);
      return true;
    });
    assert.equal(await countContacts(store.reader), 0);
  });
});

Deno.test("a file that ends inside a UTF-16 character is an error, not a replacement", async () => {
  await withStore(async (store) => {
    const bytes = concat(utf16("external_id,first_name\r\n1,Ann\r\n", true), Uint8Array.of(0x41));
    await assert.rejects(importContacts(store, streamOf(bytes), options()), (error) => {
      assert.ok(error instanceof ImportError);
      assert.match(error.message, /ends in the middle of a character/);
      return true;
    });
    assert.equal(await countContacts(store.reader), 0);
  });
});

Deno.test("a cell of 400,000 spaces is read once, and the row still imports", async () => {
  await withStore(async (store) => {
    const spaces = " ".repeat(400_000);
    const text = "external_id,first_name,work_phone,work_email,mobile_phone\r\n" +
      `1,Ann,${spaces},${spaces},+1 415 555 0101\r\n` +
      `2,Bob,"+1 415 555 0102${spaces};",x@example.com${spaces},\r\n`;
    const summary = await importContacts(store, streamOf(utf8(text), 64 * 1024), options());
    assert.equal(summary.inserted, 2);
    assert.equal((await findContactByPhone(store.reader, "+14155550101"))?.external_id, "1");
    assert.equal((await findContactByPhone(store.reader, "+14155550102"))?.external_id, "2");
  });
});
