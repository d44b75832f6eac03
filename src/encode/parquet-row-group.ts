/**
 * One Parquet row group straight from the CSV rows an encode worker wrote: no value object per field.
 * Each field's text is the encoder's decision (encode.ts), exactly as the Parquet values of the main
 * thread's path take it (`parquetConverter` in parquet-values.ts); this writes the same physical values.
 *
 * Layout, per column chunk (Apache Parquet format, parquet.thrift and Encodings.md): one DATA_PAGE (v1,
 * the format's first page kind, which every reader takes), definition levels RLE/bit-packed hybrid (bit
 * width 1: every column is a flat OPTIONAL field), values PLAIN, the page body compressed as GZIP
 * (PARQUET_CODEC). No dictionary, no statistics, no page index: COPY reads the footer's offsets and the
 * pages, nothing else. The main thread's row groups (hyparquet-writer) have DATA_PAGE_V2 pages; a part
 * may hold both kinds, which the format allows (not yet checked on a real cluster).
 *
 * Why its own writer (issue 14): building a JS value per field (a byte view, a bigint) for hyparquet-writer
 * cost more than encoding the record itself, a quarter of it garbage collection; here a field's bytes are
 * copied or its digits read once.
 */
import { gzipSync } from "node:zlib";
import { closingQuote } from "../redshift/csv.js";
import { isNullMarker, smallInteger } from "./record-scanner.js";
import { civilDays, dateDays, decimalUnscaled, timestampMicros } from "./parquet-values.js";
import { type EncodedRowGroup, type ParquetColumn, PARQUET_ENCODING, PARQUET_GZIP_OPTIONS, inColumn } from "../stage/parquet-part-writer.js";
import { STRUCT, i32Field, varint } from "../stage/thrift-compact.js";

const QUOTE = 34;
const COMMA = 44;
const NEWLINE = 10;
const DIGIT_0 = 48;
const MINUS = 45;
const TWO_32 = 4294967296;
const MICROS_PER_DAY = 86_400_000_000;

/** How a column's field text becomes its PLAIN value. */
type Kind =
  | "bytes" // BYTE_ARRAY: text, SUPER (the field's UTF-8 bytes)
  | "int32" // SMALLINT, INTEGER
  | "date" // INT32 DATE
  | "decimal32" // INT32 DECIMAL
  | "int64" // BIGINT, the arrival ordinal
  | "timestamp" // INT64 TIMESTAMP(MICROS)
  | "int64text" // INT64 from the converter: TIME, TIMETZ, DECIMAL(≤ 18)
  | "float"
  | "double"
  | "boolean"
  | "fixed"; // FIXED_LEN_BYTE_ARRAY DECIMAL

function kindOf(c: ParquetColumn): Kind {
  const f = c.field;
  switch (f.type) {
    case "BYTE_ARRAY":
      return "bytes";
    case "INT32":
      return f.converted_type === "DATE" ? "date" : f.converted_type === "DECIMAL" ? "decimal32" : "int32";
    case "INT64":
      return f.converted_type === "TIMESTAMP_MICROS" ? "timestamp" : f.converted_type === undefined ? "int64" : "int64text";
    case "FLOAT":
      return "float";
    case "DOUBLE":
      return "double";
    case "BOOLEAN":
      return "boolean";
    case "FIXED_LEN_BYTE_ARRAY":
      return "fixed";
  }
}

/**
 * Buffers shared by every encoder of this thread: encode() is synchronous and its result is copied out
 * before the next call, so one set serves every stream. (Per encoder, each of a hundred streams arriving
 * one after the other kept buffers grown to a whole unit's span: ~3 MiB a stream per worker.)
 */
const scratch = {
  /** per column position: PLAIN values, definition levels */
  values: [] as Buffer[],
  levels: [] as Uint8Array[],
  body: Buffer.allocUnsafe(1 << 16),
  out: Buffer.allocUnsafe(1 << 16),
};

/** A column's values and definition levels for the row group being built (in the thread's scratch). */
class ColumnValues {
  values!: Buffer;
  length = 0;
  levels!: Uint8Array;
  /** BOOLEAN: values bit-packed as they come (PLAIN for BOOLEAN is one bit per value, LSB first). */
  bits = 0;
  nulls = 0;

  constructor(
    readonly kind: Kind,
    readonly column: ParquetColumn,
    /** its position: which scratch buffers it writes */
    readonly slot: number,
  ) {}

  reset(rows: number): void {
    this.length = 0;
    this.bits = 0;
    this.nulls = 0;
    // Empty at first: the first value grows it, so ensure()'s growing path runs (and V8 records how) before
    // the row loop is optimized; a first growth inside optimized code threw that code away.
    this.values = scratch.values[this.slot] ??= Buffer.allocUnsafe(0);
    let levels = (scratch.levels[this.slot] ??= new Uint8Array(1 << 10));
    if (levels.length < rows) levels = scratch.levels[this.slot] = new Uint8Array(Math.max(rows, levels.length * 2));
    this.levels = levels;
  }

  ensure(more: number): void {
    if (this.length + more <= this.values.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.length + more, this.values.length * 2));
    this.values.copy(grown, 0, 0, this.length);
    this.values = scratch.values[this.slot] = grown;
  }

  int64(v: number): void {
    this.ensure(8);
    // Byte stores, not writeUInt32LE / writeInt32LE (their range checks were most of this call).
    putUint32(this.values, this.length, v >>> 0);
    putUint32(this.values, this.length + 4, Math.floor(v / TWO_32) | 0);
    this.length += 8;
  }

  bigint64(v: bigint): void {
    this.ensure(8);
    this.values.writeBigInt64LE(v, this.length);
    this.length += 8;
  }
}

/** The low 32 bits of `v` (an int32 or uint32), little-endian, at out[at] (Uint8Array stores keep the low byte). */
function putUint32(out: Uint8Array, at: number, v: number): void {
  out[at] = v;
  out[at + 1] = v >>> 8;
  out[at + 2] = v >>> 16;
  out[at + 3] = v >>> 24;
}

/** Two ASCII digits at src[at]; NaN when either is not a digit. */
function two(src: Uint8Array, at: number): number {
  const a = src[at]! - DIGIT_0;
  const b = src[at + 1]! - DIGIT_0;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : NaN;
}

/**
 * Microseconds since the epoch of the encoders' common timestamp text, `YYYY-MM-DD HH:MM:SS[.f{1,6}][+00]`
 * in src[from, to), as a number when exact (within ±104,000 days of 1970: about 1685–2254); NaN for any
 * other form or range, which the caller takes through timestampMicros (the same arithmetic on the text).
 */
function timestampFast(src: Uint8Array, from: number, to: number): number {
  const len = to - from;
  if (len < 19 || src[from + 4] !== MINUS || src[from + 7] !== MINUS || src[from + 10] !== 32) return NaN;
  const year = two(src, from) * 100 + two(src, from + 2);
  const month = two(src, from + 5);
  // Months past 12 would roll over differently here than in Date arithmetic: left to timestampMicros.
  if (!(month >= 1 && month <= 12)) return NaN;
  const days = civilDays(year, month, two(src, from + 8));
  const secs = (two(src, from + 11) * 60 + two(src, from + 14)) * 60 + two(src, from + 17);
  if (src[from + 13] !== 58 || src[from + 16] !== 58 || !(Math.abs(days) < 104_000) || Number.isNaN(secs)) return NaN;
  let at = from + 19;
  let frac = 0;
  if (at < to && src[at] === 46 /* . */) {
    let scale = 100_000;
    at++;
    const start = at;
    for (; at < to && src[at]! >= DIGIT_0 && src[at]! <= DIGIT_0 + 9; at++) {
      frac += (src[at]! - DIGIT_0) * scale;
      scale /= 10;
    }
    if (at === start || at - start > 6) return NaN;
  }
  if (at !== to && !(to - at === 3 && src[at] === 43 && src[at + 1] === DIGIT_0 && src[at + 2] === DIGIT_0)) return NaN;
  return days * MICROS_PER_DAY + secs * 1_000_000 + frac;
}

/** 10^0 … 10^15, plainDecimal's scales (15 digits at most): each one exact as a double. */
const EXACT_POWERS_OF_10 = Array.from({ length: 16 }, (_, k) => 10 ** k);

/**
 * The double of a plain decimal in src[from, to) (`-?D+(.D+)?`, at most 15 digits D in all), or NaN for any
 * other text, which the caller takes through Number(). Exact, without a string: 15 digits are an integer
 * below 2^53 and the scale at most 10^15, both exact doubles, so their one IEEE division is the correctly
 * rounded value of the decimal, as Number() of the text is (Clinger's fast path: W. D. Clinger, "How to
 * read floating point numbers accurately", PLDI 1990).
 */
export function plainDecimal(src: Uint8Array, from: number, to: number): number {
  const neg = src[from] === MINUS;
  let k = neg ? from + 1 : from;
  let n = 0;
  let digits = 0;
  /** digits after the point; -1 before it */
  let scale = -1;
  for (; k < to; k++) {
    const c = src[k]!;
    if (c === 46 /* . */ && scale === -1 && digits > 0) {
      scale = 0;
      continue;
    }
    const d = c - DIGIT_0;
    if (d < 0 || d > 9) return NaN;
    n = n * 10 + d;
    digits++;
    if (scale >= 0) scale++;
  }
  if (digits === 0 || digits > 15 || scale === 0) return NaN;
  const v = scale > 0 ? n / EXACT_POWERS_OF_10[scale]! : n;
  return neg ? -v : v;
}

const PAGE_TYPE_DATA_PAGE = 0;

/** A v1 data page's PageHeader (Thrift compact) at out[at]; returns the next index. */
function dataPageHeader(out: Buffer, at: number, uncompressed: number, compressed: number, values: number): number {
  at = i32Field(out, at, 1, PAGE_TYPE_DATA_PAGE);
  at = i32Field(out, at, 1, uncompressed);
  at = i32Field(out, at, 1, compressed);
  out[at++] = (2 << 4) | STRUCT; // field 5, data_page_header
  at = i32Field(out, at, 1, values);
  at = i32Field(out, at, 1, PARQUET_ENCODING.PLAIN);
  at = i32Field(out, at, 1, PARQUET_ENCODING.RLE); // definition_level_encoding
  at = i32Field(out, at, 1, PARQUET_ENCODING.RLE); // repetition_level_encoding (no repetition levels are written)
  out[at++] = 0; // end of DataPageHeader
  out[at++] = 0; // end of PageHeader
  return at;
}

/**
 * levels[0, n) (each 0 or 1) as the RLE/bit-packed hybrid of bit width 1 at out[at]; returns the next
 * index. Runs of 8 or more equal levels are RLE runs; the rest bit-packed groups of 8, the last one padded.
 */
function hybridLevels(levels: Uint8Array, n: number, out: Buffer, at: number): number {
  let i = 0;
  const runAt = (k: number): number => {
    let r = 1;
    while (k + r < n && levels[k + r] === levels[k]) r++;
    return r;
  };
  while (i < n) {
    const run = runAt(i);
    if (run >= 8) {
      at = varint(out, at, run * 2);
      out[at++] = levels[i]!;
      i += run;
      continue;
    }
    const start = i;
    let groups = 0;
    while (i < n && (groups === 0 || runAt(i) < 8)) {
      groups++;
      i += 8;
    }
    at = varint(out, at, groups * 2 + 1);
    for (let g = 0; g < groups; g++) {
      let byte = 0;
      for (let b = 0; b < 8; b++) {
        const k = start + g * 8 + b;
        if (k < n && levels[k] === 1) byte |= 1 << b;
      }
      out[at++] = byte;
    }
  }
  return at;
}

/**
 * Builds row groups of `columns` (parquetColumns: the staged table's columns, in order) from CSV rows.
 * One per stream and worker; the buffers are the thread's (scratch), reused from one row group to the next.
 */
export class ParquetRowGroupEncoder {
  private readonly cols: ColumnValues[];

  constructor(readonly columns: readonly ParquetColumn[]) {
    this.cols = columns.map((c, slot) => new ColumnValues(kindOf(c), c, slot));
  }

  /**
   * `bytes[0, length)`: `rows` CSV rows as the encoders write them (a quoted field with `"` doubled, a bare
   * field, or the bare NULL marker `\N`), each ending in a newline → one row group, offsets counted from
   * the first byte of `bytes` of the result. The result's bytes are a view of a buffer the next call of
   * any encoder of this thread reuses: copy them before encoding again. Throws when a row does not hold
   * `columns.length` fields (an encoder bug, never input), or a RangeError naming the column when a value
   * does not fit its Parquet type (a TIMESTAMP past 294247, see timestampMicros: the encoders NULL or
   * reject such a value first under ValuePolicy.parquetTimestamps, so only a caller without it meets this).
   *
   * `fieldEnds` (optional): where the writer of the rows ended each field, `rows × columns.length` indexes
   * into `bytes` (row r's field c at r × columns.length + c: the index of the comma or newline after it);
   * a row whose first entry is -1 is read by looking for its separators, as are all rows without it.
   */
  encode(bytes: Buffer, length: number, rows: number, fieldEnds?: Int32Array): EncodedRowGroup {
    // Two steps: V8 optimizes the row loop while it runs (on-stack replacement), before the code after it
    // has ever run; that code then lacked type feedback, and reaching it threw the loop's code away.
    // Whatever fill() reads before its loop is passed in: V8 may optimize it during its first call, whose
    // start ran before it had a feedback vector, and code optimized so read `this.cols` without feedback.
    const cols = this.cols;
    for (const c of cols) c.reset(rows);
    this.fill(cols, cols.length, bytes, length, rows, fieldEnds);
    return this.assemble(rows);
  }

  /** The values of `rows` CSV rows in `bytes[0, length)` into `cols` (`n` of them, reset; see encode). */
  private fill(cols: readonly ColumnValues[], n: number, bytes: Buffer, length: number, rows: number, fieldEnds: Int32Array | undefined): void {
    let at = 0;
    for (let r = 0; r < rows; r++) {
      // Separators known: no byte is looked at twice (finding them was a tenth of the Parquet encode step).
      if (fieldEnds !== undefined && fieldEnds[r * n]! >= 0) {
        at = this.fillRow(cols, n, bytes, r, fieldEnds, at);
        continue;
      }
      for (let c = 0; c < n; c++) {
        const col = cols[c]!;
        if (bytes[at] === QUOTE) {
          const from = at + 1;
          // The next quote: found by a loop within a short field (most are; a native indexOf call costs
          // more), closing the field unless another quote follows it (a doubled one).
          let q = from;
          const near = Math.min(length, from + 64);
          while (q < near && bytes[q] !== QUOTE) q++;
          if (q === near) q = bytes.indexOf(QUOTE, near);
          const plain = q !== -1 && q + 1 < length && bytes[q + 1] !== QUOTE;
          const close = plain ? q : closingQuote(bytes, at, length);
          if (close === -1) throw new Error(`parquet: unterminated CSV field in row ${r}, column ${c}`);
          at = close + 1;
          if (plain) this.put(col, r, bytes, from, close);
          // A doubled quote: text and SUPER (the usual case: JSON) are written without it in place.
          else if (col.kind === "bytes") putUndoubled(col, r, bytes, from, close);
          else {
            const unquoted = undoubled(bytes, from, close);
            this.put(col, r, unquoted, 0, unquoted.length);
          }
        } else {
          let j = at;
          while (j < length && bytes[j] !== COMMA && bytes[j] !== NEWLINE) j++;
          if (isNullMarker(bytes, at, j)) {
            col.levels[r] = 0;
            col.nulls++;
          } else this.put(col, r, bytes, at, j);
          at = j;
        }
        const sep = at < length ? bytes[at] : -1;
        if (sep !== (c === n - 1 ? NEWLINE : COMMA)) throw new Error(`parquet: CSV row ${r} does not have ${n} fields`);
        at++;
      }
    }
  }

  /** Row `r` from `at`, its fields ending where `ends` says (see encode); the index past its newline. */
  private fillRow(cols: readonly ColumnValues[], n: number, bytes: Buffer, r: number, ends: Int32Array, at: number): number {
    const base = r * n;
    for (let c = 0; c < n; c++) {
      const col = cols[c]!;
      const end = ends[base + c]!;
      if (bytes[end] !== (c === n - 1 ? NEWLINE : COMMA) || end < at) throw new Error(`parquet: CSV row ${r} does not have ${n} fields`);
      if (bytes[at] === QUOTE) {
        const from = at + 1;
        const close = end - 1;
        if (close < from || bytes[close] !== QUOTE) throw new Error(`parquet: unterminated CSV field in row ${r}, column ${c}`);
        // Text and SUPER: a short field is copied with its doubled quotes written once, in one pass; a
        // long one without any is copied whole.
        if (col.kind === "bytes" && close - from < 64) putUndoubled(col, r, bytes, from, close);
        else if (bytes.indexOf(QUOTE, from) === close) this.put(col, r, bytes, from, close);
        else if (col.kind === "bytes") putUndoubled(col, r, bytes, from, close);
        else {
          const unquoted = undoubled(bytes, from, close);
          this.put(col, r, unquoted, 0, unquoted.length);
        }
      } else if (isNullMarker(bytes, at, end)) {
        col.levels[r] = 0;
        col.nulls++;
      } else this.put(col, r, bytes, at, end);
      at = end + 1;
    }
    return at;
  }

  /** One non-NULL field, src[from, to) (quotes removed), into its column; an error names the column. */
  private put(col: ColumnValues, r: number, src: Buffer, from: number, to: number): void {
    try {
      this.putValue(col, r, src, from, to);
    } catch (e) {
      throw inColumn(e, col.column.field.name);
    }
  }

  private putValue(col: ColumnValues, r: number, src: Buffer, from: number, to: number): void {
    col.levels[r] = 1;
    switch (col.kind) {
      case "bytes": {
        const len = to - from;
        col.ensure(4 + len);
        const out = col.values;
        putUint32(out, col.length, len);
        // Most values are short: a loop costs less than Buffer#copy's native call.
        if (len < 48) for (let k = 0, o = col.length + 4; k < len; k++) out[o + k] = src[from + k]!;
        else src.copy(out, col.length + 4, from, to);
        col.length += 4 + len;
        return;
      }
      case "int64":
      case "timestamp": {
        const v = col.kind === "int64" ? smallInteger(src, from, to) : timestampFast(src, from, to);
        if (!Number.isNaN(v)) col.int64(v);
        else col.bigint64(col.kind === "int64" ? BigInt(text(src, from, to)) : timestampMicros(text(src, from, to)));
        return;
      }
      case "int64text":
        col.bigint64(col.column.convert(text(src, from, to)) as bigint);
        return;
      case "int32":
      case "date":
      case "decimal32": {
        let v = col.kind === "int32" ? smallInteger(src, from, to) : NaN;
        if (Number.isNaN(v)) v = col.kind === "date" ? dateDays(text(src, from, to)) : Number(col.column.convert(text(src, from, to)));
        // `v | 0` would write 0 for anything else: exact or loud.
        if (!Number.isSafeInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) throw new RangeError(`parquet: ${text(src, from, to)} does not fit an INT32`);
        col.ensure(4);
        col.values.writeInt32LE(v | 0, col.length);
        col.length += 4;
        return;
      }
      case "float":
        col.ensure(4);
        col.values.writeFloatLE(Number(text(src, from, to)), col.length);
        col.length += 4;
        return;
      case "double": {
        col.ensure(8);
        const v = plainDecimal(src, from, to);
        col.values.writeDoubleLE(Number.isNaN(v) ? Number(text(src, from, to)) : v, col.length);
        col.length += 8;
        return;
      }
      case "boolean": {
        const t = to - from === 4 && src[from] === 116 && src[from + 1] === 114 && src[from + 2] === 117 && src[from + 3] === 101; // "true"
        const byte = col.bits >>> 3;
        col.ensure(byte + 1 - col.length);
        const bit = t ? 1 << (col.bits & 7) : 0;
        col.values[byte] = (col.bits & 7) === 0 ? bit : col.values[byte]! | bit;
        col.bits++;
        col.length = (col.bits + 7) >>> 3;
        return;
      }
      case "fixed": {
        const width = col.column.field.type_length!;
        let v = decimalUnscaled(text(src, from, to), col.column.field.scale ?? 0);
        col.ensure(width);
        for (let k = width - 1; k >= 0; k--) {
          col.values[col.length + k] = Number(v & 0xffn);
          v >>= 8n;
        }
        col.length += width;
        return;
      }
    }
  }

  /** The column chunks of the row group built, each one compressed data page, into `out`. */
  private assemble(rows: number): EncodedRowGroup {
    const cols = this.cols;
    const chunks = new Float64Array(2 * cols.length);
    let length = 0;
    for (let k = 0; k < cols.length; k++) {
      const col = cols[k]!;
      // Page body: definition levels (4-byte length, hybrid), then the PLAIN values. Their hybrid takes at
      // most 1 + 5 bytes per 8 levels (a bit-packed group and its header).
      const maxBody = 4 + 6 * Math.ceil(rows / 8) + 8 + col.length;
      if (scratch.body.length < maxBody) scratch.body = Buffer.allocUnsafe(Math.max(maxBody, scratch.body.length * 2));
      const body = scratch.body;
      let b = 4;
      if (col.nulls === 0 || col.nulls === rows) {
        b = varint(body, b, rows * 2);
        body[b++] = col.nulls === 0 ? 1 : 0;
      } else b = hybridLevels(col.levels, rows, body, b);
      body.writeUInt32LE(b - 4, 0);
      col.values.copy(body, b, 0, col.length);
      b += col.length;
      const compressed = gzipSync(body.subarray(0, b), PARQUET_GZIP_OPTIONS);
      const headerMax = 40;
      const need = length + headerMax + compressed.length;
      if (scratch.out.length < need) {
        const grown = Buffer.allocUnsafe(Math.max(need, scratch.out.length * 2));
        scratch.out.copy(grown, 0, 0, length);
        scratch.out = grown;
      }
      const start = length;
      length = dataPageHeader(scratch.out, length, b, compressed.length, rows);
      const header = length - start;
      compressed.copy(scratch.out, length);
      length += compressed.length;
      chunks[2 * k] = length - start;
      chunks[2 * k + 1] = header + b;
    }
    return { bytes: scratch.out.subarray(0, length), rows, chunks };
  }
}

/** src[from, to) as text (non-text kinds: ASCII; latin1 reads it without a UTF-8 decode). */
function text(src: Buffer, from: number, to: number): string {
  return src.toString("latin1", from, to);
}

/** A BYTE_ARRAY value from bytes[from, to) with each `""` written once, straight into its column. */
function putUndoubled(col: ColumnValues, r: number, bytes: Buffer, from: number, to: number): void {
  col.levels[r] = 1;
  col.ensure(4 + to - from);
  const out = col.values;
  const start = col.length;
  let o = start + 4;
  for (let k = from; k < to; k++) {
    out[o++] = bytes[k]!;
    if (bytes[k] === QUOTE) k++;
  }
  putUint32(out, start, o - start - 4);
  col.length = o;
}

/** bytes[from, to) with each `""` written once. */
function undoubled(bytes: Buffer, from: number, to: number): Buffer {
  const out = Buffer.allocUnsafe(to - from);
  let o = 0;
  for (let k = from; k < to; k++) {
    out[o++] = bytes[k]!;
    if (bytes[k] === QUOTE) k++;
  }
  return out.subarray(0, o);
}
