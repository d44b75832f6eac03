/**
 * A stream's columns: its JSON Schema properties mapped to Redshift names and types, plus the
 * front end's metadata columns (Singer `_sdc_*`, Airbyte `_airbyte_*`), each with its encoder.
 */
import { assignColumnNames, type NameRules } from "../redshift/identifiers.js";
import type { ColumnDef } from "../redshift/sql.js";
import { type ColumnType, type TypeMapping, columnTypeFor } from "../redshift/types.js";
import { type FieldEncoder, type ValueEncoder, type ValuePolicy, type WidthTracker, encoderFor, valueEncoderFor } from "./encode.js";
import { type MetaSource, type RowContext, metadataValue } from "./metadata-values.js";

export type { RowContext };

export interface MetadataColumn {
  name: string;
  type: ColumnType;
  value: (ctx: RowContext) => unknown;
  /** computed after the data columns, so it can see their changes (Airbyte's _airbyte_meta) */
  late?: boolean;
  /**
   * The value is the record's own property of the same name (Singer's `_sdc_deleted_at`): a schema that
   * declares that property describes this column, and gets no second `_sdc_deleted_at_<hash>`.
   */
  fromRecord?: boolean;
  /**
   * The value described as data: a stream whose metadata columns all have one can be encoded by the
   * encode workers (without, its records stay on the main thread). `value` must be metadataValue(source).
   */
  source?: MetaSource;
}

/** A metadata column computed from `source` (the same way on the main thread and in the workers). */
export function metadataColumn(name: string, type: ColumnType, source: MetaSource, options: { late?: boolean; fromRecord?: boolean } = {}): MetadataColumn {
  return { name, type, value: metadataValue(source), source, ...options };
}

/**
 * A metadata column the load statement fills instead of the staged file: a row id (row-id.ts; its stream
 * stages the ordinal, which the id is made from) and the batch's time (the same on every row of a batch).
 * It has no ColumnPlan and no staged field.
 */
export function filledAtLoad(m: MetadataColumn): boolean {
  return m.source?.kind === "row-id" || m.source?.kind === "batched-at";
}

/**
 * The loader's own column in stage tables (a row's position, for dedup). Reserved: a property of that
 * name gets a distinct column name, as it would for a metadata column.
 */
export const ORDINAL_COLUMN = "_tr_ordinal";

export interface ColumnPlan {
  name: string;
  type: ColumnType;
  /** raw property name for data columns */
  property?: string;
  meta?: MetadataColumn;
  width: WidthTracker;
  /** the value as a CSV field */
  encode: FieldEncoder;
  /** the same decision, unquoted text or null (Parquet) */
  value: ValueEncoder;
  /** a key or delete marker column (ValuePolicy.strict): a value it cannot hold whole fails the record */
  strict: boolean;
}

export interface DesiredColumns {
  /** raw property → column name, stable across SCHEMA messages of the stream */
  names: Map<string, string>;
  columns: ColumnDef[];
}

export function propertiesOf(schema: Record<string, unknown>): Record<string, unknown> {
  const p = schema.properties;
  return p && typeof p === "object" && !Array.isArray(p) ? (p as Record<string, unknown>) : {};
}

/** The columns a schema asks for (before the table says what it actually has). */
export function desiredColumns(
  schema: Record<string, unknown>,
  mapping: TypeMapping,
  rules: NameRules,
  metadata: readonly MetadataColumn[],
  previousNames: ReadonlyMap<string, string> = new Map(),
): DesiredColumns {
  const props = propertiesOf(schema);
  const own = new Set(metadata.filter((m) => m.fromRecord && m.name in props).map((m) => m.name));
  const reserved = new Set([ORDINAL_COLUMN, ...metadata.filter((m) => !own.has(m.name)).map((m) => m.name)]);
  const previous = new Map(previousNames);
  for (const name of own) previous.set(name, name);
  const names = assignColumnNames(Object.keys(props), rules, previous, reserved);
  const columns: ColumnDef[] = [];
  for (const [raw, col] of names) {
    if (!(raw in props)) continue; // dropped from the newer schema: the column stays, new rows get NULL
    if (own.has(raw)) continue; // the metadata column below is this property's column
    columns.push(raw === col ? { name: col, type: columnTypeFor(props[raw], mapping) } : { name: col, type: columnTypeFor(props[raw], mapping), property: raw });
  }
  for (const m of metadata) columns.push({ name: m.name, type: m.type });
  return { names, columns };
}

/**
 * The column plans for the table as it is: each data column encodes for the type the table really has
 * (which can differ from the wanted type when the table already existed).
 */
export function planColumns(
  desired: DesiredColumns,
  actual: ReadonlyMap<string, ColumnType>,
  metadata: readonly MetadataColumn[],
  policy: ValuePolicy,
  /** key columns and the delete marker's: they take keyPolicy */
  strictColumns: readonly string[] = [],
): ColumnPlan[] {
  const plans: ColumnPlan[] = [];
  const byColumn = new Map<string, string>();
  for (const [raw, col] of desired.names) byColumn.set(col, raw);
  const metaByName = new Map(metadata.map((m) => [m.name, m]));
  const make = (def: ColumnDef, property?: string, meta?: MetadataColumn): ColumnPlan =>
    columnPlan(def.name, actual.get(def.name) ?? def.type, columnPolicy(def.name, policy, strictColumns), property, meta);
  for (const def of desired.columns) {
    if (metaByName.has(def.name)) continue;
    plans.push(make(def, byColumn.get(def.name)));
  }
  const staged = metadata.filter((x) => !filledAtLoad(x));
  for (const m of staged.filter((x) => !x.late)) plans.push(make({ name: m.name, type: m.type }, undefined, m));
  for (const m of staged.filter((x) => x.late)) plans.push(make({ name: m.name, type: m.type }, undefined, m));
  return plans;
}

/**
 * A key column never takes NULL (or a cut or NUL-stripped string) for a value it cannot hold whole: "abc"
 * and "def" in an integer key would become one row. Such a value fails the run (naming stream, field and
 * line), whatever invalid_value or string_overflow say (ValuePolicy.strict). So does a delete marker's
 * column (hard delete, CDC): NULL there would load a deleted row as live.
 */
export function keyPolicy(policy: ValuePolicy): ValuePolicy {
  return policy.strict ? policy : { ...policy, invalidValue: "fail", strict: true };
}

/** The policy `column` is encoded under: keyPolicy for one of `strictColumns` (keys, the delete marker's). */
export function columnPolicy(column: string, policy: ValuePolicy, strictColumns: readonly string[]): ValuePolicy {
  return strictColumns.includes(column) ? keyPolicy(policy) : policy;
}

export function columnPlan(name: string, type: ColumnType, policy: ValuePolicy, property?: string, meta?: MetadataColumn): ColumnPlan {
  const width: WidthTracker = { maxBytes: -1 };
  // Stored twice from the start: V8 treats a field stored once as a constant, and code optimized while
  // it was one (the workers' copy) was thrown away when a row first widened it.
  width.maxBytes = 0;
  const field = property ?? name;
  return { name, type, property, meta, width, encode: encoderFor(field, type, policy, width), value: valueEncoderFor(field, type, policy, width), strict: policy.strict === true };
}
