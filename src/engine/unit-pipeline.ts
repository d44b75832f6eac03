/**
 * The parallel input path: stdin is cut into units of whole lines, units are parsed and encoded by worker
 * threads (small ones on the main thread), and the results are applied strictly in input order: encoded
 * rows go to the engine, every other line to the front end's line handler.
 *
 * Workers encode for the stream definitions they were last set up with, and stop after any line but a
 * STATE: the rest of that unit is encoded once the main thread has handled the line. Units queued
 * meanwhile under older definitions are encoded again when they reach the head, and a line that used
 * more ledger positions than its own (a BATCH file) renumbers everything queued. Results have no side
 * effects until applied, so throwing one away is always safe.
 */
import type { EncodePool } from "../encode/encode-pool.js";
import { FAILURE_CHECK_MS, readerOf, settlesWithin } from "../input/read.js";
import { type EncodedUnit, type EncoderSetup, LINE_SLOTS, type RowsEvent, UnitEncoder } from "../encode/unit-encoder.js";

/** Units are cut at the first line end after this many bytes. */
export const UNIT_BYTES = 1 << 20;
/** A unit below this is encoded on the main thread (no round trip for a tap that writes slowly). */
const INLINE_BYTES = 64 * 1024;
/** A read shorter than this means the producer is not ahead of us: complete lines are handed on at once. */
const SHORT_READ = 16 * 1024;
/** No read for this long: complete lines are handed on (a burst that ended mid-unit). */
const IDLE_MS = 20;


export interface UnitLoop {
  /** changes whenever a stream definition does */
  epoch(): number;
  /** the current stream definitions for the encoders, with their epoch */
  setup(): EncoderSetup;
  writeRows(rows: RowsEvent): Promise<void> | undefined;
  /**
   * A line the encoders left to the main thread, with its 1-based line number and when its unit was
   * read (the received-at of a record handled there: the same as its unit's encoded records get).
   */
  handleLine(line: string, lineNumber: number, receivedAt: string): Promise<void> | undefined;
  /** the ledger's last record position */
  lastPosition(): number;
  /** the next record position the ledger hands out is `p + 1` (never moves backwards) */
  advanceTo(p: number): void;
  throwIfFailed(): void;
}

/** What the input held, for the end-of-run warnings. */
export interface InputTally {
  lines: number;
  invalidUtf8Count: number;
  /** the first few invalid lines, 1-based */
  invalidUtf8Lines: number[];
  /** records encoded here that carried bare NaN / Infinity */
  nonFiniteRecords: number;
}

/**
 * Input memory shared with the workers: a unit is copied once, into a slot, and read in place by a
 * worker; the main thread keeps it for re-encoding until the unit is applied, then reuses the slot.
 */
interface Slot {
  bytes: Uint8Array;
  /** the same memory as a Buffer (for lastIndexOf) */
  view: Buffer;
}

/**
 * The most a line's slot reserves (address space only: pages become memory as they are written). A
 * line longer than this grows by copying, as before; no JavaScript string can hold one anyway.
 */
const GROWABLE_SLOT_BYTES = 2 ** 31;

/** ES2024 growable SharedArrayBuffer (V8 11, so Node 20 and 22); not in this TypeScript lib yet. */
interface GrowableSharedArrayBuffer extends SharedArrayBuffer {
  readonly growable: boolean;
  readonly maxByteLength: number;
  grow(size: number): void;
}
const GrowableSAB = SharedArrayBuffer as unknown as new (size: number, options: { maxByteLength: number }) => GrowableSharedArrayBuffer;

export class SlotPool {
  private readonly free: Slot[] = [];
  constructor(readonly size: number) {}

  take(size = this.size): Slot {
    const reused = size === this.size ? this.free.pop() : undefined;
    if (reused) return reused;
    const memory = new SharedArrayBuffer(size);
    return { bytes: new Uint8Array(memory), view: Buffer.from(memory) };
  }

  /**
   * A slot that grows in place (a growable SharedArrayBuffer): a line longer than a unit no longer
   * leaves a trail of copies (1 + 2 + … + 32 MiB for a 60 MB line) waiting for the garbage collector.
   */
  grow(slot: Slot, size: number): Slot | undefined {
    let memory = slot.bytes.buffer as GrowableSharedArrayBuffer;
    if (!memory.growable) {
      if (size > GROWABLE_SLOT_BYTES) return undefined;
      memory = new GrowableSAB(size, { maxByteLength: GROWABLE_SLOT_BYTES });
      const grown = { bytes: new Uint8Array(memory, 0, size), view: Buffer.from(memory, 0, size) };
      grown.bytes.set(slot.bytes, 0);
      return grown;
    }
    if (size > memory.maxByteLength) return undefined;
    memory.grow(size);
    return { bytes: new Uint8Array(memory, 0, size), view: Buffer.from(memory, 0, size) };
  }

  /** Oversized slots (one huge line) are dropped; the free list never outgrows the queue. */
  release(slot: Slot): void {
    if (slot.bytes.length === this.size && this.free.length < 8) this.free.push(slot);
  }
}

interface QueuedUnit {
  slot: Slot;
  bytes: Uint8Array;
  seq: number;
  /** lines of the unit before `bytes` (the rest of a unit keeps its positions) */
  lineOffset: number;
  /**
   * When the unit was cut (ISO 8601): the time its last bytes were read. Its records' received-at: the
   * line path reads the clock per input chunk instead, so a record here can read up to one unit's read
   * time later (a unit is at most ~1 MiB; a paused tap gets its lines cut at once).
   */
  receivedAt: string;
  epoch: number;
  result: Promise<EncodedUnit>;
}

export class UnitPipeline {
  private readonly queue: QueuedUnit[] = [];
  private readonly slots = new SlotPool(UNIT_BYTES + 64 * 1024);
  private current = this.slots.take();
  private currentLength = 0;
  private readonly inline = new UnitEncoder();
  private pool: EncodePool | undefined;
  private seq = 0;
  private epoch = -1;
  private setupValue: EncoderSetup | undefined;
  private lineBase = 0;
  private inputDone = false;
  private failure: unknown;
  /** wakes the consumer (a unit was queued, or input ended) */
  private wakeConsumer: (() => void) | undefined;
  /** wakes the producer (the queue has room, or the consumer failed) */
  private wakeProducer: (() => void) | undefined;
  readonly tally: InputTally = { lines: 0, invalidUtf8Count: 0, invalidUtf8Lines: [], nonFiniteRecords: 0 };

  /**
   * @param startPool creates the worker pool on the first unit big enough to be worth it
   * @param maxQueued units read ahead of the one being applied (bounds memory)
   */
  constructor(
    private readonly loop: UnitLoop,
    private readonly startPool: () => EncodePool,
    private readonly maxQueued = 4,
  ) {}

  async run(input: AsyncIterable<Buffer | string>): Promise<InputTally> {
    this.resetup();
    const produced = (async () => {
      try {
        await this.produce(input);
      } catch (e) {
        this.failure ??= e;
      } finally {
        this.inputDone = true;
        this.wakeConsumer?.();
      }
    })();
    // The consumer ends once input is done and applied, or at the first failure. After a failure the
    // producer is not waited for: it may sit in a read until the tap writes again.
    await this.consume().catch(() => undefined);
    if (!this.failure) await produced;
    if (this.failure) throw this.failure;
    return this.tally;
  }

  async close(): Promise<void> {
    await this.pool?.close();
  }

  private resetup(): void {
    const setup = this.loop.setup();
    this.setupValue = setup;
    this.epoch = setup.epoch;
    this.inline.setup(setup);
    this.pool?.setup(setup);
  }

  /**
   * Copies input into unit slots (the only copy on the main thread) and queues each slot's complete lines
   * as a unit; the unfinished last line moves to the next slot. Complete lines are also handed on when
   * the input pauses (a short read, or no read for IDLE_MS), so a tap that writes in bursts and then
   * waits still gets its STATE through.
   */
  private async produce(input: AsyncIterable<Buffer | string>): Promise<void> {
    const reads = readerOf(input);
    let finished = false;
    try {
      for (;;) {
        const next = reads.next();
        if (this.currentLength > 0 && !(await settlesWithin(next, IDLE_MS))) await this.cut(false);
        const read = await next;
        if (read.done) {
          finished = true;
          break;
        }
        const chunk = typeof read.value === "string" ? Buffer.from(read.value) : read.value;
        let off = 0;
        while (off < chunk.length) {
          if (this.failure) return;
          const room = this.current.bytes.length - this.currentLength;
          if (room === 0) {
            // Full without a line end: one line longer than a slot.
            if (!(await this.cut(false)) && !this.failure) this.growCurrent();
            continue;
          }
          let n = Math.min(room, chunk.length - off);
          // A grown slot (a line longer than a slot) takes that line and no more: the lines after it start
          // the next unit, so no unit holds much over UNIT_BYTES of lines (LoadEngine.parquetOnWorkers
          // counts on it: a unit's rows of a stream must fit in one batch).
          if (this.current.bytes.length > this.slots.size) {
            const nl = chunk.indexOf(10, off);
            if (nl !== -1 && nl < off + n) n = nl + 1 - off;
          }
          this.current.bytes.set(chunk.subarray(off, off + n), this.currentLength);
          this.currentLength += n;
          off += n;
          if (this.currentLength >= UNIT_BYTES) await this.cut(false);
        }
        if (chunk.length < SHORT_READ) await this.cut(false);
        if (this.failure) return;
      }
    } finally {
      if (!finished) await reads.return?.();
    }
    if (this.currentLength > 0) await this.cut(true);
  }

  /**
   * Queues the current slot's complete lines (all its bytes at the end of input) and carries the rest
   * over to a fresh slot. False when there was no complete line or the run has failed.
   */
  private async cut(all: boolean): Promise<boolean> {
    const slot = this.current;
    if (this.currentLength === 0) return false;
    const end = all ? this.currentLength : slot.view.lastIndexOf(10, this.currentLength - 1) + 1;
    if (end <= 0) return false;
    while (this.queue.length >= this.maxQueued && !this.failure) {
      await new Promise<void>((resolve) => (this.wakeProducer = resolve));
    }
    if (this.failure) return false;
    const carried = this.currentLength - end;
    // What is carried over can be most of a grown slot (after a line longer than a unit).
    const next = this.slots.take(carried < this.slots.size ? undefined : carried * 2);
    next.bytes.set(slot.bytes.subarray(end, this.currentLength), 0);
    this.currentLength = carried;
    this.current = next;
    this.queue.push(this.encode(slot, slot.bytes.subarray(0, end), ++this.seq, 0, new Date().toISOString()));
    this.wakeConsumer?.();
    return true;
  }

  private growCurrent(): void {
    const size = this.current.bytes.length * 2;
    const grown = this.slots.grow(this.current, size);
    if (grown) {
      // (a slot grown in place is never returned to the free list: see SlotPool.release)
      if (grown.bytes.buffer !== this.current.bytes.buffer) this.slots.release(this.current);
      this.current = grown;
      return;
    }
    const bigger = this.slots.take(size);
    bigger.bytes.set(this.current.bytes.subarray(0, this.currentLength), 0);
    this.slots.release(this.current);
    this.current = bigger;
  }

  /** Encodes (part of) a unit for the current definitions; its lines are numbered from `lineOffset`. */
  private encode(slot: Slot, bytes: Uint8Array, seq: number, lineOffset: number, receivedAt: string): QueuedUnit {
    const epoch = this.epoch;
    let result: Promise<EncodedUnit>;
    if (bytes.length < INLINE_BYTES) {
      try {
        result = Promise.resolve(this.inline.encode(bytes, seq, epoch, lineOffset, receivedAt));
      } catch (e) {
        result = Promise.reject(e);
        result.catch(() => undefined);
      }
    } else {
      if (!this.pool) {
        this.pool = this.startPool();
        this.pool.setup(this.setupValue!);
      }
      result = this.pool.encode(bytes, seq, epoch, lineOffset, receivedAt);
    }
    return { slot, bytes, seq, lineOffset, receivedAt, epoch, result };
  }

  private async consume(): Promise<void> {
    try {
      for (;;) {
        if (this.failure) return;
        if (this.queue.length === 0) {
          if (this.inputDone) return;
          // A load can fail while the tap is quiet: look every FAILURE_CHECK_MS, not only at its next line.
          const woken = new Promise<void>((resolve) => (this.wakeConsumer = resolve));
          while (!(await settlesWithin(woken, FAILURE_CHECK_MS))) this.loop.throwIfFailed();
          continue;
        }
        await this.applyHead();
        this.wakeProducer?.();
        this.loop.throwIfFailed();
      }
    } catch (e) {
      this.failure ??= e;
      this.wakeProducer?.();
      throw e;
    }
  }

  /**
   * Applies the oldest unit's results in order. Encoders stop after a line only the main thread can
   * answer (a SCHEMA); the rest of the unit is encoded once it is answered, for the definitions as they
   * are then.
   */
  private async applyHead(): Promise<void> {
    const unit = this.queue[0]!;
    const r = await unit.result;
    if (r.epoch !== this.epoch) {
      // Encoded before the definitions changed: encode it again, and every unit queued as long, in place.
      for (let i = 0; i < this.queue.length; i++) {
        const u = this.queue[i]!;
        if (u.epoch !== this.epoch) this.queue[i] = this.encode(u.slot, u.bytes, u.seq, u.lineOffset, u.receivedAt);
      }
      return;
    }
    this.queue.shift();
    for (const event of r.events) {
      if (event.kind === "rows") {
        this.tally.nonFiniteRecords += event.nonFinite;
        const wait = this.loop.writeRows(event);
        if (wait) await wait;
        continue;
      }
      const position = unit.seq * LINE_SLOTS + unit.lineOffset + event.index;
      this.loop.advanceTo(position - 1);
      const wait = this.loop.handleLine(event.text, this.lineBase + event.index + 1, unit.receivedAt);
      if (wait) await wait;
      const changed = this.loop.epoch() !== this.epoch;
      const positionsUsed = this.loop.lastPosition() > position;
      if (!changed && !positionsUsed) continue;
      // What follows this line was encoded for old definitions or takes positions now used (a BATCH
      // file): it is encoded again, renumbered past every used position if needed.
      this.countLines(r, event.index + 1);
      if (changed) this.resetup();
      const rest = unit.bytes.subarray(event.end);
      if (rest.length === 0) this.slots.release(unit.slot);
      if (positionsUsed) this.renumber(rest.length > 0 ? { slot: unit.slot, bytes: rest, receivedAt: unit.receivedAt } : undefined);
      else if (rest.length > 0) this.queue.unshift(this.encode(unit.slot, rest, unit.seq, unit.lineOffset + event.index + 1, unit.receivedAt));
      return;
    }
    this.countLines(r, r.lines);
    // Every row of the unit was written on (copied into the part writers): its buffers can be reused.
    this.pool?.recycle(r.output);
    if (r.rest !== undefined) this.queue.unshift(this.encode(unit.slot, unit.bytes.subarray(r.rest), unit.seq, unit.lineOffset + r.lines, unit.receivedAt));
    else this.slots.release(unit.slot);
  }

  /** The first `lines` lines of a unit are applied. */
  private countLines(r: EncodedUnit, lines: number): void {
    for (const i of r.invalidUtf8) {
      if (i >= lines) break;
      this.tally.invalidUtf8Count++;
      if (this.tally.invalidUtf8Lines.length < 10) this.tally.invalidUtf8Lines.push(this.lineBase + i + 1);
    }
    this.lineBase += lines;
    this.tally.lines = this.lineBase;
  }

  /**
   * `rest` (the unit being applied) and the queued units take positions past every one used so far,
   * after a line that used several.
   */
  private renumber(rest: { slot: Slot; bytes: Uint8Array; receivedAt: string } | undefined): void {
    this.seq = Math.max(this.seq, Math.floor(this.loop.lastPosition() / LINE_SLOTS));
    const waiting = this.queue.splice(0);
    for (const u of rest ? [rest, ...waiting] : waiting) this.queue.push(this.encode(u.slot, u.bytes, ++this.seq, 0, u.receivedAt));
  }
}
