/**
 * One export of each CRM we recognize, as that product writes it (headers,
 * encoding, delimiter, spreadsheet damage): imported through the CLI, then
 * every number of every contact is looked up through the real server and the
 * names and account are checked.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { runCli, startServerProcess } from "../helpers/server_process.ts";

const TOKEN = "lookup-token-0123456789abcdef";
const FIXTURES = new URL("../fixtures/csv/", import.meta.url);

/** What a contact of a fixture must look like through the lookup. */
interface Expected {
  readonly numbers: readonly string[];
  readonly first: string;
  readonly last: string;
  /** The account's id (a RegExp for a derived one) and name; null for none. */
  readonly account: { readonly id: string; readonly name: string } | null;
  readonly externalId?: string | RegExp;
}

const company = (name: string, id = `company:${slug(name)}`) => ({ id, name });

function slug(name: string): string {
  return name.normalize("NFKC").toLowerCase().replace(/[^\p{L}\p{N}]+/gu, "-")
    .replace(/^-+|-+$/g, "");
}

const DERIVED = /^row-[0-9a-z]+$/;

const CASES: Record<string, readonly Expected[]> = {
  // Windows-1252 (what Outlook on Windows writes), no id column, "Title" is the salutation.
  "outlook_contacts.csv": [
    {
      numbers: ["+49301234567", "+49307654321", "+491712345678"],
      first: "Anna",
      last: "Müller",
      account: company("Nordwind GmbH"),
      externalId: DERIVED,
    },
    { numbers: ["+12065550142"], first: "Bob", last: "Stone", account: null },
  ],
  // A full-name column and a company name without an id.
  "dynamics365_contacts.csv": [
    {
      numbers: ["+34912345678", "+34612345678"],
      first: "Carla",
      last: "Gómez",
      account: company("Iberia Foods"),
      externalId: "6f0b2c1e-4a3d-ee11-9e1f-000d3a4b5c6d",
    },
    { numbers: ["+35312345678"], first: "Dan", last: "O'Neil", account: null },
  ],
  // A lead is the company: its id and name are the account.
  "close_contacts.csv": [
    {
      numbers: ["+14155550101"],
      first: "Erin",
      last: "Park",
      account: { id: "lead_7bQx1", name: "Acme Rockets" },
      externalId: "cont_Zp01",
    },
    {
      numbers: ["+14155550102"],
      first: "Frank",
      last: "Li",
      account: { id: "lead_7bQx2", name: "Bolt, Inc." },
    },
  ],
  // Two numbers in one cell, separated by a comma.
  "copper_people.csv": [
    {
      numbers: ["+14155550103", "+14155550104"],
      first: "Gina",
      last: "Ray",
      account: company("Copperline"),
      externalId: "1001",
    },
    { numbers: ["+33612345678"], first: "Hugo", last: "Blanc", account: null },
  ],
  // A number a spreadsheet wrote in scientific notation (exactly).
  "freshsales_contacts.csv": [
    {
      numbers: ["+14155550105", "+18015551214"],
      first: "Iris",
      last: "Novak",
      account: company("Prague Data"),
      externalId: "5001",
    },
    { numbers: ["+46812345678"], first: "Jon", last: "Berg", account: null },
  ],
  // ="…" around a number.
  "zendesk_sell_contacts.csv": [
    {
      numbers: ["+8223123456"],
      first: "Kim",
      last: "Lee",
      account: company("Seoul Works"),
      externalId: "9001",
    },
    { numbers: ["+4791234567"], first: "Lars", last: "Vik", account: null },
  ],
  // A leading apostrophe and a trailing ".0".
  "keap_contacts.csv": [
    {
      numbers: ["+14155550106", "+14155550107"],
      first: "Mia",
      last: "Wong",
      account: company("Harbor Ltd"),
      externalId: "301",
    },
    { numbers: ["+14155550108"], first: "Ned", last: "Hale", account: null },
  ],
  // No id column; two numbers split by " / "; full-width digits.
  "activecampaign_contacts.csv": [
    {
      numbers: ["+14155550109", "+14155550110"],
      first: "Olga",
      last: "Petrov",
      account: company("Volga Trading"),
      externalId: DERIVED,
    },
    { numbers: ["+14155550111"], first: "Paul", last: "Smith", account: null },
  ],
  // A single Name column; a non-breaking space inside a number.
  "odoo_contacts.csv": [
    {
      numbers: ["+3221234567", "+32470123456"],
      first: "Quinn",
      last: "Baker",
      account: company("Odoo Partners SA"),
      externalId: "__export__.res_partner_41_a1b2c3",
    },
    { numbers: ["+351211234567"], first: "Rosa", last: "Lima", account: null },
  ],
  // An extension; two numbers split by ";".
  "suitecrm_contacts.csv": [
    {
      numbers: ["+14155550112"],
      first: "Sam",
      last: "Tan",
      account: company("Sugar Foods Inc"),
      externalId: "1b2c3d4e-0000-4000-8000-000000000001",
    },
    { numbers: ["+14155550113", "+14155550114"], first: "Tia", last: "Ross", account: null },
  ],
  // Semicolons and a UTF-8 BOM; a national trunk prefix.
  "bitrix24_contacts.csv": [
    {
      numbers: ["+912223456789", "+919876543210"],
      first: "Uma",
      last: "Singh",
      account: company("Bitrix Traders"),
      externalId: "77",
    },
    { numbers: ["+79123456789"], first: "Vera", last: "Kuznetsova", account: null },
  ],
  "insightly_contacts.csv": [
    {
      numbers: ["+14155550115", "+14155550116"],
      first: "Will",
      last: "Park",
      account: company("Insight Labs"),
      externalId: "40001",
    },
    { numbers: ["+442079460959"], first: "Xena", last: "Cole", account: null },
  ],
  // An item name as the full name; a number a spreadsheet kept without its "+".
  "monday_contacts.csv": [
    {
      numbers: ["+81312345678"],
      first: "Yuki",
      last: "Tanaka",
      account: company("Tokyo Tech"),
      externalId: "1234567890",
    },
    { numbers: ["+14155550117"], first: "Zoe", last: "Adams", account: null },
  ],
};

Deno.test("each CRM's export imports through the CLI and every number finds its contact", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-exports-" });
  const config = {
    database: { url: `file:${dir}/crm.db` },
    audit: { dir: `${dir}/audit` },
    data_dir: dir,
    symbo: { lookup_tokens: [TOKEN] },
    log: { level: "warning" },
  };
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config));
  const server = await startServerProcess({ dir, config });
  try {
    for (const [name, contacts] of Object.entries(CASES)) {
      await t.step(name, async () => {
        const path = new URL(name, FIXTURES).pathname;
        const result = await runCli(["import", path, "--config", "config.json"], { cwd: dir });
        assertEquals(result.code, 0, result.stderr + result.stdout);
        assert(
          result.stdout.includes(`${contacts.length} inserted`),
          `every row inserted:\n${result.stdout}`,
        );
        assert(!result.stdout.includes("warning:"), `no warnings:\n${result.stdout}`);
        for (const expected of contacts) {
          for (const number of expected.numbers) {
            const response = await fetch(
              `${server.url}/symbo/lookup?number=${encodeURIComponent(number)}&token=${TOKEN}`,
            );
            assertEquals(response.status, 200, `${name}: ${number} is found`);
            const body = await response.json();
            assertEquals([body.first_name, body.last_name], [expected.first, expected.last]);
            if (expected.account === null) {
              assertEquals(body.account, undefined, `${number} has no account`);
            } else {
              assertEquals(body.account?.external_id, expected.account.id, number);
              assertEquals(body.account?.name, expected.account.name, number);
            }
            if (typeof expected.externalId === "string") {
              assertEquals(body.external_id, expected.externalId);
            } else if (expected.externalId) {
              assert(expected.externalId.test(body.external_id), body.external_id);
            }
          }
        }
      });
    }
  } finally {
    await server.stop();
  }
});
