/**
 * What to do when a table's column type differs from what a (newer) schema asks for. Data is never lost:
 * a column that can hold the new values is kept (values are encoded for it); one that cannot is migrated
 * in place to the least type that holds both — new column, cast, drop, rename (rule 28) — along a
 * widening lattice: SMALLINT → INTEGER → BIGINT → NUMERIC → REAL → DOUBLE → VARCHAR; anything → SUPER
 * only from numbers and booleans, whose text is valid JSON. A narrowing keeps the wider column.
 */
import { quoteIdent } from "./identifiers.js";
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
    if (existing.kind === "numeric" && wanted.kind === "numeric") {
      const p = Math.max(existing.precision ?? 18, wanted.precision ?? 18);
      const s = Math.max(existing.scale ?? 0, wanted.scale ?? 0);
      if (p === existing.precision && s === existing.scale) return { action: "keep" };
      return { action: "migrate", to: { kind: "numeric", precision: Math.min(38, p + (s - (existing.scale ?? 0))), scale: s } };
    }
    return { action: "keep" }; // VARCHAR length grows with data, not with schemas
  }
  // SUPER holds any JSON value; VARCHAR holds the text of any value (objects as JSON text).
  if (existing.kind === "super" || existing.kind === "varchar") return { action: "keep" };
  const er = NUMERIC_RANK[existing.kind];
  const wr = NUMERIC_RANK[wanted.kind];
  if (er !== undefined && wr !== undefined) return er >= wr ? { action: "keep" } : { action: "migrate", to: wanted };
  const et = TEMPORAL_RANK[existing.kind];
  const wt = TEMPORAL_RANK[wanted.kind];
  if (et !== undefined && wt !== undefined) return et >= wt ? { action: "keep" } : { action: "migrate", to: wanted };
  if (wanted.kind === "super" && (er !== undefined || existing.kind === "boolean")) return { action: "migrate", to: wanted };
  return { action: "migrate", to: wanted.kind === "varchar" ? wanted : CAST_VARCHAR };
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
  const temp = `${column.slice(0, 100)}__tr_migrating`;
  return [
    `ALTER TABLE ${table} ADD COLUMN ${quoteIdent(temp)} ${columnTypeSql(to)}`,
    `UPDATE ${table} SET ${quoteIdent(temp)} = ${castExpression(column, from, to)}`,
    `ALTER TABLE ${table} DROP COLUMN ${quoteIdent(column)}`,
    `ALTER TABLE ${table} RENAME COLUMN ${quoteIdent(temp)} TO ${quoteIdent(column)}`,
  ];
}
