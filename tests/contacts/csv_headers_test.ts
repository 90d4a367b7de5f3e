/** Specification of header mapping: normalization, CRM aliases, `--map`, precedence. */
import assert from "node:assert/strict";
import { ALL_CONTACT_FIELDS, type AnyContactField } from "../../src/contacts/contact.ts";
import {
  aliasFor,
  derivedAccountId,
  HEADER_ALIASES,
  HeaderMapError,
  normalizeHeader,
  parseUserMap,
  resolveHeaders,
  validateUserMap,
} from "../../src/contacts/csv_headers.ts";
import { readCsv } from "../../src/contacts/csv_reader.ts";

async function fixtureHeader(name: string): Promise<string[]> {
  const file = await Deno.open(new URL(`../fixtures/csv/${name}`, import.meta.url));
  for await (const { record } of readCsv(file.readable)) return record;
  throw new Error(`${name} is empty`);
}

function matchedObject(
  matched: ReadonlyMap<AnyContactField, string>,
): Partial<Record<AnyContactField, string>> {
  return Object.fromEntries(matched);
}

Deno.test("normalizeHeader ignores case, spaces and punctuation", () => {
  assert.equal(normalizeHeader("State/Region"), "stateregion");
  assert.equal(normalizeHeader("E-mail 1 - Value"), "email1value");
  assert.equal(normalizeHeader("Account.Name"), "accountname");
  assert.equal(normalizeHeader("  FIRST_name "), "firstname");
  assert.equal(normalizeHeader("Straße"), "straße");
  assert.equal(normalizeHeader(" - "), "");
});

Deno.test("our own field names match case- and punctuation-insensitively", () => {
  const { matched, unknown } = resolveHeaders(["External ID", "FIRST-NAME", "address street 2"]);
  assert.deepEqual(matchedObject(matched), {
    external_id: "External ID",
    first_name: "FIRST-NAME",
    address_street_2: "address street 2",
  });
  assert.deepEqual(unknown, []);
});

Deno.test("no built-in alias is claimed by two fields", () => {
  const owner = new Map<string, AnyContactField>();
  for (const field of ALL_CONTACT_FIELDS) {
    for (const alias of HEADER_ALIASES[field]) {
      const key = normalizeHeader(alias);
      const earlier = owner.get(key);
      assert.ok(earlier === undefined || earlier === field, `${alias}: ${earlier} and ${field}`);
      owner.set(key, field);
      assert.equal(aliasFor(alias), field, `${alias} resolves to another field`);
    }
  }
});

Deno.test("maps a HubSpot contacts export", async () => {
  const r = resolveHeaders(await fixtureHeader("hubspot_contacts.csv"));
  assert.deepEqual(matchedObject(r.matched), {
    external_id: "Record ID",
    first_name: "First Name",
    last_name: "Last Name",
    work_email: "Email",
    work_phone: "Phone Number",
    mobile_phone: "Mobile Phone Number",
    title: "Job Title",
    address_street: "Street Address",
    address_city: "City",
    address_state: "State/Region",
    address_zip: "Postal Code",
    address_country: "Country/Region",
    account_name: "Company Name",
    account_external_id: "Associated Company ID",
  });
  assert.deepEqual(r.unknown, ["Contact owner", "Lifecycle Stage", "Create Date"]);
  assert.deepEqual(r.missingRequired, []);
});

Deno.test("maps a Salesforce export with API field names", async () => {
  const r = resolveHeaders(await fixtureHeader("salesforce_api.csv"));
  assert.deepEqual(matchedObject(r.matched), {
    external_id: "Id",
    first_name: "FirstName",
    last_name: "LastName",
    work_email: "Email",
    work_phone: "Phone",
    mobile_phone: "MobilePhone",
    home_phone: "HomePhone",
    other_phone: "OtherPhone",
    address_street: "MailingStreet",
    address_city: "MailingCity",
    address_state: "MailingState",
    address_zip: "MailingPostalCode",
    address_country: "MailingCountry",
    title: "Title",
    account_external_id: "AccountId",
    account_name: "Account.Name",
    personal_note_1: "Description",
  });
  assert.deepEqual(r.unknown, []);
});

Deno.test("maps a Salesforce report export with field labels", async () => {
  const r = resolveHeaders(await fixtureHeader("salesforce_report_semicolon.csv"));
  assert.deepEqual(matchedObject(r.matched), {
    external_id: "Contact ID",
    first_name: "First Name",
    last_name: "Last Name",
    title: "Title",
    address_street: "Mailing Street",
    address_city: "Mailing City",
    address_state: "Mailing State/Province",
    address_zip: "Mailing Zip/Postal Code",
    address_country: "Mailing Country",
    work_phone: "Business Phone",
    mobile_phone: "Mobile",
    home_phone: "Home Phone",
    other_phone: "Other Phone",
    work_email: "Email",
    account_external_id: "Account ID",
    account_name: "Account Name",
  });
});

Deno.test("maps a Pipedrive people export", async () => {
  const r = resolveHeaders(await fixtureHeader("pipedrive_people.csv"));
  assert.deepEqual(matchedObject(r.matched), {
    external_id: "Person - ID",
    first_name: "Person - First name",
    last_name: "Person - Last name",
    work_phone: "Person - Phone - Work",
    mobile_phone: "Person - Phone - Mobile",
    work_email: "Person - Email - Work",
    title: "Person - Job title",
    account_external_id: "Organization - ID",
    account_name: "Organization - Name",
  });
  assert.deepEqual(r.unknown, ["Person - Name", "Person - Labels"]);
});

Deno.test("maps a Zoho export; its account name without an id column gets a derived id", async (t) => {
  const header = await fixtureHeader("zoho_contacts.tsv");
  const r = resolveHeaders(header);
  await t.step("contact columns", () => {
    assert.equal(r.matched.get("external_id"), "Record Id");
    assert.equal(r.matched.get("mobile_phone"), "Mobile");
    assert.equal(r.matched.get("address_street"), "Mailing Street");
    assert.equal(r.matched.get("address_zip"), "Mailing Zip");
    assert.equal(r.matched.get("personal_email"), "Secondary Email");
    assert.equal(r.matched.get("personal_note_1"), "Description");
  });
  await t.step("Account Name without an account id column: the id is derived from the name", () => {
    assert.equal(r.matched.get("account_name"), "Account Name");
    assert.equal(r.deriveAccountId, true);
    assert.deepEqual(r.notes, []);
    assert.deepEqual(r.mapping.at(-1), {
      header: "(derived)",
      field: "account_external_id",
      reason: 'no company id column: "company:" + the normalized account_name',
    });
  });
});

Deno.test("maps a Google Contacts export, which has no id column", async (t) => {
  const header = await fixtureHeader("google_contacts.csv");
  await t.step(
    "without --map or --id-from: external_id is derived, and the mapping says so",
    () => {
      const r = resolveHeaders(header);
      assert.deepEqual(r.missingRequired, []);
      assert.deepEqual(r.idSource, { kind: "derived", header: null, index: -1 });
      assert.ok(r.mapping.some((m) => m.header === "(derived)" && m.field === "external_id"));
      assert.equal(r.matched.get("first_name"), "First Name");
      assert.equal(r.matched.get("last_name"), "Last Name");
      assert.equal(r.matched.get("work_email"), "E-mail 1 - Value");
      assert.equal(r.matched.get("work_phone"), "Phone 1 - Value");
      assert.equal(r.matched.get("mobile_phone"), "Phone 2 - Value");
      assert.equal(r.matched.get("title"), "Organization Title");
      assert.equal(r.matched.get("address_country"), "Address 1 - Country");
    },
  );
  await t.step("with --map naming the id column", () => {
    const r = resolveHeaders(header, validateUserMap({ "E-mail 1 - Value": "external_id" }));
    assert.deepEqual(r.missingRequired, []);
    assert.equal(r.matched.get("external_id"), "E-mail 1 - Value");
    assert.equal(r.matched.has("work_email"), false);
  });
  await t.step("--id-from names the id column; it still feeds its own field", () => {
    const r = resolveHeaders(header, undefined, { idFrom: "e-mail 1 - value" });
    assert.deepEqual(r.idSource, { kind: "id_from", header: "E-mail 1 - Value", index: 14 });
    assert.equal(r.matched.get("work_email"), "E-mail 1 - Value");
    assert.deepEqual(r.mapping[14], {
      header: "E-mail 1 - Value",
      field: "work_email",
      reason: "--id-from",
    });
  });
  await t.step("--id-from naming no column is an error listing the headers", () => {
    const r = resolveHeaders(header, undefined, { idFrom: "Ident" });
    assert.match(
      r.errors[0] ?? "",
      /^--id-from "Ident" names no column \(the header has "First Name"/,
    );
  });
  await t.step("the legacy format's Given Name / Family Name", () => {
    const r = resolveHeaders(["Name", "Given Name", "Family Name", "Organization 1 - Name"]);
    assert.equal(r.matched.get("first_name"), "Given Name");
    assert.equal(r.matched.get("last_name"), "Family Name");
  });
});

Deno.test("an exact field name wins over an alias, wherever it is", () => {
  const r = resolveHeaders(["Email", "Phone", "work_email", "external_id", "first_name"]);
  assert.equal(r.matched.get("work_email"), "work_email");
  assert.deepEqual(r.columns, [null, "work_phone", "work_email", "external_id", "first_name"]);
  assert.deepEqual(r.ignored, [{ header: "Email", field: "work_email", keptHeader: "work_email" }]);
});

Deno.test("the first of several alias columns wins; the others are reported", () => {
  const r = resolveHeaders(["Record ID", "Contact ID", "First Name", "Given Name"]);
  assert.deepEqual(r.columns, ["external_id", null, "first_name", null]);
  assert.deepEqual(r.ignored, [
    { header: "Contact ID", field: "external_id", keptHeader: "Record ID" },
    { header: "Given Name", field: "first_name", keptHeader: "First Name" },
  ]);
});

Deno.test("a --map entry wins over aliases and exact names, and null ignores a column", () => {
  const map = validateUserMap({
    "Legacy Ref": "external_id",
    "phone": "mobile_phone",
    "Email": null,
    "work_email": "personal_email",
  });
  const r = resolveHeaders(
    ["Record ID", "legacy ref", "First Name", "Phone", "Email", "Work Email"],
    map,
  );
  assert.deepEqual(r.columns, [
    null,
    "external_id",
    "first_name",
    "mobile_phone",
    null,
    "personal_email",
  ]);
  assert.deepEqual(r.excluded, ["Email"]);
  assert.deepEqual(r.ignored, [
    { header: "Record ID", field: "external_id", keptHeader: "legacy ref" },
  ]);
  assert.deepEqual(r.unusedMapKeys, []);
});

Deno.test("--map keys that match no column are reported", () => {
  const r = resolveHeaders(["id", "first_name"], validateUserMap({ "Cell": "mobile_phone" }));
  assert.deepEqual(r.unusedMapKeys, ["Cell"]);
});

Deno.test("--map validation names the bad key and lists the fields", async (t) => {
  await t.step("an unknown target field", () => {
    assert.throws(
      () => validateUserMap({ "Mobile #": "cell_phone", "Ok": "first_name" }),
      (error: unknown) =>
        error instanceof HeaderMapError && /"Mobile #".*"cell_phone"/.test(error.message) &&
        /external_id, first_name/.test(error.message),
    );
  });
  await t.step("not an object of strings", () => {
    assert.throws(() => validateUserMap(["external_id"]), HeaderMapError);
    assert.throws(() => validateUserMap({ "A": 3 }), HeaderMapError);
  });
  await t.step("two keys naming the same column", () => {
    assert.throws(
      () => validateUserMap({ "Cell Phone": "mobile_phone", "cell-phone": "other_phone" }),
      /"Cell Phone" and "cell-phone" name the same column/,
    );
  });
  await t.step("invalid JSON", () => {
    assert.throws(() => parseUserMap("{nope", "map.json"), /map\.json is not valid JSON/);
  });
  await t.step("valid JSON", () => {
    assert.deepEqual(parseUserMap('{"Ref": "external_id", "Junk": null}'), {
      Ref: "external_id",
      Junk: null,
    });
  });
});

Deno.test("first_name is required unless a full-name column stands in for it", () => {
  assert.deepEqual(resolveHeaders(["Email", "Phone"]).missingRequired, ["first_name"]);
  assert.deepEqual(resolveHeaders(["Id", "Last Name"]).missingRequired, ["first_name"]);
  for (const name of ["Name", "Full Name", "Contact Name"]) {
    const r = resolveHeaders(["Id", name, "Last Name"]);
    assert.deepEqual(r.missingRequired, [], name);
    assert.equal(r.fullNameIndex, 1, name);
    assert.equal(r.mapping[1]?.field, "first_name + last_name");
  }
  // With a first-name column, a Name column is not split.
  assert.equal(resolveHeaders(["Id", "Name", "First Name"]).fullNameIndex, -1);
});

Deno.test("account columns are used only when both id and name columns exist", () => {
  const both = resolveHeaders(["Id", "First Name", "Account ID", "Account Name", "Industry"]);
  assert.deepEqual(both.columns.slice(2), [
    "account_external_id",
    "account_name",
    "account_industry",
  ]);
  assert.deepEqual(both.notes, []);
  const nameOnly = resolveHeaders(["Id", "First Name", "Company", "Industry"]);
  assert.deepEqual(nameOnly.columns.slice(2), ["account_name", "account_industry"]);
  assert.equal(nameOnly.deriveAccountId, true);
  const idOnly = resolveHeaders(["Id", "First Name", "Account ID", "Industry"]);
  assert.deepEqual(idOnly.columns.slice(2), [null, null]);
  assert.match(idOnly.notes[0] ?? "", /no account_name column.*"Account ID", "Industry"/);
  assert.deepEqual(idOnly.mapping[2], {
    header: "Account ID",
    field: null,
    reason: "ignored: no account_name column, so accounts are not imported",
  });
});

Deno.test("derived account ids are stable, normalized and bounded", () => {
  assert.equal(derivedAccountId("Müller, Söhne & Co KG"), "company:müller-söhne-co-kg");
  assert.equal(derivedAccountId("  ACME   Inc. "), derivedAccountId("acme inc"));
  assert.notEqual(derivedAccountId("Acme One"), derivedAccountId("Acme Two"));
  const long = derivedAccountId("x".repeat(500));
  assert.ok(long.length <= 110, long);
  assert.notEqual(long, derivedAccountId("x".repeat(501)));
});
