/**
 * The console's column mapping editor (issue 21): turns its form (one choice
 * per header column) into a `--map` object and checks it with the very
 * validator the CLI's `--map` uses, so a bad mapping gets the same message.
 */
import { type UserMap, validateUserMap } from "../contacts/csv_headers.ts";

/** The choice "map this column by its name" (not part of the map). */
export const MAPPING_AUTO = "";
/** The choice "ignore this column" (`null` in the map). */
export const MAPPING_IGNORE = "-";
/** Most columns the editor shows (the rest keep the mapping they had). */
export const MAX_MAPPING_COLUMNS = 100;

/**
 * The `--map` object of an editor form: `col_<i>` names the choice for
 * `headers[i]` (the first {@link MAX_MAPPING_COLUMNS}); entries of `previous`
 * for columns the editor did not show are kept. Returns null when every
 * column is mapped by its name. Throws `HeaderMapError` (the `--map` message)
 * for a bad map.
 */
export function mappingFromForm(
  headers: readonly string[],
  form: { get(name: string): unknown },
  previous: Readonly<Record<string, string | null>> | null,
): UserMap | null {
  const shown = headers.slice(0, MAX_MAPPING_COLUMNS);
  const map: Record<string, string | null> = {};
  for (const [header, target] of Object.entries(previous ?? {})) {
    if (!shown.includes(header)) map[header] = target;
  }
  shown.forEach((header, i) => {
    const value = form.get(`col_${i}`);
    const choice = typeof value === "string" ? value.trim() : MAPPING_AUTO;
    if (choice === MAPPING_AUTO) return;
    map[header] = choice === MAPPING_IGNORE ? null : choice;
  });
  if (Object.keys(map).length === 0) return null;
  return validateUserMap(map, "--map");
}
