import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { checkRejectsTarget, createRejectsFile } from "../../src/contacts/rejects_csv.ts";

const row = { line: 2, reason: "no phone number", record: ["Ada", ""] };

async function finishError(out: string): Promise<string> {
  const rejects = createRejectsFile();
  await rejects.add(row);
  try {
    await rejects.finish(out, ["name", "phone"]);
  } catch (error) {
    return String(error);
  }
  return "";
}

Deno.test("a rejects file is created owner-only", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-rejects-" });
  const rejects = createRejectsFile();
  await rejects.add(row);
  assertEquals(await rejects.finish(`${dir}/r.csv`, ["name", "phone"]), 1);
  assertEquals((await Deno.stat(`${dir}/r.csv`)).mode! & 0o777, 0o600);
  assertMatch(await Deno.readTextFile(`${dir}/r.csv`), /no phone number/);
});

Deno.test("a rejects file never overwrites an existing file nor keeps its mode", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-rejects-" });
  await Deno.writeTextFile(`${dir}/r.csv`, "precious");
  await Deno.chmod(`${dir}/r.csv`, 0o644);
  assertMatch(await finishError(`${dir}/r.csv`), /already exists/);
  assertEquals(await Deno.readTextFile(`${dir}/r.csv`), "precious");
  let early = "";
  try {
    await checkRejectsTarget(`${dir}/r.csv`);
  } catch (error) {
    early = String(error);
  }
  assertMatch(early, /already exists; choose a new file name for --rejects/);
  await checkRejectsTarget(`${dir}/new.csv`);
});

Deno.test("a rejects file does not follow a symlink onto another file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "symbo-crm-rejects-" });
  await Deno.writeTextFile(`${dir}/other`, "someone else's file");
  await Deno.symlink(`${dir}/other`, `${dir}/r.csv`);
  assertMatch(await finishError(`${dir}/r.csv`), /already exists/);
  assertEquals(await Deno.readTextFile(`${dir}/other`), "someone else's file");
  assert((await Deno.lstat(`${dir}/r.csv`)).isSymlink);
  const dangling = `${dir}/dangling.csv`;
  await Deno.symlink(`${dir}/missing`, dangling);
  assertMatch(await finishError(dangling), /already exists/);
  let created = true;
  try {
    await Deno.lstat(`${dir}/missing`);
  } catch {
    created = false;
  }
  assertEquals(created, false);
});
