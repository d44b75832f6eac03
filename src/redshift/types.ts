/**
 * JSON Schema → Redshift column types, and the reverse parse of types read back from the catalog.
 * Pure functions: no I/O. Rules from shared/redshift-rules.md (1–3, 7, 14).
 */


export const MAX_VARCHAR_BYTES = 65535;
/** A string without maxLength starts here and grows with the data (see the load step's widening). */
export const DEFAULT_VARCHAR_BYTES = 256;

export type ColumnKind =
  | "varchar"
  | "char"
  | "smallint"
  | "integer"
  | "bigint"
  | "numeric"
  | "real"
  | "double"
  | "boolean"
  | "super"
  | "timestamptz"
  | "timestamp"
  | "date"
  | "time"
  | "timetz";

export interface ColumnType {
  kind: ColumnKind;
  /** varchar/char: length in bytes. */
  length?: number;
  /** numeric: precision and scale. */
  precision?: number;
  scale?: number;
}

/**
 * Per-JSON-type overrides: a Redshift type name per JSON Schema type (or date/time format). Declared here,
 * not imported from the config, so this room depends on nothing of ours; the `type_mapping` setting of
 * spec/spec.json has the same keys.
 */
export type TypeMapping = {
  [K in "string" | "integer" | "number" | "boolean" | "object" | "array" | "datetime" | "date" | "time"]?: string;
};

export function columnTypeSql(t: ColumnType): string {
  switch (t.kind) {
    case "varchar":
      return `VARCHAR(${t.length ?? DEFAULT_VARCHAR_BYTES})`;
    case "char":
      return `CHAR(${t.length ?? 1})`;
    case "smallint":
      return "SMALLINT";
    case "integer":
      return "INTEGER";
    case "bigint":
      return "BIGINT";
    case "numeric":
      return `NUMERIC(${t.precision ?? 18},${t.scale ?? 0})`;
    case "real":
      return "REAL";
    case "double":
      return "DOUBLE PRECISION";
    case "boolean":
      return "BOOLEAN";
    case "super":
      return "SUPER";
    case "timestamptz":
      return "TIMESTAMPTZ";
    case "timestamp":
      return "TIMESTAMP";
    case "date":
      return "DATE";
    case "time":
      return "TIME";
    case "timetz":
      return "TIMETZ";
  }
}

/**
 * Parses a Redshift type as written in config (`VARCHAR(1000)`, `NUMERIC(38,9)`) or as printed by the
 * catalog's `format_type` (`character varying(256)`, `timestamp with time zone`). Returns undefined for
 * a type the loader does not know.
 */
export function parseRedshiftType(text: string): ColumnType | undefined {
  const s = text.trim().toLowerCase().replace(/\s+/g, " ");
  let m = /^(?:varchar|character varying|nvarchar)\s*\(\s*(\d+|max)\s*\)$/.exec(s);
  if (m) return { kind: "varchar", length: m[1] === "max" ? MAX_VARCHAR_BYTES : Number(m[1]) };
  m = /^(?:char|character|nchar|bpchar)\s*\(\s*(\d+)\s*\)$/.exec(s);
  if (m) return { kind: "char", length: Number(m[1]) };
  m = /^(?:numeric|decimal)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)$/.exec(s);
  if (m) return { kind: "numeric", precision: Number(m[1]), scale: Number(m[2] ?? 0) };
  switch (s) {
    case "numeric":
    case "decimal":
      return { kind: "numeric", precision: 18, scale: 0 };
    case "smallint":
    case "int2":
      return { kind: "smallint" };
    case "integer":
    case "int":
    case "int4":
      return { kind: "integer" };
    case "bigint":
    case "int8":
      return { kind: "bigint" };
    case "real":
    case "float4":
      return { kind: "real" };
    case "double precision":
    case "float8":
    case "float":
      return { kind: "double" };
    case "boolean":
    case "bool":
      return { kind: "boolean" };
    case "super":
      return { kind: "super" };
    case "timestamptz":
    case "timestamp with time zone":
      return { kind: "timestamptz" };
    case "timestamp":
    case "timestamp without time zone":
      return { kind: "timestamp" };
    case "date":
      return { kind: "date" };
    case "time":
    case "time without time zone":
      return { kind: "time" };
    case "timetz":
    case "time with time zone":
      return { kind: "timetz" };
  }
  return undefined;
}

function override(mapping: TypeMapping, key: keyof TypeMapping): ColumnType | undefined {
  const text = mapping[key];
  if (text === undefined) return undefined;
  const t = parseRedshiftType(text);
  if (!t) throw new Error(`type_mapping.${key}: unsupported Redshift type ${JSON.stringify(text)}`);
  return t;
}

type JsonType = "string" | "integer" | "number" | "boolean" | "object" | "array" | "null";
const JSON_TYPES = new Set<string>(["string", "integer", "number", "boolean", "object", "array", "null"]);

interface Facets {
  types: Set<JsonType>;
  /** formats seen on string members; "" for a string member without format. */
  stringFormats: Set<string>;
  maxLength?: number;
  /** true when some member had no type at all (anything goes). */
  untyped: boolean;
}

function collect(schema: unknown, facets: Facets, depth = 0): void {
  if (depth > 20 || schema === true || schema === undefined) {
    facets.untyped = true;
    return;
  }
  if (schema === null || typeof schema !== "object") {
    facets.untyped = true;
    return;
  }
  const s = schema as Record<string, unknown>;
  const unions = [s.anyOf, s.oneOf].filter(Array.isArray) as unknown[][];
  let typed = false;
  if (s.type !== undefined) {
    const list = Array.isArray(s.type) ? s.type : [s.type];
    for (const t of list) {
      if (typeof t === "string" && JSON_TYPES.has(t)) {
        facets.types.add(t as JsonType);
        typed = true;
        if (t === "string") {
          facets.stringFormats.add(typeof s.format === "string" ? s.format : "");
          if (typeof s.maxLength === "number") facets.maxLength = Math.max(facets.maxLength ?? 0, s.maxLength);
        }
      }
    }
  }
  for (const members of unions) {
    for (const m of members) collect(m, facets, depth + 1);
    typed = true;
  }
  if (Array.isArray(s.allOf)) {
    for (const m of s.allOf) collect(m, facets, depth + 1);
    typed = true;
  }
  if (!typed) {
    // `{}` or a schema with only properties: an object when it lists properties, otherwise anything.
    if (s.properties !== undefined) facets.types.add("object");
    else facets.untyped = true;
  }
}

function stringColumn(facets: Facets, mapping: TypeMapping): ColumnType {
  const formats = facets.stringFormats;
  if (formats.size === 1) {
    const [format] = formats;
    if (format === "date-time") return override(mapping, "datetime") ?? { kind: "timestamptz" };
    if (format === "date") return override(mapping, "date") ?? { kind: "date" };
    if (format === "time") return override(mapping, "time") ?? { kind: "time" };
  }
  const configured = override(mapping, "string");
  if (configured) return configured;
  // maxLength counts characters; a character is at most 4 UTF-8 bytes.
  const bytes =
    facets.maxLength !== undefined
      ? Math.min(MAX_VARCHAR_BYTES, Math.max(1, facets.maxLength * 4))
      : DEFAULT_VARCHAR_BYTES;
  return { kind: "varchar", length: bytes };
}

/**
 * The column type for one property's JSON Schema.
 *
 * Union rule (documented in README): null is dropped (every column is nullable);
 * one remaining type maps directly; {integer, number} → number's type; any union containing object or
 * array → SUPER; a union containing string → VARCHAR (other members are written as their JSON text);
 * any other mix (e.g. boolean + integer) → SUPER, which holds every JSON value losslessly.
 * No type at all → SUPER.
 */
export function columnTypeFor(schema: unknown, mapping: TypeMapping = {}): ColumnType {
  const facets: Facets = { types: new Set(), stringFormats: new Set(), untyped: false };
  collect(schema, facets);
  facets.types.delete("null");
  if (facets.untyped || facets.types.size === 0) return { kind: "super" };
  const types = facets.types;
  if (types.size === 1) {
    const [only] = types;
    switch (only) {
      case "string":
        return stringColumn(facets, mapping);
      case "integer":
        return override(mapping, "integer") ?? { kind: "bigint" };
      case "number":
        return override(mapping, "number") ?? { kind: "double" };
      case "boolean":
        return override(mapping, "boolean") ?? { kind: "boolean" };
      case "object":
        return override(mapping, "object") ?? { kind: "super" };
      case "array":
        return override(mapping, "array") ?? { kind: "super" };
    }
  }
  if (types.size === 2 && types.has("integer") && types.has("number")) {
    return override(mapping, "number") ?? { kind: "double" };
  }
  if (types.has("object") || types.has("array")) return { kind: "super" };
  if (types.has("string")) {
    const configured = override(mapping, "string");
    return configured ?? { kind: "varchar", length: DEFAULT_VARCHAR_BYTES };
  }
  return { kind: "super" };
}

/** True when the JSON Schema declares the property as a JSON string type only (used for value encoding). */
export function isTextual(kind: ColumnKind): boolean {
  return kind === "varchar" || kind === "char";
}
