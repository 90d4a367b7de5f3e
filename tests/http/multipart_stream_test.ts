/**
 * Specification of the streaming multipart reader: parts arrive in order with
 * their names and file names, a part's bytes are whole whatever the chunking
 * (a delimiter split across chunks included), a cancelled part is skipped,
 * and malformed bodies are refused with 400.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { HttpError } from "../../src/http/http_error.ts";
import { multipartBoundary, partText, readMultipart } from "../../src/http/multipart_stream.ts";

/** `bytes` as a stream of `size`-byte chunks. */
function chunked(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

async function formBytes(form: FormData): Promise<{ bytes: Uint8Array; type: string }> {
  const request = new Request("http://x/", { method: "POST", body: form });
  return {
    bytes: new Uint8Array(await request.arrayBuffer()),
    type: request.headers.get("content-type") ?? "",
  };
}

async function collect(
  stream: ReadableStream<Uint8Array>,
): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

Deno.test("a browser's form is read part by part, whatever the chunk size", async () => {
  const file = new Uint8Array(200_000).map((_, i) => (i * 7) % 251);
  // A CSV full of CRLFs and dashes, the bytes a delimiter starts with.
  file.set(new TextEncoder().encode("\r\n--\r\n--"), 1_000);
  const form = new FormData();
  form.set("csrf", "token-1");
  form.set("file", new File([file], "people.csv", { type: "text/csv" }));
  form.set("region", "GB");
  form.set("dry_run", "1");
  const { bytes, type } = await formBytes(form);
  const boundary = multipartBoundary(type);
  if (boundary === null) throw new Error(`no boundary in ${type}`);
  for (const size of [1, 7, 70, 4096, 1 << 20]) {
    const seen: [string, string | null, number][] = [];
    const fields = new Map<string, string>();
    for await (const part of readMultipart(chunked(bytes, size), boundary)) {
      if (part.filename === null) {
        fields.set(part.name, await partText(part, 100));
        seen.push([part.name, null, 0]);
      } else {
        const got = await collect(part.body);
        assertEquals(got, file);
        seen.push([part.name, part.filename, got.byteLength]);
      }
    }
    assertEquals(seen, [
      ["csrf", null, 0],
      ["file", "people.csv", 200_000],
      ["region", null, 0],
      ["dry_run", null, 0],
    ]);
    assertEquals(Object.fromEntries(fields), { csrf: "token-1", region: "GB", dry_run: "1" });
  }
});

Deno.test("a part that is cancelled is skipped to the next", async () => {
  const form = new FormData();
  form.set("file", new File([new Uint8Array(100_000)], "skip.csv"));
  form.set("after", "still here");
  const { bytes, type } = await formBytes(form);
  const names: string[] = [];
  const boundary = multipartBoundary(type) ?? "";
  for await (const part of readMultipart(chunked(bytes, 1000), boundary)) {
    names.push(part.name);
    if (part.filename !== null) await part.body.cancel();
    else assertEquals(await partText(part, 100), "still here");
  }
  assertEquals(names, ["file", "after"]);
});

Deno.test("malformed and oversized forms are refused with 400", async () => {
  const read = async (text: string, boundary = "b") => {
    for await (const part of readMultipart(chunked(new TextEncoder().encode(text), 5), boundary)) {
      await partText(part, 10);
    }
  };
  const refused = (error: unknown) => error instanceof HttpError && error.status === 400;
  for (
    const text of [
      "no boundary at all",
      '--b\r\ncontent-disposition: form-data; name="a"\r\n\r\nunterminated',
      "--b\r\ncontent-type: text/plain\r\n\r\nx\r\n--b--",
      '--b\r\ncontent-disposition: form-data; name="a"\r\n\r\nfar too long a value\r\n--b--',
    ]
  ) {
    const error = await read(text).then(() => null, (e) => e);
    assertEquals(refused(error), true, text);
  }
  // A part head that never ends is bounded.
  assert(refused(await read("--b\r\n" + "x".repeat(20_000)).then(() => null, (e) => e)));
});

Deno.test("the boundary is read from the content type", () => {
  assertEquals(multipartBoundary("multipart/form-data; boundary=abc"), "abc");
  assertEquals(multipartBoundary('multipart/form-data; boundary="a b"'), "a b");
  assertEquals(multipartBoundary("application/x-www-form-urlencoded"), null);
  assertEquals(multipartBoundary("multipart/form-data"), null);
  assertEquals(multipartBoundary(null), null);
});
