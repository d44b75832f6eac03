/**
 * Redshift SQL, built by small pure functions (golden-tested in test/unit/redshift/sql.test.ts).
 * Identifiers go through quoteIdent only; literals through quoteLiteral only.
 */
import { qualifiedName, quoteIdent } from "./identifiers.js";
import { type ColumnType, columnTypeSql, isTextual } from "./types.js";

/**
 * A string literal. Redshift treats a backslash in a literal as an escape while PostgreSQL (with
 * standard_conforming_strings) does not, so a literal that holds one would mean different things:
 * such values are refused rather than guessed at. None of the values we quote (S3 URLs, role ARNs,
 * region names, catalog names) legitimately contain one.
 */
export function quoteLiteral(value: string): string {
  if (value.includes("\\")) throw new Error("a SQL string literal may not contain a backslash");
  if (value.includes("\u0000")) throw new Error("a SQL string literal may not contain a NUL character");
  return `'${value.replace(/'/g, "''")}'`;
}

export interface TableRef {
  schema: string;
  table: string;
}

export interface ColumnDef {
  name: string;
  type: ColumnType;
  /** the property the column holds, when its name differs from the column's (kept as the column's comment) */
  property?: string;
}

const PROPERTY_COMMENT = "property: ";

/**
 * Records which property a column holds, so a later run maps the property back to it even when
 * another property now normalises to the same name (`UserId` held `userid`; `userid` is added later).
 * COMMENT ON COLUMN, read back with col_description: Redshift Database Developer Guide, "COMMENT"
 * (which needs the table's owner, as ADD COLUMN does).
 */
export function commentColumn(t: TableRef, column: string, property: string): string {
  return `COMMENT ON COLUMN ${tableSql(t)}.${quoteIdent(column)} IS ${quoteLiteral(PROPERTY_COMMENT + property)}`;
}

/** The property a column's comment names (see commentColumn), or undefined. */
export function propertyOfComment(comment: string | null | undefined): string | undefined {
  return typeof comment === "string" && comment.startsWith(PROPERTY_COMMENT) ? comment.slice(PROPERTY_COMMENT.length) : undefined;
}

export const tableSql = (t: TableRef): string => qualifiedName(t.schema, t.table);

export function createSchema(schema: string): string {
  return `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`;
}

/** Every column nullable (rule 14): NOT NULL cannot be dropped later. No PRIMARY KEY: it would imply NOT NULL and is only informational. */
export function createTable(t: TableRef, columns: readonly ColumnDef[]): string {
  if (columns.length === 0) throw new Error(`table ${t.schema}.${t.table} needs at least one column`);
  const cols = columns.map((c) => `${quoteIdent(c.name)} ${columnTypeSql(c.type)}`).join(", ");
  return `CREATE TABLE IF NOT EXISTS ${tableSql(t)} (${cols})`;
}

/** One ADD COLUMN per statement (rule 26). */
export function addColumn(t: TableRef, column: ColumnDef): string {
  return `ALTER TABLE ${tableSql(t)} ADD COLUMN ${quoteIdent(column.name)} ${columnTypeSql(column.type)}`;
}

/** Only grows a VARCHAR, and must run outside a transaction block (rules 24, 27). */
export function widenVarchar(t: TableRef, column: string, bytes: number): string {
  return `ALTER TABLE ${tableSql(t)} ALTER COLUMN ${quoteIdent(column)} TYPE VARCHAR(${bytes})`;
}

export function dropTable(t: TableRef | string, ifExists = true): string {
  const name = typeof t === "string" ? quoteIdent(t) : tableSql(t);
  return `DROP TABLE ${ifExists ? "IF EXISTS " : ""}${name}`;
}

/** The catalog query for a table's columns: `format_type` prints types the way parseRedshiftType reads them. */
export function describeTable(t: TableRef): string {
  return (
    "SELECT a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS column_type, " +
    "col_description(a.attrelid, a.attnum) AS column_comment " +
    "FROM pg_catalog.pg_attribute a " +
    "JOIN pg_catalog.pg_class c ON c.oid = a.attrelid " +
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace " +
    `WHERE n.nspname = ${quoteLiteral(t.schema)} AND c.relname = ${quoteLiteral(t.table)} ` +
    "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
  );
}

/**
 * The staging table: exactly the staged file's columns, in its order, typed as the target's (then the
 * ordinal, when staged). Not `(LIKE target)` (rule 19's form): a Parquet COPY binds the file's columns by
 * position to every column of the table and needs their count to match (rule 18; "COPY from columnar
 * data formats"), and LIKE would also bring the target's other columns — those the load statement fills,
 * those no longer in the schema — with any NOT NULL a table made elsewhere has on them.
 */
export function createStageTable(stage: string, columns: readonly ColumnDef[]): string {
  if (columns.length === 0) throw new Error(`stage table ${stage} needs at least one column`);
  return `CREATE TEMP TABLE ${quoteIdent(stage)} (${columns.map((c) => `${quoteIdent(c.name)} ${columnTypeSql(c.type)}`).join(", ")})`;
}

export type CopyAuthorization =
  | { iamRoleArn: string }
  | { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

export interface CopyOptions {
  table: string | TableRef;
  /** CSV: the fields' columns, in file order. Parquet takes no list: its columns bind by position (rule 18). */
  columns: readonly string[];
  manifestUrl: string;
  auth: CopyAuthorization;
  format: "csv_gzip" | "parquet";
  /** Bucket region when it differs from the cluster's; not allowed with Parquet (rule 18). */
  region?: string;
}

/** The CSV null marker: strings are always quoted, so an unquoted \N can only mean NULL. */
export const CSV_NULL_MARKER = "\\N";

export function copyFromManifest(o: CopyOptions): string {
  const target = typeof o.table === "string" ? quoteIdent(o.table) : tableSql(o.table);
  const list = o.format === "parquet" ? "" : ` (${o.columns.map(quoteIdent).join(", ")})`;
  const auth =
    "iamRoleArn" in o.auth
      ? `IAM_ROLE ${quoteLiteral(o.auth.iamRoleArn)}`
      : `ACCESS_KEY_ID ${quoteLiteral(o.auth.accessKeyId)} SECRET_ACCESS_KEY ${quoteLiteral(o.auth.secretAccessKey)}` +
        (o.auth.sessionToken ? ` SESSION_TOKEN ${quoteLiteral(o.auth.sessionToken)}` : "");
  const parts = [`COPY ${target}${list} FROM ${quoteLiteral(o.manifestUrl)}`, auth, "MANIFEST"];
  if (o.format === "parquet") {
    parts.push("FORMAT AS PARQUET SERIALIZETOJSON");
  } else {
    // NULL AS cannot go through quoteLiteral (it refuses backslashes on purpose); the marker is a constant.
    parts.push(
      `FORMAT AS CSV QUOTE AS '"' DELIMITER ',' NULL AS '${CSV_NULL_MARKER}' GZIP`,
      "TIMEFORMAT 'auto' DATEFORMAT 'auto'",
    );
    if (o.region) parts.push(`REGION ${quoteLiteral(o.region)}`);
  }
  parts.push("STATUPDATE OFF COMPUPDATE OFF");
  return parts.join(" ");
}

export function lastCopyCount(): string {
  return "SELECT pg_last_copy_count() AS loaded";
}

/** `a` and `b` equal, with NULL matching NULL (rule 22: a plain `=` never matches NULL keys). */
export function nullSafeEquals(a: string, b: string): string {
  return `(${a} = ${b} OR (${a} IS NULL AND ${b} IS NULL))`;
}

/**
 * Key equality between two row sources. The NULL-safe form has an OR, which neither PostgreSQL nor
 * Redshift can hash-join (a nested loop: quadratic in the table size), so it is used only for batches
 * that actually carry a NULL key value.
 */
function keyMatch(left: string, right: string, keys: readonly string[], nullSafe = false): string {
  return keys
    .map((k) => {
      const a = `${left}.${quoteIdent(k)}`;
      const b = `${right}.${quoteIdent(k)}`;
      return nullSafe ? nullSafeEquals(a, b) : `${a} = ${b}`;
    })
    .join(" AND ");
}

export interface OrderColumn {
  column: string;
}

/**
 * Keeps one row per key in the staging table: the greatest by `order` (NULL lowest), ties broken by the
 * arrival ordinal. Rule 21: MERGE fails on several source rows for one target row.
 */
export function dedupStage(stage: string, keys: readonly string[], order: readonly OrderColumn[], ordinal: string): string {
  const partition = keys.map(quoteIdent).join(", ");
  const orderBy = [...order.map((o) => `${quoteIdent(o.column)} DESC NULLS LAST`), `${quoteIdent(ordinal)} DESC`].join(", ");
  const ord = quoteIdent(ordinal);
  return (
    `DELETE FROM ${quoteIdent(stage)} WHERE ${ord} IN (SELECT ${ord} FROM ` +
    `(SELECT ${ord}, ROW_NUMBER() OVER (PARTITION BY ${partition} ORDER BY ${orderBy}) AS rn FROM ${quoteIdent(stage)}) ranked ` +
    "WHERE rn > 1)"
  );
}

/**
 * True when the row `src` is at least as new as `dst` by the order columns, comparing lexicographically
 * with NULL older than any value (Airbyte: a NULL cursor counts as older).
 */
export function atLeastAsNew(src: string, dst: string, order: readonly OrderColumn[]): string {
  const col = (alias: string, o: OrderColumn) => `${alias}.${quoteIdent(o.column)}`;
  const build = (i: number): string => {
    const o = order[i]!;
    const s = col(src, o);
    const d = col(dst, o);
    if (i === order.length - 1) return `(${d} IS NULL OR (${s} IS NOT NULL AND ${s} >= ${d}))`;
    const greater = `(${s} IS NOT NULL AND (${d} IS NULL OR ${s} > ${d}))`;
    return `(${greater} OR (${nullSafeEquals(s, d)} AND ${build(i + 1)}))`;
  };
  return build(0);
}

/**
 * A target column the load statement fills instead of the staged file (fewer bytes to encode, compress
 * and COPY per row):
 *  - `row-id`: a per-row unique id made of a run's prefix and the row's arrival ordinal (Airbyte's
 *    `_airbyte_raw_id`). `prefix` is the UUID's first 24 characters (rowIdPrefix in
 *    src/encode/row-id.ts); the ordinal, below 2^48, gives the last 12 hex digits.
 *  - `value`: the same value on every row of the batch (Singer's `_sdc_batched_at`), as the text its
 *    column's type reads (`text`, what the value encoder writes for `type`).
 */
export type FilledColumn =
  | {
      kind: "row-id";
      column: string;
      prefix: string;
      /** the stage's ordinal column (BIGINT) */
      ordinal: string;
      /** the column is SUPER (a table made elsewhere): the id goes in as a JSON string */
      superColumn?: boolean;
    }
  | { kind: "value"; column: string; text: string; type: ColumnType };

/** The 24 characters before a row id's last 12 hex digits: `xxxxxxxx-xxxx-xxxx-xxxx-`, lower case. */
const ROW_ID_PREFIX = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-$/;

/**
 * The row id of the stage row `row` (an alias, or undefined for the stage's own columns), as a VARCHAR of
 * 36 characters: `'<prefix>' || LPAD(TO_HEX(ordinal), 12, '0')` (a JSON string through JSON_PARSE for a
 * SUPER column). TO_HEX of a BIGINT and LPAD are
 * Redshift functions (Database Developer Guide, "TO_HEX function", "LPAD and RPAD functions"); LPAD cuts a
 * longer string, so the ordinal must stay below 2^48 (the engine checks). Throws on a malformed prefix.
 */
export function rowIdSql(r: Extract<FilledColumn, { kind: "row-id" }>, row?: string): string {
  if (!ROW_ID_PREFIX.test(r.prefix)) throw new Error(`rowIdSql: malformed row id prefix ${JSON.stringify(r.prefix)}`);
  const ordinal = row === undefined ? quoteIdent(r.ordinal) : `${row}.${quoteIdent(r.ordinal)}`;
  if (r.superColumn) return `JSON_PARSE(${quoteLiteral(`"${r.prefix}`)} || LPAD(TO_HEX(${ordinal}), 12, '0') || '"')`;
  return `${quoteLiteral(r.prefix)} || LPAD(TO_HEX(${ordinal}), 12, '0')`;
}

/**
 * `text` as a value of `type`: a plain literal for text columns (assigned as VARCHAR), JSON_PARSE for
 * SUPER (`text` is the JSON), else CAST (Database Developer Guide, "CAST function"). Throws where
 * quoteLiteral does (a backslash or NUL in `text`).
 */
export function typedLiteral(text: string, type: ColumnType): string {
  if (isTextual(type.kind)) return quoteLiteral(text);
  if (type.kind === "super") return `JSON_PARSE(${quoteLiteral(text)})`;
  return `CAST(${quoteLiteral(text)} AS ${columnTypeSql(type)})`;
}

/** A filled column's value for the stage row `row` (an alias, or undefined for the stage's own columns). */
export function filledSql(f: FilledColumn, row?: string): string {
  return f.kind === "row-id" ? rowIdSql(f, row) : typedLiteral(f.text, f.type);
}

export interface UpsertPlan {
  target: TableRef;
  stage: string;
  /** Staged columns written to the target (the stage's extra ordinal column is not one of them). */
  columns: readonly string[];
  /** Target columns the statement fills rather than the stage (see FilledColumn), after `columns`. */
  filled?: readonly FilledColumn[];
  keys: readonly string[];
  /** A row of the stage with this column set is a delete: matched target rows go, the row is not inserted. */
  deletedColumn?: string;
  /** When set, a staged row replaces an existing one only if it is at least as new by these columns. */
  newerBy?: readonly OrderColumn[];
  /** The batch has a NULL in a key column: match keys NULL-safely (rule 22), at the price of the join. */
  nullKeys?: boolean;
}

/**
 * What a load statement's result says about the target's rows, so a batch can report rows inserted,
 * updated and deleted after dedup. Only DELETE and INSERT command-tag counts and plain SELECTs are read:
 * Redshift implements MERGE as an UPDATE and an INSERT and documents no count for it, so MERGE's own
 * count is never used.
 *  - `deleted`: target rows removed by delete markers (DELETE count);
 *  - `replaced`: target rows removed to be replaced by staged rows (DELETE count; they are updates);
 *  - `written`: rows an INSERT wrote (inserts plus replacements);
 *  - `merge`: a SELECT whose row has `staged` (rows the MERGE writes) and `matched` (of those, rows that
 *    update an existing row).
 */
export type RowCountRole = "deleted" | "replaced" | "written" | "merge";

export interface LoadStatement {
  sql: string;
  counts?: RowCountRole;
}

/** Rows a load changed in its target, after in-batch dedup. */
export interface RowCounts {
  inserted: number;
  updated: number;
  deleted: number;
}

/**
 * Turns the results of `statements` (same order; `rowCount` for DML, `rows[0]` for SELECT) into rows
 * inserted / updated / deleted. Counts arrive as numbers or, for SELECT COUNT(*) on Redshift, as text.
 */
export function rowCountsOf(
  statements: readonly LoadStatement[],
  results: readonly { rowCount: number | null; rows: readonly Record<string, unknown>[] }[],
): RowCounts {
  let deleted = 0;
  let replaced = 0;
  let written = 0;
  let staged = 0;
  let matched = 0;
  let merged = false;
  statements.forEach((s, i) => {
    const r = results[i];
    if (!s.counts || !r) return;
    if (s.counts === "merge") {
      merged = true;
      staged += Number(r.rows[0]?.staged ?? 0);
      matched += Number(r.rows[0]?.matched ?? 0);
    } else {
      const n = r.rowCount ?? 0;
      if (s.counts === "deleted") deleted += n;
      else if (s.counts === "replaced") replaced += n;
      else written += n;
    }
  });
  if (merged) return { inserted: staged - matched, updated: matched, deleted };
  return { inserted: written - replaced, updated: replaced, deleted };
}

/** The target's column list of an INSERT: the staged columns, then the filled ones. */
function insertColumns(p: Pick<UpsertPlan, "columns" | "filled">): string {
  return [...p.columns, ...(p.filled ?? []).map((f) => f.column)].map(quoteIdent).join(", ");
}

/** The values of those columns for the stage row `row` (an alias, or undefined for unqualified names). */
function insertValues(p: Pick<UpsertPlan, "columns" | "filled">, row?: string): string {
  const cols = p.columns.map((c) => (row === undefined ? quoteIdent(c) : `${row}.${quoteIdent(c)}`));
  for (const f of p.filled ?? []) cols.push(filledSql(f, row));
  return cols.join(", ");
}

/** Appends the staged rows (streams without keys). */
export function insertFromStage(p: Pick<UpsertPlan, "target" | "stage" | "columns" | "deletedColumn" | "filled">): LoadStatement {
  const where = p.deletedColumn ? ` WHERE ${quoteIdent(p.deletedColumn)} IS NULL` : "";
  return { sql: `INSERT INTO ${tableSql(p.target)} (${insertColumns(p)}) SELECT ${insertValues(p)} FROM ${quoteIdent(p.stage)}${where}`, counts: "written" };
}

/**
 * Delete markers first, as their own statements (so their count is the rows deleted): matched target rows
 * go (only older ones with `newerBy`), then the marker rows leave the stage and are never inserted.
 */
function applyDeleteMarkers(p: UpsertPlan, match: string): LoadStatement[] {
  if (!p.deletedColumn) return [];
  const stage = quoteIdent(p.stage);
  const deleted = quoteIdent(p.deletedColumn);
  return [
    { sql: `DELETE FROM ${tableSql(p.target)} USING ${stage} WHERE ${match} AND ${stage}.${deleted} IS NOT NULL`, counts: "deleted" },
    { sql: `DELETE FROM ${stage} WHERE ${deleted} IS NOT NULL` },
  ];
}

/**
 * DELETE + INSERT upsert (the AWS "merge by replacing existing rows" pattern). Statements to run inside one
 * transaction, in order. With `newerBy`, an existing row that is newer than the staged one survives and the
 * staged row is not inserted.
 */
export function deleteInsertUpsert(p: UpsertPlan): LoadStatement[] {
  if (p.keys.length === 0) throw new Error("an upsert needs key columns");
  const target = tableSql(p.target);
  const bare = quoteIdent(p.target.table);
  const stage = quoteIdent(p.stage);
  let match = keyMatch(bare, stage, p.keys, p.nullKeys);
  if (p.newerBy && p.newerBy.length > 0) match += ` AND ${atLeastAsNew(stage, bare, p.newerBy)}`;
  const statements = applyDeleteMarkers(p, match);
  statements.push({ sql: `DELETE FROM ${target} USING ${stage} WHERE ${match}`, counts: "replaced" });
  // Whatever still matches after the DELETE is newer than the staged row.
  const where =
    p.newerBy && p.newerBy.length > 0
      ? ` WHERE NOT EXISTS (SELECT 1 FROM ${target} AS "existing" WHERE ${keyMatch('"existing"', stage, p.keys, p.nullKeys)})`
      : "";
  statements.push({
    sql: `INSERT INTO ${target} (${insertColumns(p)}) SELECT ${insertValues(p, stage)} FROM ${stage}${where}`,
    counts: "written",
  });
  return statements;
}

/**
 * MERGE upsert. Redshift's MERGE has no `WHEN MATCHED AND …`, so deletes are applied first with a
 * DELETE and removed from the stage; a `newerBy` plan cannot be expressed and must use deleteInsertUpsert.
 * A SELECT before the MERGE counts the staged rows and those with an existing row (the updates).
 */
export function mergeUpsert(p: UpsertPlan): LoadStatement[] {
  if (p.keys.length === 0) throw new Error("an upsert needs key columns");
  if (p.newerBy && p.newerBy.length > 0) throw new Error("MERGE cannot keep newer existing rows; use DELETE+INSERT");
  const target = tableSql(p.target);
  const bare = quoteIdent(p.target.table);
  const stage = quoteIdent(p.stage);
  const statements = applyDeleteMarkers(p, keyMatch(bare, stage, p.keys, p.nullKeys));
  const src = '"src"';
  const dst = '"dst"';
  const on = keyMatch(dst, src, p.keys, p.nullKeys);
  statements.push({
    sql: `SELECT (SELECT COUNT(*) FROM ${stage}) AS staged, (SELECT COUNT(*) FROM ${stage} AS ${src} JOIN ${target} AS ${dst} ON ${on}) AS matched`,
    counts: "merge",
  });
  const set = p.columns.map((c) => `${quoteIdent(c)} = ${src}.${quoteIdent(c)}`);
  for (const f of p.filled ?? []) set.push(`${quoteIdent(f.column)} = ${filledSql(f, src)}`);
  statements.push({
    sql:
      `MERGE INTO ${target} AS ${dst} USING ${stage} AS ${src} ON ${on} ` +
      `WHEN MATCHED THEN UPDATE SET ${set.join(", ")} WHEN NOT MATCHED THEN INSERT (${insertColumns(p)}) VALUES (${insertValues(p, src)})`,
  });
  return statements;
}

/** LOCK at transaction start reduces serializable-isolation conflicts between concurrent writers (rule 29). */
export function lockTable(t: TableRef): string {
  return `LOCK ${tableSql(t)}`;
}

/**
 * Swaps a fully loaded table in for `final` (Airbyte overwrite). Statements for ONE transaction (rule 25:
 * DROP old + RENAME new, never TRUNCATE), so readers see the old rows or the new ones, never an empty or
 * half-written table. Both tables must be in the same schema: RENAME cannot move a table.
 */
export function replaceTable(loaded: TableRef, final: TableRef): string[] {
  if (loaded.schema !== final.schema) throw new Error("replaceTable: both tables must be in the same schema");
  return [`DROP TABLE IF EXISTS ${tableSql(final)}`, `ALTER TABLE ${tableSql(loaded)} RENAME TO ${quoteIdent(final.table)}`];
}

/** Rows of generations older than `minimum` (NULL counts as older: written before generations existed). */
export function deleteOlderGenerations(t: TableRef, column: string, minimum: number): string {
  if (!Number.isSafeInteger(minimum)) throw new Error("deleteOlderGenerations: minimum must be an integer");
  const c = quoteIdent(column);
  return `DELETE FROM ${tableSql(t)} WHERE ${c} IS NULL OR ${c} < ${minimum}`;
}

/** A session-local table (Airbyte check: proves the user may create temp tables, and is a COPY target). */
export function createTempTable(name: string, columns: readonly ColumnDef[]): string {
  if (columns.length === 0) throw new Error(`temp table ${name} needs at least one column`);
  return `CREATE TEMP TABLE ${quoteIdent(name)} (${columns.map((c) => `${quoteIdent(c.name)} ${columnTypeSql(c.type)}`).join(", ")})`;
}

export function countRows(t: TableRef | string): string {
  return `SELECT COUNT(*) AS n FROM ${typeof t === "string" ? quoteIdent(t) : tableSql(t)}`;
}

/** Rows not of `generation` (NULL included): zero means the table holds only that generation's data. */
export function countOtherGenerations(t: TableRef, column: string, generation: number): string {
  if (!Number.isSafeInteger(generation)) throw new Error("countOtherGenerations: generation must be an integer");
  const c = quoteIdent(column);
  return `SELECT COUNT(*) AS n FROM ${tableSql(t)} WHERE ${c} IS NULL OR ${c} <> ${generation}`;
}

/**
 * The load journal: one row per committed batch, written inside the batch's own transaction, so that
 * after a connection lost at COMMIT the loader can tell whether the COMMIT was applied (row present) or
 * not (absent) and never applies a batch twice. One table per target schema; rows are never read by
 * anything but the loader. Redshift SQL: CREATE TABLE IF NOT EXISTS, VARCHAR in bytes, GETDATE().
 */
export const LOAD_JOURNAL_TABLE = "_target_redshift_load_journal";

/** Identity of one batch of one run: what the journal records and looks up. */
export interface JournalEntry {
  runId: string;
  stream: string;
  batch: number;
  table: TableRef;
  rows: number;
}

/** Stream names may hold characters a literal cannot (backslash, NUL); within one run id a clash is harmless. */
const journalStream = (stream: string): string => stream.replace(/[\\\u0000]/g, "?");

export function createLoadJournal(schema: string): string {
  return `CREATE TABLE IF NOT EXISTS ${qualifiedName(schema, LOAD_JOURNAL_TABLE)} (run_id VARCHAR(64) NOT NULL, stream VARCHAR(4096) NOT NULL, batch_number BIGINT NOT NULL, target_table VARCHAR(512), row_count BIGINT, committed_at TIMESTAMP)`;
}

export function journalInsert(e: JournalEntry): string {
  const target = `${e.table.schema}.${e.table.table}`;
  return `INSERT INTO ${qualifiedName(e.table.schema, LOAD_JOURNAL_TABLE)} (run_id, stream, batch_number, target_table, row_count, committed_at) VALUES (${quoteLiteral(e.runId)}, ${quoteLiteral(journalStream(e.stream))}, ${Math.trunc(e.batch)}, ${quoteLiteral(journalStream(target))}, ${Math.trunc(e.rows)}, GETDATE())`;
}

export function journalLookup(e: Pick<JournalEntry, "runId" | "stream" | "batch" | "table">): string {
  return `SELECT COUNT(*) AS n FROM ${qualifiedName(e.table.schema, LOAD_JOURNAL_TABLE)} WHERE run_id = ${quoteLiteral(e.runId)} AND stream = ${quoteLiteral(journalStream(e.stream))} AND batch_number = ${Math.trunc(e.batch)}`;
}
