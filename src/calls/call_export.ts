/**
 * Reading calls for a CSV export: every call matching a filter, oldest change
 * first, streamed row by row. Only the data fields the export writes are read,
 * and SQLite extracts them: a small cell comes with its chunk of rows, a large
 * one (a 5 MB note) is read alone when its row is written, so the heap holds
 * one chunk of small rows and at most one large cell at a time.
 */
import type { SqlArg, SqlExecutor, SqlRow } from "../store/sql.ts";
import { type CallFilter, callFilterSql } from "./call_list.ts";
import { CALL_SCALAR_COLUMNS, type CallRecord, callRecord } from "./call_queries.ts";
import { parseJsonExact } from "./exact_json.ts";

/** A data field cell larger than this is read on its own, not with its chunk. */
export const EXPORT_CELL_INLINE_BYTES = 16 * 1024;
/** Rows read from the store at a time. */
export const EXPORT_CHUNK_ROWS = 100;

/** One exported call: its columns (`data` is empty) and the data fields asked for. */
export interface CallExportRow {
  readonly call: CallRecord;
  /** Each requested top-level data field, parsed; `undefined` when the call lacks it. */
  readonly fields: Readonly<Record<string, unknown>>;
}

/** The JSON path of a top-level key, quoted so that any key is read literally. */
function keyPath(key: string): string {
  return `$.${JSON.stringify(key)}`;
}

/**
 * Iterates the calls matching `filter`, oldest change first, with the
 * top-level data fields named in `dataFields`.
 */
export async function* exportCalls(
  db: SqlExecutor,
  filter: CallFilter,
  dataFields: readonly string[],
): AsyncGenerator<CallExportRow> {
  const paths = dataFields.map(keyPath);
  // json_valid first: a row SQLite cannot read (nested too deep) exports empty cells
  // instead of ending the export ("malformed JSON").
  const fieldColumns = paths.map((_, i) =>
    `CASE WHEN json_valid(data) THEN
       CASE WHEN octet_length(data -> ?) <= ${EXPORT_CELL_INLINE_BYTES} THEN data -> ? END
     END AS f${i},
     CASE WHEN json_valid(data) THEN octet_length(data -> ?) END AS f${i}_bytes`
  );
  const fieldArgs: SqlArg[] = paths.flatMap((path) => [path, path, path]);
  const select = [CALL_SCALAR_COLUMNS, ...fieldColumns].join(", ");
  let afterSeq = 0;
  while (true) {
    const where = callFilterSql(filter);
    where.sql.push("change_seq > ?");
    where.args.push(afterSeq);
    const rows = await db.all(
      `SELECT ${select} FROM calls WHERE ${where.sql.join(" AND ")}
       ORDER BY change_seq LIMIT ?`,
      [...fieldArgs, ...where.args, EXPORT_CHUNK_ROWS],
    );
    for (const row of rows) yield await exportRow(db, row, dataFields, paths);
    const last = rows.at(-1);
    if (rows.length < EXPORT_CHUNK_ROWS || !last) return;
    afterSeq = Number(last.change_seq);
  }
}

async function exportRow(
  db: SqlExecutor,
  row: SqlRow,
  dataFields: readonly string[],
  paths: readonly string[],
): Promise<CallExportRow> {
  const call = callRecord(row);
  const fields: Record<string, unknown> = {};
  for (const [i, key] of dataFields.entries()) {
    let json = row[`f${i}`];
    if (typeof json !== "string" && row[`f${i}_bytes`] !== null) {
      // Too large to come with the chunk: read this one cell now.
      const alone = await db.first("SELECT data -> ? AS v FROM calls WHERE id = ?", [
        paths[i] ?? "$",
        call.id,
      ]);
      json = alone?.v;
    }
    fields[key] = typeof json === "string" ? parseJsonExact(json) : undefined;
  }
  return { call, fields };
}
