/** The OpenAPI document is generated from the routes' own zod schemas. */
import { assert, assertEquals } from "../helpers/assert.ts";
import { openApiDocument } from "../../src/admin/openapi.ts";

type Json = Record<string, unknown>;

Deno.test("the OpenAPI 3.1 document lists the admin routes with their schema-derived parameters", () => {
  const doc = openApiDocument();
  assertEquals(doc.openapi, "3.1.0");
  const paths = doc.paths as Record<string, Record<string, Json>>;
  for (
    const path of [
      "/api/contacts",
      "/api/contacts/{external_id}",
      "/api/contacts/import",
      "/api/calls",
      "/api/calls.csv",
      "/api/calls/{id}",
      "/api/unknown-numbers",
      "/api/unknown-numbers.csv",
    ]
  ) {
    assert(paths[path], `${path} is described`);
  }
  const callParams = (paths["/api/calls"]?.get?.parameters as Json[]).map((p) => p.name);
  assertEquals(callParams, [
    "contact",
    "user",
    "disposition",
    "from",
    "to",
    "limit",
    "cursor",
    "since",
  ]);
  const search = (paths["/api/contacts"]?.get?.parameters as Json[]).find((p) => p.name === "q");
  assertEquals(search?.required, true);
  const contact = (doc.components as Json).schemas as Record<string, Json>;
  assertEquals(
    contact.Contact?.additionalProperties,
    false,
    "the body schema is strict, as the route",
  );
});
