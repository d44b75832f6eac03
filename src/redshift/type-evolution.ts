/**
 * What to do when a table's column type differs from what a (newer) schema asks for. Data is never lost:
 * a column that can hold the new values is kept (values are encoded for it); one that cannot is migrated
 * in place to the least type that holds both — new column, cast, drop, rename (rule 28) — along a
 * widening lattice: SMALLINT → INTEGER → BIGINT → NUMERIC → REAL → DOUBLE → VARCHAR; anything → SUPER
 * only from numbers and booleans, whose text is valid JSON. A narrowing keeps the wider column.
 */
import { quoteIdent, truncateUtf8 } from "./identifiers.js";
import { type ColumnType, columnTypeSql } from "./types.js";

const NUMERIC_RANK: Partial<Record<ColumnType["kind"], number>> = {
  smallint: 1,
  integer: 2,
  bigint: 3,
  numeric: 4,
  real: 5,
  double: 6,
};

const TEMPORAL_RANK: Partial<Record<ColumnType["kind"], number>> = { date: 1, timestamp: 2, timestamptz: 3 };

export type Evolution = { action: "keep" } | { action: "migrate"; to: ColumnType };

/** Room for the text of any number, boolean or timestamp; widened later like any VARCHAR if data needs. */
const CAST_VARCHAR: ColumnType = { kind: "varchar", length: 256 };

export function evolveColumn(existing: ColumnType, wanted: ColumnType): Evolution {
  if (existing.kind === wanted.kind) {
    if (existing.kind === "numeric" && wanted.kind === "numeric") return evolveNumber(existing, wanted, 4, 4);
    return { action: "keep" }; // VARCHAR length grows with data, not with schemas
  }
  // SUPER holds any JSON value; VARCHAR holds the text of any value (objects as JSON text).
  if (existing.kind === "super" || existing.kind === "varchar") return { action: "keep" };
  const er = NUMERIC_RANK[existing.kind];
  const wr = NUMERIC_RANK[wanted.kind];
  if (er !== undefined && wr !== undefined) return evolveNumber(existing, wanted, er, wr);
  // A zone is never added to or dropped from a column: values are encoded for the type it has
  // (a TIMESTAMP holds the UTC time of a zoned value; a TIME the wall-clock time, see encode.ts).
  const zoned = (k: ColumnType["kind"]) => (k === "timetz" ? "time" : k === "timestamptz" ? "timestamp" : k);
  if (zoned(existing.kind) === zoned(wanted.kind)) return { action: "keep" };
  const et = TEMPORAL_RANK[existing.kind];
  const wt = TEMPORAL_RANK[wanted.kind];
  if (et !== undefined && wt !== undefined) {
    if (et >= wt || existing.kind === "timestamp") return { action: "keep" };
    return { action: "migrate", to: wanted };
  }
  if (wanted.kind === "super" && (er !== undefined || existing.kind === "boolean")) return { action: "migrate", to: wanted };
  return { action: "migrate", to: wanted.kind === "varchar" ? wanted : CAST_VARCHAR };
}

/** Integer digits every value of the type can have (BIGINT holds every 18-digit number, not every 19). */
const WHOLE_DIGITS: Partial<Record<ColumnType["kind"], number>> = { smallint: 4, integer: 9, bigint: 18 };
/** Integer digits some value of the type needs. */
const MOST_DIGITS: Partial<Record<ColumnType["kind"], number>> = { smallint: 5, integer: 10, bigint: 19 };

/**
 * Numbers never lose digits by evolving: integers widen to integers or NUMERIC (never to REAL/DOUBLE,
 * which would round 1234567890123456789 to 1.2345678901234568e+18); a schema asking for a float on an
 * exact column gets NUMERIC(38, s) with the integer digits the column had and the rest as scale; a
 * float column is kept (its values are approximate already).
 */
function evolveNumber(existing: ColumnType, wanted: ColumnType, er: number, wr: number): Evolution {
  const approximate = (k: ColumnType["kind"]) => k === "real" || k === "double";
  if (approximate(existing.kind)) return existing.kind === "double" || !approximate(wanted.kind) ? { action: "keep" } : { action: "migrate", to: wanted };
  const intDigits = (t: ColumnType) => (t.kind === "numeric" ? (t.precision ?? 18) - (t.scale ?? 0) : MOST_DIGITS[t.kind]!);
  const int = intDigits(existing);
  if (approximate(wanted.kind)) {
    const to: ColumnType = { kind: "numeric", precision: 38, scale: 38 - int };
    return existing.kind === "numeric" && existing.precision === 38 ? { action: "keep" } : { action: "migrate", to };
  }
  if (existing.kind !== "numeric" && wanted.kind !== "numeric") return er >= wr ? { action: "keep" } : { action: "migrate", to: wanted };
  const scale = Math.max(existing.scale ?? 0, wanted.scale ?? 0);
  const need = wanted.kind === "numeric" ? intDigits(wanted) : MOST_DIGITS[wanted.kind]!;
  if (existing.kind !== "numeric" && scale === 0 && need <= WHOLE_DIGITS[existing.kind]!) return { action: "keep" };
  const digits = Math.max(int, need);
  const s = Math.min(scale, 38 - digits);
  const to: ColumnType = { kind: "numeric", precision: Math.min(38, digits + s), scale: s };
  if (existing.kind === "numeric" && to.precision === existing.precision && to.scale === existing.scale) return { action: "keep" };
  return { action: "migrate", to };
}

/** The expression that converts the old column's values to the new type. */
export function castExpression(column: string, from: ColumnType, to: ColumnType): string {
  const c = quoteIdent(column);
  const boolText = `CASE WHEN ${c} THEN 'true' WHEN NOT ${c} THEN 'false' END`;
  if (to.kind === "super") {
    return from.kind === "boolean" ? `JSON_PARSE(${boolText})` : `JSON_PARSE(CAST(${c} AS VARCHAR(64)))`;
  }
  if (to.kind === "varchar") {
    if (from.kind === "boolean") return boolText;
    if (from.kind === "super") return `JSON_SERIALIZE(${c})`;
  }
  return `CAST(${c} AS ${columnTypeSql(to)})`;
}

/**
 * Statements of one in-place migration, to run in one transaction: ADD/UPDATE/DROP/RENAME are all
 * transactional in Redshift (unlike ALTER COLUMN TYPE). The column moves to the end of the table,
 * which is harmless: every load names its columns.
 */
export function migrateColumnSql(table: string, column: string, from: ColumnType, to: ColumnType): string[] {
  // ≤ 127 bytes, cut at a code point (a column name can be 127 bytes of multi-byte characters).
  const temp = `${truncateUtf8(column, 100)}__tr_migrating`;
  return [
    `ALTER TABLE ${table} ADD COLUMN ${quoteIdent(temp)} ${columnTypeSql(to)}`,
    `UPDATE ${table} SET ${quoteIdent(temp)} = ${castExpression(column, from, to)}`,
    `ALTER TABLE ${table} DROP COLUMN ${quoteIdent(column)}`,
    `ALTER TABLE ${table} RENAME COLUMN ${quoteIdent(temp)} TO ${quoteIdent(column)}`,
  ];
}
