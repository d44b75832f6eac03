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
 * (encode/parquet-row-group.ts there, writeRowGroup here): their bytes are appended and where the group
 * starts is noted (the footer works out each chunk's offset from the sizes it came with); the main thread
 * encodes nothing for them. Such groups hold a unit's rows of the stream (~3,000 bench records), smaller
 * than the ones gathered here; COPY reads any number of row groups.
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
  /**
   * The workers' row groups, in file order, keyed by the stand-in each left in `writer.row_groups` (where
   * hyparquet-writer's own groups also go): a part of workers' groups only gets workerPartFooter over
   * these; a mixed part's stand-ins are replaced by rowGroupOf before hyparquet-writer's footer.
   */
  workerGroups: Map<RowGroup, PlacedRowGroup>;
}

type WriteOptions = ConstructorParameters<typeof ParquetWriter>[0];
type RowGroup = ParquetWriter["row_groups"][number];

/**
 * A row group encoded away from its file (by an encode worker): its column chunks, one data page each
 * (PLAIN values, RLE definition levels, PARQUET_CODEC), and their sizes. Numbers only: it is cloned to the
 * main thread per span, and the footer is written from it (workerPartFooter). Hyparquet-writer's RowGroup
 * with its bigints (rowGroupOf) cost more to build, clone and serialise than the footer was worth.
 */
export interface EncodedRowGroup {
  /** the column chunks, in column order, back to back */
  bytes: Uint8Array;
  rows: number;
  /** per column k: [2k] its chunk's bytes in `bytes` (page header + compressed body), [2k+1] the chunk uncompressed (header + body), in bytes */
  chunks: Float64Array;
}

/** A worker's row group written into a part, from byte `offset` of the part's file. */
export interface PlacedRowGroup {
  offset: number;
  rows: number;
  chunks: Float64Array;
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
const CODEC = { UNCOMPRESSED: 0, SNAPPY: 1, GZIP: 2 } as const;
const OPTIONAL = 1;
const CREATED_BY = "target-redshift";

/**
 * The footer of a part whose row groups all came from the encode workers: FileMetaData (parquet.thrift)
 * in the compact protocol, then its length (4 bytes, little-endian) — the bytes hyparquet-writer's
 * ParquetWriter.finish writes for the same file given rowGroupOf's row groups (golden test), without its
 * generic serializer, which cost the main thread more to compile than to run. Version 2, the schema
 * (root, then `fields`), the row count, the row groups (`groups`, in file order), created_by, and a
 * TypeDefinedOrder per column. Every column chunk is what the workers write: one data page at the
 * chunk's first byte, encodings PLAIN and RLE, PARQUET_CODEC. Throws when a group has no sizes for
 * every field.
 */
export function workerPartFooter(fields: readonly ParquetField[], groups: readonly PlacedRowGroup[]): Buffer {
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
  let numRows = 0;
  for (const g of groups) numRows += g.rows;
  w.i64(3, numRows);
  w.list(4, STRUCT, groups.length);
  for (const g of groups) {
    if (g.chunks.length !== 2 * fields.length) throw new Error(`workerPartFooter: a row group with ${g.chunks.length / 2} column chunks for ${fields.length} columns`);
    w.struct();
    w.list(1, STRUCT, fields.length);
    let at = g.offset;
    let uncompressed = 0;
    for (let k = 0; k < fields.length; k++) {
      const bytes = g.chunks[2 * k]!;
      const raw = g.chunks[2 * k + 1]!;
      columnChunk(w, fields[k]!, g.rows, at, bytes, raw);
      at += bytes;
      uncompressed += raw;
    }
    w.i64(2, uncompressed);
    w.i64(3, g.rows);
    w.i64(6, at - g.offset);
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

/** A ColumnChunk of one data page at `offset` (bytes from the file's start), as rowGroupOf describes it. */
function columnChunk(w: CompactWriter, f: ParquetField, rows: number, offset: number, bytes: number, uncompressed: number): void {
  w.struct();
  w.i64(2, offset); // file_offset
  w.struct(3);
  w.i32(1, PHYSICAL_TYPE[f.type]);
  w.list(2, I32, 2);
  w.i32Element(PARQUET_ENCODING.PLAIN);
  w.i32Element(PARQUET_ENCODING.RLE);
  w.list(3, BINARY, 1);
  w.string(f.name);
  w.i32(4, CODEC[PARQUET_CODEC]);
  w.i64(5, rows);
  w.i64(6, uncompressed);
  w.i64(7, bytes);
  w.i64(9, offset); // data_page_offset
  w.end();
  w.end();
}

/**
 * A worker's row group as hyparquet-writer's RowGroup (bigints), for a part that also holds row groups
 * hyparquet-writer encoded: the metadata workerPartFooter writes, field for field.
 */
export function rowGroupOf(g: PlacedRowGroup, fields: readonly ParquetField[]): RowGroup {
  let at = g.offset;
  let uncompressed = 0;
  const columns = fields.map((f, k) => {
    const bytes = g.chunks[2 * k]!;
    const raw = g.chunks[2 * k + 1]!;
    const chunk = {
      meta_data: {
        type: f.type,
        encodings: ["PLAIN", "RLE"],
        path_in_schema: [f.name],
        codec: PARQUET_CODEC,
        num_values: BigInt(g.rows),
        total_compressed_size: BigInt(bytes),
        total_uncompressed_size: BigInt(raw),
        data_page_offset: BigInt(at),
      },
      file_offset: BigInt(at),
    };
    at += bytes;
    uncompressed += raw;
    return chunk;
  });
  return { columns, total_byte_size: BigInt(uncompressed), num_rows: BigInt(g.rows), total_compressed_size: BigInt(at - g.offset) } as RowGroup;
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
    if (group.chunks.length !== 2 * this.columns.length) {
      throw new Error(`parquet row group has ${group.chunks.length / 2} columns for ${this.columns.length}`);
    }
    const part = this.nextPartToWrite();
    const out = part.writer.writer;
    const standIn = {} as RowGroup;
    part.workerGroups.set(standIn, { offset: out.offset, rows: group.rows, chunks: group.chunks });
    out.appendBytes(group.bytes);
    part.writer.row_groups.push(standIn);
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
      part = { path, file, writer: parquetWriter(file, this.columns), rows: 0, mainThreadGroups: false, workerGroups: new Map() };
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
      const fields = this.columns.map((c) => c.field);
      if (part.mainThreadGroups) {
        const groups = part.writer.row_groups;
        for (let i = 0; i < groups.length; i++) {
          const placed = part.workerGroups.get(groups[i]!);
          if (placed) groups[i] = rowGroupOf(placed, fields);
        }
        part.writer.finish();
      } else {
        const footer = workerPartFooter(fields, [...part.workerGroups.values()]);
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
