/**
 * Thrift's compact protocol, as much of it as Parquet's page headers and footer need (Apache Thrift,
 * "Thrift Compact protocol encoding", doc/specs/thrift-compact-protocol.md): field headers with id deltas,
 * zigzag varints, binary, lists and structs. Used on the hot path instead of a generic serializer: the
 * encode workers' page headers and the footers of the parts they fill.
 */

/** Compact protocol types (the low nibble of a field header or list header). */
export const BOOL_TRUE = 1;
export const BOOL_FALSE = 2;
export const I32 = 5;
export const I64 = 6;
export const BINARY = 8;
export const LIST = 9;
export const STRUCT = 12;

/** Unsigned LEB128 (Thrift compact varint) of `n` (0 ≤ n < 2^53) at out[at]; returns the next index. */
export function varint(out: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[at++] = n;
  return at;
}

/**
 * Zigzag of an integer (0, -1, 1, -2… → 0, 1, 2, 3…), as compact i32 and i64 values are written: exact
 * while the result is a safe integer (−2^52 ≤ n < 2^52).
 */
function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

/** A compact i32 field with id delta 1..15 at out[at]: header byte, zigzag varint; returns the next index. */
export function i32Field(out: Buffer, at: number, delta: number, n: number): number {
  out[at++] = (delta << 4) | I32;
  return varint(out, at, zigzag(n));
}

/**
 * A growable buffer of compact-protocol output with a stack of open structs (each remembers its last
 * field id, as field headers carry the delta). Field ids must rise within a struct, by 1–15 per field.
 */
export class CompactWriter {
  private out = Buffer.allocUnsafe(4096);
  private at = 0;
  private lastId = 0;
  private readonly open: number[] = [];

  /** The bytes written so far (a view of the writer's buffer). */
  bytes(): Buffer {
    return this.out.subarray(0, this.at);
  }

  i32(id: number, n: number): void {
    this.field(id, I32);
    this.zigzagVarint(n);
  }

  /**
   * An i64 field holding a whole number whose zigzag is a safe integer: −2^52 ≤ n < 2^52.
   * Throws a RangeError for anything else, before writing the field.
   */
  i64(id: number, n: number): void {
    const z = zigzag(n);
    if (!Number.isSafeInteger(z) || !Number.isInteger(n)) throw new RangeError(`thrift: i64 field ${id} holds ${n}, not a whole number within ±2^52`);
    this.field(id, I64);
    this.room(10);
    this.at = varint(this.out, this.at, z);
  }

  bool(id: number, v: boolean): void {
    this.field(id, v ? BOOL_TRUE : BOOL_FALSE);
  }

  binary(id: number, text: string): void {
    this.field(id, BINARY);
    this.string(text);
  }

  /** A list field's header: `size` elements of compact type `type` follow (write them with the element methods). */
  list(id: number, type: number, size: number): void {
    this.field(id, LIST);
    this.listHeader(type, size);
  }

  /** List elements. */
  i32Element(n: number): void {
    this.zigzagVarint(n);
  }

  string(text: string): void {
    const bytes = Buffer.byteLength(text, "utf8");
    this.room(5 + bytes);
    this.at = varint(this.out, this.at, bytes);
    this.at += this.out.write(text, this.at, "utf8");
  }

  /** Opens a struct field (or, with no id, a struct element of a list); close it with end(). */
  struct(id?: number): void {
    if (id !== undefined) this.field(id, STRUCT);
    this.open.push(this.lastId);
    this.lastId = 0;
  }

  /** Ends the innermost open struct (its STOP byte). */
  end(): void {
    this.room(1);
    this.out[this.at++] = 0;
    this.lastId = this.open.pop() ?? 0;
  }

  /** A struct field holding an empty struct (Parquet's union members without fields: JSON, MICROS…). */
  empty(id: number): void {
    this.struct(id);
    this.end();
  }

  private listHeader(type: number, size: number): void {
    this.room(6);
    if (size < 15) this.out[this.at++] = (size << 4) | type;
    else {
      this.out[this.at++] = 0xf0 | type;
      this.at = varint(this.out, this.at, size);
    }
  }

  private field(id: number, type: number): void {
    const delta = id - this.lastId;
    if (delta < 1 || delta > 15) throw new Error(`thrift: field ${id} after ${this.lastId}`);
    this.room(1);
    this.out[this.at++] = (delta << 4) | type;
    this.lastId = id;
  }

  private zigzagVarint(n: number): void {
    this.room(10);
    this.at = varint(this.out, this.at, zigzag(n));
  }

  private room(n: number): void {
    if (this.at + n <= this.out.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.at + n, this.out.length * 2));
    this.out.copy(grown, 0, 0, this.at);
    this.out = grown;
  }
}
