/**
 * Turns JSON values into CSV fields Redshift's COPY accepts, per column type. Runs once per value on the
 * hot path: no regex where a char test does, no allocation where a slice does.
 *
 * What Redshift cannot hold is never passed through to fail the COPY: it is fixed by policy and the fix is
 * recorded as a ValueChange (rules 4–10).
 */
import { isStackOverflow } from "../errors.js";
import { JsonNumber } from "../input/json.js";
import { CSV_NULL_MARKER } from "../redshift/sql.js";
import { type ColumnType, MAX_VARCHAR_BYTES } from "../redshift/types.js";

export type ChangeReason = "DESTINATION_FIELD_SIZE_LIMITATION" | "DESTINATION_SERIALIZATION_ERROR";

export interface ValueChange {
  field: string;
  /**
   * NULLED / TRUNCATED as Airbyte's record meta spells them; CONVERTED: the same moment written another
   * way the column can hold (a time's offset applied to a TIME column, a leap second as :59.999999).
   */
  change: "NULLED" | "TRUNCATED" | "CONVERTED";
  reason: ChangeReason;
}

export interface ValuePolicy {
  /** Strings over 65535 bytes: cut at a UTF-8 boundary, or NULL. */
  stringOverflow: "truncate" | "null";
  /** Values the column cannot hold (NaN, out of range, not a date): NULL and record, or fail the record. */
  invalidValue: "null" | "fail";
  /**
   * The rows are staged as Parquet, whose TIMESTAMP (INT64 microseconds since 1970) ends at
   * 294247-01-10T04:00:54.775807Z, before Redshift's 294276: a later date-time is a value the staged file
   * cannot hold, under invalidValue like any other (file_format csv_gzip holds it).
   */
  parquetTimestamps?: boolean;
  /**
   * A column that decides a row's identity or existence (a key, a delete marker; see keyPolicy): a value
   * it cannot hold whole fails the record, whatever stringOverflow says and for SUPER's size limits too
   * (a NULL or cut key merges rows; a NULL marker loads a deleted row as live).
   */
  strict?: boolean;
}

export const DEFAULT_POLICY: ValuePolicy = { stringOverflow: "truncate", invalidValue: "null" };

/** Thrown when a value cannot be stored and the policy says fail. */
export class InvalidValueError extends Error {
  constructor(
    readonly field: string,
    readonly expected: string,
    readonly got: string,
  ) {
    super(`field ${JSON.stringify(field)}: expected ${expected}, got ${got}`);
  }
}

/** How a change is counted in the run summary (per stream, field, change and reason). */
export function changeKey(c: ValueChange): string {
  return `${c.field}: ${c.change} (${c.reason})`;
}

/** Collects what one row's encoding changed; reset per row. */
export class RowChanges {
  list: ValueChange[] = [];
  add(field: string, change: ValueChange["change"], reason: ChangeReason): void {
    this.list.push({ field, change, reason });
  }
  reset(): void {
    if (this.list.length > 0) this.list = [];
  }
}

/** Largest UTF-8 byte length seen per column in a batch: drives VARCHAR widening. */
export interface WidthTracker {
  maxBytes: number;
}

export type FieldEncoder = (value: unknown, changes: RowChanges) => string;
/**
 * The same decision as a FieldEncoder, before CSV: the normalised text of the value (unquoted), or null.
 * Each value's fate (NULLed, truncated, normalised) is decided once, by the functions below; CSV and
 * Parquet are two serialisations of that decision.
 */
export type ValueEncoder = (value: unknown, changes: RowChanges) => string | null;

/** How a decided value is written: quoted for CSV with `\N` for NULL, or as is with null. */
interface Output {
  q: (s: string) => string;
  nul: string | null;
  csv: boolean;
}

const NULL = CSV_NULL_MARKER;
export const SUPER_MAX_BYTES = 16 * 1024 * 1024;

export function csvQuote(s: string): string {
  return s.indexOf('"') === -1 ? `"${s}"` : `"${s.replaceAll('"', '""')}"`;
}

const CSV_OUT: Output = { q: csvQuote, nul: NULL, csv: true };
const RAW_OUT: Output = { q: (s) => s, nul: null, csv: false };

/** A JSON string literal with its quotes doubled for a CSV field. */
function doubledString(s: string): string {
  const j = JSON.stringify(s);
  return j.indexOf('"', 1) === j.length - 1 ? `"${j}"` : j.replaceAll('"', '""');
}

/** Object keys repeat from record to record: their serialized forms are kept (bounded), one map per style. */
const doubledKeys = new Map<string, string>();
const plainKeys = new Map<string, string>();

/**
 * JSON.stringify(v) with every `"` doubled, built in one pass: the text of a SUPER value inside a CSV
 * field. Measured 395 ns against 820 ns for stringify + replaceAll on the bench's nested object.
 * Same output as JSON.stringify for anything JSON.parse can produce (and toJSON, undefined, NaN), except
 * that a JsonNumber is written as its exact digits.
 */
export function csvDoubledJson(v: unknown): string {
  return anyDepthJsonText(v, doubledString, doubledKeys);
}

/** JSON.stringify(v), with each JsonNumber written as its exact digits (JSON.rawJSON is not in Node 20). */
export function exactJson(v: unknown): string {
  return anyDepthJsonText(v, JSON.stringify, plainKeys);
}

/** jsonText, or deepJsonText when a value nests deeper than the recursion's stack. */
function anyDepthJsonText(v: unknown, str: (s: string) => string, keys: Map<string, string>): string {
  try {
    return jsonText(v, str, keys);
  } catch (e) {
    if (!isStackOverflow(e)) throw e;
    return deepJsonText(v, str, keys);
  }
}

/**
 * jsonText's output without recursion, for values nested deeper than the stack allows (a few thousand
 * levels: JSON.parse takes any depth). Slower; used when jsonText overflowed (exported for its tests).
 */
export function deepJsonText(root: unknown, str: (s: string) => string = JSON.stringify, keys: Map<string, string> = plainKeys): string {
  const parts: string[] = [];
  // Items to write, last first: a value ({ v }) or text to copy as it is.
  const todo: ({ v: unknown } | string)[] = [{ v: root }];
  const skipped = (x: unknown) => x === undefined || typeof x === "function" || typeof x === "symbol";
  while (todo.length > 0) {
    const item = todo.pop()!;
    if (typeof item === "string") {
      parts.push(item);
      continue;
    }
    let v = item.v;
    while (v !== null && typeof v === "object" && !(v instanceof JsonNumber) && typeof (v as { toJSON?: unknown }).toJSON === "function") {
      v = (v as { toJSON: () => unknown }).toJSON();
    }
    if (v === null || typeof v !== "object" || v instanceof JsonNumber) {
      parts.push(jsonText(v, str, keys));
      continue;
    }
    const entries: ({ v: unknown } | string)[] = [];
    if (Array.isArray(v)) {
      entries.push("[");
      for (let i = 0; i < v.length; i++) {
        if (i > 0) entries.push(",");
        const x: unknown = v[i];
        entries.push(skipped(x) ? "null" : { v: x });
      }
      entries.push("]");
    } else {
      entries.push("{");
      let first = true;
      for (const k in v) {
        if (!Object.hasOwn(v, k)) continue;
        const x: unknown = (v as Record<string, unknown>)[k];
        if (skipped(x)) continue;
        entries.push(`${first ? "" : ","}${str(k)}:`, { v: x });
        first = false;
      }
      entries.push("}");
    }
    for (let i = entries.length - 1; i >= 0; i--) todo.push(entries[i]!);
  }
  return parts.join("");
}

function jsonText(v: unknown, str: (s: string) => string, keys: Map<string, string>): string {
  switch (typeof v) {
    case "string":
      return str(v);
    case "number":
      return Number.isFinite(v) ? String(v) : "null";
    case "boolean":
      return v ? "true" : "false";
    case "bigint":
      throw new TypeError("Do not know how to serialize a BigInt");
    case "object": {
      if (v === null) return "null";
      if (v instanceof JsonNumber) return v.text;
      const toJSON = (v as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === "function") return jsonText(toJSON.call(v), str, keys);
      if (Array.isArray(v)) {
        if (v.length > FLAT_JSON_ENTRIES) return flatJsonText(v, str, keys);
        let out = "[";
        for (let i = 0; i < v.length; i++) {
          const x: unknown = v[i];
          const t = typeof x;
          out += (i === 0 ? "" : ",") + (x === undefined || t === "function" || t === "symbol" ? "null" : jsonText(x, str, keys));
        }
        return `${out}]`;
      }
      let out = "{";
      let first = true;
      for (const k in v) {
        if (!Object.hasOwn(v, k)) continue;
        const x: unknown = (v as Record<string, unknown>)[k];
        const t = typeof x;
        if (x === undefined || t === "function" || t === "symbol") continue;
        let key = keys.get(k);
        if (key === undefined) {
          key = `${str(k)}:`;
          if (keys.size < 4096) keys.set(k, key);
        }
        out += (first ? "" : ",") + key + jsonText(x, str, keys);
        first = false;
      }
      return `${out}}`;
    }
    default:
      return "null";
  }
}

/** Arrays longer than this are serialized by flatJsonText, this many entries to a flat piece. */
const FLAT_JSON_ENTRIES = 256;

/**
 * jsonText of a long array: each run of FLAT_JSON_ENTRIES entries is joined into one flat string, and
 * the runs joined at the end. `+=` makes one rope of the whole value (a cons string of ~20 bytes per
 * piece, kept until the text is flattened): on an array of 800,000 small objects (61 MB of JSON) it held
 * 500 MiB of heap for 72 MB of doubled text and took 20 s; this way only one run's ropes are alive at a
 * time. (Joining every object's pieces as well was measured 1.6× slower on the bench's ~1 MB records.)
 */
function flatJsonText(v: unknown[], str: (s: string) => string, keys: Map<string, string>): string {
  const runs: string[] = [];
  let run: string[] = [];
  for (let i = 0; i < v.length; i++) {
    const x: unknown = v[i];
    const t = typeof x;
    const text = x === undefined || t === "function" || t === "symbol" ? "null" : jsonText(x, str, keys);
    // The brackets go inside the first and last entries: the final join is then the flat text itself
    // (`[${…}]` would be a rope over it, flattened by the next search: one more copy of the whole).
    run.push(i === 0 ? `[${text}` : i === v.length - 1 ? `${text}]` : text);
    if (run.length === FLAT_JSON_ENTRIES) {
      runs.push(run.join(","));
      run = [];
    }
  }
  if (run.length > 0) runs.push(run.join(","));
  return runs.join(",");
}

/**
 * A JSON number's text as plain decimal digits: sign, integer digits without leading zeros, fraction
 * digits without trailing zeros (`"-1.50E+3"` → `{ neg: true, int: "1500", frac: "" }`). Undefined when
 * the exponent would make more than 400 digits (no Redshift type holds such a value).
 */
export function decimalParts(text: string): { neg: boolean; int: string; frac: string } | undefined {
  const neg = text.charCodeAt(0) === 45;
  let body = neg ? text.slice(1) : text;
  let exp = 0;
  const e = body.search(/[eE]/);
  if (e !== -1) {
    exp = Number(body.slice(e + 1));
    body = body.slice(0, e);
    if (!Number.isFinite(exp) || Math.abs(exp) > 400) {
      // Zero stays zero at any exponent.
      return /^[0.]*$/.test(body) ? { neg, int: "", frac: "" } : undefined;
    }
  }
  const dot = body.indexOf(".");
  let digits = dot === -1 ? body : body.slice(0, dot) + body.slice(dot + 1);
  let point = (dot === -1 ? body.length : dot) + exp;
  if (point < 0) {
    digits = "0".repeat(-point) + digits;
    point = 0;
  } else if (point > digits.length) {
    digits += "0".repeat(point - digits.length);
  }
  // Zeros stripped by index, not /0+$/: that regex retries from every zero of a long run followed by
  // another digit (quadratic: 200,000 zeros took 37 s).
  let from = 0;
  while (from < point && digits.charCodeAt(from) === 48) from++;
  let to = digits.length;
  while (to > point && digits.charCodeAt(to - 1) === 48) to--;
  return { neg, int: digits.slice(from, point), frac: digits.slice(point, to) };
}

/** Cuts a string to at most `maxBytes` UTF-8 bytes without splitting a character. */
export function truncateUtf8(s: string, maxBytes: number): string {
  const buf = Buffer.from(s, "utf8");
  if (buf.length <= maxBytes) return s;
  let end = maxBytes;
  // Step back over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.toString("utf8", 0, end);
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (v instanceof JsonNumber) return `number ${v.text.length > 60 ? `${v.text.slice(0, 60)}…` : v.text}`;
  if (typeof v === "object") return Array.isArray(v) ? "an array" : "an object";
  return `${typeof v} ${String(v)}`;
}

function invalid(o: Output, field: string, expected: string, value: unknown, policy: ValuePolicy, changes: RowChanges): string | null {
  if (policy.invalidValue === "fail") throw new InvalidValueError(field, expected, describe(value));
  changes.add(field, "NULLED", "DESTINATION_SERIALIZATION_ERROR");
  return o.nul;
}

/** What a strict column (a key, a delete marker) expects of text: removing a NUL could merge two keys. */
const NO_NUL = "text without NUL characters (COPY cannot load them; removing them could merge two keys)";

/**
 * NUL cannot be loaded by COPY (rule 6): it is removed, and the removal recorded as CONVERTED; a strict
 * column (ValuePolicy.strict) refuses the value instead (InvalidValueError, `v` as sent).
 */
function stripNul(s: string, field: string, changes: RowChanges, policy: ValuePolicy, v: unknown): string {
  if (s.indexOf("\u0000") === -1) return s;
  if (policy.strict) throw new InvalidValueError(field, NO_NUL, describe(v));
  changes.add(field, "CONVERTED", "DESTINATION_SERIALIZATION_ERROR");
  return s.replace(/\u0000/g, "");
}

/**
 * `columnBytes`: the column's width when the plan was made. The width tracker only has to tell when a
 * batch needs more than the column has, so a string that cannot exceed it is not measured.
 */
function textEncoder(o: Output, field: string, width: WidthTracker, policy: ValuePolicy, columnBytes: number): ValueEncoder {
  return (v, changes) => {
    if (v === null || v === undefined) return o.nul;
    let s = typeof v === "string" ? v : v instanceof JsonNumber ? v.text : typeof v === "object" ? exactJson(v) : String(v);
    s = stripNul(s, field, changes, policy, v);
    // UTF-8 bytes lie between length and 3 × length (a surrogate pair: 2 units, 4 bytes), so the exact
    // count is only needed when the string could exceed both the column and what the batch has seen.
    const most = s.length * 3;
    if (most > width.maxBytes && most > columnBytes) {
      let bytes = Buffer.byteLength(s, "utf8");
      if (bytes > MAX_VARCHAR_BYTES) {
        if (policy.strict) throw new InvalidValueError(field, `a string of at most ${MAX_VARCHAR_BYTES} bytes (UTF-8)`, describe(v));
        if (policy.stringOverflow === "null") {
          changes.add(field, "NULLED", "DESTINATION_FIELD_SIZE_LIMITATION");
          return o.nul;
        }
        s = truncateUtf8(s, MAX_VARCHAR_BYTES);
        bytes = Buffer.byteLength(s, "utf8");
        changes.add(field, "TRUNCATED", "DESTINATION_FIELD_SIZE_LIMITATION");
      }
      if (bytes > width.maxBytes) width.maxBytes = bytes;
    }
    return o.q(s);
  };
}

const BIGINT_MIN = -(2n ** 63n);
const BIGINT_MAX = 2n ** 63n - 1n;
const INT_RANGES: Record<string, [bigint, bigint]> = {
  smallint: [-32768n, 32767n],
  integer: [-2147483648n, 2147483647n],
  bigint: [BIGINT_MIN, BIGINT_MAX],
};

/** An integer's canonical decimal text: no sign but `-`, no leading zero, no `-0`. */
const CANONICAL_INTEGER = /^(?:0|-?[1-9]\d{0,19})$/;

function integerEncoder(o: Output, field: string, kind: string, policy: ValuePolicy): ValueEncoder {
  const [lo, hi] = INT_RANGES[kind]!;
  const safeLo = Number(lo) > Number.MIN_SAFE_INTEGER ? Number(lo) : Number.MIN_SAFE_INTEGER;
  const safeHi = Number(hi) < Number.MAX_SAFE_INTEGER ? Number(hi) : Number.MAX_SAFE_INTEGER;
  const hiDigits = hi.toString();
  const loDigits = (-lo).toString();
  return (v, changes) => {
    if (v === null || v === undefined) return o.nul;
    if (typeof v === "number") {
      if (Number.isInteger(v) && v >= safeLo && v <= safeHi) return String(v);
      if (Number.isInteger(v)) {
        const b = BigInt(v);
        if (b >= lo && b <= hi) return b.toString();
      }
      return invalid(o, field, `an integer within ${kind.toUpperCase()} range`, v, policy, changes);
    }
    if (v instanceof JsonNumber) {
      const p = decimalParts(v.text);
      if (p && p.frac === "" && p.int.length <= 20) {
        const b = BigInt(p.int === "" ? "0" : p.neg ? `-${p.int}` : p.int);
        if (b >= lo && b <= hi) return b.toString();
      }
      return invalid(o, field, `an integer within ${kind.toUpperCase()} range`, v, policy, changes);
    }
    if (typeof v === "string" && CANONICAL_INTEGER.test(v)) {
      // Already its own decimal text (Singer's _sdc_sequence, 19 digits, on every row): the range is
      // checked on the digits (equal lengths compare as numbers), without BigInt.
      const neg = v.charCodeAt(0) === 45;
      const digits = neg ? v.slice(1) : v;
      const limit = neg ? loDigits : hiDigits;
      if (digits.length < limit.length || (digits.length === limit.length && digits <= limit)) return v;
      return invalid(o, field, `an integer within ${kind.toUpperCase()} range`, v, policy, changes);
    }
    if (typeof v === "string" && /^-?\d{1,20}$/.test(v)) {
      const b = BigInt(v);
      if (b >= lo && b <= hi) return b.toString();
    }
    return invalid(o, field, `an integer within ${kind.toUpperCase()} range`, v, policy, changes);
  };
}

/**
 * Whether a double is out of a REAL's range: it rounds to an infinite or, not being zero, to a zero
 * single-precision float (IEEE 754 binary32). COPY refuses both ("out of range for type real"), so they
 * are decided here like any value the column cannot hold.
 */
function outsideReal(n: number): boolean {
  const f = Math.fround(n);
  return !Number.isFinite(f) || (f === 0 && n !== 0);
}

function floatEncoder(o: Output, field: string, policy: ValuePolicy, real: boolean): ValueEncoder {
  const holds = real ? "a number a REAL holds" : "a number a DOUBLE PRECISION holds";
  return (v, changes) => {
    if (v === null || v === undefined) return o.nul;
    if (typeof v === "number") {
      // JSON cannot carry NaN/Infinity, but a lenient parse of Python's output can (rule 8).
      if (!Number.isFinite(v)) return invalid(o, field, "a finite number", v, policy, changes);
      return real && outsideReal(v) ? invalid(o, field, holds, v, policy, changes) : String(v);
    }
    if (v instanceof JsonNumber) {
      // A double column rounds to a double, as Redshift would; what no double holds (1e400, or 1e-400
      // read as 0) is recorded. A negative zero keeps its sign.
      const n = Number(v.text);
      if (!Number.isFinite(n) || (n === 0 && plainDecimal(v.text) !== "0") || (real && outsideReal(n))) return invalid(o, field, holds, v, policy, changes);
      return Object.is(n, -0) ? "-0" : String(n);
    }
    if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) {
      const n = Number(v);
      return real && outsideReal(n) ? invalid(o, field, holds, v, policy, changes) : String(n);
    }
    return invalid(o, field, "a finite number", v, policy, changes);
  };
}

/**
 * A number's text in plain decimal notation, exactly: `1e-7` → `0.0000001`, `1.5E+3` → `1500`,
 * `-0` → `0` (leading zeros and trailing fraction zeros dropped, see decimalParts). Undefined when the
 * text is not a JSON number (RFC 8259 §6, leading zeros allowed) or its exponent passes 400 digits.
 * One path for doubles' text, JsonNumber text and decimal strings.
 */
export function plainDecimal(text: string): string | undefined {
  if (!/^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/.test(text)) return undefined;
  const p = decimalParts(text);
  if (!p) return undefined; // beyond any column; the caller rejects it
  if (p.int === "" && p.frac === "") return "0";
  return `${p.neg ? "-" : ""}${p.int || "0"}${p.frac ? `.${p.frac}` : ""}`;
}

/**
 * NUMERIC(p,s): the value's exact decimal text, leading zeros and trailing fraction zeros dropped. A value
 * with more integer digits than p−s, or more (non-zero) fraction digits than s, does not fit: NULL and a
 * recorded change, or a failure under invalid_value: fail. COPY would round (ROUNDEC) or cut the extra
 * scale in silence (rule 20), so it never sees one.
 */
function numericEncoder(o: Output, field: string, t: ColumnType, policy: ValuePolicy): ValueEncoder {
  const precision = t.precision ?? 18;
  const scale = t.scale ?? 0;
  const maxIntDigits = precision - scale;
  const expected = `a number that fits NUMERIC(${precision},${scale})`;
  return (v, changes) => {
    if (v === null || v === undefined) return o.nul;
    let text: string | undefined;
    if (typeof v === "number") {
      if (!Number.isFinite(v)) return invalid(o, field, expected, v, policy, changes);
      // The shortest text that reads back as this double: the digits the sender's JSON gave, as far
      // as a double kept them (a long token arrives as JsonNumber instead, digit for digit).
      text = Number.isSafeInteger(v) ? String(v) : plainDecimal(String(v));
    } else if (v instanceof JsonNumber) {
      text = plainDecimal(v.text);
    } else if (typeof v === "string") {
      text = plainDecimal(v);
    } else if (typeof v === "bigint") {
      text = v.toString();
    }
    if (text === undefined) return invalid(o, field, expected, v, policy, changes);
    // Normalised already: plainDecimal drops leading zeros and trailing fraction zeros, and an integer's
    // String or a bigint's toString has neither.
    const neg = text.charCodeAt(0) === 45;
    const unsigned = neg ? text.slice(1) : text;
    const dot = unsigned.indexOf(".");
    const int = dot === -1 ? unsigned : unsigned.slice(0, dot);
    const frac = dot === -1 ? "" : unsigned.slice(dot + 1);
    if ((int === "0" ? 0 : int.length) > maxIntDigits || frac.length > scale) return invalid(o, field, expected, v, policy, changes);
    const body = frac.length > 0 ? `${int}.${frac}` : int;
    return neg && body !== "0" ? `-${body}` : body;
  };
}

function booleanEncoder(o: Output, field: string, policy: ValuePolicy): ValueEncoder {
  return (v, changes) => {
    if (v === null || v === undefined) return o.nul;
    if (v === true || v === "true") return "true";
    if (v === false || v === "false") return "false";
    return invalid(o, field, "a boolean", v, policy, changes);
  };
}

/**
 * Redshift: "The maximum nesting depth for arrays and structures of the SUPER data type is 1,000"
 * (Database Developer Guide, SUPER "Limitations"). A scalar is depth 0, `[]` and `{}` depth 1.
 */
export const SUPER_MAX_DEPTH = 1000;

/**
 * What of a SUPER value's own limits it breaks: a string over MAX_VARCHAR_BYTES inside it, or nesting
 * deeper than SUPER_MAX_DEPTH. An explicit stack, not recursion: any depth the JSON parser took is walked
 * (a walk cut off at 200 levels once let a string 211 levels down through unchecked).
 */
function superLimitBroken(root: unknown): "string" | "depth" | undefined {
  const values: unknown[] = [root];
  const depths: number[] = [0];
  while (values.length > 0) {
    const v = values.pop();
    const depth = depths.pop()!;
    if (typeof v === "string") {
      // NULs are removed before loading (recorded): only the bytes left count.
      if (v.length > MAX_VARCHAR_BYTES / 3 && Buffer.byteLength(v, "utf8") - countOf(v, "\u0000") > MAX_VARCHAR_BYTES) return "string";
    } else if (v !== null && typeof v === "object" && !(v instanceof JsonNumber)) {
      if (depth + 1 > SUPER_MAX_DEPTH) return "depth";
      if (Array.isArray(v)) {
        for (const x of v) {
          values.push(x);
          depths.push(depth + 1);
        }
      } else {
        for (const key in v as Record<string, unknown>) {
          values.push((v as Record<string, unknown>)[key]);
          depths.push(depth + 1);
        }
      }
    }
  }
  return undefined;
}

/** `\u0000` preceded by an even number of backslashes (so the backslash is not itself escaped). */
const NUL_ESCAPE = /(?<!\\)((?:\\\\)*)\\u0000/g;

function superEncoder(o: Output, field: string, policy: ValuePolicy): ValueEncoder {
  // On CSV the JSON is built with its quotes already doubled (one pass); Parquet takes it as it is.
  const serialize = o.csv ? csvDoubledJson : exactJson;
  const asField = o.csv ? (json: string) => `"${json}"` : (json: string) => json;
  // A frozen value (Airbyte's `_airbyte_meta` of a row without changes) is the same document every
  // time: its last text is kept.
  let lastIn: unknown;
  let lastOut = "";
  return (v, changes) => {
    if (v === null || v === undefined) return o.nul;
    if (v === lastIn) return lastOut;
    let json = serialize(v);
    // A NUL inside a string is serialized as \u0000; an escaped backslash before "u0000" is not one.
    // (Doubling touches quotes only: backslashes, and so these escapes, read the same.)
    if (json.indexOf("\\u0000") !== -1) {
      const stripped = json.replace(NUL_ESCAPE, "$1");
      if (stripped !== json) {
        if (policy.strict) throw new InvalidValueError(field, NO_NUL, describe(v));
        changes.add(field, "CONVERTED", "DESTINATION_SERIALIZATION_ERROR");
      }
      json = stripped;
    }
    // Only a document longer than the string limit can hold an oversized string, and only one longer
    // than 2 × SUPER_MAX_DEPTH can nest too deep, so most skip the walk.
    // (UTF-8 takes up to 3 bytes per UTF-16 unit: 32,768 × "é" is 65,536 bytes in a shorter document.)
    const broken = json.length > 2 * SUPER_MAX_DEPTH ? superLimitBroken(v) : undefined;
    if (broken !== undefined) {
      if (policy.strict) {
        const expected = broken === "string" ? `a document whose strings are at most ${MAX_VARCHAR_BYTES} bytes (SUPER)` : `a document nested at most ${SUPER_MAX_DEPTH} levels (SUPER)`;
        throw new InvalidValueError(field, expected, describe(v));
      }
      changes.add(field, "NULLED", "DESTINATION_FIELD_SIZE_LIMITATION");
      return o.nul;
    }
    // The size limit is on the JSON: a doubled quote pair counts once.
    if (json.length * 3 > SUPER_MAX_BYTES && Buffer.byteLength(json, "utf8") - (o.csv ? countOf(json, '"') / 2 : 0) > SUPER_MAX_BYTES) {
      if (policy.strict) throw new InvalidValueError(field, `a document of at most ${SUPER_MAX_BYTES} bytes (SUPER)`, describe(v));
      changes.add(field, "NULLED", "DESTINATION_FIELD_SIZE_LIMITATION");
      return o.nul;
    }
    // No raw NUL is left: JSON escapes control characters, and the escapes went above.
    const out = asField(json);
    if (typeof v === "object" && Object.isFrozen(v) && changes.list.length === 0) {
      lastIn = v;
      lastOut = out;
    }
    return out;
  };
}

/** How many times the character `c` occurs in `s`. */
function countOf(s: string, c: string): number {
  let n = 0;
  for (let i = s.indexOf(c); i !== -1; i = s.indexOf(c, i + 1)) n++;
  return n;
}

// 2024-01-02T03:04:05.123456789+05:30 / 2024-01-02 03:04:05Z / 2024-01-02t03:04:05z / …-03:30:52 / 2024-01-02
const DATETIME_RE =
  /^(-?\d{4,6})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)?$/;
/** Redshift's range: 4713 BC – 294276 AD (rule 10). We accept AD years 1 – 294276. */
const MIN_YEAR = 1;
const MAX_YEAR = 294276;

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** Days in a month of the proleptic Gregorian calendar (month 1–12). */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

const isDigit = (c: number) => c >= 48 && c <= 57;
const two = (s: string, i: number) => (s.charCodeAt(i) - 48) * 10 + (s.charCodeAt(i + 1) - 48);

/**
 * The shape almost every tap emits, `YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z`, checked with char codes: the
 * normalised text is then a slice of the input (no regex, no Date). Anything else takes the full parse.
 */
function canonicalUtc(s: string): boolean {
  const n = s.length;
  if (n < 20 || n > 27 || s.charCodeAt(n - 1) !== 90 /* Z */) return false;
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return false;
  for (const i of [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]) if (!isDigit(s.charCodeAt(i))) return false;
  if (n > 20) {
    if (s.charCodeAt(19) !== 46 /* . */ || n === 21) return false;
    for (let i = 20; i < n - 1; i++) if (!isDigit(s.charCodeAt(i))) return false;
  }
  const year = two(s, 0) * 100 + two(s, 2);
  const month = two(s, 5);
  const day = two(s, 8);
  return year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month) && two(s, 11) <= 23 && two(s, 14) <= 59 && two(s, 17) <= 59;
}

interface ParsedDateTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** fraction digits, cut to microseconds */
  micros: string;
  /** offset in seconds east of UTC, undefined when absent (RFC 3339's -00:00 is UTC too) */
  offset?: number;
  /** non-zero fraction digits beyond microseconds were cut */
  cut: boolean;
  /** a leap second (:60), written as :59.999999 */
  leap: boolean;
}

/** "Z", "+05:30", "-0330", "-03:30:52" → seconds east of UTC; NaN for an hour past 23 or minutes or seconds past 59. */
function offsetSeconds(z: string): number {
  if (z === "Z" || z === "z") return 0;
  const sign = z[0] === "-" ? -1 : 1;
  const digits = z.slice(1).replaceAll(":", "");
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2, 4) || "0");
  const seconds = Number(digits.slice(4, 6) || "0");
  // RFC 3339's time-numoffset: hours 00–23, minutes 00–59 (and the seconds some writers add, 00–59).
  if (hours > 23 || minutes > 59 || seconds > 59) return Number.NaN;
  return sign * (hours * 3600 + minutes * 60 + seconds);
}

/**
 * An RFC 3339 / ISO 8601 date-time as taps send it: `T`, `t` or a space; `Z`/`z` or an offset of hours
 * (00–23), minutes and seconds (00–59; PostgreSQL prints local mean time as -03:30:52); any number of fraction digits
 * (cut to µs, `cut` says whether digits were lost); `24:00:00` (the end of the day, kept as the next
 * day's 00:00:00); a leap second `:60` (`leap`). Undefined when the text is none of these.
 */
export function parseDateTime(s: string): ParsedDateTime | undefined {
  const m = DATETIME_RE.exec(s.trim());
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = m[4] ? Number(m[4]) : 0;
  const minute = m[5] ? Number(m[5]) : 0;
  let second = m[6] ? Number(m[6]) : 0;
  const fraction = m[7] ?? "";
  if (month < 1 || month > 12 || day < 1 || minute > 59 || second > 60) return undefined;
  if (hour > 24 || (hour === 24 && (minute !== 0 || second !== 0 || /[1-9]/.test(fraction)))) return undefined;
  if (day > daysInMonth(year, month)) return undefined; // Feb 30 and friends
  const offset = m[8] === undefined ? undefined : offsetSeconds(m[8]);
  if (Number.isNaN(offset)) return undefined; // an offset no clock has (+24:00, +00:60)
  let micros = fraction.slice(0, 6);
  const cut = /[1-9]/.test(fraction.slice(6));
  const leap = second === 60;
  if (leap) {
    second = 59;
    micros = "999999";
  }
  const p: ParsedDateTime = { year, month, day, hour, minute, second, micros, offset, cut, leap };
  if (hour === 24) {
    return shift({ ...p, hour: 0 }, 86_400, p.offset);
  }
  return p;
}

function formatDate(y: number, mo: number, d: number): string {
  return `${pad(y, 4)}-${pad(mo)}-${pad(d)}`;
}

/** The Gregorian calendar repeats every 400 years (146,097 days). */
const GREGORIAN_CYCLE_YEARS = 400;

/**
 * The parsed time moved by `seconds`, through the calendar (month and year ends). Date holds only about
 * ±275,760 years (ECMA-262, "Time Values and Time Range") and Redshift's reach 294276: the arithmetic is
 * done on the same date in 2000–2399 (whole 400-year cycles away, the same calendar) and moved back.
 */
function shift(p: ParsedDateTime, seconds: number, offset: number | undefined): ParsedDateTime {
  const cycleYears = p.year - (2000 + (p.year % GREGORIAN_CYCLE_YEARS));
  const d = new Date(0);
  d.setUTCFullYear(p.year - cycleYears, p.month - 1, p.day);
  d.setUTCHours(p.hour, p.minute, p.second + seconds, 0);
  return { ...p, year: d.getUTCFullYear() + cycleYears, month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds(), offset };
}

/** Shifts a parsed local time by its offset to UTC (for TIMESTAMP, which ignores offsets: rule 9). */
function toUtc(p: ParsedDateTime): ParsedDateTime {
  return p.offset ? shift(p, -p.offset, 0) : p;
}

/** Records what parsing had to change: digits beyond µs cut, a leap second written as :59.999999. */
function recordTimeChanges(field: string, cut: boolean, leap: boolean, changes: RowChanges): void {
  if (cut) changes.add(field, "TRUNCATED", "DESTINATION_SERIALIZATION_ERROR");
  if (leap) changes.add(field, "CONVERTED", "DESTINATION_SERIALIZATION_ERROR");
}

/**
 * TIMESTAMPTZ: the moment, in UTC. TIMESTAMP: the time as sent when it has no offset; a value with an
 * offset is the same moment in UTC (what Redshift's COPY does too, rule 9). No offset never means the
 * session's zone: a loader must not depend on it.
 */
function timestampEncoder(o: Output, field: string, withZone: boolean, policy: ValuePolicy): ValueEncoder {
  const expected = withZone ? "an ISO 8601 date-time" : "an ISO 8601 date-time (TIMESTAMP)";
  // Metadata times repeat row after row (a unit's received-at, a batch's open time): the last canonical
  // value's text is kept. A canonical value records no change, so reusing its text is exact.
  let lastIn: string | undefined;
  let lastOut = "";
  return (v, changes) => {
    if (v === null || v === undefined) return o.nul;
    if (typeof v !== "string") return invalid(o, field, expected, v, policy, changes);
    if (v === lastIn) return lastOut;
    if (canonicalUtc(v)) {
      lastIn = v;
      lastOut = `${v.slice(0, 10)} ${v.slice(11, v.length - 1)}${withZone ? "+00" : ""}`;
      return lastOut;
    }
    let p = parseDateTime(v);
    if (!p) return invalid(o, field, expected, v, policy, changes);
    p = toUtc(p);
    if (p.year < MIN_YEAR || p.year > MAX_YEAR) return invalid(o, field, `a date-time between year ${MIN_YEAR} and ${MAX_YEAR}`, v, policy, changes);
    if (policy.parquetTimestamps && pastParquetTimestamp(p)) return invalid(o, field, PARQUET_TIMESTAMP_RANGE, v, policy, changes);
    recordTimeChanges(field, p.cut, p.leap, changes);
    const frac = p.micros ? `.${p.micros}` : "";
    return `${formatDate(p.year, p.month, p.day)} ${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}${frac}${withZone ? "+00" : ""}`;
  };
}

/** The last moment a Parquet TIMESTAMP holds: 2^63 - 1 microseconds after 1970-01-01 (Parquet's logical types, TIMESTAMP(MICROS)). */
const PARQUET_LAST_TIMESTAMP = [294247, 1, 10, 4, 0, 54, 775807] as const;
const PARQUET_TIMESTAMP_RANGE = "a date-time up to 294247-01-10 04:00:54.775807 UTC (the last a Parquet TIMESTAMP holds; file_format csv_gzip stages later ones)";

/** Whether the UTC date-time `p` (microseconds as its fraction digits) is past PARQUET_LAST_TIMESTAMP. */
function pastParquetTimestamp(p: ParsedDateTime): boolean {
  if (p.year !== PARQUET_LAST_TIMESTAMP[0]) return p.year > PARQUET_LAST_TIMESTAMP[0];
  const micros = Number(p.micros.padEnd(6, "0"));
  const fields = [p.year, p.month, p.day, p.hour, p.minute, p.second, micros];
  for (let k = 1; k < fields.length; k++) if (fields[k] !== PARQUET_LAST_TIMESTAMP[k]) return fields[k]! > PARQUET_LAST_TIMESTAMP[k]!;
  return false;
}

function dateEncoder(o: Output, field: string, policy: ValuePolicy): ValueEncoder {
  return (v, changes) => {
    if (v === null || v === undefined) return o.nul;
    if (typeof v !== "string") return invalid(o, field, "an ISO 8601 date", v, policy, changes);
    const p = parseDateTime(v);
    if (!p) return invalid(o, field, "an ISO 8601 date", v, policy, changes);
    if (p.year < MIN_YEAR || p.year > MAX_YEAR) return invalid(o, field, `a date between year ${MIN_YEAR} and ${MAX_YEAR}`, v, policy, changes);
    return formatDate(p.year, p.month, p.day);
  };
}

/** The largest offset a TIMETZ value holds: 14:59 (AWS, Amazon Redshift "Datetime types": 00:00:00+1459). */
const TIMETZ_MAX_OFFSET_SECONDS = 14 * 3600 + 59 * 60;

const TIME_RE = /^(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(Z|z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)?$/;

/**
 * TIMETZ keeps the offset as sent (`Z` as +00). TIME is a wall-clock time: a value with a non-zero
 * offset is written as its UTC time of day and recorded as CONVERTED (the column has no room for the
 * zone; a TIMETZ column, from Airbyte's time_with_timezone or a table created so, keeps it).
 * 24:00:00 is inside Redshift's range and kept; a leap second is :59.999999, recorded.
 */
function timeEncoder(o: Output, field: string, withZone: boolean, policy: ValuePolicy): ValueEncoder {
  return (v, changes) => {
    if (v === null || v === undefined) return o.nul;
    const m = typeof v === "string" ? TIME_RE.exec(v.trim()) : null;
    const h = m ? Number(m[1]) : 0;
    const sec = m ? Number(m[3] ?? 0) : 0;
    const fraction = m?.[4] ?? "";
    if (!m || h > 24 || Number(m[2]) > 59 || sec > 60 || (h === 24 && (m[2] !== "00" || sec !== 0 || /[1-9]/.test(fraction))) || (m[5] !== undefined && Number.isNaN(offsetSeconds(m[5])))) {
      return invalid(o, field, "an ISO 8601 time", v, policy, changes);
    }
    const leap = sec === 60;
    const cut = /[1-9]/.test(fraction.slice(6));
    recordTimeChanges(field, cut, leap, changes);
    const micros = leap ? "999999" : fraction.slice(0, 6);
    const frac = micros ? `.${micros}` : "";
    const ss = leap ? "59" : (m[3] ?? "00");
    const z = m[5];
    if (withZone) {
      // The zone is kept as sent, so it must be one TIMETZ holds (AWS, "Datetime types": up to ±14:59).
      if (z !== undefined && Math.abs(offsetSeconds(z)) > TIMETZ_MAX_OFFSET_SECONDS) return invalid(o, field, "a time whose offset is within ±14:59 (TIMETZ)", v, policy, changes);
      return `${m[1]}:${m[2]}:${ss}${frac}${z === undefined ? "" : z === "Z" || z === "z" ? "+00" : z}`;
    }
    const offset = z === undefined ? 0 : offsetSeconds(z);
    if (offset === 0) return `${m[1]}:${m[2]}:${ss}${frac}`;
    changes.add(field, "CONVERTED", "DESTINATION_SERIALIZATION_ERROR");
    const t = (((h * 3600 + Number(m[2]) * 60 + Number(ss) - offset) % 86_400) + 86_400) % 86_400;
    return `${pad(Math.floor(t / 3600))}:${pad(Math.floor(t / 60) % 60)}:${pad(t % 60)}${frac}`;
  };
}

/** The encoder for one column. `width` is updated with the batch's largest string (text columns only). */
export function encoderFor(field: string, type: ColumnType, policy: ValuePolicy, width: WidthTracker): FieldEncoder {
  // With CSV_OUT every path returns a string (NULL is the marker).
  return encoderWith(CSV_OUT, field, type, policy, width) as FieldEncoder;
}

/** The same decisions as encoderFor, unquoted, with null for NULL (for Parquet). */
export function valueEncoderFor(field: string, type: ColumnType, policy: ValuePolicy, width: WidthTracker): ValueEncoder {
  return encoderWith(RAW_OUT, field, type, policy, width);
}

function encoderWith(o: Output, field: string, type: ColumnType, policy: ValuePolicy, width: WidthTracker): ValueEncoder {
  switch (type.kind) {
    case "varchar":
    case "char":
      return textEncoder(o, field, width, policy, Math.min(type.length ?? 0, MAX_VARCHAR_BYTES));
    case "smallint":
    case "integer":
    case "bigint":
      return integerEncoder(o, field, type.kind, policy);
    case "real":
    case "double":
      return floatEncoder(o, field, policy, type.kind === "real");
    case "numeric":
      return numericEncoder(o, field, type, policy);
    case "boolean":
      return booleanEncoder(o, field, policy);
    case "super":
      return superEncoder(o, field, policy);
    case "timestamptz":
      return timestampEncoder(o, field, true, policy);
    case "timestamp":
      return timestampEncoder(o, field, false, policy);
    case "date":
      return dateEncoder(o, field, policy);
    case "time":
      return timeEncoder(o, field, false, policy);
    case "timetz":
      return timeEncoder(o, field, true, policy);
  }
}
