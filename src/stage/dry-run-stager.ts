/**
 * The stager of `--dry-run`: part files are written locally as in a real run (so sizes and row counts are
 * real), then removed; nothing is sent to S3 — no part, no manifest, no run marker — and no sweep deletes
 * anything. The manifest URL it returns is where a real run would put it.
 */
import { rm } from "node:fs/promises";
import type { StagedPart } from "./part-writer.js";
import type { StagedBatch } from "../load/warehouse.js";
import { S3Stager } from "./s3-stager.js";

export class DryRunStager extends S3Stager {
  override async put(): Promise<void> {}

  override async upload(prefix: string, parts: readonly StagedPart[]): Promise<StagedBatch> {
    const parquet = parts.length > 0 && parts.every((p) => p.path.endsWith(".parquet"));
    const keys = parts.map((_, i) => `${prefix}part-${String(i).padStart(4, "0")}${parquet ? ".parquet" : ".csv.gz"}`);
    await Promise.all(parts.map((p) => rm(p.path, { force: true })));
    return {
      manifestUrl: this.url(`${prefix}manifest.json`),
      keys: [...keys, `${prefix}manifest.json`],
      rows: parts.reduce((n, p) => n + p.rows, 0),
      bytes: parts.reduce((n, p) => n + p.bytes, 0),
    };
  }

  override async remove(): Promise<void> {}
  /** No run marker: nothing is staged for another run's sweep to spare. */
  override async putRunMarker(): Promise<void> {}
  override async removeRunMarker(): Promise<void> {}
  /** Other runs' leftovers stay where they are: a dry run deletes nothing. */
  override async sweep(): Promise<string[]> {
    return [];
  }
}
