/** Specification of the row rules: one CSV record → one contact, or a reason. */
import assert from "node:assert/strict";
import type { AnyContactField, Contact } from "../../src/contacts/contact.ts";
import {
  createRowMapper,
  derivedExternalId,
  isPlausibleEmail,
  regionForCountry,
  type RowResult,
  splitFullName,
  toContact,
} from "../../src/contacts/contact_row.ts";

const COLUMNS: (AnyContactField | null)[] = [
  "external_id",
  "first_name",
  "last_name",
  "work_email",
  "work_phone",
  "mobile_phone",
  "address_country",
  "account_external_id",
  "account_name",
  null,
];

function row(values: Partial<Record<AnyContactField, string>>): string[] {
  return COLUMNS.map((field) => (field === null ? "ignored" : values[field] ?? ""));
}

function ok(
  result: RowResult,
): { contact: Contact; warnings: readonly string[]; extraNumbers: readonly string[] } {
  if (!result.ok) assert.fail(`expected a contact, got rejected: ${result.reason}`);
  return result;
}

function rejected(result: RowResult): string {
  if (result.ok) assert.fail("expected the row to be rejected");
  return result.reason;
}

Deno.test("a row becomes a trimmed contact; unmapped fields stay empty", () => {
  const { contact, warnings } = ok(toContact(
    row({ external_id: " 42 ", first_name: "\tSally ", last_name: "Sample" }),
    COLUMNS,
    "US",
  ));
  assert.equal(contact.external_id, "42");
  assert.equal(contact.first_name, "Sally");
  assert.equal(contact.last_name, "Sample");
  assert.equal(contact.title, "");
  assert.deepEqual(warnings, []);
});

Deno.test("external_id and first_name are required; the reason names the field", () => {
  assert.equal(
    rejected(toContact(row({ first_name: "A" }), COLUMNS, "US")),
    "external_id is empty",
  );
  assert.equal(
    rejected(toContact(row({ external_id: "1", first_name: "  " }), COLUMNS, "US")),
    "first_name is empty",
  );
  assert.equal(
    rejected(toContact(row({}), COLUMNS, "US")),
    "external_id and first_name are empty",
  );
});

Deno.test("a row with more non-empty fields than the header is rejected", () => {
  const record = [...row({ external_id: "1", first_name: "A" }), "extra"];
  assert.match(rejected(toContact(record, COLUMNS, "US")), /11 fields but the header has 10/);
  // Trailing empty fields (a trailing delimiter) are harmless.
  ok(toContact([...row({ external_id: "1", first_name: "A" }), "", " "], COLUMNS, "US"));
  // Short rows: missing fields are empty.
  assert.equal(ok(toContact(["1", "A"], COLUMNS, "US")).contact.work_phone, "");
});

Deno.test("an account needs both its id and its name", async (t) => {
  await t.step("both: kept", () => {
    const { contact } = ok(toContact(
      row({ external_id: "1", first_name: "A", account_external_id: "9", account_name: "Co" }),
      COLUMNS,
      "US",
    ));
    assert.equal(contact.account_external_id, "9");
    assert.equal(contact.account_name, "Co");
  });
  await t.step("name without id: the contact is kept without the account, with a warning", () => {
    const { contact, warnings } = ok(toContact(
      row({ external_id: "1", first_name: "A", account_name: "Co" }),
      COLUMNS,
      "US",
    ));
    assert.equal(contact.account_name, "");
    assert.deepEqual(warnings, [
      'account_external_id is empty, so the account (account_name "Co") was not imported',
    ]);
  });
  await t.step("id without name", () => {
    const { contact, warnings } = ok(toContact(
      row({ external_id: "1", first_name: "A", account_external_id: "9" }),
      COLUMNS,
      "US",
    ));
    assert.equal(contact.account_external_id, "");
    assert.match(warnings[0] ?? "", /^account_name is empty/);
  });
});

Deno.test("emails are lightly checked: a bad one is a warning and is left out", async (t) => {
  const email = (value: string) =>
    ok(toContact(row({ external_id: "1", first_name: "A", work_email: value }), COLUMNS, "US"));
  await t.step("valid", () => {
    assert.equal(email("sally@example.com").contact.work_email, "sally@example.com");
    assert.equal(
      email("mailto:Sally.S+crm@Example.co.uk").contact.work_email,
      "Sally.S+crm@Example.co.uk",
    );
  });
  await t.step("invalid", () => {
    const { contact, warnings } = email("sally at example dot com");
    assert.equal(contact.work_email, "");
    assert.deepEqual(warnings, [
      'work_email "sally at example dot com" is not an email address; left empty',
    ]);
  });
  await t.step("several: the first is kept", () => {
    const { contact, warnings } = email("a@example.com; b@example.com");
    assert.equal(contact.work_email, "a@example.com");
    assert.match(warnings[0] ?? "", /holds 2 addresses/);
  });
  assert.equal(isPlausibleEmail("x@y"), false);
  assert.equal(isPlausibleEmail("x@y.z"), false);
  assert.equal(isPlausibleEmail("x@y.io"), true);
});

Deno.test("phones are read with the row's country, else the default region", async (t) => {
  const phone = (work: string, country: string, region: "US" | "GB" | undefined) =>
    ok(toContact(
      row({ external_id: "1", first_name: "A", work_phone: work, address_country: country }),
      COLUMNS,
      region,
    ));
  await t.step("a UK national number with country GB", () => {
    assert.equal(phone("020 7946 0958", "GB", "US").contact.work_phone, "+442079460958");
  });
  await t.step("a UK national number with country named in full", () => {
    assert.equal(
      phone("020 7946 0958", "United Kingdom", "US").contact.work_phone,
      "+442079460958",
    );
    assert.equal(phone("(0)20 7946 0958", "UK", "US").contact.work_phone, "+442079460958");
  });
  await t.step("the same number with no country uses the default region", () => {
    assert.equal(phone("020 7946 0958", "", "GB").contact.work_phone, "+442079460958");
  });
  await t.step("a German number with country Deutschland", () => {
    assert.equal(phone("030 1234567", "Deutschland", "US").contact.work_phone, "+49301234567");
  });
  await t.step("a US number with an extension: the extension is split off", () => {
    assert.equal(phone("(800) 555-1212 x12", "", "US").contact.work_phone, "+18005551212");
    assert.equal(phone("800-555-1212 ext. 12", "USA", "US").contact.work_phone, "+18005551212");
    assert.equal(
      phone("800 555 1212 #4", "United States", "US").contact.work_phone,
      "+18005551212",
    );
  });
  await t.step("international numbers ignore the region", () => {
    assert.equal(phone("+1 (800) 555-1212", "GB", "US").contact.work_phone, "+18005551212");
    assert.equal(phone("0044 20 7946 0958", "DE", "US").contact.work_phone, "+442079460958");
  });
  await t.step("the row's country wins over the default region", () => {
    assert.equal(phone("(800) 555-1212", "Germany", "US").contact.work_phone, "+498005551212");
  });
  await t.step("a spreadsheet's leading apostrophe is ignored", () => {
    assert.equal(phone("'+18005551212", "", "US").contact.work_phone, "+18005551212");
  });
  await t.step("an unparseable phone is a warning naming field and value, not a lost row", () => {
    const { contact, warnings } = phone("call reception", "US", "US");
    assert.equal(contact.work_phone, "");
    assert.equal(contact.external_id, "1");
    assert.deepEqual(warnings, [
      'work_phone "call reception" is not a phone number for region US; left empty',
    ]);
  });
  await t.step(
    "without any region a national number cannot be read, and the warning says why",
    () => {
      const { warnings } = phone("020 7946 0958", "", undefined);
      assert.match(warnings[0] ?? "", /without a region.*--region/);
    },
  );
  await t.step("an unknown country is mentioned in the warning", () => {
    const { warnings } = phone("12", "Narnia", "US");
    assert.match(warnings[0] ?? "", /address_country "Narnia" is not a country we know/);
  });
  await t.step("several numbers in one cell: the first fills the field, the rest are extra", () => {
    const result = ok(toContact(
      row({ external_id: "1", first_name: "A", work_phone: "+1 650 555 0100 ::: +1 650 555 0109" }),
      COLUMNS,
      "US",
    ));
    assert.equal(result.contact.work_phone, "+16505550100");
    assert.deepEqual(result.extraNumbers, ["+16505550109"]);
    assert.deepEqual(result.warnings, []);
  });
});

Deno.test("a mapper reports the external id of a record it rejects", () => {
  const mapper = createRowMapper(COLUMNS, "US");
  const record = row({ external_id: " 7 ", first_name: "" });
  assert.equal(mapper.map(record).ok, false);
  assert.equal(mapper.externalIdOf(record), "7");
  assert.equal(createRowMapper(["first_name"], "US").externalIdOf(["A"]), "");
});

Deno.test("regionForCountry reads codes and common names", () => {
  const cases: [string, string | undefined][] = [
    ["US", "US"],
    ["gb", "GB"],
    ["UK", "GB"],
    ["USA", "US"],
    ["United States of America", "US"],
    ["Great Britain", "GB"],
    ["Deutschland", "DE"],
    ["España", "ES"],
    ["Schweiz", "CH"],
    ["The Netherlands", "NL"],
    ["Narnia", undefined],
    ["", undefined],
  ];
  for (const [text, region] of cases) assert.equal(regionForCountry(text), region, text);
});

Deno.test("a full name is split into first and last name", () => {
  const cases: [string, string, string][] = [
    ["Jane Doe", "Jane", "Doe"],
    ["Jane van der Berg", "Jane", "van der Berg"],
    ["Doe, Jane", "Jane", "Doe"],
    ["  Cher  ", "Cher", ""],
    ["Jane   Q.  Public", "Jane", "Q. Public"],
  ];
  for (const [full, first, last] of cases) {
    assert.deepEqual(splitFullName(full), { first, last }, full);
  }
});

Deno.test("a derived external id is stable per row and differs between different rows", () => {
  const a = derivedExternalId(["Ann", "Lee", "+1 415 555 0101"]);
  assert.match(a, /^row-[0-9a-z]{10,}$/);
  assert.equal(derivedExternalId([" Ann ", "Lee", "+1 415 555 0101"]), a);
  // Same name, another number: another person, never merged.
  assert.notEqual(derivedExternalId(["Ann", "Lee", "+1 415 555 0102"]), a);
  // Cells do not run into each other.
  assert.notEqual(derivedExternalId(["ab", "c"]), derivedExternalId(["a", "bc"]));
});

Deno.test("the row plan: --id-from, a full-name column, a derived account id", () => {
  const columns = ["work_email", null, "account_name"] as const;
  const mapper = createRowMapper([...columns], "US", {
    idSource: { kind: "id_from", header: "Email", index: 0 },
    fullNameIndex: 1,
    deriveAccountId: true,
  });
  const result = ok(mapper.map(["ann@example.com", "Ann Lee", "Acme, Inc."]));
  assert.equal(result.contact.external_id, "ann@example.com");
  assert.equal(result.contact.work_email, "ann@example.com");
  assert.equal(result.contact.first_name, "Ann");
  assert.equal(result.contact.last_name, "Lee");
  assert.equal(result.contact.account_external_id, "company:acme-inc");
  assert.equal(mapper.map(["", "Bob", ""]).ok, false);
});
