/**
 * Writes a batch's rows into several Parquet files of similar size (rule 17), the Parquet counterpart of
 * PartWriter. Rows are gathered column by column into one row group; when the group holds
 * ROW_GROUP_ROWS rows or about ROW_GROUP_BYTES of values it is encoded (hyparquet-writer, pages compressed
 * as PARQUET_CODEC) and appended to the next part, round-robin, so a small batch stays one file and a large
 * one spreads evenly.
 *
 * Memory bound per batch: one open row group (≤ ROW_GROUP_BYTES of value text, ×2–3 as JS values) plus
 * each open part's output buffer (16 KiB to PART_BUFFER_BYTES, see PartFile) plus the transient encoding of one row
 * group. Encoding runs on the main thread; file writes are synchronous.
 * The encoding's garbage is what sets the process's peak RSS (bench, 300k records, stage-only): groups of
 * 2 MiB → 230 MiB, 8 MiB → 404 MiB, 32 MiB → 620 MiB. 2 MiB ≈ 6,000 rows of the bench's records.
 *
 * Rows an encode worker took arrive already encoded, one row group per span of a unit
 * (encode/parquet-row-group.ts there, writeRowGroup here): their bytes are appended and the group's offsets
 * moved to where it landed; the main thread encodes nothing for them. Such groups hold a unit's rows of
 * the stream (~3,000 bench records), smaller than the ones gathered here; COPY reads any number of row
 * groups.
 *
 * The file has exactly the columns given, in order (COPY binds Parquet columns by position, rule 18).
 */
import { closeSync, openSync, writeFileSync, writeSync } from "node:fs";
import { mkdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync, type ZlibOptions } from "node:zlib";
import { ByteWriter, ParquetWriter } from "hyparquet-writer";
import { GZIP_WINDOW_BITS, type StagedPart } from "./part-writer.js";
import { BINARY, CompactWriter, I32, STRUCT } from "./thrift-compact.js";

/** The subset of Parquet's SchemaElement this writer emits (structurally hyparquet's SchemaElement). */
export interface ParquetField {
  name: string;
  type: "BOOLEAN" | "INT32" | "INT64" | "FLOAT" | "DOUBLE" | "BYTE_ARRAY" | "FIXED_LEN_BYTE_ARRAY";
  repetition_type: "OPTIONAL";
  type_length?: number;
  converted_type?: "UTF8" | "DECIMAL" | "DATE" | "TIMESTAMP_MICROS" | "TIME_MICROS";
  logical_type?:
    | { type: "JSON" }
    | { type: "DECIMAL"; scale: number; precision: number }
    | { type: "TIMESTAMP" | "TIME"; isAdjustedToUTC: boolean; unit: "MICROS" };
  scale?: number;
  precision?: number;
}

export type ParquetValue = string | number | bigint | boolean | Uint8Array | null;
/** Normalised text (never null: nulls are handled by the caller) → Parquet value. */
export type ParquetConvert = (text: string) => ParquetValue;

export const ROW_GROUP_ROWS = 100_000;
export const ROW_GROUP_BYTES = 2 * 1024 * 1024;

export interface ParquetColumn {
  field: ParquetField;
  convert: ParquetConvert;
}

interface Part {
  path: string;
  file: PartFile;
  writer: ParquetWriter;
  rows: number;
  /** whether a row group was encoded here by hyparquet-writer (else all came from encode workers) */
  mainThreadGroups: boolean;
}

type WriteOptions = ConstructorParameters<typeof ParquetWriter>[0];
type RowGroup = ParquetWriter["row_groups"][number];

/**
 * A row group encoded away from its file (by an encode worker): its column chunks' bytes, and its
 * metadata with every offset counted from the first byte of `bytes`. Structured-cloneable (bigints).
 */
export interface EncodedRowGroup {
  bytes: Uint8Array;
  rowGroup: RowGroup;
  rows: number;
}

/**
 * The codec of every Parquet page we write: GZIP, which Redshift's COPY (through Spectrum's Parquet reader)
 * reads like SNAPPY, done by Node's zlib (native) instead of hyparquet-writer's JavaScript snappy: on the
 * bench's rows it is as fast or faster and the parts are about 40% smaller (issue 14 measurements).
 */
export const PARQUET_CODEC = "GZIP";
/**
 * zlib settings for a page: level 1 and the window of the CSV parts (speed first; the parts travel to S3
 * once). Over the pages of 200,000 bench rows, the 8 KiB window compressed ~10% faster and 2% smaller
 * than the default 32 KiB.
 */
export const PARQUET_GZIP_OPTIONS: ZlibOptions = { level: 1, windowBits: GZIP_WINDOW_BITS };

/** Bytes a part buffers at most before writing them to its file (it starts at PART_BUFFER_START). */
export const PART_BUFFER_BYTES = 256 * 1024;
const PART_BUFFER_START = 16 * 1024;
/** An append this large (a worker's row group) is written to the file as it is, not copied into the buffer. */
const DIRECT_APPEND_BYTES = 64 * 1024;

/**
 * A part's file as hyparquet-writer's Writer: a buffer of at most PART_BUFFER_BYTES appended to the file
 * when full, and a large append (an encode worker's row group, ~150 KB on the bench) appended straight
 * from its bytes. hyparquet-writer's own fileWriter grew its buffer from 1 KiB by copying into fresh
 * (zeroed) memory without bound between its 1 MB flushes, and copied each row group into the buffer
 * first: on the main thread that was ~0.2 s of its ensure() and ~0.2 s more garbage collection per 1M
 * Parquet rows (bench, CPU profile). No file stays open between writes: a run holds a part per slice for
 * every open batch, and hundreds of streams on a many-slice cluster would run out of descriptors
 * (EMFILE). A part whose rows all came from workers keeps a 16 KiB buffer. Errors name the file.
 */
export class PartFile extends ByteWriter {
  private closed = false;

  constructor(readonly path: string) {
    super(PART_BUFFER_START);
    failsNaming(path, () => writeFileSync(path, ""));
  }

  /** Room for `size` more bytes in the buffer (ByteWriter's contract): grown up to its bound, then written out. */
  override ensure(size: number): void {
    if (this.index + size <= this.buffer.byteLength) return;
    if (this.index + size > PART_BUFFER_BYTES) this.writeBuffered();
    if (this.index + size > this.buffer.byteLength) super.ensure(size);
  }

  override appendBytes(value: Uint8Array): void {
    if (value.length < DIRECT_APPEND_BYTES) {
      super.appendBytes(value);
      return;
    }
    this.writeBuffered();
    this.writeOut(value);
    this.offset += value.length;
  }

  /** Writes what is buffered (hyparquet-writer calls it after the footer); nothing may be written after. */
  override finish(): void {
    this.writeBuffered();
    this.close();
  }

  /** Ends the file without writing what is buffered (a discarded part). Idempotent. */
  close(): void {
    this.closed = true;
  }

  override getBuffer(): ArrayBuffer {
    throw new Error("PartFile: its bytes are in its file");
  }

  override getBytes(): Uint8Array<ArrayBuffer> {
    throw new Error("PartFile: its bytes are in its file");
  }

  private writeBuffered(): void {
    if (this.index === 0) return;
    this.writeOut(new Uint8Array(this.buffer, 0, this.index));
    this.index = 0;
  }

  private writeOut(bytes: Uint8Array): void {
    if (this.closed) throw new Error(`parquet part ${this.path}: written after it was closed`);
    failsNaming(this.path, () => {
      const fd = openSync(this.path, "a");
      try {
        for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
      } finally {
        closeSync(fd);
      }
    });
  }
}

/** Runs `f`; an error it throws names the part's file. */
function failsNaming<T>(path: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof Error && !e.message.includes(path)) e.message = `parquet part ${path}: ${e.message}`;
    throw e;
  }
}

/** Enum values of parquet.thrift (Type, ConvertedType, Encoding, CompressionCodec, FieldRepetitionType). */
const PHYSICAL_TYPE: Record<ParquetField["type"], number> = { BOOLEAN: 0, INT32: 1, INT64: 2, FLOAT: 4, DOUBLE: 5, BYTE_ARRAY: 6, FIXED_LEN_BYTE_ARRAY: 7 };
const CONVERTED_TYPE: Record<NonNullable<ParquetField["converted_type"]>, number> = { UTF8: 0, DECIMAL: 5, DATE: 6, TIME_MICROS: 8, TIMESTAMP_MICROS: 10 };
/** The encodings our pages use (the workers' page headers write them too). */
export const PARQUET_ENCODING = { PLAIN: 0, RLE: 3 } as const;
const ENCODING: Record<string, number> = PARQUET_ENCODING;
const CODEC: Record<string, number> = { UNCOMPRESSED: 0, SNAPPY: 1, GZIP: 2 };
const OPTIONAL = 1;
const CREATED_BY = "target-redshift";

/**
 * The footer of a part whose row groups all came from the encode workers: FileMetaData (parquet.thrift)
 * in the compact protocol, then its length (4 bytes, little-endian) — the bytes hyparquet-writer's
 * ParquetWriter.finish writes for the same file (golden test), without its generic serializer, which
 * cost the main thread more to compile (~0.17 s per 1M-record run) than to run, and bailed out of its
 * optimized code a dozen times a run. Version 2, the schema (root, then `fields`), the row count, the row
 * groups, created_by, and a TypeDefinedOrder per column. Throws on a row group field it does not write
 * (statistics, dictionary pages…): such groups were not made by the workers.
 */
export function workerPartFooter(fields: readonly ParquetField[], numRows: bigint, rowGroups: readonly RowGroup[]): Buffer {
  const w = new CompactWriter();
  w.struct();
  w.i32(1, 2);
  w.list(2, STRUCT, fields.length + 1);
  w.struct();
  w.binary(4, "root");
  w.i32(5, fields.length);
  w.end();
  for (const f of fields) {
    w.struct();
    w.i32(1, PHYSICAL_TYPE[f.type]);
    if (f.type_length !== undefined) w.i32(2, f.type_length);
    w.i32(3, OPTIONAL);
    w.binary(4, f.name);
    if (f.converted_type !== undefined) w.i32(6, CONVERTED_TYPE[f.converted_type]);
    if (f.scale !== undefined) w.i32(7, f.scale);
    if (f.precision !== undefined) w.i32(8, f.precision);
    const l = f.logical_type;
    if (l) {
      w.struct(10);
      if (l.type === "JSON") w.empty(12);
      else if (l.type === "DECIMAL") {
        w.struct(5);
        w.i32(1, l.scale);
        w.i32(2, l.precision);
        w.end();
      } else {
        w.struct(l.type === "TIME" ? 7 : 8);
        w.bool(1, l.isAdjustedToUTC);
        w.struct(2);
        w.empty(2); // MICROS
        w.end();
        w.end();
      }
      w.end();
    }
    w.end();
  }
  w.i64(3, numRows);
  w.list(4, STRUCT, rowGroups.length);
  for (const g of rowGroups) {
    const { columns, total_byte_size, num_rows, total_compressed_size, ...other } = g;
    if (Object.keys(other).length > 0 || total_compressed_size === undefined) throw new Error(`workerPartFooter: a row group with ${Object.keys(other).join(", ") || "no total_compressed_size"}`);
    w.struct();
    w.list(1, STRUCT, columns.length);
    for (const c of columns) {
      const { file_offset, meta_data: m, ...rest } = c;
      if (Object.keys(rest).length > 0 || !m) throw new Error(`workerPartFooter: a column chunk with ${Object.keys(rest).join(", ") || "no meta_data"}`);
      const { type, encodings, path_in_schema, codec, num_values, total_uncompressed_size, total_compressed_size: compressed, data_page_offset, ...more } = m;
      if (Object.keys(more).length > 0) throw new Error(`workerPartFooter: column metadata with ${Object.keys(more).join(", ")}`);
      w.struct();
      w.i64(2, file_offset);
      w.struct(3);
      w.i32(1, PHYSICAL_TYPE[type as ParquetField["type"]]);
      w.list(2, I32, encodings.length);
      for (const e of encodings) w.i32Element(known(ENCODING, e));
      w.list(3, BINARY, path_in_schema.length);
      for (const name of path_in_schema) w.string(name);
      w.i32(4, known(CODEC, codec));
      w.i64(5, num_values);
      w.i64(6, total_uncompressed_size);
      w.i64(7, compressed);
      w.i64(9, data_page_offset);
      w.end();
      w.end();
    }
    w.i64(2, total_byte_size);
    w.i64(3, num_rows);
    w.i64(6, total_compressed_size);
    w.end();
  }
  w.binary(6, CREATED_BY);
  w.list(7, STRUCT, fields.length);
  for (let i = 0; i < fields.length; i++) {
    w.struct();
    w.empty(1); // TYPE_ORDER
    w.end();
  }
  w.end();
  const meta = w.bytes();
  const out = Buffer.allocUnsafe(meta.length + 4);
  meta.copy(out, 0);
  out.writeUInt32LE(meta.length, meta.length);
  return out;
}

function known(table: Record<string, number>, name: string): number {
  const n = table[name];
  if (n === undefined) throw new Error(`workerPartFooter: ${name} is not written by the workers`);
  return n;
}

/** A writer of exactly `columns`, in order (COPY binds by position, rule 18), into a file. */
function parquetWriter(out: WriteOptions["writer"], columns: readonly ParquetColumn[]): ParquetWriter {
  const schema = [{ name: "root", num_children: columns.length }, ...columns.map((c) => c.field)];
  return new ParquetWriter({
    writer: out,
    schema: schema as WriteOptions["schema"],
    statistics: false,
    createdBy: CREATED_BY,
    codec: PARQUET_CODEC,
    compressors: { [PARQUET_CODEC]: (bytes: Uint8Array) => gzipSync(bytes, PARQUET_GZIP_OPTIONS) },
  });
}

/**
 * `e` (a value's converter or writer failing) with the Parquet column named in its message, for the main
 * thread's rows and the workers' row groups alike. Returns `e` itself, to be thrown.
 */
export function inColumn(e: unknown, column: string): unknown {
  if (e instanceof Error) e.message = `column ${JSON.stringify(column)}: ${e.message}`;
  return e;
}

/** Moves a row group's column chunk offsets by `by` bytes (in place). */
function shiftOffsets(group: RowGroup, by: bigint): void {
  for (const chunk of group.columns) {
    chunk.file_offset += by;
    const m = chunk.meta_data;
    if (!m) continue;
    m.data_page_offset += by;
    if (m.dictionary_page_offset !== undefined) m.dictionary_page_offset += by;
    if (m.index_page_offset !== undefined) m.index_page_offset += by;
    if (m.bloom_filter_offset !== undefined) m.bloom_filter_offset += by;
  }
}

export class ParquetPartWriter {
  private readonly parts: Part[] = [];
  private group: ParquetValue[][];
  private groupRows = 0;
  private groupChars = 0;
  private nextPart = 0;
  rows = 0;
  /** Characters of value text written (≈ the CSV size); drives batch_size_bytes like PartWriter's. */
  chars = 0;

  constructor(
    private readonly dir: string,
    private readonly maxParts: number,
    private readonly columns: readonly ParquetColumn[],
    private readonly groupRowsLimit = ROW_GROUP_ROWS,
    private readonly groupBytesLimit = ROW_GROUP_BYTES,
  ) {
    this.group = columns.map(() => []);
  }

  static async create(dir: string, maxParts: number, columns: readonly ParquetColumn[]): Promise<ParquetPartWriter> {
    await mkdir(dir, { recursive: true });
    return new ParquetPartWriter(dir, Math.max(1, maxParts), columns);
  }

  /**
   * Appends one row: the encoders' normalised text per column (null for NULL), in column order. Returns
   * nothing to wait for (writes are synchronous), the same contract as PartWriter.write.
   */
  write(values: readonly (string | null)[]): Promise<void> | undefined {
    const cols = this.columns;
    if (values.length !== cols.length) throw new Error(`parquet row has ${values.length} values for ${cols.length} columns`);
    let chars = 0;
    for (let i = 0; i < cols.length; i++) {
      const v = values[i]!;
      if (v === null) {
        this.group[i]!.push(null);
        chars += 3;
      } else {
        let value: ParquetValue;
        try {
          value = cols[i]!.convert(v);
        } catch (e) {
          throw inColumn(e, cols[i]!.field.name);
        }
        this.group[i]!.push(value);
        chars += v.length + 1;
      }
    }
    this.rows++;
    this.groupRows++;
    this.groupChars += chars;
    this.chars += chars;
    if (this.groupRows >= this.groupRowsLimit || this.groupChars >= this.groupBytesLimit) this.flushGroup();
    return undefined;
  }

  /**
   * Appends a row group encoded elsewhere (ParquetRowGroupEncoder, same columns) to the next part,
   * round-robin as the groups gathered here. `chars`: the rows' CSV text length, for the batch's byte limit.
   */
  writeRowGroup(group: EncodedRowGroup, chars: number): void {
    if (group.rowGroup.columns.length !== this.columns.length) {
      throw new Error(`parquet row group has ${group.rowGroup.columns.length} columns for ${this.columns.length}`);
    }
    const part = this.nextPartToWrite();
    const out = part.writer.writer;
    shiftOffsets(group.rowGroup, BigInt(out.offset));
    out.appendBytes(group.bytes);
    part.writer.row_groups.push(group.rowGroup);
    part.writer.num_rows += BigInt(group.rows);
    part.rows += group.rows;
    this.rows += group.rows;
    this.chars += chars;
  }

  private nextPartToWrite(): Part {
    const index = this.nextPart;
    this.nextPart = (this.nextPart + 1) % this.maxParts;
    let part = this.parts[index];
    if (!part) {
      const path = join(this.dir, `part-${String(index).padStart(4, "0")}.parquet`);
      const file = new PartFile(path);
      part = { path, file, writer: parquetWriter(file, this.columns), rows: 0, mainThreadGroups: false };
      this.parts[index] = part;
    }
    return part;
  }

  private flushGroup(): void {
    if (this.groupRows === 0) return;
    const part = this.nextPartToWrite();
    part.mainThreadGroups = true;
    const rows = this.groupRows;
    const data = this.group;
    this.group = this.columns.map(() => []);
    this.groupRows = 0;
    this.groupChars = 0;
    part.writer.write({
      // PLAIN, no dictionary: the layout of the workers' row groups, and a dictionary keys its values by
      // SameValueZero, so a -0 after a 0 in a DOUBLE column came back as 0.
      columnData: this.columns.map((c, i) => ({ name: c.field.name, data: data[i]! as never[], encoding: "PLAIN" as const })),
      rowGroupSize: rows,
    });
    part.rows += rows;
  }

  /** Ends every part and returns them (empty parts are never created). */
  async finish(): Promise<StagedPart[]> {
    this.flushGroup();
    const out: StagedPart[] = [];
    for (const part of this.parts) {
      if (!part) continue;
      if (part.mainThreadGroups) part.writer.finish();
      else {
        const footer = workerPartFooter(
          this.columns.map((c) => c.field),
          part.writer.num_rows,
          part.writer.row_groups,
        );
        part.file.appendBytes(footer);
        part.file.appendUint32(0x31524150); // PAR1
        part.file.finish();
      }
      out.push({ path: part.path, bytes: (await stat(part.path)).size, rows: part.rows });
    }
    return out;
  }

  /** Stops writing and removes the files (on failure or after upload). */
  async discard(): Promise<void> {
    for (const part of this.parts) part?.file.close();
    this.group = this.columns.map(() => []);
    this.groupRows = 0;
    await rm(this.dir, { recursive: true, force: true });
  }
}
