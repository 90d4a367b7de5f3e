/**
 * The contract: real answers of every route the OpenAPI document describes,
 * from the real server, match the document. Each answer's status must be
 * documented for its operation, its content type must be the documented one,
 * and a JSON body must validate against the documented schema (JSON Schema
 * 2020-12, formats checked, no undocumented property). Every operation must
 * have been seen answering 2xx.
 */
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import formats from "ajv-formats";
import { assert, assertEquals } from "../helpers/assert.ts";
import { callEventBody, postSigned } from "../helpers/events.ts";
import { eventually } from "../helpers/eventually.ts";
import { startServerProcess } from "../helpers/server_process.ts";
import { startReceiver } from "../helpers/webhook_receiver.ts";

const SECRET = "webhook secret for tests";
const ADMIN = "admin-token-0123456789abcdef0123456789";
const TOKEN = "lookup-token-0123456789abcdef0123456789";

type Json = Record<string, unknown>;

interface Operation {
  readonly responses: Record<string, { content?: Record<string, { schema: Json }> }>;
}

/** Checks answers against the document and remembers which operations answered what. */
class Contract {
  readonly #ajv = new Ajv2020({ strict: false, allErrors: true });
  readonly #validators = new Map<string, ValidateFunction>();
  readonly seen = new Set<string>();

  constructor(readonly doc: Json) {
    formats.default(this.#ajv);
  }

  get paths(): Record<string, Record<string, Operation>> {
    return this.doc.paths as Record<string, Record<string, Operation>>;
  }

  /** Checks one answer of `method template`; resolves with its JSON body (or text). */
  async check(method: string, template: string, response: Response): Promise<unknown> {
    const name = `${method.toUpperCase()} ${template}`;
    const op = this.paths[template]?.[method];
    assert(op, `${name} is described`);
    const status = String(response.status);
    const documented = op.responses[status];
    const text = await response.text();
    assert(
      documented,
      `${name} answered ${status}, which is not documented: ${text.slice(0, 300)}`,
    );
    this.seen.add(`${name} ${status}`);
    const contentType = response.headers.get("content-type") ?? "";
    const content = documented.content;
    if (content === undefined) {
      assertEquals(text, "", `${name} ${status} has no body`);
      return null;
    }
    const [mediaType] = Object.keys(content);
    assert(mediaType, `${name} ${status} names a media type`);
    assert(
      contentType.startsWith(mediaType),
      `${name} ${status}: content-type ${contentType}, documented ${mediaType}`,
    );
    if (mediaType !== "application/json") return text;
    const body: unknown = JSON.parse(text);
    const validate = this.#validator(`${template} ${method} ${status}`, content[mediaType]!.schema);
    assert(
      validate(body),
      `${name} ${status} does not match its schema: ${
        JSON.stringify(validate.errors, null, 1)
      }\nbody: ${text.slice(0, 500)}`,
    );
    return body;
  }

  #validator(key: string, schema: Json): ValidateFunction {
    let found = this.#validators.get(key);
    if (!found) {
      // The components travel along so that #/components/schemas/… resolves.
      found = this.#ajv.compile({ ...schema, components: this.doc.components });
      this.#validators.set(key, found);
    }
    return found;
  }

  /** Operations never seen answering 2xx. */
  untested(): string[] {
    const missing: string[] = [];
    for (const [template, operations] of Object.entries(this.paths)) {
      for (const method of Object.keys(operations)) {
        const name = `${method.toUpperCase()} ${template}`;
        if (![...this.seen].some((seen) => seen.startsWith(`${name} 2`))) missing.push(name);
      }
    }
    return missing;
  }
}

Deno.test("every route's real answers match the OpenAPI document", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-contract-" });
  await Deno.mkdir(`${dir}/drop`);
  // The CRM's endpoint: on 127.0.0.1, so the test allows plain http to a private address.
  const receiver = startReceiver();
  const server = await startServerProcess({
    dir,
    config: {
      database: { url: `file:${dir}/crm.db` },
      audit: { dir: `${dir}/audit` },
      data_dir: dir,
      symbo: { webhook_secrets: [SECRET], lookup_tokens: [TOKEN] },
      admin: { tokens: [ADMIN] },
      contacts: { sources: [{ name: "drop", dir: `${dir}/drop`, every: "1d" }] },
      log: { level: "warning" },
      outbound: { allow_private_networks: true, allow_http: true, max_endpoints: 2 },
    },
  });
  const base = server.url;
  const admin = { authorization: `Bearer ${ADMIN}` };
  const get = (path: string, headers: Record<string, string> = admin) =>
    fetch(`${base}${path}`, { headers });
  const send = (method: string, path: string, body: BodyInit, type = "application/json") =>
    fetch(`${base}${path}`, { method, headers: { ...admin, "content-type": type }, body });
  try {
    const contract = new Contract(
      await (await fetch(`${base}/api/openapi.json`)).json(),
    );
    const check = (method: string, template: string, response: Response) =>
      contract.check(method, template, response);

    await t.step("the document itself, health, readiness, metrics", async () => {
      await check("get", "/api/openapi.json", await fetch(`${base}/api/openapi.json`));
      await check("get", "/healthz", await fetch(`${base}/healthz`));
      await check("get", "/readyz", await fetch(`${base}/readyz`));
      await check("get", "/metrics", await get("/metrics"));
      await check("get", "/metrics", await get("/metrics", {}));
    });

    await t.step("contacts: create, replace, read, search, refuse", async () => {
      const sally = {
        first_name: "Sally",
        last_name: "Sample",
        work_phone: "+18005551212",
        account: { external_id: "9876", name: "Sample Company" },
      };
      const put = (id: string, body: unknown) =>
        send("PUT", `/api/contacts/${id}`, JSON.stringify(body));
      const template = "/api/contacts/{external_id}";
      const created = await check("put", template, await put("c-1", sally));
      assertEquals((created as Json).status, "inserted");
      await check("put", template, await put("c-1", { ...sally, title: "Manager" }));
      await check("put", template, await put("c-2", { last_name: "No first name" }));
      await check("put", template, await put("c-2", { first_name: "Al", external_id: "c-3" }));
      await check("put", template, await send("PUT", "/api/contacts/c-2", "{not json"));
      await check(
        "put",
        template,
        await put("c-2", { first_name: "Big", personal_note_1: "x".repeat(2 * 1024 * 1024) }),
      );
      await check("get", template, await get("/api/contacts/c-1"));
      await check("get", template, await get("/api/contacts/nobody"));
      await check("get", template, await get("/api/contacts/c-1", {}));
      await check("get", "/api/contacts", await get("/api/contacts?q=Sally&limit=10"));
      await check("get", "/api/contacts", await get("/api/contacts?q=8005551212"));
      await check("get", "/api/contacts", await get("/api/contacts?q=Sally&limit=0"));
      await check("get", "/api/contacts", await get("/api/contacts?q=Sally&frob=1"));
    });

    let jobId = "";
    await t.step("imports: a summary, a job with rejects, a failed file, bad options", async () => {
      const csv = await Deno.readTextFile(new URL("../../examples/contacts.csv", import.meta.url));
      const path = "/api/contacts/import";
      const summary = await check("post", path, await send("POST", path, csv, "text/csv"));
      assert(((summary as Json).inserted as number) > 0);
      const withReject = "external_id,first_name,work_phone\nr-1,Rita,+18005550100\nr-2,,\n";
      const rejected = await check(
        "post",
        path,
        await send("POST", `${path}?file_name=rejects.csv`, withReject, "text/csv"),
      );
      assertEquals((rejected as Json).rejected, 1);
      await check(
        "post",
        path,
        await send("POST", path, "id_number,last_name\n2,Bob\n", "text/csv"),
      );
      await check("post", path, await send("POST", `${path}?region=XXL`, csv, "text/csv"));
      await check("post", path, await send("POST", `${path}?dry_run=maybe`, csv, "text/csv"));
      const list = await check("get", "/api/imports", await get("/api/imports"));
      const jobs = (list as { jobs: { id: string; fileName: string }[] }).jobs;
      jobId = jobs.find((job) => job.fileName === "rejects.csv")?.id ?? "";
      assert(jobId !== "");
      await check("get", "/api/imports/{id}", await get(`/api/imports/${jobId}`));
      await check("get", "/api/imports/{id}", await get("/api/imports/no-such-job"));
      const rejects = "/api/imports/{id}/rejects.csv";
      await check("get", rejects, await get(`/api/imports/${jobId}/rejects.csv`));
      await check("get", rejects, await get(`/api/imports/${jobs.at(-1)!.id}/rejects.csv`));
      const put = await send("PUT", path, "{}");
      assertEquals(put.status, 405);
      await put.body?.cancel();
    });

    await t.step("contact batches: applied, and refused naming the line", async () => {
      const path = "/api/contacts/batch";
      const ndjson = (lines: unknown[]) => lines.map((line) => JSON.stringify(line)).join("\n");
      const upsert = {
        op: "upsert",
        contact: { external_id: "b-1", first_name: "Bea", work_phone: "+18005550111" },
      };
      const applied = await check(
        "post",
        path,
        await send("POST", path, ndjson([upsert, { op: "delete", external_id: "nobody" }])),
      );
      assertEquals((applied as Json).inserted, 1);
      await check("post", path, await send("POST", path, ndjson([upsert, { op: "frob" }])));
      await check("post", path, await send("POST", path, ""));
    });

    await t.step("sources: list, run now, runs, unknown names", async () => {
      await check("get", "/api/sources", await get("/api/sources"));
      const run = "/api/sources/{name}/run";
      await check("post", run, await send("POST", "/api/sources/drop/run", ""));
      await check("post", run, await send("POST", "/api/sources/nope/run", ""));
      const runs = "/api/sources/{name}/runs";
      await eventually("the run is recorded", 15_000, async () => {
        const page = await (await get("/api/sources/drop/runs")).json();
        return page.runs.length > 0 && page.runs[0].finished_at !== null;
      });
      await check("get", runs, await get("/api/sources/drop/runs?limit=5"));
      await check("get", runs, await get("/api/sources/drop/runs?limit=0"));
      await check("get", runs, await get("/api/sources/nope/runs"));
    });

    let eventKey = "";
    await t.step("the webhook, calls, the feed, the export, one call, one event", async () => {
      const body = callEventBody({ callId: "call-1", eventId: "evt-1", prospectExternalId: "c-1" });
      await check("post", "/symbo/webhook", await postSigned(base, SECRET, body));
      await check("post", "/symbo/webhook", await postSigned(base, SECRET, body));
      await check(
        "post",
        "/symbo/webhook",
        await fetch(`${base}/symbo/webhook`, { method: "POST", body }),
      );
      await check("post", "/symbo/webhook", await postSigned(base, SECRET, "not json"));
      await check("get", "/api/calls", await get("/api/calls?limit=10&from=2024-01-01"));
      await check("get", "/api/calls", await get("/api/calls?since=&limit=10"));
      await check("get", "/api/calls", await get("/api/calls?cursor=not-a-cursor"));
      await check("get", "/api/calls", await get("/api/calls?limit=1001"));
      await check(
        "get",
        "/api/calls.csv",
        await get("/api/calls.csv?disposition=answered_positive"),
      );
      await check("get", "/api/calls.csv", await get("/api/calls.csv?from=yesterday"));
      const call = await check("get", "/api/calls/{id}", await get("/api/calls/call-1"));
      await check("get", "/api/calls/{id}", await get("/api/calls/no-such-call"));
      eventKey = (call as { events: { event_key: string }[] }).events[0]!.event_key;
      const event = "/api/calls/{id}/events/{event_key}";
      await check("get", event, await get(`/api/calls/call-1/events/${eventKey}`));
      await check("get", event, await get("/api/calls/call-1/events/no-such-event"));
    });

    await t.step("endpoints: register, change, messages, resend, replay, delete", async () => {
      const create = (body: unknown) => send("POST", "/api/endpoints", JSON.stringify(body));
      const list = "/api/endpoints";
      const created = await check("post", list, await create({ url: receiver.url }));
      const { id, secret } = created as { id: string; secret: string };
      receiver.secrets = [secret];
      await check("post", list, await create({ url: "ftp://127.0.0.1/hooks" }));
      await check("post", list, await create({ url: receiver.url, frob: 1 }));
      await check("post", list, await send("POST", list, "{not json"));
      const spare = await check("post", list, await create({ url: `${receiver.url}?spare` }));
      await check("post", list, await create({ url: `${receiver.url}?third` }));
      await check("get", list, await get(list));
      await check("get", list, await get(list, {}));

      const one = "/api/endpoints/{id}";
      await check("get", one, await get(`/api/endpoints/${id}`));
      await check("get", one, await get("/api/endpoints/ep_nobody"));
      const patch = (endpoint: string, body: unknown) =>
        send("PATCH", `/api/endpoints/${endpoint}`, JSON.stringify(body));
      await check("patch", one, await patch(id, { description: "The CRM", enabled: true }));
      await check("patch", one, await patch(id, {}));
      await check("patch", one, await patch(id, { url: "http://127.0.0.1:1/#fragment" }));
      await check("patch", one, await patch("ep_nobody", { enabled: false }));
      const remove = (endpoint: string) =>
        fetch(`${base}/api/endpoints/${endpoint}`, { method: "DELETE", headers: admin });
      await check("delete", one, await remove((spare as { id: string }).id));
      await check("delete", one, await remove((spare as { id: string }).id));

      const rotate = "/api/endpoints/{id}/rotate-secret";
      const rotated = await check(
        "post",
        rotate,
        await send("POST", `${rotate.replace("{id}", id)}`, ""),
      );
      receiver.secrets = [secret, (rotated as { secret: string }).secret];
      await check("post", rotate, await send("POST", "/api/endpoints/ep_nobody/rotate-secret", ""));

      const replay = "/api/endpoints/{id}/replay";
      const replayed = await check(
        "post",
        replay,
        await send("POST", `/api/endpoints/${id}/replay`, JSON.stringify({ since: 0 })),
      );
      assert(((replayed as Json).queued as number) > 0, "the webhook's call is queued");
      await check(
        "post",
        replay,
        await send("POST", `/api/endpoints/${id}/replay`, JSON.stringify({ since: "soon" })),
      );
      await check(
        "post",
        replay,
        await send("POST", "/api/endpoints/ep_nobody/replay", JSON.stringify({ since: 0 })),
      );

      // Delivered and recorded (no sender holds it any more), so a resend is not refused.
      type Page = { messages: { id: string; status: string; in_flight: boolean }[] };
      const finished = (page: Page) =>
        page.messages.find((message) => message.status === "delivered" && !message.in_flight);
      await eventually("the call is delivered", 15_000, async () => {
        const page = await (await get(`/api/endpoints/${id}/messages?status=delivered`)).json();
        return receiver.delivered().length > 0 && finished(page) !== undefined;
      });
      const messages = "/api/endpoints/{id}/messages";
      const page = await check("get", messages, await get(`/api/endpoints/${id}/messages?limit=5`));
      const messageId = finished(page as Page)!.id;
      await check("get", messages, await get(`/api/endpoints/${id}/messages?status=frob`));
      await check("get", messages, await get(`/api/endpoints/${id}/messages?cursor=nonsense`));
      await check("get", messages, await get("/api/endpoints/ep_nobody/messages"));

      const message = "/api/messages/{id}";
      await check("get", message, await get(`/api/messages/${messageId}`));
      await check("get", message, await get("/api/messages/msg_nobody"));
      const resend = "/api/messages/{id}/resend";
      await check("post", resend, await send("POST", `/api/messages/${messageId}/resend`, ""));
      await check("post", resend, await send("POST", "/api/messages/msg_nobody/resend", ""));
      const statuses = [...contract.seen].filter((seen) => seen.includes("/api/endpoints"));
      for (const expected of ["POST /api/endpoints 409", "PATCH /api/endpoints/{id} 404"]) {
        assert(statuses.includes(expected), `${expected} was seen: ${statuses.join(", ")}`);
      }
    });

    await t.step("the lookup (both URLs) and the unknown numbers it records", async () => {
      const lookup = (path: string, query: string) => fetch(`${base}${path}?${query}`);
      for (const path of ["/symbo/lookup", "/symbo/webhook"]) {
        await check("get", path, await lookup(path, `number=%2B18005551212&token=${TOKEN}`));
        await check("get", path, await lookup(path, `number=%2B14155550199&token=${TOKEN}`));
        await check("get", path, await lookup(path, `token=${TOKEN}`));
        await check("get", path, await lookup(path, "number=%2B18005551212"));
      }
      await eventually("the unknown number is written", 15_000, async () => {
        const page = await (await get("/api/unknown-numbers")).json();
        return page.total === 1;
      });
      const path = "/api/unknown-numbers";
      await check("get", path, await get(`${path}?limit=10&offset=0`));
      await check("get", path, await get(`${path}?offset=-1`));
      await check("get", "/api/unknown-numbers.csv", await get("/api/unknown-numbers.csv"));
    });

    await t.step("delete, twice", async () => {
      const path = "/api/contacts/{external_id}";
      await check(
        "delete",
        path,
        await fetch(`${base}/api/contacts/c-1`, {
          method: "DELETE",
          headers: admin,
        }),
      );
      await check(
        "delete",
        path,
        await fetch(`${base}/api/contacts/c-1`, {
          method: "DELETE",
          headers: admin,
        }),
      );
    });

    await t.step("every described operation was seen answering 2xx", () => {
      assertEquals(contract.untested(), []);
    });
  } finally {
    await server.stop();
    await receiver.close();
    await Deno.remove(dir, { recursive: true });
  }
});
