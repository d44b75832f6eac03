/**
 * Writes a batch's rows into several Parquet files of similar size (rule 17), the Parquet counterpart of
 * PartWriter. Rows are gathered column by column into one row group; when the group holds
 * ROW_GROUP_ROWS rows or about ROW_GROUP_BYTES of values it is encoded (hyparquet-writer, snappy) and
 * appended to the next part, round-robin, so a small batch stays one file and a large one spreads evenly.
 *
 * Memory bound per batch: one open row group (≤ ROW_GROUP_BYTES of value text, ×2–3 as JS values) plus
 * each open part's output buffer (hyparquet-writer's file writer flushes at 1 MB) plus the transient
 * encoding of one row group. Encoding runs on the main thread; file writes are synchronous 1 MB appends.
 * The encoding's garbage is what sets the process's peak RSS (bench, 300k records, stage-only): groups of
 * 2 MiB → 230 MiB, 8 MiB → 404 MiB, 32 MiB → 620 MiB. 2 MiB ≈ 6,000 rows of the bench's records.
 *
 * The file has exactly the columns given, in order (COPY binds Parquet columns by position, rule 18).
 */
import { mkdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { ParquetWriter, fileWriter } from "hyparquet-writer";
import type { StagedPart } from "./part-writer.js";

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
  writer: ParquetWriter;
  rows: number;
}

type WriteOptions = ConstructorParameters<typeof ParquetWriter>[0];

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
        this.group[i]!.push(cols[i]!.convert(v));
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

  private flushGroup(): void {
    if (this.groupRows === 0) return;
    const index = this.nextPart;
    this.nextPart = (this.nextPart + 1) % this.maxParts;
    let part = this.parts[index];
    if (!part) {
      const path = join(this.dir, `part-${String(index).padStart(4, "0")}.parquet`);
      const schema = [{ name: "root", num_children: this.columns.length }, ...this.columns.map((c) => c.field)];
      const writer = new ParquetWriter({ writer: fileWriter(path), schema: schema as WriteOptions["schema"], statistics: false, createdBy: "target-redshift" });
      part = { path, writer, rows: 0 };
      this.parts[index] = part;
    }
    const rows = this.groupRows;
    const data = this.group;
    this.group = this.columns.map(() => []);
    this.groupRows = 0;
    this.groupChars = 0;
    part.writer.write({
      columnData: this.columns.map((c, i) => ({ name: c.field.name, data: data[i]! as never[] })),
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
    this.group = this.columns.map(() => []);
    this.groupRows = 0;
    await rm(this.dir, { recursive: true, force: true });
  }
}
