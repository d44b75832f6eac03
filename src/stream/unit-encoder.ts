/**
 * Parses and encodes a unit of Singer input (whole lines, ~1 MiB) into per-stream CSV rows. Pure: it runs
 * in the encode workers and, for small units, on the main thread, with the same result.
 *
 * Only the common case is handled here: a RECORD of a stream the unit was set up for, whose record
 * encodes. Every other line (SCHEMA, STATE, bad JSON, a record that fails, …) comes back as a LineEvent
 * for the main thread's front end, which owns all decisions and error messages. Rows are grouped per
 * stream between two such lines, each row with its ledger position, so the ledger still sees arrival
 * order: a line at index i of unit `seq` has position seq × LINE_SLOTS + i.
 */
import { isUtf8 } from "node:buffer";
import { parseMessageLine } from "../protocol/json.js";
import { recordProblem } from "../protocol/singer.js";
import { RowChanges, changeKey, type ValuePolicy } from "./encode.js";
import { type ColumnSpec, CsvRowEncoder } from "./row-encoder.js";
import { type ColumnPlan, columnPlan } from "./table-shape.js";

/** Positions reserved per unit: more than the lines a unit can hold (units are cut at ~1 MiB). */
export const LINE_SLOTS = 2 ** 21;

export interface StreamEncodePlan {
  id: string;
  columns: ColumnSpec[];
  /** raw key property names (each must be present in a record) */
  keyProperties: string[];
  /** key column names; rows of keyed streams carry their position as the ordinal column */
  keyColumns: string[];
}

export interface EncoderSetup {
  /** changes whenever a stream's definition does; a unit is encoded for one epoch */
  epoch: number;
  policy: ValuePolicy;
  streams: StreamEncodePlan[];
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
  /** 0-based line index in the unit */
  index: number;
  text: string;
  /** byte offset just past the line's newline: where re-encoding resumes */
  end: number;
}

export interface EncodedUnit {
  seq: number;
  epoch: number;
  /** lines in the unit (the last one may lack its newline) */
  lines: number;
  events: (RowsEvent | LineEvent)[];
  /** 0-based indexes of lines that were not valid UTF-8 */
  invalidUtf8: number[];
}

class StreamOutput {
  bytes: Buffer;
  length = 0;
  rows = 0;
  rowEnds: Uint32Array;
  positions: Float64Array;
  keys: unknown[] = [];
  numericKeys = true;
  nullKeys = false;
  nonFinite = 0;
  changes = new Map<string, number>();
  readonly encoder: CsvRowEncoder;
  private readonly keyed: boolean;

  constructor(
    readonly plan: StreamEncodePlan,
    readonly columns: ColumnPlan[],
    /** bytes to start with (the last span's size, so most spans never grow) */
    private expect: number,
  ) {
    this.encoder = new CsvRowEncoder(columns, plan.keyColumns);
    this.keyed = plan.keyColumns.length > 0;
    this.bytes = Buffer.allocUnsafeSlow(expect);
    this.rowEnds = new Uint32Array(1024);
    this.positions = new Float64Array(1024);
  }

  append(row: string, position: number): void {
    const room = row.length * 3 + 24;
    if (this.length + room > this.bytes.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(this.bytes.length * 2, this.length + room));
      this.bytes.copy(grown, 0, 0, this.length);
      this.bytes = grown;
    }
    this.length += this.bytes.write(this.keyed ? `${row},${position}\n` : `${row}\n`, this.length, "utf8");
    if (this.rows === this.rowEnds.length) {
      const ends = new Uint32Array(this.rows * 2);
      ends.set(this.rowEnds);
      this.rowEnds = ends;
      const pos = new Float64Array(this.rows * 2);
      pos.set(this.positions);
      this.positions = pos;
    }
    this.rowEnds[this.rows] = this.length;
    this.positions[this.rows] = position;
    this.rows++;
  }

  /** The rows so far as an event (its buffers handed over), and a fresh start. */
  take(): RowsEvent {
    const widths = this.columns.map((c) => c.width.maxBytes);
    for (const c of this.columns) c.width.maxBytes = 0;
    const event: RowsEvent = {
      kind: "rows",
      stream: this.plan.id,
      rows: this.rows,
      bytes: new Uint8Array(this.bytes.buffer, this.bytes.byteOffset, this.length),
      rowEnds: this.rowEnds.subarray(0, this.rows),
      positions: this.positions.subarray(0, this.rows),
      widths,
      changes: [...this.changes],
      keys: this.plan.keyColumns.length === 0 ? undefined : this.numericKeys ? Float64Array.from(this.keys as number[]) : this.keys,
      nullKeys: this.nullKeys,
      nonFinite: this.nonFinite,
    };
    this.expect = Math.max(4096, Math.ceil(this.length * 1.25));
    this.bytes = Buffer.allocUnsafeSlow(this.expect);
    this.length = 0;
    this.rowEnds = new Uint32Array(Math.max(1024, this.rows));
    this.positions = new Float64Array(this.rowEnds.length);
    this.rows = 0;
    this.keys = [];
    this.numericKeys = true;
    this.nullKeys = false;
    this.nonFinite = 0;
    this.changes = new Map();
    return event;
  }
}

export class UnitEncoder {
  private setupValue: EncoderSetup | undefined;
  private plans = new Map<string, StreamEncodePlan>();
  private outputs = new Map<string, StreamOutput>();
  private readonly changes = new RowChanges();

  setup(setup: EncoderSetup): void {
    this.setupValue = setup;
    this.plans = new Map(setup.streams.map((s) => [s.id, s]));
    this.outputs = new Map();
  }

  private output(plan: StreamEncodePlan, unitBytes: number): StreamOutput {
    let out = this.outputs.get(plan.id);
    if (!out) {
      const policy = this.setupValue!.policy;
      const columns = plan.columns.map((c) => columnPlan(c.name, c.type, policy, c.property));
      out = new StreamOutput(plan, columns, Math.min(unitBytes + 4096, 64 * 1024));
      this.outputs.set(plan.id, out);
    }
    return out;
  }

  encode(unit: Uint8Array, seq: number, epoch: number): EncodedUnit {
    if (!this.setupValue || this.setupValue.epoch !== epoch) {
      throw new Error(`encoder set up for epoch ${this.setupValue?.epoch}, unit ${seq} needs ${epoch}`);
    }
    const buf = Buffer.from(unit.buffer, unit.byteOffset, unit.byteLength);
    const events: (RowsEvent | LineEvent)[] = [];
    const invalidUtf8: number[] = [];
    const touched = new Set<StreamOutput>();
    const flushRows = () => {
      for (const out of touched) events.push(out.take());
      touched.clear();
    };
    const base = seq * LINE_SLOTS;
    const changes = this.changes;
    // One check for the unit; only a unit with bad bytes is checked line by line.
    const checkLines = !isUtf8(buf);
    let index = 0;
    let start = 0;
    while (start < buf.length) {
      let nl = buf.indexOf(10, start);
      const next = nl === -1 ? buf.length : nl + 1;
      if (nl === -1) nl = buf.length;
      const end = nl > start && buf[nl - 1] === 13 ? nl - 1 : nl;
      if (checkLines && !isUtf8(buf.subarray(start, end))) invalidUtf8.push(index);
      const line = buf.toString("utf8", start, end);
      if (!this.encodeRecord(line, base + index, touched, changes, unit.byteLength) && line.trim().length > 0) {
        flushRows();
        events.push({ kind: "line", index, text: line, end: next });
      }
      start = next;
      index++;
    }
    flushRows();
    return { seq, epoch, lines: index, events, invalidUtf8 };
  }

  /** Whether the line was a RECORD this encoder could take (false: the main thread decides). */
  private encodeRecord(text: string, position: number, touched: Set<StreamOutput>, changes: RowChanges, unitBytes: number): boolean {
    const parsed = parseMessageLine(text);
    if (!parsed.ok) return false;
    const msg = parsed.value as Record<string, unknown>;
    if (msg === null || typeof msg !== "object" || msg.type !== "RECORD" || recordProblem(msg)) return false;
    const plan = this.plans.get(msg.stream as string);
    if (!plan) return false;
    const record = msg.record as Record<string, unknown>;
    for (const k of plan.keyProperties) if (record[k] === undefined) return false;
    const out = this.output(plan, unitBytes);
    changes.reset();
    let row: string;
    try {
      row = out.encoder.encode(record, changes);
    } catch {
      return false; // the main thread encodes it again and reports the error with its line
    }
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
    return true;
  }
}
