/**
 * Writes a batch's rows into several Parquet files of similar size (rule 17), the Parquet counterpart of
 * PartWriter. Rows are gathered column by column into one row group; when the group holds
 * ROW_GROUP_ROWS rows or about ROW_GROUP_BYTES of values it is encoded (hyparquet-writer, pages compressed
 * as PARQUET_CODEC) and appended to the next part, round-robin, so a small batch stays one file and a large
 * one spreads evenly.
 *
 * Memory bound per batch: one open row group (≤ ROW_GROUP_BYTES of value text, ×2–3 as JS values) plus
 * each open part's output buffer (PART_BUFFER_BYTES, see PartFile) plus the transient encoding of one row
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
import { closeSync, openSync, writeSync } from "node:fs";
import { mkdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync, type ZlibOptions } from "node:zlib";
import { ByteWriter, ParquetWriter } from "hyparquet-writer";
import { GZIP_WINDOW_BITS, type StagedPart } from "./part-writer.js";

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

/** Bytes a part buffers before writing them to its file. */
export const PART_BUFFER_BYTES = 256 * 1024;
/** An append this large (a worker's row group) is written to the file as it is, not copied into the buffer. */
const DIRECT_APPEND_BYTES = 64 * 1024;

/**
 * A part's file as hyparquet-writer's Writer: a fixed buffer written out through one open descriptor, and
 * a large append (an encode worker's row group, ~150 KB on the bench) written straight from its bytes.
 * hyparquet-writer's own fileWriter grew its buffer from 1 KiB by copying into fresh (zeroed) memory,
 * reopened the file for every 1 MB it wrote, and copied each row group into the buffer first: on the
 * main thread that was ~0.2 s of its ensure() and ~0.2 s more garbage collection per 1M Parquet rows
 * (bench, CPU profile). Errors name the file.
 */
export class PartFile extends ByteWriter {
  private fd: number;

  constructor(readonly path: string) {
    super(PART_BUFFER_BYTES);
    this.fd = failsNaming(path, () => openSync(path, "w"));
  }

  /** Room for `size` more bytes in the buffer (ByteWriter's contract), written out first when full. */
  override ensure(size: number): void {
    if (this.index + size <= this.buffer.byteLength) return;
    this.writeBuffered();
    if (size > this.buffer.byteLength) super.ensure(size);
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

  /** Writes what is buffered and closes the file (hyparquet-writer calls it after the footer). */
  override finish(): void {
    this.writeBuffered();
    this.close();
  }

  /** Closes the file without writing what is buffered (a discarded part). Idempotent. */
  close(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    failsNaming(this.path, () => closeSync(fd));
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
    if (this.fd < 0) throw new Error(`parquet part ${this.path}: written after it was closed`);
    failsNaming(this.path, () => {
      for (let at = 0; at < bytes.length; ) at += writeSync(this.fd, bytes, at, bytes.length - at);
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

/** A writer of exactly `columns`, in order (COPY binds by position, rule 18), into a file. */
function parquetWriter(out: WriteOptions["writer"], columns: readonly ParquetColumn[]): ParquetWriter {
  const schema = [{ name: "root", num_children: columns.length }, ...columns.map((c) => c.field)];
  return new ParquetWriter({
    writer: out,
    schema: schema as WriteOptions["schema"],
    statistics: false,
    createdBy: "target-redshift",
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
      part = { path, file, writer: parquetWriter(file, this.columns), rows: 0 };
      this.parts[index] = part;
    }
    return part;
  }

  private flushGroup(): void {
    if (this.groupRows === 0) return;
    const part = this.nextPartToWrite();
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
      part.writer.finish();
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
