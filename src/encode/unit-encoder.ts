/**
 * Parses and encodes a unit of Singer input (whole lines, ~1 MiB) into per-stream CSV rows. Pure: it runs
 * in the encode workers and, for small units, on the main thread, with the same result.
 *
 * Only the common case is handled here: a RECORD of a stream the unit was set up for, whose record
 * encodes. Every other line (SCHEMA, STATE, bad JSON, a record that fails, …) comes back as a LineEvent
 * for the main thread's front end, which owns all decisions and error messages; after any such line but a
 * STATE, encoding stops (`rest`), since what follows may depend on the answer. Rows are grouped per stream
 * between two such lines, each row with its ledger position, so the ledger still sees arrival order: line
 * i of unit `seq` (counting from the unit's start, `lineOffset` included) has position
 * seq × LINE_SLOTS + i.
 */
import { isUtf8 } from "node:buffer";
import { parseMessageLine } from "../input/json.js";
import { type AirbyteRoute, AirbyteRoutes, EXACT_PATHS, type Envelope, airbyteRecordProblem, singerRecordProblem } from "./envelopes.js";
import { metadataValue } from "./metadata-values.js";
import { type ByteSink, FastRowWriter, NUMBER, NUMBER_EXPONENT, RecordLineScanner, writeInteger } from "./record-scanner.js";
import { RowChanges, changeKey, type ValuePolicy } from "./encode.js";
import { type ColumnSpec, CsvRowEncoder } from "./row-encoder.js";
import { type ColumnPlan, ORDINAL_COLUMN, type RowContext, columnPlan, columnPolicy } from "./table-shape.js";
import { parquetColumns } from "./parquet-values.js";
import { ParquetRowGroupEncoder } from "./parquet-row-group.js";
import type { EncodedRowGroup } from "../stage/parquet-part-writer.js";

/**
 * An object with one property per name in `names`, each a getter (the function `reader(name)` returns)
 * that reads the value when it is asked for: StreamOutput's scannedMessage and scannedRecord.
 */
function scannedView(names: Iterable<string>, reader: (name: string) => () => unknown): Record<string, unknown> {
  const view: Record<string, unknown> = {};
  for (const name of names) Object.defineProperty(view, name, { get: reader(name), enumerable: true });
  return view;
}

/** Positions reserved per unit: more than the lines a unit can hold (units are cut at ~1 MiB). */
export const LINE_SLOTS = 2 ** 21;

export interface StreamEncodePlan {
  id: string;
  columns: ColumnSpec[];
  /** raw key property names (each must be present in a record) */
  keyProperties: string[];
  /** key column names */
  keyColumns: string[];
  /**
   * Rows carry their position as a last field, the ordinal column: for keyed streams (in-batch dedup) and
   * streams whose row ids the load statement makes from it (row-id.ts). Default: when keyed.
   */
  ordinal?: boolean;
  /** message fields whose presence leaves the record to the main thread (a decision only the door makes) */
  mainThreadFields?: string[];
  /**
   * Columns that decide whether a row exists (the delete marker of hard delete / CDC): like keys, a value
   * they cannot hold whole fails the record, whatever invalid_value or string_overflow say (see keyPolicy).
   */
  existenceColumns?: string[];
}

export interface EncoderSetup {
  /** changes whenever a stream's definition does; a unit is encoded for one epoch */
  epoch: number;
  policy: ValuePolicy;
  streams: StreamEncodePlan[];
  /** the protocol of the input lines (default singer) */
  envelope?: Envelope;
  /** airbyte: which stream each record descriptor loads */
  routes?: AirbyteRoute[];
  /**
   * The rows are staged as Parquet: each span of a stream goes out as one encoded row group
   * (RowsEvent.rowGroupChunks), so a span is never split between batches.
   */
  parquet?: boolean;
}

/** Consecutive encoded rows of one stream. */
export interface RowsEvent {
  kind: "rows";
  stream: string;
  rows: number;
  /** CSV rows, each ending in a newline */
  bytes: Uint8Array;
  /** byte offset just past each row */
  rowEnds: Uint32Array;
  /** ledger position of each row */
  positions: Float64Array;
  /** largest UTF-8 byte length per column (0: no text seen) */
  widths: number[];
  /**
   * Parquet (EncoderSetup.parquet): `bytes` is this encoded row group, `rowGroupChunks` its column chunks'
   * sizes (EncodedRowGroup.chunks), and `textBytes` the length of the CSV text it was made from (what the
   * batch byte limit counts); `rowEnds` are that text's row ends.
   */
  rowGroupChunks?: EncodedRowGroup["chunks"];
  textBytes?: number;
  /** what encoding changed, counted by changeKey */
  changes: [string, number][];
  /** key identity per row (see BatchKeys): packed when every one is a number */
  keys?: Float64Array | unknown[];
  nullKeys: boolean;
  /** records among these that carried bare NaN / Infinity */
  nonFinite: number;
}

/** A line for the main thread, in order with the rows. */
export interface LineEvent {
  kind: "line";
  /** 0-based line index in the bytes given to encode() (add `lineOffset` for the unit's line) */
  index: number;
  text: string;
  /** byte offset just past the line's newline: where re-encoding resumes */
  end: number;
}

export interface EncodedUnit {
  seq: number;
  epoch: number;
  /** lines encoded or handed back (the last one may lack its newline) */
  lines: number;
  /**
   * Where encoding stopped, in bytes: after a line other than STATE (a SCHEMA, or a line that will fail),
   * since what follows may need the main thread's answer to it. Undefined when the unit was done.
   */
  rest?: number;
  events: (RowsEvent | LineEvent)[];
  /** 0-based indexes of lines that were not valid UTF-8 */
  invalidUtf8: number[];
  /**
   * The buffers the events are views of: once every event is applied (its bytes copied on), they can go
   * back to an encoder for another unit (see EncodePool.recycle) instead of being garbage.
   */
  output?: UnitBuffers;
}

/**
 * Entries [from, to) of `a`, as a view of the same memory. Built by its constructor: subarray() was
 * measured at tens of µs a call on views of a buffer received from a worker (a species lookup), which a
 * hundred streams pay for every unit.
 */
export function part<T extends Uint8Array | Uint32Array | Float64Array>(a: T, from: number, to: number): T {
  const View = a.constructor as new (buffer: ArrayBufferLike, byteOffset: number, length: number) => T;
  return new View(a.buffer, a.byteOffset + from * a.BYTES_PER_ELEMENT, to - from);
}

/** A copy of `a` with room for `size` entries. */
function grown<T extends Uint32Array | Int32Array | Float64Array>(a: T, size: number): T {
  const b = new (a.constructor as new (length: number) => T)(size);
  b.set(a);
  return b;
}

/** A buffer of at least `needed` bytes (at least double), holding the first `used` bytes of `buf`. */
function grownBuffer(buf: Buffer, used: number, needed: number): Buffer<ArrayBuffer> {
  const b = Buffer.allocUnsafeSlow(Math.max(buf.length * 2, needed));
  buf.copy(b, 0, 0, used);
  return b;
}

/**
 * A stream keeps at most this much span buffer between spans; a larger one goes to spareSpans when its
 * span is placed, for whichever stream grows next. (Kept per stream, a hundred streams arriving one after
 * the other each held a buffer grown to a whole unit's rows: `streams100seq` peaked at 367 MiB.)
 */
const KEEP_SPAN_BYTES = 256 * 1024;
const SPAN_BYTES = 64 * 1024;
const spareSpans: Buffer<ArrayBuffer>[] = [];
const SPARE_SPANS = 2;

/** `buf` grown to hold `needed` bytes (its first `used` kept): a spare span buffer if one is large enough. */
function grownSpan(buf: Buffer, used: number, needed: number): Buffer<ArrayBuffer> {
  const want = Math.max(buf.length * 2, needed);
  const i = spareSpans.findIndex((b) => b.length >= want);
  if (i === -1) return grownBuffer(buf, used, needed);
  const b = spareSpans.splice(i, 1)[0]!;
  buf.copy(b, 0, 0, used);
  return b;
}

/**
 * Everything a unit encoded, in one set of buffers: events are views into them, so a unit hands over
 * four buffers however many streams it holds (one set per stream per span cost more in transfers and
 * garbage than the encoding itself with a hundred streams).
 */
class UnitOutput {
  bytes: Buffer<ArrayBuffer>;
  length = 0;
  rowEnds: Uint32Array;
  positions: Float64Array;
  keys: Float64Array;
  rows = 0;

  /**
   * `recycled`: buffers of an applied unit, used when they are big enough (fresh memory costs page faults
   * and GC). Sized for a usual unit (rows take about the bytes of their lines); a unit of one huge line
   * grows only as far as its rows need: a record whose value is NULLed for size needs next to nothing.
   */
  constructor(inputBytes: number, recycled?: UnitBuffers) {
    const want = Math.min(inputBytes, UNIT_OUTPUT_BYTES) + 64 * 1024;
    const rows = Math.max(1024, inputBytes >> 8);
    const r = recycled;
    this.bytes = r && r.bytes.byteLength >= want ? Buffer.from(r.bytes.buffer as ArrayBuffer, r.bytes.byteOffset, r.bytes.byteLength) : Buffer.allocUnsafeSlow(want);
    const reuseRows = r !== undefined && r.rowEnds.length >= rows && r.positions.length >= rows && r.keys.length >= rows;
    this.rowEnds = reuseRows ? r.rowEnds : new Uint32Array(rows);
    this.positions = reuseRows ? r.positions : new Float64Array(rows);
    this.keys = reuseRows ? r.keys : new Float64Array(rows);
  }

  reserve(bytes: number, rows: number): void {
    if (this.length + bytes > this.bytes.length) this.bytes = grownBuffer(this.bytes, this.length, this.length + bytes);
    if (this.rows + rows > this.rowEnds.length) {
      const size = Math.max(this.rowEnds.length * 2, this.rows + rows);
      this.rowEnds = grown(this.rowEnds, size);
      this.positions = grown(this.positions, size);
      this.keys = grown(this.keys, size);
    }
  }
}

/** Output reserved up front for a unit (units are cut at ~1 MiB). */
const UNIT_OUTPUT_BYTES = 1 << 20;
/** Rows longer than this reserve their exact UTF-8 length, not 3 bytes per character. */
const LONG_ROW = 64 * 1024;

/** A unit's output buffers as they cross to the main thread. */
export interface UnitBuffers {
  bytes: Uint8Array;
  rowEnds: Uint32Array;
  positions: Float64Array;
  keys: Float64Array;
}

/**
 * A unit as it crosses between threads: rows as offsets into four buffers. (Typed-array views in a
 * message are costly to serialize: with a hundred streams, sending views cost more than encoding.)
 */
export interface PackedUnit {
  seq: number;
  epoch: number;
  lines: number;
  rest?: number;
  events: (PlacedRows | LineEvent)[];
  invalidUtf8: number[];
  output: UnitBuffers;
}

/** A span's rows of one stream, placed in the unit's buffers; made into a RowsEvent by unpack(). */
export interface PlacedRows extends Omit<RowsEvent, "bytes" | "rowEnds" | "positions" | "keys"> {
  byteStart: number;
  byteEnd: number;
  rowStart: number;
  /** the keys when not all numeric (numeric ones are in UnitOutput.keys) */
  keyList: unknown[] | undefined;
  keyed: boolean;
}

/**
 * One stream's rows of the current span; its buffers are reused from span to span. The first stream of a
 * span writes its rows straight into the unit's output (see beginDirect): most units hold one stream, and
 * copying every row byte from the span into the output cost ~0.15–0.25 CPU-s per 1M rows.
 */
class StreamOutput implements ByteSink {
  bytes = Buffer.allocUnsafeSlow(SPAN_BYTES);
  length = 0;
  /** where this span's rows start in `bytes`: 0, or the unit output's length when direct */
  private spanStart = 0;
  /** while direct: the unit output `bytes` is (or grew from), and the stream's own span buffer */
  private direct: UnitOutput | undefined;
  private own: Buffer<ArrayBuffer> | undefined;
  private rows = 0;
  private rowEnds = new Uint32Array(1024);
  private positions = new Float64Array(1024);
  keys: unknown[] = [];
  numericKeys = true;
  nullKeys = false;
  nonFinite = 0;
  changes = new Map<string, number>();
  readonly encoder: CsvRowEncoder;
  /** the byte path (record-scanner.ts); undefined for streams it does not serve */
  readonly fast: FastRowWriter | undefined;
  /** plan.mainThreadFields as name bytes, for the byte path's check */
  readonly mainThreadKeys: Buffer[] | undefined;
  /** whether the metadata columns read any field of the message or the record (see scannedMessage) */
  readonly readsFields: boolean;
  /**
   * The byte path's message and record for the metadata columns: only the fields they read, each read
   * off the scanner's current line when (and if) a metadata value asks for it, as parseMessageLine would
   * give it (undefined when absent). Most rows never ask: their metadata fields are written from the
   * tokens (FastRowWriter.putMeta). Undefined without a scanner.
   */
  readonly scannedMessage: Record<string, unknown> | undefined;
  readonly scannedRecord: Record<string, unknown> | undefined;
  private readonly keyed: boolean;
  /** rows end with their position (StreamEncodePlan.ordinal) */
  private readonly ordinal: boolean;
  /** per-row context of the metadata columns (the message and record are set per row) */
  readonly ctx: RowContext;

  /** Parquet (EncoderSetup.parquet): each span leaves as one encoded row group */
  private readonly parquet: ParquetRowGroupEncoder | undefined;
  /**
   * Parquet: where each field of the span's rows ends (ParquetRowGroupEncoder.encode's fieldEnds), from
   * the byte path's writer; -1 first for a row the object path wrote.
   */
  private fieldEnds: Int32Array | undefined;
  private readonly fieldsPerRow: number;

  constructor(
    readonly plan: StreamEncodePlan,
    readonly columns: ColumnPlan[],
    changes: RowChanges,
    parquet: boolean,
    airbyte: boolean,
    scanner: RecordLineScanner | undefined,
  ) {
    this.keyed = plan.keyColumns.length > 0;
    this.ordinal = plan.ordinal ?? this.keyed;
    this.parquet = parquet ? new ParquetRowGroupEncoder(parquetColumns(plan.columns, this.ordinal ? ORDINAL_COLUMN : undefined)) : undefined;
    this.fieldsPerRow = this.parquet?.columns.length ?? 0;
    this.fieldEnds = this.parquet ? new Int32Array(1024 * this.fieldsPerRow) : undefined;
    this.encoder = new CsvRowEncoder(columns, plan.keyColumns);
    this.fast = FastRowWriter.serves(columns) ? new FastRowWriter(columns, plan.keyColumns) : undefined;
    this.mainThreadKeys = plan.mainThreadFields?.map((f) => Buffer.from(f));
    // What the metadata columns read of the message and the record, looked up in the scanned line.
    const messageFields = new Set<string>();
    const recordFields = new Set<string>();
    for (const c of plan.columns) {
      const m = c.meta;
      if (m?.kind === "message" || m?.kind === "message-epoch-ms") messageFields.add(m.field);
      else if (m?.kind === "airbyte-meta") messageFields.add("meta");
      else if (m?.kind === "record-field" || m?.kind === "sequence") recordFields.add(m.field);
    }
    this.readsFields = messageFields.size > 0 || recordFields.size > 0;
    if (scanner) {
      // Airbyte's emitted_at and meta are the tokens the scanner notes (the inner record's, not the envelope's).
      this.scannedMessage = scannedView(messageFields, (name) => {
        if (airbyte && name === "emitted_at") return () => scanner.fieldAt(scanner.emittedAtToken);
        if (airbyte && name === "meta") return () => scanner.fieldAt(scanner.metaToken);
        const bytes = Buffer.from(name);
        return () => scanner.field(bytes);
      });
      this.scannedRecord = scannedView(recordFields, (name) => {
        const bytes = Buffer.from(name);
        return () => scanner.prop(bytes);
      });
    }
    this.ctx = { message: {}, record: {}, position: 0, receivedAt: "", changes };
  }

  /** Whether this stream's spans can be written into the unit output (a Parquet span is encoded first). */
  get canWriteDirect(): boolean {
    return this.parquet === undefined;
  }

  /**
   * The span's rows go straight after what `unit` holds, in its own buffer (no copy at placeInto). Only
   * for a span with no rows yet, and only while no other stream writes into `unit` (the caller makes it
   * the first stream of the span; placeInto places it first and ends it).
   */
  beginDirect(unit: UnitOutput): void {
    if (this.rows !== 0 || this.length !== 0 || this.direct) throw new Error("beginDirect: the span already has rows");
    this.own = this.bytes;
    this.bytes = unit.bytes;
    this.length = this.spanStart = unit.length;
    this.direct = unit;
  }

  /** ByteSink: room for `extra` bytes past `length`; bytes past `length` (a row being written) are kept. */
  ensure(extra: number): void {
    if (this.length + extra > this.bytes.length) this.bytes = grownSpan(this.bytes, this.bytes.length, this.length + extra);
  }

  append(row: string, position: number): void {
    // 3 bytes per UTF-16 unit is the worst case; a long row measures itself (a 60 MB row reserved 180).
    const room = (row.length > LONG_ROW ? Buffer.byteLength(row, "utf8") : row.length * 3) + 24;
    if (this.length + room > this.bytes.length) this.bytes = grownSpan(this.bytes, this.length, this.length + room);
    const text = this.ordinal ? `${row},${position}\n` : `${row}\n`;
    this.length += this.bytes.write(text, this.length, "utf8");
    if (this.fieldEnds) {
      const base = this.fieldEndsRow();
      this.fieldEnds[base] = -1; // fields found by fill
    }
    this.endRow(position);
  }

  /** Ends a row the fast writer put at `length`: its ordinal (StreamEncodePlan.ordinal), the newline. */
  endScanned(position: number): void {
    if (this.ordinal) {
      this.ensure(24);
      this.bytes[this.length++] = 44;
      this.length += writeInteger(this.bytes, this.length, position);
    } else {
      this.ensure(1);
    }
    if (this.fieldEnds) this.noteFieldEnds();
    this.bytes[this.length++] = 10;
    this.endRow(position);
  }

  /** The fields of the row the byte path just wrote (its newline goes at `length`), for Parquet. */
  private noteFieldEnds(): void {
    const base = this.fieldEndsRow();
    const ends = this.fieldEnds!;
    const written = this.fast!.fieldEnd;
    for (let c = 0; c < written.length; c++) ends[base + c] = written[c]!;
    // The ordinal, when staged, is the last field.
    ends[base + this.fieldsPerRow - 1] = this.length;
  }

  /** Where the row being ended starts in fieldEnds, grown first when it has no room for it. */
  private fieldEndsRow(): number {
    const n = this.fieldsPerRow;
    if ((this.rows + 1) * n > this.fieldEnds!.length) this.fieldEnds = grown(this.fieldEnds!, this.fieldEnds!.length * 2);
    return this.rows * n;
  }

  private endRow(position: number): void {
    if (this.rows === this.rowEnds.length) {
      this.rowEnds = grown(this.rowEnds, this.rows * 2);
      this.positions = grown(this.positions, this.rows * 2);
    }
    this.rowEnds[this.rows] = this.length - this.spanStart;
    this.positions[this.rows] = position;
    this.rows++;
  }

  /**
   * Moves the span's rows into the unit's output and starts the next span; undefined when the span has
   * no rows (a direct span whose first row was declined).
   */
  placeInto(unit: UnitOutput): PlacedRows | undefined {
    const direct = this.direct;
    if (direct) {
      if (direct !== unit || unit.length !== this.spanStart) throw new Error("placeInto: a direct span must be placed first, into its own unit");
      // The rows are in place; the output takes the buffer they were written to (grown, maybe).
      unit.bytes = this.bytes;
      this.bytes = this.own!;
      this.own = undefined;
      this.direct = undefined;
    }
    if (this.rows === 0) {
      this.length = this.spanStart = 0;
      return undefined;
    }
    const widths = this.columns.map((c) => c.width.maxBytes);
    for (const c of this.columns) c.width.maxBytes = 0;
    // Parquet: the rows' CSV text is decided already; the row group is made from it.
    const group = this.parquet?.encode(this.bytes, this.length, this.rows, this.fieldEnds);
    const size = group ? group.bytes.length : this.length - this.spanStart;
    const byteStart = unit.length;
    unit.reserve(direct ? 0 : size, this.rows);
    const rowStart = unit.rows;
    if (group) unit.bytes.set(group.bytes, byteStart);
    else if (!direct) this.bytes.copy(unit.bytes, byteStart, 0, this.length);
    unit.rowEnds.set(part(this.rowEnds, 0, this.rows), rowStart);
    unit.positions.set(part(this.positions, 0, this.rows), rowStart);
    let keyList: unknown[] | undefined;
    if (this.keyed) {
      if (this.numericKeys) for (let i = 0; i < this.rows; i++) unit.keys[rowStart + i] = this.keys[i] as number;
      else keyList = this.keys;
    }
    unit.length += size;
    unit.rows += this.rows;
    const placed: PlacedRows = {
      kind: "rows",
      stream: this.plan.id,
      rows: this.rows,
      byteStart,
      byteEnd: byteStart + size,
      rowGroupChunks: group?.chunks,
      textBytes: group ? this.length : undefined,
      rowStart,
      keyList,
      keyed: this.keyed,
      widths,
      changes: [...this.changes],
      nullKeys: this.nullKeys,
      nonFinite: this.nonFinite,
    };
    this.length = this.spanStart = 0;
    this.rows = 0;
    if (this.bytes.length > KEEP_SPAN_BYTES) {
      if (spareSpans.length < SPARE_SPANS) spareSpans.push(this.bytes);
      this.bytes = Buffer.allocUnsafeSlow(SPAN_BYTES);
    }
    this.keys = [];
    this.numericKeys = true;
    this.nullKeys = false;
    this.nonFinite = 0;
    if (this.changes.size > 0) this.changes = new Map();
    return placed;
  }
}

/** The unit with its rows as views into its buffers (on the receiving side). */
export function unpack(unit: PackedUnit): EncodedUnit {
  const out = unit.output;
  const events = unit.events.map((p): RowsEvent | LineEvent => {
    if (p.kind === "line") return p;
    const rowEnd = p.rowStart + p.rows;
    return {
      kind: "rows",
      stream: p.stream,
      rows: p.rows,
      bytes: part(out.bytes, p.byteStart, p.byteEnd),
      rowEnds: part(out.rowEnds, p.rowStart, rowEnd),
      positions: part(out.positions, p.rowStart, rowEnd),
      widths: p.widths,
      rowGroupChunks: p.rowGroupChunks,
      textBytes: p.textBytes,
      changes: p.changes,
      keys: p.keyed ? (p.keyList ?? part(out.keys, p.rowStart, rowEnd)) : undefined,
      nullKeys: p.nullKeys,
      nonFinite: p.nonFinite,
    };
  });
  return { seq: unit.seq, epoch: unit.epoch, lines: unit.lines, rest: unit.rest, events, invalidUtf8: unit.invalidUtf8, output: out };
}

export class UnitEncoder {
  private setupValue: EncoderSetup | undefined;
  private plans = new Map<string, StreamEncodePlan>();
  private outputs = new Map<string, StreamOutput>();
  private readonly changes = new RowChanges();
  private airbyte: AirbyteRoutes | undefined;
  /** where a RECORD keeps the values that must stay exact (see parseMessageLine) */
  private exactAt = EXACT_PATHS.singer;
  /** the unit being encoded: when its input was read */
  private receivedAt = "";
  /** the output of the unit being encoded */
  private unitOutput: UnitOutput | undefined;
  /**
   * Some stream can take the byte path (Singer lines, only data columns): else no line is scanned twice
   * (a metadata stream's line would be scanned, then declined and parsed).
   */
  private byteStreams = false;
  private readonly scanner: RecordLineScanner | undefined;
  /** the stream name of the last scanned record, and its output (records of one stream come in runs) */
  private lastStream: Uint8Array = new Uint8Array(0);
  private lastOutput: StreamOutput | undefined;
  /** the namespace of the last scanned Airbyte record (undefined: none or null) */
  private lastNamespace: Uint8Array | undefined;
  /** records the byte path encoded (the rest took the object path): for tests and the debug log */
  scannedRecords = 0;

  /** `byteScan: false` keeps every record on the object path (the reference the byte path is tested against). */
  constructor(options: { byteScan?: boolean } = {}) {
    this.scanner = options.byteScan === false ? undefined : new RecordLineScanner();
  }

  setup(setup: EncoderSetup): void {
    this.setupValue = setup;
    this.plans = new Map(setup.streams.map((s) => [s.id, s]));
    this.outputs = new Map();
    this.airbyte = setup.envelope === "airbyte" ? new AirbyteRoutes(setup.routes ?? []) : undefined;
    this.exactAt = EXACT_PATHS[this.airbyte ? "airbyte" : "singer"];
    this.lastOutput = undefined;
    this.byteStreams = this.scanner !== undefined && setup.streams.some((st) => st.columns.every((c) => c.property !== undefined || (c.meta !== undefined && c.meta.kind !== "record")));
  }

  private output(plan: StreamEncodePlan): StreamOutput {
    let out = this.outputs.get(plan.id);
    if (!out) {
      const policy = this.setupValue!.policy;
      const strict = [...plan.keyColumns, ...(plan.existenceColumns ?? [])];
      const columns = plan.columns.map((c) =>
        columnPlan(
          c.name,
          c.type,
          columnPolicy(c.name, policy, strict),
          c.property,
          c.meta ? { name: c.name, type: c.type, value: metadataValue(c.meta), source: c.meta } : undefined,
        ),
      );
      out = new StreamOutput(plan, columns, this.changes, this.setupValue!.parquet === true, this.airbyte !== undefined, this.scanner);
      this.outputs.set(plan.id, out);
    }
    return out;
  }

  /**
   * `lineOffset`: lines of the unit before `unit` (the rest of a unit continues its positions).
   * `receivedAt`: when the unit's input was read (ISO 8601), for received-at metadata columns.
   */
  encode(unit: Uint8Array, seq: number, epoch: number, lineOffset = 0, receivedAt = ""): EncodedUnit {
    return unpack(this.encodePacked(unit, seq, epoch, lineOffset, undefined, receivedAt));
  }

  /** `recycled`: output buffers of an applied unit to write into (see UnitOutput); `receivedAt` as for encode(). */
  encodePacked(unit: Uint8Array, seq: number, epoch: number, lineOffset = 0, recycled?: UnitBuffers, receivedAt = ""): PackedUnit {
    if (!this.setupValue || this.setupValue.epoch !== epoch) {
      throw new Error(`encoder set up for epoch ${this.setupValue?.epoch}, unit ${seq} needs ${epoch}`);
    }
    this.receivedAt = receivedAt;
    const buf = Buffer.from(unit.buffer, unit.byteOffset, unit.byteLength);
    const output = new UnitOutput(unit.byteLength, recycled);
    const placed: (PlacedRows | LineEvent)[] = [];
    const invalidUtf8: number[] = [];
    const touched = new Set<StreamOutput>();
    const flushRows = () => {
      for (const out of touched) {
        const rows = out.placeInto(output);
        if (rows) placed.push(rows);
      }
      touched.clear();
    };
    this.unitOutput = output;
    const base = seq * LINE_SLOTS + lineOffset;
    const changes = this.changes;
    // One check for the unit; only a unit with bad bytes is checked line by line.
    const checkLines = !isUtf8(buf);
    let index = 0;
    let start = 0;
    let rest: number | undefined;
    while (start < buf.length) {
      let nl = buf.indexOf(10, start);
      const next = nl === -1 ? buf.length : nl + 1;
      if (nl === -1) nl = buf.length;
      const end = nl > start && buf[nl - 1] === 13 ? nl - 1 : nl;
      if (checkLines && !isUtf8(buf.subarray(start, end))) invalidUtf8.push(index);
      // The byte path copies bytes: only for a unit known to be UTF-8 (else the object path replaces bad bytes).
      if (!checkLines && this.byteStreams && this.encodeScanned(this.scanner!, buf, start, end, base + index, touched, changes)) {
        start = next;
        index++;
        continue;
      }
      const line = buf.toString("utf8", start, end);
      const taken = this.encodeRecord(line, base + index, touched, changes);
      if (taken !== "taken" && line.trim().length > 0) {
        flushRows();
        placed.push({ kind: "line", index, text: line, end: next });
        if (taken === "stop" && next < buf.length) {
          rest = next;
          index++;
          break;
        }
      }
      start = next;
      index++;
    }
    flushRows();
    const buffers: UnitBuffers = {
      // The whole buffer goes (a recycled one is reused whole); events say which bytes are rows.
      bytes: new Uint8Array(output.bytes.buffer, output.bytes.byteOffset, output.bytes.length),
      rowEnds: output.rowEnds,
      positions: output.positions,
      keys: output.keys,
    };
    return { seq, epoch, lines: index, rest, events: placed, invalidUtf8, output: buffers };
  }

  /**
   * The byte path (record-scanner.ts): true when the line was a RECORD it encoded; false leaves the line to
   * the object path (which also reports anything wrong with it).
   */
  private encodeScanned(scanner: RecordLineScanner, buf: Buffer, start: number, end: number, position: number, touched: Set<StreamOutput>, changes: RowChanges): boolean {
    const airbyte = this.airbyte;
    if (!scanner.scan(buf, start, end, airbyte ? "airbyte" : "singer")) return false;
    // Airbyte requires a finite numeric emitted_at (airbyteRecordProblem), checked before any column is
    // encoded (as there); anything else is the object path's to report. As the object path has it: a
    // number, or a JsonNumber where a double would change its digits.
    if (airbyte) {
      const t = scanner.emittedAtToken;
      const f = scanner.fields;
      if (t < 0 || f.kind[t] !== NUMBER) return false;
      // Without an exponent, up to 308 integer digits stay below 1.8e308: finite, no need to read it.
      if ((f.flags[t]! & NUMBER_EXPONENT || f.intDigits[t]! > 308) && !Number.isFinite(Number(scanner.fieldAt(t)))) return false;
    }
    const ss = scanner.streamStart;
    const len = scanner.streamEnd - ss;
    const ns = scanner.namespaceStart;
    const nsLen = ns < 0 ? -1 : scanner.namespaceEnd - ns;
    let out = this.lastOutput;
    const last = this.lastStream;
    const lastNs = this.lastNamespace;
    let same = out !== undefined && last.length === len && (nsLen === -1 ? lastNs === undefined : lastNs !== undefined && lastNs.length === nsLen);
    for (let k = 0; same && k < len; k++) if (buf[ss + k] !== last[k]) same = false;
    for (let k = 0; same && k < nsLen; k++) if (buf[ns + k] !== lastNs![k]) same = false;
    if (!same) {
      const name = buf.toString("utf8", ss, scanner.streamEnd);
      const id = airbyte ? airbyte.find(name, ns < 0 ? null : buf.toString("utf8", ns, scanner.namespaceEnd)) : name;
      const plan = id === undefined ? undefined : this.plans.get(id);
      if (!plan) return false;
      out = this.output(plan);
      this.lastOutput = out;
      this.lastStream = Uint8Array.from(buf.subarray(ss, scanner.streamEnd));
      this.lastNamespace = ns < 0 ? undefined : Uint8Array.from(buf.subarray(ns, scanner.namespaceEnd));
    }
    const o = out!;
    const fast = o.fast;
    if (!fast) return false;
    if (o.mainThreadKeys) for (const k of o.mainThreadKeys) if (scanner.hasField(k)) return false;
    changes.reset();
    const ctx = o.ctx;
    if (o.readsFields) {
      // Views of this line (read synchronously by the metadata values, which keep nothing).
      ctx.message = o.scannedMessage!;
      ctx.record = o.scannedRecord!;
    }
    ctx.position = position;
    ctx.receivedAt = this.receivedAt;
    this.openSpan(o, touched);
    try {
      if (fast.write(scanner, buf, o, changes, ctx) === "declined") return false;
    } catch {
      return false; // the object path meets the same value, and hands the line to the main thread
    }
    o.endScanned(position);
    this.scannedRecords++;
    touched.add(o);
    if (o.plan.keyColumns.length > 0) {
      const key = fast.key;
      if (typeof key !== "number") o.numericKeys = false;
      o.keys.push(key);
      if (fast.nullKey) o.nullKeys = true;
    }
    for (const c of changes.list) {
      const k = changeKey(c);
      o.changes.set(k, (o.changes.get(k) ?? 0) + 1);
    }
    return true;
  }

  /**
   * The first stream of a span writes into the unit output directly. It joins `touched` before its first
   * row is written, so the span is always placed (first, as Sets keep insertion order) and ended, even
   * when that row is declined.
   */
  private openSpan(out: StreamOutput, touched: Set<StreamOutput>): void {
    if (touched.size === 0 && out.canWriteDirect) {
      out.beginDirect(this.unitOutput!);
      touched.add(out);
    }
  }

  /**
   * "taken": a RECORD encoded here. Otherwise the main thread decides: "state" lines leave the streams as
   * they are, so encoding goes on after them; after any other line it stops ("stop").
   */
  private encodeRecord(text: string, position: number, touched: Set<StreamOutput>, changes: RowChanges): "taken" | "state" | "stop" {
    let parsed: ReturnType<typeof parseMessageLine>;
    try {
      parsed = parseMessageLine(text, this.exactAt);
    } catch {
      return "stop"; // nested too deep for the exact parser: the main thread meets it and names the line
    }
    if (!parsed.ok) return "stop";
    const msg = parsed.value as Record<string, unknown>;
    if (msg === null || typeof msg !== "object") return "stop";
    if (msg.type === "STATE") return "state";
    // What a record's metadata columns read as its message: Singer's RECORD message, Airbyte's envelope.
    let message: Record<string, unknown>;
    let record: Record<string, unknown>;
    let plan: StreamEncodePlan | undefined;
    if (this.airbyte) {
      // These change no stream definition: encoding goes on after them, as after a STATE.
      if (msg.type === "TRACE" || msg.type === "LOG" || msg.type === "CONTROL") return "state";
      if (msg.type !== "RECORD" || airbyteRecordProblem(msg)) return "stop";
      message = msg.record as Record<string, unknown>;
      const id = this.airbyte.find(message.stream as string, message.namespace as string | null | undefined);
      plan = id === undefined ? undefined : this.plans.get(id);
      record = message.data as Record<string, unknown>;
    } else {
      if (msg.type !== "RECORD" || singerRecordProblem(msg)) return "stop";
      message = msg;
      plan = this.plans.get(msg.stream as string);
      record = msg.record as Record<string, unknown>;
    }
    if (!plan) return "stop";
    for (const k of plan.keyProperties) if (record[k] === undefined) return "stop";
    if (plan.mainThreadFields) for (const f of plan.mainThreadFields) if (message[f] !== undefined) return "stop";
    const out = this.output(plan);
    changes.reset();
    const ctx = out.ctx;
    ctx.message = message;
    ctx.record = record;
    ctx.position = position;
    ctx.receivedAt = this.receivedAt;
    let row: string;
    try {
      row = out.encoder.encode(record, changes, ctx);
    } catch {
      return "stop"; // the main thread encodes it again and reports the error with its line
    }
    this.openSpan(out, touched);
    out.append(row, position);
    touched.add(out);
    if (plan.keyColumns.length > 0) {
      const key = out.encoder.key;
      if (typeof key !== "number") out.numericKeys = false;
      out.keys.push(key);
      if (out.encoder.nullKey) out.nullKeys = true;
    }
    if (parsed.nonFinite) out.nonFinite++;
    for (const c of changes.list) {
      const k = changeKey(c);
      out.changes.set(k, (out.changes.get(k) ?? 0) + 1);
    }
    return "taken";
  }
}
