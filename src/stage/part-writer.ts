/**
 * Writes a batch's CSV rows into gzip files of equal size (rule 17: a multiple of the slice count, roughly
 * equal, so every slice loads in parallel). A batch that never outgrows its first in-memory chunk (1 MiB)
 * is one file; any larger batch is exactly `maxParts` files (the slice count), and every chunk is cut at
 * row boundaries so that each part holds the same uncompressed bytes to within one row — equal input of
 * the same rows compresses to sizes within a few percent. Compression runs on libuv's thread pool (zlib
 * streams), data goes to disk, not memory: memory per batch is bounded by the chunk size and zlib's
 * buffers.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { once } from "node:events";
import { createGzip, type Gzip, type ZlibOptions, constants as zc } from "node:zlib";

export interface StagedPart {
  path: string;
  /** compressed size */
  bytes: number;
  rows: number;
}

const CHUNK_BYTES = 1024 * 1024;
const FIRST_CHUNK_BYTES = 64 * 1024;
/**
 * Uncompressed bytes handed to zlib and not yet compressed, across every writer in the process: the
 * thread pool that compresses is process-wide, so the backlog bound is too (with a hundred streams,
 * per-stream buffers alone would allow hundreds of MiB).
 */
const backlog = { bytes: 0, limit: 16 * 1024 * 1024 };
/** Bytes held in chunk buffers across writers: a chunk grows toward CHUNK_BYTES only within this. */
const chunkMemory = { bytes: 0, limit: 16 * 1024 * 1024 };

/**
 * Full-size chunks zlib has finished with, for the next flush: a fresh MiB per flush cost page faults and
 * old-space GCs (V8 counts external memory) on the main thread. At most SPARE_CHUNKS are kept.
 */
const spareChunks: Buffer[] = [];
const SPARE_CHUNKS = 8;

function allocateChunk(previous: number, wanted: number): Buffer {
  const grown = wanted > previous && chunkMemory.bytes - previous + wanted > chunkMemory.limit ? previous : wanted;
  chunkMemory.bytes += grown - previous;
  if (grown === CHUNK_BYTES && spareChunks.length > 0) return spareChunks.pop()!;
  return Buffer.allocUnsafeSlow(grown);
}

/** A chunk whose every piece zlib has compressed (it keeps no reference after its write callbacks). */
function spareChunk(chunk: Buffer): void {
  if (chunk.length === CHUNK_BYTES && spareChunks.length < SPARE_CHUNKS) spareChunks.push(chunk);
}
/** Per part; bounds memory at parts × this while compression catches up. */
const GZIP_BUFFER_BYTES = 4 * 1024 * 1024;

interface Part {
  path: string;
  gzip: Gzip;
  file: WriteStream;
  rows: number;
  done: Promise<void>;
}

export class PartWriter {
  private readonly parts: Part[] = [];
  /** Rows are UTF-8 encoded straight into this buffer: no joined string, no second encoding in zlib. */
  // Starts small and doubles per flush: with a hundred streams open, most batches are small.
  private chunk = allocateChunk(0, FIRST_CHUNK_BYTES);
  private chunkBytes = 0;
  private chunkRows = 0;
  /** Uncompressed bytes sent to each part (kept level: see compress). */
  private levels: number[] = [];
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
    this.rows++;
    this.chars += row.length + 1;
    // A UTF-8 row takes at most 3 bytes per UTF-16 unit (plus the newline): flush first if it might not fit.
    let wait: Promise<void> | undefined;
    const worst = row.length * 3 + 1;
    if (this.chunkBytes + worst > this.chunk.length && !this.growFirstChunk(this.chunkBytes + worst)) {
      wait = this.flushChunk();
      if (worst > this.chunk.length) this.chunk = allocateChunk(this.chunk.length, worst);
    }
    this.chunkBytes += this.chunk.write(row, this.chunkBytes, "utf8");
    this.chunk[this.chunkBytes++] = 10;
    this.chunkRows++;
    return wait;
  }

  /**
   * Appends rows already encoded as CSV bytes, each ending in a newline (from an encode worker). The block
   * is always copied (into the chunk, or alone when it is larger than one): the caller reuses its memory
   * for the next unit once this returns.
   */
  writeBlock(block: Uint8Array, rows: number): Promise<void> | undefined {
    this.rows += rows;
    this.chars += block.length;
    if (this.chunkBytes + block.length <= this.chunk.length || this.growFirstChunk(this.chunkBytes + block.length)) {
      this.chunk.set(block, this.chunkBytes);
      this.chunkBytes += block.length;
      this.chunkRows += rows;
      return undefined;
    }
    const flushed = this.flushChunk();
    if (block.length < this.chunk.length) {
      this.chunk.set(block, 0);
      this.chunkBytes = block.length;
      this.chunkRows = rows;
      return flushed;
    }
    const sent = this.compress(Buffer.from(block), rows);
    return flushed ? flushed.then(() => sent) : sent;
  }

  /**
   * Until the first compression, the chunk grows (to CHUNK_BYTES) instead of being flushed: a batch that
   * ends within it is one part, and one that does not has shown it is worth every slice.
   */
  private growFirstChunk(needed: number): boolean {
    if (this.parts.length > 0 || needed > CHUNK_BYTES) return false;
    const grown = allocateChunk(this.chunk.length, Math.min(CHUNK_BYTES, Math.max(needed, this.chunk.length * 2)));
    if (grown.length < needed) {
      chunkMemory.bytes -= grown.length - this.chunk.length;
      return false;
    }
    this.chunk.copy(grown, 0, 0, this.chunkBytes);
    this.chunk = grown;
    return true;
  }

  private openPart(index: number): Part {
    const path = join(this.dir, `part-${String(index).padStart(4, "0")}.csv.gz`);
    // A write buffer above the 1 MiB chunk: with the default 16 KiB every write reported
    // backpressure and the main thread waited for each chunk's compression instead of encoding the
    // next rows while the thread pool compresses (measured: stage-only 11.7 s → see bench notes).
    // memLevel 9 (zlib's largest hash table, +128 KiB per part): level 1 compresses the bench's CSV
    // 8–12% faster at the same ratio (0.301) than the default 8.
    const gzip = createGzip({
      level: this.level,
      memLevel: 9,
      chunkSize: 64 * 1024,
      strategy: zc.Z_DEFAULT_STRATEGY,
      highWaterMark: GZIP_BUFFER_BYTES,
    } as ZlibOptions);
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

  private flushChunk(finishing = false): Promise<void> | undefined {
    if (this.chunkRows === 0) return undefined;
    const text = this.chunk.subarray(0, this.chunkBytes);
    const rows = this.chunkRows;
    // zlib keeps a reference to the buffer until it is compressed: start another one; this one is spare
    // once every piece of it is compressed.
    const full = this.chunk;
    this.chunk = allocateChunk(this.chunk.length, Math.min(CHUNK_BYTES, this.chunk.length * 2));
    this.chunkBytes = 0;
    this.chunkRows = 0;
    return this.compress(text, rows, finishing, full);
  }

  /**
   * Hands rows to the parts' compressors, cut at row boundaries so every part's uncompressed bytes stay
   * level (each part below the new mean gets what brings it there; the last takes the rest). The part
   * count is fixed by the first call: `maxParts`, or one when that call is finish() flushing a batch that
   * never left its first chunk. Waits only when the process-wide backlog is over its bound.
   */
  private compress(text: Uint8Array, rows: number, finishing = false, owner?: Buffer): Promise<void> | undefined {
    if (this.parts.length === 0) {
      const count = finishing ? 1 : this.maxParts;
      for (let i = 0; i < count; i++) this.parts.push(this.openPart(i));
      this.levels = new Array<number>(count).fill(0);
    }
    const count = this.parts.length;
    let total = text.length;
    for (const l of this.levels) total += l;
    const mean = total / count;
    let wait: Promise<void> | undefined;
    let at = 0;
    let rowsLeft = rows;
    // Pieces in flight; the owner is spared when the last one is compressed (1 held until all are sent).
    let pieces = 1;
    const pieceDone = () => {
      if (--pieces === 0 && owner) spareChunk(owner);
    };
    for (let i = 0; i < count && at < text.length; i++) {
      let end: number;
      if (i === count - 1) end = text.length;
      else {
        const want = mean - this.levels[i]!;
        if (want <= 0) continue;
        const nl = text.indexOf(10, Math.min(text.length - 1, at + Math.ceil(want) - 1));
        end = nl === -1 ? text.length : nl + 1;
      }
      const pieceRows = end === text.length ? rowsLeft : countRows(text, at, end);
      rowsLeft -= pieceRows;
      pieces++;
      const w = this.send(this.parts[i]!, text.subarray(at, end), pieceRows, pieceDone);
      this.levels[i]! += end - at;
      wait ??= w;
      at = end;
    }
    pieceDone();
    return wait;
  }

  private send(part: Part, piece: Uint8Array, rows: number, done: () => void): Promise<void> | undefined {
    part.rows += rows;
    const size = piece.length;
    backlog.bytes += size;
    const compressed = new Promise<void>((resolve) =>
      part.gzip.write(piece, () => {
        backlog.bytes -= size;
        done();
        resolve();
      }),
    );
    return backlog.bytes > backlog.limit ? compressed : undefined;
  }

  /** Ends every part and returns them (empty parts are never created). */
  async finish(): Promise<StagedPart[]> {
    await this.flushChunk(true);
    this.releaseChunk();
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
  private releaseChunk(): void {
    chunkMemory.bytes -= this.chunk.length;
    this.chunk = Buffer.alloc(0);
  }

  async discard(): Promise<void> {
    this.releaseChunk();
    for (const part of this.parts) {
      if (!part) continue;
      part.gzip.destroy();
      part.file.destroy();
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Rows (newlines) in bytes [from, to) of `text`. */
function countRows(text: Uint8Array, from: number, to: number): number {
  let n = 0;
  for (let i = text.indexOf(10, from); i !== -1 && i < to; i = text.indexOf(10, i + 1)) n++;
  return n;
}
