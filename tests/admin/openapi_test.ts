/** The OpenAPI document is generated from the routes' own zod schemas, and says everything. */
import { assert, assertEquals } from "../helpers/assert.ts";
import { API_ROUTES, openApiDocument } from "../../src/admin/openapi.ts";

type Json = Record<string, unknown>;

const doc = openApiDocument();
const paths = doc.paths as Record<string, Record<string, Json>>;
const operations = Object.entries(paths).flatMap(([path, ops]) =>
  Object.entries(ops).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, op }))
);
const parameters = (path: string, method = "get") =>
  (paths[path]?.[method]?.parameters ?? []) as Json[];
const parameter = (path: string, name: string) =>
  parameters(path).find((p) => p.name === name) as Json | undefined;

Deno.test("the document names its server, its license and an operationId for each operation", () => {
  assertEquals(doc.openapi, "3.1.0");
  assert((doc.servers as Json[]).length > 0);
  assert(((doc.info as Json).license as Json).name);
  const ids = operations.map(({ op }) => op.operationId);
  assertEquals(ids.filter((id) => typeof id !== "string").length, 0);
  assertEquals(new Set(ids).size, ids.length, "operationIds are unique");
});

Deno.test("every route the server serves (but the console's pages) is described", () => {
  for (
    const name of [
      "GET /api/contacts",
      "GET /api/contacts/{external_id}",
      "PUT /api/contacts/{external_id}",
      "DELETE /api/contacts/{external_id}",
      "POST /api/contacts/import",
      "GET /api/imports",
      "GET /api/imports/{id}",
      "GET /api/imports/{id}/rejects.csv",
      "GET /api/calls",
      "GET /api/calls.csv",
      "GET /api/calls/{id}",
      "GET /api/calls/{id}/events/{event_key}",
      "GET /api/unknown-numbers",
      "GET /api/unknown-numbers.csv",
      "POST /api/endpoints",
      "GET /api/endpoints",
      "GET /api/endpoints/{id}",
      "PATCH /api/endpoints/{id}",
      "DELETE /api/endpoints/{id}",
      "POST /api/endpoints/{id}/rotate-secret",
      "GET /api/endpoints/{id}/messages",
      "POST /api/endpoints/{id}/replay",
      "GET /api/messages/{id}",
      "POST /api/messages/{id}/resend",
      "GET /api/openapi.json",
      "GET /healthz",
      "GET /readyz",
      "GET /metrics",
      "GET /symbo/lookup",
      "GET /symbo/webhook",
      "POST /symbo/webhook",
    ]
  ) {
    assert(operations.some((o) => o.name === name), `${name} is described`);
  }
  assertEquals(operations.length, API_ROUTES.length);
});

Deno.test("every JSON 2xx answer has a real schema, not a bare object", () => {
  const schemas = (doc.components as Json).schemas as Record<string, Json>;
  for (const { name, op } of operations) {
    for (const [status, response] of Object.entries(op.responses as Record<string, Json>)) {
      const schema = ((response.content as Json | undefined)?.["application/json"] as
        | Json
        | undefined)?.schema as Json | undefined;
      if (!status.startsWith("2") || schema === undefined) continue;
      const targets = (schema.oneOf as Json[] | undefined) ?? [schema];
      for (const target of targets) {
        const ref = target.$ref;
        const resolved = typeof ref === "string"
          ? schemas[ref.replace("#/components/schemas/", "")]
          : target;
        assert(resolved, `${name} ${status}: ${String(ref)} resolves`);
        const properties = Object.keys((resolved.properties ?? {}) as Json);
        assert(
          properties.length > 0,
          `${name} ${status} names its fields: ${JSON.stringify(resolved)}`,
        );
      }
    }
  }
});

Deno.test("parameters say their type, range and format", () => {
  assertEquals(parameter("/api/calls", "limit")?.schema, {
    type: "integer",
    minimum: 1,
    maximum: 1000,
    default: 100,
  });
  assertEquals(parameter("/api/contacts", "limit")?.schema, {
    type: "integer",
    minimum: 1,
    maximum: 200,
    default: 50,
  });
  assertEquals((parameter("/api/unknown-numbers", "offset")?.schema as Json).type, "integer");
  const from = parameter("/api/calls", "from")?.schema as Json;
  assertEquals((from.anyOf as Json[]).map((s) => s.format ?? s.pattern), [
    "date-time",
    "date",
    "^[0-9]+$",
  ]);
  const importParams = parameters("/api/contacts/import", "post");
  const region = importParams.find((p) => p.name === "region")?.schema as Json;
  assertEquals(region.pattern, "^\\s*[A-Za-z]{2}\\s*$");
  assert(String(importParams.find((p) => p.name === "encoding")?.description).includes("WHATWG"));
  assertEquals(parameter("/api/contacts", "q")?.required, true);
  assertEquals(parameter("/symbo/lookup", "number")?.required, true);
});

Deno.test("the contact body is strict, needs first_name, and names the external_id rule", () => {
  const put = paths["/api/contacts/{external_id}"]?.put as Json;
  const schema = (((put.requestBody as Json).content as Json)["application/json"] as Json)
    .schema as Json;
  assertEquals(schema.additionalProperties, false);
  assertEquals(schema.required, ["first_name"]);
  const properties = schema.properties as Record<string, Json>;
  assert(String(properties.external_id?.description).includes("must equal"));
});

Deno.test("the statuses the server sends are documented", () => {
  const statuses = (path: string, method = "get") =>
    Object.keys(paths[path]?.[method]?.responses as Json).sort();
  assertEquals(statuses("/api/contacts/import", "post"), [
    "200",
    "202",
    "400",
    "401",
    "408",
    "409",
    "413",
    "422",
    "500",
    "503",
  ]);
  assert(statuses("/api/calls").includes("400"));
  assertEquals(statuses("/api/calls/{id}/events/{event_key}"), [
    "200",
    "401",
    "404",
    "410",
    "500",
    "503",
  ]);
});

Deno.test("every route declared in src/ is described (a new route adds its RouteDoc)", async () => {
  const declared = new Set<string>();
  const src = new URL("../../src/", import.meta.url);
  const walk = async (dir: URL): Promise<void> => {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isDirectory) await walk(new URL(`${entry.name}/`, dir));
      else if (/\.tsx?$/.test(entry.name) && entry.name !== "openapi.ts") {
        const text = await Deno.readTextFile(new URL(entry.name, dir));
        for (const match of text.matchAll(/method:\s*"([A-Z]+)",\s*path:\s*"([^"]+)"/g)) {
          if (!match[2]!.startsWith("/console")) declared.add(`${match[1]} ${match[2]}`);
        }
      }
    }
  };
  await walk(src);
  assert(declared.size >= 20, `found ${declared.size} routes in src/`);
  // Parameter names may differ (`:key` serves `{event_key}`); their places may not.
  const shape = (name: string) => name.replace(/:[A-Za-z_]+|\{[A-Za-z_]+\}/g, "{}");
  const described = new Set(operations.map(({ name }) => shape(name)));
  assertEquals([...declared].map(shape).filter((name) => !described.has(name)), []);
});
