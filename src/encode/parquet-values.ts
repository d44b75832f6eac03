/**
 * Parquet serialisation of the encoders' decisions: a column type → its Parquet schema element, and the
 * encoder's normalised text (see encode.ts: `valueEncoderFor`) → the Parquet value. No value is judged
 * here: truncation, NULLing and normalisation happened once, in encode.ts, for CSV and Parquet alike.
 *
 * Types (Redshift binds Parquet columns by position and checks the physical type, rule 18):
 *   VARCHAR/CHAR → BYTE_ARRAY UTF8 · SMALLINT/INTEGER → INT32 · BIGINT → INT64 · REAL → FLOAT ·
 *   DOUBLE → DOUBLE · BOOLEAN → BOOLEAN · NUMERIC(p,s) → DECIMAL(p,s) (INT32 ≤ 9 digits, INT64 ≤ 18,
 *   else FIXED_LEN_BYTE_ARRAY) · DATE → INT32 DATE · TIMESTAMP/TIMESTAMPTZ → INT64 TIMESTAMP(MICROS, UTC)
 *   · TIME → INT64 TIME(MICROS) · TIMETZ → INT64 TIME(MICROS, UTC) · SUPER → BYTE_ARRAY JSON (logical type).
 */
import type { ColumnType } from "../redshift/types.js";
import type { ParquetColumn, ParquetConvert, ParquetField, ParquetValue } from "../stage/parquet-part-writer.js";

export type { ParquetColumn, ParquetConvert, ParquetField, ParquetValue };

/** Bytes needed for a two's-complement DECIMAL of `precision` digits. */
function decimalBytes(precision: number): number {
  let n = 1;
  while (2n ** BigInt(8 * n - 1) <= 10n ** BigInt(precision)) n++;
  return n;
}

export function parquetField(name: string, t: ColumnType): ParquetField {
  const base = { name, repetition_type: "OPTIONAL" as const };
  switch (t.kind) {
    case "varchar":
    case "char":
      return { ...base, type: "BYTE_ARRAY", converted_type: "UTF8" };
    case "smallint":
    case "integer":
      return { ...base, type: "INT32" };
    case "bigint":
      return { ...base, type: "INT64" };
    case "real":
      return { ...base, type: "FLOAT" };
    case "double":
      return { ...base, type: "DOUBLE" };
    case "boolean":
      return { ...base, type: "BOOLEAN" };
    case "numeric": {
      const precision = t.precision ?? 18;
      const scale = t.scale ?? 0;
      const dec = { converted_type: "DECIMAL" as const, scale, precision, logical_type: { type: "DECIMAL" as const, scale, precision } };
      if (precision <= 9) return { ...base, type: "INT32", ...dec };
      if (precision <= 18) return { ...base, type: "INT64", ...dec };
      return { ...base, type: "FIXED_LEN_BYTE_ARRAY", type_length: decimalBytes(precision), ...dec };
    }
    case "date":
      return { ...base, type: "INT32", converted_type: "DATE" };
    case "timestamp":
    case "timestamptz":
      return {
        ...base,
        type: "INT64",
        converted_type: "TIMESTAMP_MICROS",
        logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MICROS" },
      };
    case "time":
      return { ...base, type: "INT64", converted_type: "TIME_MICROS", logical_type: { type: "TIME", isAdjustedToUTC: false, unit: "MICROS" } };
    case "timetz":
      return { ...base, type: "INT64", converted_type: "TIME_MICROS", logical_type: { type: "TIME", isAdjustedToUTC: true, unit: "MICROS" } };
    case "super":
      // JSON logical type without the legacy converted_type: the writer would re-serialise a JS object for
      // that, and the text here is already the final JSON.
      return { ...base, type: "BYTE_ARRAY", logical_type: { type: "JSON" } };
  }
}

/**
 * Days since 1970-01-01 of a proleptic Gregorian date, any year (H. Hinnant, "chrono-Compatible Low-Level
 * Date Algorithms": days_from_civil). Integer arithmetic, not a JS Date: a Date ends at 275760-09-13 and
 * Redshift's dates go to 294276-12-31. Month 1–12; a day past the month's end runs on into the next.
 */
export function civilDays(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** "YYYY-MM-DD" (year 4–6 digits) → days since 1970-01-01. Throws a RangeError on any other text. */
export function dateDays(text: string): number {
  const a = text.indexOf("-", 1);
  const year = Number(text.slice(0, a));
  const month = Number(text.slice(a + 1, a + 3));
  const day = Number(text.slice(a + 4, a + 6));
  const days = civilDays(year, month, day);
  if (!Number.isSafeInteger(days) || !(month >= 1 && month <= 12)) throw new RangeError(`parquet: ${JSON.stringify(text)} is not a date`);
  return days;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Fraction digits (up to 6) → microseconds. */
function fractionMicros(digits: string): number {
  return digits.length === 0 ? 0 : Number(digits.padEnd(6, "0").slice(0, 6));
}

/** "HH:MM:SS[.ffffff]" at `at` → microseconds since midnight, and where it ends. */
function timeOfDayMicros(text: string, at: number): { micros: number; end: number } {
  const h = Number(text.slice(at, at + 2));
  const m = Number(text.slice(at + 3, at + 5));
  const s = Number(text.slice(at + 6, at + 8));
  let end = at + 8;
  let frac = "";
  if (text.charCodeAt(end) === 46 /* . */) {
    let j = end + 1;
    while (j < text.length && text.charCodeAt(j) >= 48 && text.charCodeAt(j) <= 57) j++;
    frac = text.slice(end + 1, j);
    end = j;
  }
  return { micros: ((h * 60 + m) * 60 + s) * 1_000_000 + fractionMicros(frac), end };
}

/** The encoders' timestamp text, "YYYY-MM-DD HH:MM:SS[.ffffff][+00]" (always UTC) → microseconds since the epoch. */
export function timestampMicros(text: string): bigint {
  const sp = text.indexOf(" ");
  const days = dateDays(text.slice(0, sp));
  const { micros } = timeOfDayMicros(text, sp + 1);
  const v = BigInt(days) * 86_400_000_000n + BigInt(micros);
  // Redshift's timestamps go to 294276 AD; an INT64 of microseconds since 1970 ends in 294247.
  if (v < INT64_MIN || v > INT64_MAX) {
    throw new RangeError(`parquet: ${text} is past what a Parquet TIMESTAMP holds (INT64 microseconds since 1970, up to 294247-01-10 04:00:54.775807 UTC); stage it with file_format csv_gzip`);
  }
  return v;
}

/** The encoders' time text "HH:MM:SS[.ffffff][±hh[:mm]]" → microseconds since midnight, shifted to UTC when zoned. */
export function timeMicros(text: string, toUtc: boolean): bigint {
  const { micros, end } = timeOfDayMicros(text, 0);
  let out = micros;
  if (toUtc && end < text.length) {
    const z = text.slice(end);
    const sign = z[0] === "-" ? -1 : 1;
    const digits = z.slice(1).replaceAll(":", "");
    const offsetSec = Number(digits.slice(0, 2)) * 3600 + Number(digits.slice(2, 4) || "0") * 60 + Number(digits.slice(4, 6) || "0");
    const day = 86_400_000_000;
    out = (((micros - sign * offsetSec * 1_000_000) % day) + day) % day;
  }
  return BigInt(out);
}

/**
 * The encoders' NUMERIC text ("-123.45", digits only) → the unscaled integer for DECIMAL(p, scale). Extra
 * fraction digits are cut, as COPY without ROUNDEC does with the CSV text (rule 20).
 */
export function decimalUnscaled(text: string, scale: number): bigint {
  const neg = text.charCodeAt(0) === 45;
  const body = neg ? text.slice(1) : text;
  const dot = body.indexOf(".");
  const int = dot === -1 ? body : body.slice(0, dot);
  const frac = dot === -1 ? "" : body.slice(dot + 1);
  const digits = `${int}${frac.padEnd(scale, "0").slice(0, scale)}`;
  const v = BigInt(digits === "" ? "0" : digits);
  return neg ? -v : v;
}

const utf8 = new TextEncoder();

export function parquetConverter(t: ColumnType): ParquetConvert {
  switch (t.kind) {
    case "varchar":
    case "char":
      return (s) => s;
    case "smallint":
    case "integer":
    case "real":
    case "double":
      return Number;
    case "bigint":
      return BigInt;
    case "boolean":
      return (s) => s === "true";
    case "numeric": {
      // Always a bigint: the writer takes a bigint as the unscaled value (a number it would scale again).
      const scale = t.scale ?? 0;
      return (s) => decimalUnscaled(s, scale);
    }
    case "date":
      return dateDays;
    case "timestamp":
    case "timestamptz":
      return timestampMicros;
    case "time":
      return (s) => timeMicros(s, false);
    case "timetz":
      return (s) => timeMicros(s, true);
    case "super":
      return (s) => utf8.encode(s);
  }
}

/**
 * The Parquet columns of a staged table: its data columns' types, then the arrival ordinal (BIGINT) when
 * keyed: exactly the COPY's columns, in its order (rule 18).
 */
export function parquetColumns(columns: readonly { name: string; type: ColumnType }[], ordinalColumn: string | undefined): ParquetColumn[] {
  const out: ParquetColumn[] = columns.map((c) => ({ field: parquetField(c.name, c.type), convert: parquetConverter(c.type) }));
  if (ordinalColumn !== undefined) {
    const t = { kind: "bigint" } as const;
    out.push({ field: parquetField(ordinalColumn, t), convert: parquetConverter(t) });
  }
  return out;
}
