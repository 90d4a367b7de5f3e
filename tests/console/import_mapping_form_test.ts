/** Specification of the console's column mapping editor form (the same rules as `--map`). */
import assert from "node:assert/strict";
import { HeaderMapError, parseUserMap } from "../../src/contacts/csv_headers.ts";
import {
  MAPPING_AUTO,
  MAPPING_IGNORE,
  mappingFromForm,
  MAX_MAPPING_COLUMNS,
} from "../../src/console/import_mapping_form.ts";

const HEADERS = ["Record Ref", "Given", "Fax", "Phone"];

Deno.test("the mapping editor's choices become a --map object: by name left out, ignore is null", () => {
  const form = new URLSearchParams({
    col_0: "external_id",
    col_1: "first_name",
    col_2: MAPPING_IGNORE,
    col_3: MAPPING_AUTO,
  });
  assert.deepEqual(mappingFromForm(HEADERS, form, null), {
    "Record Ref": "external_id",
    Given: "first_name",
    Fax: null,
  });
});

Deno.test("a mapping editor where every column maps by its name gives no map", () => {
  assert.equal(mappingFromForm(HEADERS, new URLSearchParams(), null), null);
});

Deno.test("a bad mapping is refused with the very message --map gives", () => {
  const form = new URLSearchParams({ col_0: "bogus_field" });
  let message = "";
  assert.throws(() => mappingFromForm(HEADERS, form, null), (error) => {
    message = error instanceof HeaderMapError ? error.message : "";
    return error instanceof HeaderMapError;
  });
  let cli = "";
  try {
    parseUserMap(JSON.stringify({ "Record Ref": "bogus_field" }), "--map");
  } catch (error) {
    cli = error instanceof Error ? error.message : "";
  }
  assert.equal(message, cli);
  assert.match(message, /"Record Ref" maps to "bogus_field", which is not a contact field/);
});

Deno.test("columns past the editor's bound keep the mapping they had", () => {
  const headers = Array.from({ length: MAX_MAPPING_COLUMNS + 2 }, (_, i) => `Column ${i}`);
  const last = `Column ${MAX_MAPPING_COLUMNS + 1}`;
  const form = new URLSearchParams({ col_0: "first_name" });
  assert.deepEqual(
    mappingFromForm(headers, form, { [last]: "external_id", "Column 0": "last_name" }),
    { [last]: "external_id", "Column 0": "first_name" },
  );
});
