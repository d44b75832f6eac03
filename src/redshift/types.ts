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
  /** Airbyte's `airbyte_type` (v0, and v1's well-known types once resolved), when some member has one. */
  airbyteTypes: Set<string>;
  /** numeric constraints of the integer/number members, as exact decimal text (see schemaNumberText) */
  minimum?: Bound;
  maximum?: Bound;
  /** decimal places of `multipleOf`, when every numeric member declares one */
  scale?: number;
  numericWithoutMultiple: boolean;
  numericSeen: boolean;
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
  if (typeof s.airbyte_type === "string") facets.airbyteTypes.add(s.airbyte_type);
  if (s.type !== undefined) {
    const list = Array.isArray(s.type) ? s.type : [s.type];
    if (list.includes("integer") || list.includes("number")) numericFacets(s, facets);
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
  // Airbyte says whether a time carries a zone; without it, Singer's date-time is a moment (RFC 3339
  // requires an offset) and its `time` a wall-clock time.
  const zone = facets.airbyteTypes.size === 1 ? [...facets.airbyteTypes][0] : undefined;
  if (formats.size === 1) {
    const [format] = formats;
    if (format === "date-time") {
      return override(mapping, "datetime") ?? { kind: zone === "timestamp_without_timezone" ? "timestamp" : "timestamptz" };
    }
    if (format === "date") return override(mapping, "date") ?? { kind: "date" };
    if (format === "time") return override(mapping, "time") ?? { kind: zone === "time_with_timezone" ? "timetz" : "time" };
  }
  if (zone === "timestamp_without_timezone") return override(mapping, "datetime") ?? { kind: "timestamp" };
  if (zone === "timestamp_with_timezone") return override(mapping, "datetime") ?? { kind: "timestamptz" };
  if (zone === "time_with_timezone") return override(mapping, "time") ?? { kind: "timetz" };
  if (zone === "time_without_timezone") return override(mapping, "time") ?? { kind: "time" };
  const configured = override(mapping, "string");
  if (configured) return configured;
  // maxLength counts characters; a character is at most 4 UTF-8 bytes.
  const bytes =
    facets.maxLength !== undefined
      ? Math.min(MAX_VARCHAR_BYTES, Math.max(1, facets.maxLength * 4))
      : DEFAULT_VARCHAR_BYTES;
  return { kind: "varchar", length: bytes };
}

/** A bound as an exact decimal: `digits × 10^exp`, sign apart; `exclusive` for exclusiveMinimum/Maximum. */
interface Bound {
  neg: boolean;
  digits: bigint;
  exp: number;
  exclusive: boolean;
}

/** Registered by the input room's parseJsonExact: the exact text of an object's numbers, by key. */
const NUMBER_TEXT = Symbol.for("target-redshift.numberText");

/** `obj[key]` as the exact text the schema carried (a double's text when it was not parsed exactly). */
export function schemaNumberText(obj: Record<string, unknown>, key: string): string | undefined {
  const v = obj[key];
  if (typeof v !== "number" || !Number.isFinite(v)) return undefined;
  const texts = (obj as { [NUMBER_TEXT]?: Record<string, string> })[NUMBER_TEXT];
  return texts?.[key] ?? String(v);
}

/** A JSON number's text as sign, integer digits and power of ten; undefined if it is not one. */
export function decimalOf(text: string): { neg: boolean; digits: bigint; exp: number } | undefined {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return undefined;
  const frac = m[3] ?? "";
  let digits = BigInt(m[2]! + frac);
  let exp = Number(m[4] ?? 0) - frac.length;
  if (digits === 0n) return { neg: false, digits, exp: 0 };
  while (digits % 10n === 0n) {
    digits /= 10n;
    exp++;
  }
  return { neg: m[1] === "-", digits, exp };
}

function bound(s: Record<string, unknown>, key: "minimum" | "maximum"): Bound | undefined {
  const exclusiveKey = key === "minimum" ? "exclusiveMinimum" : "exclusiveMaximum";
  // Draft 6+: exclusiveMaximum is itself the bound; draft 4: a boolean beside maximum.
  const ex = schemaNumberText(s, exclusiveKey);
  const text = ex ?? schemaNumberText(s, key);
  if (text === undefined) return undefined;
  const d = decimalOf(text);
  return d && { ...d, exclusive: ex !== undefined || s[exclusiveKey] === true };
}

/** The wider of two bounds of one side (`side` 1 for maxima, -1 for minima); undefined if either is open. */
function wider(a: Bound | undefined, b: Bound | undefined, side: 1 | -1): Bound | undefined {
  if (!a || !b) return undefined;
  return compareDecimal(a, b) * side >= 0 ? a : b;
}

function compareDecimal(a: { neg: boolean; digits: bigint; exp: number }, b: { neg: boolean; digits: bigint; exp: number }): number {
  const e = Math.min(a.exp, b.exp);
  const av = a.digits * 10n ** BigInt(a.exp - e) * (a.neg ? -1n : 1n);
  const bv = b.digits * 10n ** BigInt(b.exp - e) * (b.neg ? -1n : 1n);
  return av < bv ? -1 : av > bv ? 1 : 0;
}

function numericFacets(s: Record<string, unknown>, facets: Facets): void {
  // A union's range is the widest of its members'; a member without a bound leaves that side open.
  const min = bound(s, "minimum");
  const max = bound(s, "maximum");
  facets.minimum = facets.numericSeen ? wider(facets.minimum, min, -1) : min;
  facets.maximum = facets.numericSeen ? wider(facets.maximum, max, 1) : max;
  facets.numericSeen = true;
  const m = schemaNumberText(s, "multipleOf");
  const d = m === undefined ? undefined : decimalOf(m);
  if (!d || d.digits === 0n) facets.numericWithoutMultiple = true;
  else facets.scale = Math.max(facets.scale ?? 0, Math.max(0, -d.exp));
}

/** Digits left of the point needed for every value inside the bound (an exclusive 1e28 needs 28, not 29). */
function integerDigits(b: Bound): number {
  if (b.digits === 0n) return 0;
  if (b.exp < 0) {
    const whole = b.digits / 10n ** BigInt(-b.exp);
    return whole === 0n ? 0 : whole.toString().length;
  }
  const n = b.digits.toString().length + b.exp;
  // Exactly 10^k, exclusive: every value inside has k digits.
  return b.exclusive && b.digits === 1n ? n - 1 : n;
}

/** Largest integer magnitude a bound allows, as a bigint (exclusive integral bounds step one in). */
function integerLimit(b: Bound): bigint {
  const abs = b.exp >= 0 ? b.digits * 10n ** BigInt(b.exp) : b.digits / 10n ** BigInt(-b.exp);
  const integral = b.exp >= 0 || b.digits % 10n ** BigInt(-b.exp) === 0n;
  return b.exclusive && integral ? abs - 1n : abs;
}

const MAX_NUMERIC_PRECISION = 38;

/**
 * Integers: the least of SMALLINT / INTEGER / BIGINT / NUMERIC(p,0) that holds the declared
 * [minimum, maximum]; BIGINT when a side is open. Over 38 digits: NUMERIC(38,0), and values beyond it
 * are NULL with a recorded change (or fail under invalid_value: fail) — never rounded.
 */
function integerColumn(f: Facets): ColumnType {
  // Airbyte's big_integer has no bound by definition: the widest exact integer Redshift has.
  if (f.airbyteTypes.has("big_integer") && (!f.minimum || !f.maximum)) return { kind: "numeric", precision: MAX_NUMERIC_PRECISION, scale: 0 };
  if (!f.minimum || !f.maximum) return { kind: "bigint" };
  const lo = f.minimum.neg ? -integerLimit(f.minimum) : integerLimit(f.minimum);
  const hi = f.maximum.neg ? -integerLimit(f.maximum) : integerLimit(f.maximum);
  const fits = (min: bigint, max: bigint) => lo >= min && hi <= max;
  if (fits(-32768n, 32767n)) return { kind: "smallint" };
  if (fits(-2147483648n, 2147483647n)) return { kind: "integer" };
  if (fits(-(2n ** 63n), 2n ** 63n - 1n)) return { kind: "bigint" };
  const p = Math.max((lo < 0n ? -lo : lo).toString().length, (hi < 0n ? -hi : hi).toString().length);
  return { kind: "numeric", precision: Math.min(MAX_NUMERIC_PRECISION, p), scale: 0 };
}

/**
 * Numbers: NUMERIC(p,s) when every member declares `multipleOf` (s = its decimal places, at most 37)
 * and p = s + the integer digits of the widest bound (38 when a side is open or it would exceed 38);
 * otherwise DOUBLE PRECISION. A value with more digits than the column holds is never rounded: NULL
 * with a recorded change, or a failure under invalid_value: fail.
 */
function numberColumn(f: Facets): ColumnType {
  if (f.numericWithoutMultiple || f.scale === undefined) return { kind: "double" };
  const s = Math.min(f.scale, MAX_NUMERIC_PRECISION - 1);
  if (!f.minimum || !f.maximum) return { kind: "numeric", precision: MAX_NUMERIC_PRECISION, scale: s };
  const p = s + Math.max(integerDigits(f.minimum), integerDigits(f.maximum), 1);
  return { kind: "numeric", precision: Math.min(MAX_NUMERIC_PRECISION, p), scale: s };
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
  const facets: Facets = { types: new Set(), airbyteTypes: new Set(), stringFormats: new Set(), untyped: false, numericWithoutMultiple: false, numericSeen: false };
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
        return override(mapping, "integer") ?? integerColumn(facets);
      case "number":
        return override(mapping, "number") ?? numberColumn(facets);
      case "boolean":
        return override(mapping, "boolean") ?? { kind: "boolean" };
      case "object":
        return override(mapping, "object") ?? { kind: "super" };
      case "array":
        return override(mapping, "array") ?? { kind: "super" };
    }
  }
  if (types.size === 2 && types.has("integer") && types.has("number")) {
    return override(mapping, "number") ?? numberColumn(facets);
  }
  if (types.has("object") || types.has("array")) return { kind: "super" };
  if (types.has("string")) {
    const configured = override(mapping, "string");
    return configured ?? { kind: "varchar", length: DEFAULT_VARCHAR_BYTES };
  }
  return { kind: "super" };
}

/** True for the text column kinds, VARCHAR and CHAR. */
export function isTextual(kind: ColumnKind): boolean {
  return kind === "varchar" || kind === "char";
}
