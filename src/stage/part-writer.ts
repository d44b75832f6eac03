/**
 * Writes a batch's CSV rows into several gzip files of similar size (rule 17: many roughly equal files
 * let every slice load in parallel). Rows are gathered into chunks of ~256 KiB and chunks go round-robin
 * to the parts, so a small batch stays one file and a large one spreads evenly. Compression runs on
 * libuv's thread pool (zlib streams), data goes to disk, not memory: memory per batch is bounded by the
 * chunk size and zlib's buffers.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { once } from "node:events";
import { createGzip, type Gzip, constants as zc } from "node:zlib";

export interface StagedPart {
  path: string;
  /** compressed size */
  bytes: number;
  rows: number;
}

const CHUNK_BYTES = 256 * 1024;

interface Part {
  path: string;
  gzip: Gzip;
  file: WriteStream;
  rows: number;
  done: Promise<void>;
}

export class PartWriter {
  private readonly parts: Part[] = [];
  private chunk: string[] = [];
  private chunkChars = 0;
  private chunkRows = 0;
  private nextPart = 0;
  rows = 0;
  /** Uncompressed characters written (≈ bytes for mostly-ASCII data); drives batch_size_bytes. */
  chars = 0;

  constructor(
    private readonly dir: string,
    private readonly maxParts: number,
    private readonly level: number = 1,
  ) {}

  static async create(dir: string, maxParts: number): Promise<PartWriter> {
    await mkdir(dir, { recursive: true });
    return new PartWriter(dir, Math.max(1, maxParts));
  }

  /** Appends one CSV row (without its newline). Returns a promise only when the disk needs to catch up. */
  write(row: string): Promise<void> | undefined {
    this.chunk.push(row);
    this.chunkChars += row.length + 1;
    this.chunkRows++;
    this.rows++;
    this.chars += row.length + 1;
    if (this.chunkChars >= CHUNK_BYTES) return this.flushChunk();
    return undefined;
  }

  private openPart(index: number): Part {
    const path = join(this.dir, `part-${String(index).padStart(4, "0")}.csv.gz`);
    const gzip = createGzip({ level: this.level, memLevel: 9, chunkSize: 64 * 1024, strategy: zc.Z_DEFAULT_STRATEGY });
    const file = createWriteStream(path);
    gzip.pipe(file);
    const done = new Promise<void>((resolve, reject) => {
      file.on("close", resolve);
      file.on("error", reject);
      gzip.on("error", reject);
    });
    done.catch(() => undefined); // observed in finish()
    return { path, gzip, file, rows: 0, done };
  }

  private async flushChunk(): Promise<void> {
    if (this.chunkRows === 0) return;
    const text = `${this.chunk.join("\n")}\n`;
    const rows = this.chunkRows;
    this.chunk = [];
    this.chunkChars = 0;
    this.chunkRows = 0;
    const index = this.nextPart;
    this.nextPart = (this.nextPart + 1) % this.maxParts;
    let part = this.parts[index];
    if (!part) {
      part = this.openPart(index);
      this.parts[index] = part;
    }
    part.rows += rows;
    if (!part.gzip.write(text)) await once(part.gzip, "drain");
  }

  /** Ends every part and returns them (empty parts are never created). */
  async finish(): Promise<StagedPart[]> {
    await this.flushChunk();
    const out: StagedPart[] = [];
    for (const part of this.parts) {
      if (!part) continue;
      part.gzip.end();
      await part.done;
      out.push({ path: part.path, bytes: (await stat(part.path)).size, rows: part.rows });
    }
    return out;
  }

  /** Stops writing and removes the files (on failure or after upload). */
  async discard(): Promise<void> {
    for (const part of this.parts) {
      if (!part) continue;
      part.gzip.destroy();
      part.file.destroy();
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
