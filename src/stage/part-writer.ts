/**
 * Writes a batch's CSV rows into gzip files of equal size (rule 17: a multiple of the slice count, roughly
 * equal, so every slice loads in parallel). A batch under `maxParts` MiB uncompressed (so under that many
 * MB compressed, below Redshift's 1 MB-per-file guidance once split) is one file; any larger batch is
 * exactly `maxParts` files (the slice count), and every chunk is cut at row boundaries so that each part
 * holds the same uncompressed bytes to within one row — equal input of the same rows compresses to sizes
 * within a few percent. Rows wait in a small in-memory chunk; while the batch is below the split size,
 * what outgrows the chunk waits uncompressed in a spill file on disk, not in a compressor: each open
 * compressor holds ~300 KiB of zlib state, and a hundred open streams × the slice count of them were the
 * largest part of peak memory. Compression runs on libuv's thread pool (zlib streams), data goes to disk,
 * not memory: memory per batch is bounded by the chunk size and zlib's buffers.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { type FileHandle, mkdir, open, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { once } from "node:events";
import { createGzip, type Gzip, type ZlibOptions, constants as zc } from "node:zlib";
import { closingQuote } from "../redshift/csv.js";

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
/**
 * A batch is split into `maxParts` files once it holds this many uncompressed bytes per part: under it,
 * even the least compressible rows make parts below 1 MB (Redshift: "between 1 MB and 1 GB after
 * compression"), and issue 14 asks for a multiple of the slice count only from slices × 1 MB compressed.
 */
export const SPLIT_BYTES_PER_PART = 1024 * 1024;
/**
 * Spill files being read back into compressors at once, process-wide: at the end of input every open
 * stream finishes its batch together, and each reading spill holds a compressor and a chunk.
 */
const spillReaders = { active: 0, waiting: [] as (() => void)[], limit: 2 };
/** Per part; bounds memory at parts × this while compression catches up. */
const GZIP_BUFFER_BYTES = 4 * 1024 * 1024;
/**
 * zlib's window for every gzip we write (CSV parts and Parquet pages): 2^13 = 8 KiB instead of the
 * default 32 KiB. At level 1 the smaller window stays in the CPU's cache: over the encoders' CSV of
 * 200,000 bench rows (1 MiB chunks, memLevel 9) it compressed 13–14% faster and 0.7% smaller (Singer
 * rows 65.5 → 65.0 bytes each, Airbyte 77.0 → 76.4); 12 bits was as fast but 2–3% larger than 13. Any gzip
 * reader takes it: RFC 1951 lets a stream use less than the 32 KiB window an inflater keeps.
 */
export const GZIP_WINDOW_BITS = 13;

interface Spill {
  path: string;
  file: FileHandle | undefined;
  bytes: number;
  rows: number;
  /** some quoted field holds a newline: rows are found by reading the quotes */
  quoted: boolean;
}

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
  /** Rows of a batch still below the split size that outgrew the chunk, uncompressed, in arrival order. */
  private spill: Spill | undefined;
  /** File tasks queued or running: once the parts are open, only a read-back and rows queued behind it. */
  private fileTasks = 0;
  /** File work (spill writes, then reading the spill back) in order; compression waits for it. */
  private fileWork: Promise<void> = Promise.resolve();
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

  /** Compressors open (each holds ~300 KiB of zlib state: window, hash table and pending buffer): none while a batch is below the split size. */
  get openParts(): number {
    return this.parts.length;
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
    const sent = this.emit(Buffer.from(block), rows);
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
      windowBits: GZIP_WINDOW_BITS,
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
    // zlib (or the spill write) keeps a reference to the buffer until done with it: start another one;
    // this one is spare once every piece of it is compressed or written.
    const full = this.chunk;
    this.chunk = allocateChunk(this.chunk.length, Math.min(CHUNK_BYTES, this.chunk.length * 2));
    this.chunkBytes = 0;
    this.chunkRows = 0;
    return this.emit(text, rows, finishing, full);
  }

  /**
   * Rows leaving memory: into the spill file while the batch is below the split size (and not
   * finishing), else into the compressors. The first compression fixes the part count — `maxParts`, or
   * one for a batch that ends below the split size (or has one slice) — and reads any spill back first.
   */
  private emit(text: Uint8Array, rows: number, finishing = false, owner?: Buffer): Promise<void> | undefined {
    if (this.parts.length === 0) {
      const split = this.maxParts > 1 && (this.spill?.bytes ?? 0) + text.length >= this.maxParts * SPLIT_BYTES_PER_PART;
      if (!split && !finishing && this.maxParts > 1) return this.spillOut(text, rows, owner);
      const count = split ? this.maxParts : 1;
      for (let i = 0; i < count; i++) this.parts.push(this.openPart(i));
      this.levels = new Array<number>(count).fill(0);
      const spill = this.spill;
      if (spill) {
        this.spill = undefined;
        void this.afterFileWork(() => this.readBack(spill));
      }
    }
    // Rows that arrive while the spill is read back follow it, in order.
    if (this.fileTasks > 0) return this.afterFileWork(() => this.compress(text, rows, owner));
    return this.compress(text, rows, owner);
  }

  /** Runs `task` after every earlier spill write or read-back; a failure is kept for finish(). */
  private afterFileWork(task: () => Promise<void> | undefined): Promise<void> {
    this.fileTasks++;
    const run = this.fileWork.then(task).finally(() => this.fileTasks--);
    this.fileWork = run;
    run.catch(() => undefined); // finish() and discard() observe it
    return run;
  }

  /** Appends whole rows to the spill file; waits only when the process-wide backlog is over its bound. */
  private spillOut(text: Uint8Array, rows: number, owner?: Buffer): Promise<void> | undefined {
    const spill = (this.spill ??= { path: join(this.dir, "spill.csv"), file: undefined, bytes: 0, rows: 0, quoted: false });
    spill.bytes += text.length;
    spill.rows += rows;
    // Read back by newlines unless some quoted field holds one (see compress).
    if (!spill.quoted && countNewlines(text, 0, text.length) !== rows) spill.quoted = true;
    backlog.bytes += text.length;
    const written = this.afterFileWork(async () => {
      try {
        spill.file ??= await open(spill.path, "w");
        for (let at = 0; at < text.length; ) at += (await spill.file.write(text, at, text.length - at)).bytesWritten;
      } finally {
        backlog.bytes -= text.length;
      }
      if (owner) spareChunk(owner);
    });
    return backlog.bytes > backlog.limit ? written : undefined;
  }

  /**
   * Reads the spill back into the compressors in chunks of whole rows, each compressed before the next
   * is read (a few at a time process-wide: see spillReaders), then removes it.
   */
  private async readBack(spill: Spill): Promise<void> {
    await spill.file?.close();
    spill.file = undefined;
    if (spillReaders.active >= spillReaders.limit) await new Promise<void>((resolve) => spillReaders.waiting.push(resolve));
    spillReaders.active++;
    let file: FileHandle | undefined;
    try {
      file = await open(spill.path, "r");
      let carried: Uint8Array = new Uint8Array(0);
      let rowsLeft = spill.rows;
      for (;;) {
        // zlib holds on to what it was given until compressed: a fresh buffer per read.
        // A row longer than a read is carried whole, the read doubling until its end is in.
        const want = Math.max(CHUNK_BYTES, carried.length);
        const buf = Buffer.allocUnsafe(want + carried.length);
        buf.set(carried, 0);
        const { bytesRead } = await file.read(buf, carried.length, want, null);
        const filled = carried.length + bytesRead;
        if (filled === 0) break;
        let end: number;
        let rows: number;
        if (spill.quoted) {
          // Whole rows only, found by reading the quotes (see compress); at the end of the file all of it.
          ({ end, rows } = quotedRows(buf, 0, filled));
          if (bytesRead === 0 && end !== filled) throw new Error(`spill file ${spill.path}: ends inside a row`);
        } else {
          end = bytesRead === 0 ? filled : buf.lastIndexOf(10, filled - 1) + 1;
          rows = -1;
        }
        if (end === 0) {
          carried = buf.subarray(0, filled);
          continue;
        }
        const text = buf.subarray(0, end);
        if (rows === -1) rows = countNewlines(text, 0, end);
        rowsLeft -= rows;
        const sent: Promise<void>[] = [];
        this.compress(text, rows, undefined, sent);
        await Promise.all(sent);
        carried = buf.subarray(end, filled);
        if (bytesRead === 0) break;
      }
      if (rowsLeft !== 0) throw new Error(`spill file ${spill.path}: ${spill.rows - rowsLeft} rows read back, ${spill.rows} written`);
    } finally {
      await file?.close();
      spillReaders.active--;
      spillReaders.waiting.shift()?.();
      await rm(spill.path, { force: true });
    }
  }

  /**
   * Hands rows to the parts' compressors, cut at row boundaries so every part's uncompressed bytes stay
   * level (each part below the new mean gets what brings it there; the last takes the rest). The parts
   * are open (see emit). Waits only when the process-wide backlog is over its bound; `sent` collects
   * every piece's compression.
   */
  private compress(text: Uint8Array, rows: number, owner?: Buffer, sent?: Promise<void>[]): Promise<void> | undefined {
    const count = this.parts.length;
    // More newlines than rows: some quoted field holds one, so pieces are cut at row ends found by
    // reading the quotes (rare: the byte path never writes a raw newline; an encoder writes one only for
    // a string value that has a line break).
    const quoted = count > 1 && countNewlines(text, 0, text.length) !== rows;
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
      let pieceRows = -1;
      if (i === count - 1) end = text.length;
      else {
        const want = mean - this.levels[i]!;
        if (want <= 0) continue;
        if (quoted) {
          ({ end, rows: pieceRows } = quotedRows(text, at, text.length, Math.ceil(want)));
        } else {
          const nl = text.indexOf(10, Math.min(text.length - 1, at + Math.ceil(want) - 1));
          end = nl === -1 ? text.length : nl + 1;
        }
      }
      if (end === text.length) pieceRows = rowsLeft;
      else if (pieceRows === -1) pieceRows = countNewlines(text, at, end);
      rowsLeft -= pieceRows;
      pieces++;
      const w = this.send(this.parts[i]!, text.subarray(at, end), pieceRows, pieceDone, sent);
      this.levels[i]! += end - at;
      wait ??= w;
      at = end;
    }
    pieceDone();
    return wait;
  }

  private send(part: Part, piece: Uint8Array, rows: number, done: () => void, sent?: Promise<void>[]): Promise<void> | undefined {
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
    sent?.push(compressed);
    return backlog.bytes > backlog.limit ? compressed : undefined;
  }

  /** Ends every part and returns them (empty parts are never created). */
  async finish(): Promise<StagedPart[]> {
    await this.flushChunk(true);
    // All rows were spilled (none left in the chunk): the spill still becomes the part.
    if (this.parts.length === 0 && this.spill) this.emit(new Uint8Array(0), 0, true);
    await this.fileWork;
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
    await this.fileWork.catch(() => undefined);
    await this.spill?.file?.close().catch(() => undefined);
    for (const part of this.parts) {
      if (!part) continue;
      part.gzip.destroy();
      part.file.destroy();
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Newline bytes in text[from, to): the rows there, when no quoted field holds a newline. */
function countNewlines(text: Uint8Array, from: number, to: number): number {
  let n = 0;
  for (let i = text.indexOf(10, from); i !== -1 && i < to; i = text.indexOf(10, i + 1)) n++;
  return n;
}

/**
 * Index just past the CSV row that starts at `at`, or -1 when text[at, to) holds no whole row. A row ends
 * at the first newline outside a quoted field: a quoted field may hold newlines (a string value with a line
 * break), and `""` inside it is one quote (RFC 4180 §2, as COPY's CSV reads it). The encoders quote every
 * field that can hold a quote, so the first quote after a row start or after a closing quote opens a field.
 */
function rowEnd(text: Uint8Array, at: number, to: number): number {
  let nl = text.indexOf(10, at);
  let i = at;
  for (;;) {
    if (nl === -1 || nl >= to) return -1;
    const q = text.indexOf(34, i);
    if (q === -1 || q > nl) return nl + 1;
    const c = closingQuote(text, q, to);
    if (c === -1) return -1;
    i = c + 1;
    if (nl < i) nl = text.indexOf(10, i);
  }
}

/**
 * Whole rows from `from` (a row start): where the first run of them reaching `atLeast` bytes ends (or the
 * last whole row's end before `to`), and how many rows that is. Only for text whose quoted fields hold
 * newlines; other text is cut at any newline.
 */
function quotedRows(text: Uint8Array, from: number, to: number, atLeast = Infinity): { end: number; rows: number } {
  let end = from;
  let rows = 0;
  while (end - from < atLeast) {
    const next = rowEnd(text, end, to);
    if (next === -1) break;
    end = next;
    rows++;
  }
  return { end, rows };
}
