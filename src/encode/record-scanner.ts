/**
 * The fast path of the encode workers: a RECORD line's bytes → one CSV row, without building a JS
 * object for the message (issue 14: JSON.parse, its garbage and the exact-number check cost more than the
 * encoding itself). Singer's RECORD message and Airbyte's AirbyteRecordMessage envelope are both read.
 *
 * `RecordLineScanner.scan` reads the line once, as strictly as JSON.parse (RFC 8259: grammar, escapes,
 * no control characters in strings, nothing after the value), and notes where the envelope's stream name,
 * its other fields and each record property's value lie. `FastRowWriter.write` then writes the row in
 * column order straight from those bytes where the decision is a copy: a string without escapes into
 * VARCHAR, a number into a numeric column it fits, a canonical UTC date-time into TIMESTAMP(TZ), a nested
 * value into SUPER (whose size limits are read off its text). Every other value is materialised on its
 * own and given to the column's own encoder (encode.ts), so each value's fate is still decided in one
 * place; numbers are materialised exactly as parseMessageLine gives them (JsonNumber where a double would
 * change them). Metadata columns are computed by their own functions (metadata-values.ts) from the few
 * envelope and record fields they read.
 *
 * The rows equal what the object path (parseMessageLine + CsvRowEncoder) writes for the same line, byte
 * for byte: test/unit/encode/record-scanner.test.ts checks that on generated records. Whatever the
 * scanner is not sure of (invalid JSON, escapes in names, duplicate envelope keys, deep nesting, a
 * non-RECORD message) it declines, and the line takes the object path, which owns every error message.
 */
import { JsonNumber, parseExactJson, plainNumber } from "../input/json.js";
import { CSV_NULL_MARKER } from "../redshift/sql.js";
import { MAX_VARCHAR_BYTES, isTextual } from "../redshift/types.js";
import { RowChanges, SUPER_MAX_BYTES, daysInMonth } from "./encode.js";
import { fieldIdentity } from "./batch-keys.js";
import { type RowContext, airbyteMeta } from "./metadata-values.js";
import type { ColumnPlan } from "./table-shape.js";

/** Token kinds of a record property's value. */
const STRING = 1;
const ESCAPED_STRING = 2;
/** A number token (see fieldKind). */
export const NUMBER = 3;
const TRUE = 4;
const FALSE = 5;
const NULL = 6;
const CONTAINER = 7;

/** Number token facts (set by scanNumber). */
const NUM_NEG = 1;
const NUM_FRAC = 2;
const NUM_EXP = 4;
/** A number token's flag: it has an exponent (its value may be past a double's range). */
export const NUMBER_EXPONENT = NUM_EXP;
/** the fraction ends in 0 (`1.50`): not the text a double prints */
const NUM_TRAILING_ZERO = 8;
/** a negative zero (`-0`, `-0.00`) */
const NUM_NEG_ZERO = 16;

/** A container value's raw text is what the object path writes for it (no escapes, spaces, number forms or keys it would change). */
const RAW_EXACT = 1;

const MAX_DEPTH = 64;
const MAX_RAW_KEYS = 16;

const NULL_MARKER = Buffer.from(CSV_NULL_MARKER, "latin1");
const EMPTY = Buffer.alloc(0);

/** Where a record property's value lies in the line. */
interface Tokens {
  count: number;
  keyStart: Int32Array;
  keyEnd: Int32Array;
  valStart: Int32Array;
  valEnd: Int32Array;
  kind: Uint8Array;
  /** number facts (NUM_*) or container facts (RAW_EXACT) */
  flags: Uint8Array;
  /** digits of a number token; a container's longest string value in bytes */
  digits: Int32Array;
  /** integer digits of a number token */
  intDigits: Int32Array;
}

function grownTokens(old: Tokens): Tokens {
  const p = tokens(old.kind.length * 2);
  p.count = old.count;
  p.keyStart.set(old.keyStart);
  p.keyEnd.set(old.keyEnd);
  p.valStart.set(old.valStart);
  p.valEnd.set(old.valEnd);
  p.kind.set(old.kind);
  p.flags.set(old.flags);
  p.digits.set(old.digits);
  p.intDigits.set(old.intDigits);
  return p;
}

/** Envelope levels (see RecordLineScanner.scan) and the fields each must hold once. */
const SINGER_MESSAGE = 0;
const AIRBYTE_MESSAGE = 1;
const AIRBYTE_RECORD_ENVELOPE = 2;
const TYPE = 1;
const STREAM = 2;
const RECORD = 4;
const AIRBYTE_RECORD = 8;
const NAMESPACE = 16;
/** Airbyte's `emitted_at` and `meta`: envelope fields like any other, whose token the scanner also notes */
const EMITTED_AT = 32;
const META = 64;
const REQUIRED = [TYPE | STREAM | RECORD, TYPE | AIRBYTE_RECORD, STREAM | RECORD];
/** An envelope key: its bytes, their first four as one big-endian word, and its bit. */
interface EnvelopeKey {
  bytes: Uint8Array;
  word: number;
  key: number;
}
const envelopeKeys = (...keys: [string, number][]): EnvelopeKey[] =>
  keys.map(([name, key]) => {
    const bytes = Buffer.from(name, "latin1");
    return { bytes, word: bytes.readUInt32BE(0), key };
  });
const KEYS: EnvelopeKey[][] = [
  envelopeKeys(["type", TYPE], ["stream", STREAM], ["record", RECORD]),
  envelopeKeys(["type", TYPE], ["record", AIRBYTE_RECORD]),
  envelopeKeys(["stream", STREAM], ["data", RECORD], ["emitted_at", EMITTED_AT], ["namespace", NAMESPACE], ["meta", META]),
];

/**
 * Which envelope field the key bytes b[ks, ks + len) name at `level` (0: another field). Every envelope
 * key has 4+ bytes: their first four, read as one word, pick the candidate (comparing names byte by byte
 * was a tenth of an Airbyte line's scan).
 */
function envelopeKey(b: Uint8Array, ks: number, len: number, level: number): number {
  if (len < 4) return 0;
  const word = ((b[ks]! << 24) | (b[ks + 1]! << 16) | (b[ks + 2]! << 8) | b[ks + 3]!) >>> 0;
  const keys = KEYS[level]!;
  for (let k = 0; k < keys.length; k++) {
    const entry = keys[k]!;
    if (entry.word !== word || entry.bytes.length !== len) continue;
    for (let x = 4; x < len; x++) if (b[ks + x] !== entry.bytes[x]) return 0;
    return entry.key;
  }
  return 0;
}

function tokens(size: number): Tokens {
  return {
    count: 0,
    keyStart: new Int32Array(size),
    keyEnd: new Int32Array(size),
    valStart: new Int32Array(size),
    valEnd: new Int32Array(size),
    kind: new Uint8Array(size),
    flags: new Uint8Array(size),
    digits: new Int32Array(size),
    intDigits: new Int32Array(size),
  };
}

/**
 * Scans RECORD lines. One per worker; its fields describe the last line scanned (byte offsets into it).
 * Not reentrant.
 */
export class RecordLineScanner {
  private b: Uint8Array = new Uint8Array(0);
  private end = 0;
  /** the last string scanned had an escape */
  private escaped = false;
  private numFlags = 0;
  private numDigits = 0;
  private numIntDigits = 0;
  /** the last container scanned is RAW_EXACT */
  private rawExact = true;
  /** the longest string value (bytes, without quotes) in the last container scanned */
  private longestString = 0;
  /** key ranges of open objects, for the duplicate-key check of RAW_EXACT */
  private readonly keyStack = new Int32Array(MAX_DEPTH * MAX_RAW_KEYS * 2);

  streamStart = 0;
  streamEnd = 0;
  /** the line last scanned */
  lineStart = 0;
  lineEnd = 0;
  readonly props: Tokens = tokens(64);
  /** the envelope's other fields (see scan) */
  readonly fields: Tokens = tokens(8);
  namespaceStart = -1;
  namespaceEnd = -1;
  /** Airbyte: the token in `fields` of the inner record's `emitted_at` and `meta` (-1: absent) */
  emittedAtToken = -1;
  metaToken = -1;

  /**
   * Reads `b[start, end)` as one JSON message. True when it is valid JSON, a RECORD message with one
   * stream name and one record object, no escapes in those names or in the record's property names; the
   * record's properties are then in `props`, the envelope's other fields in `fields`. False declines the
   * line (it may still be valid: the object path decides).
   *
   * `envelope`: `singer` reads `{"type":"RECORD","stream":…,"record":{…},…}` (Singer spec, RECORD
   * message); `airbyte` reads `{"type":"RECORD","record":{"stream":…,"namespace":…,"data":{…},…}}`
   * (Airbyte protocol, AirbyteRecordMessage), with `fields` the fields of that inner `record` (emitted_at,
   * meta, …) and the namespace in namespaceStart/End (-1 when absent or null).
   */
  scan(b: Uint8Array, start: number, end: number, envelope: "singer" | "airbyte" = "singer"): boolean {
    this.b = b;
    this.end = end;
    this.lineStart = start;
    this.lineEnd = end;
    this.props.count = 0;
    this.fields.count = 0;
    this.namespaceStart = -1;
    this.namespaceEnd = -1;
    this.emittedAtToken = -1;
    this.metaToken = -1;
    let i = this.ws(start);
    if (b[i] !== 123 /* { */) return false;
    i = this.envelopeObject(i, envelope === "singer" ? SINGER_MESSAGE : AIRBYTE_MESSAGE);
    return i >= 0 && this.ws(i) === end;
  }

  /**
   * One envelope object at `i` (a `{`) read as `level`. Index past it, or -1 when it is not that envelope
   * (a required field missing or repeated, a field of the wrong kind, an escape in a name, invalid JSON).
   */
  private envelopeObject(i: number, level: number): number {
    const b = this.b;
    let seen = 0;
    i = this.ws(i + 1);
    if (b[i] === 125) return -1;
    for (;;) {
      if (b[i] !== 34) return -1;
      const ks = i + 1;
      i = this.str(i);
      if (i < 0 || this.escaped) return -1;
      const ke = i - 1;
      i = this.ws(i);
      if (b[i] !== 58 /* : */) return -1;
      i = this.ws(i + 1);
      const vs = i;
      const key = envelopeKey(b, ks, ke - ks, level);
      if (key !== 0 && seen & key) return -1;
      seen |= key;
      switch (key) {
        case TYPE:
          // "type": "RECORD"
          if (b[i] !== 34) return -1;
          i = this.str(i);
          if (i !== vs + 8 || this.escaped || b[vs + 1] !== 82 || b[vs + 2] !== 69 || b[vs + 3] !== 67 || b[vs + 4] !== 79 || b[vs + 5] !== 82 || b[vs + 6] !== 68) return -1;
          break;
        case STREAM:
          if (b[i] !== 34) return -1;
          i = this.str(i);
          if (i < 0 || this.escaped || i - vs < 3) return -1;
          this.streamStart = vs + 1;
          this.streamEnd = i - 1;
          break;
        case NAMESPACE:
          if (b[i] === 34) {
            i = this.str(i);
            if (i < 0 || this.escaped) return -1;
            this.namespaceStart = vs + 1;
            this.namespaceEnd = i - 1;
          } else {
            i = this.literal(i, 0x6e756c6c, 4); // null
          }
          break;
        case RECORD:
          if (b[i] !== 123) return -1;
          i = this.record(i);
          break;
        case AIRBYTE_RECORD:
          if (b[i] !== 123) return -1;
          i = this.envelopeObject(i, AIRBYTE_RECORD_ENVELOPE);
          break;
        case EMITTED_AT:
        case META: {
          let f = this.fields;
          if (f.count === f.kind.length) f = this.growFields();
          if (key === EMITTED_AT) this.emittedAtToken = f.count;
          else this.metaToken = f.count;
          i = this.token(f, ks, ke, i);
          break;
        }
        default:
          if (level === AIRBYTE_MESSAGE) {
            i = this.value(i, 0);
          } else {
            let f = this.fields;
            if (f.count === f.kind.length) f = this.growFields();
            i = this.token(f, ks, ke, i);
          }
      }
      if (i < 0) return -1;
      i = this.ws(i);
      const c = b[i];
      if (c === 44 /* , */) {
        i = this.ws(i + 1);
        continue;
      }
      if (c !== 125) return -1;
      return (seen & REQUIRED[level]!) === REQUIRED[level] ? i + 1 : -1;
    }
  }

  /** The record object at `i`: its properties into `props`. Index past it, or -1. */
  private record(i: number): number {
    const b = this.b;
    i = this.ws(i + 1);
    if (b[i] === 125) return i + 1;
    for (;;) {
      if (b[i] !== 34) return -1;
      const ks = i + 1;
      i = this.str(i);
      if (i < 0 || this.escaped) return -1;
      const ke = i - 1;
      i = this.ws(i);
      if (b[i] !== 58) return -1;
      i = this.ws(i + 1);
      let p = this.props;
      if (p.count === p.kind.length) p = this.growProps();
      i = this.token(p, ks, ke, i);
      if (i < 0) return -1;
      i = this.ws(i);
      const d = b[i];
      if (d === 44) {
        i = this.ws(i + 1);
        continue;
      }
      return d === 125 ? i + 1 : -1;
    }
  }

  /** The value at `i` as the next token of `p`, named by key bytes [ks, ke). Index past it, or -1. */
  private token(p: Tokens, ks: number, ke: number, i: number): number {
    const b = this.b;
    const n = p.count;
    p.keyStart[n] = ks;
    p.keyEnd[n] = ke;
    p.valStart[n] = i;
    const c = b[i];
    let kind: number;
    let flags = 0;
    if (c === 34) {
      i = this.str(i);
      kind = this.escaped ? ESCAPED_STRING : STRING;
    } else if (c === 123 || c === 91) {
      this.rawExact = true;
      this.longestString = 0;
      i = this.value(i, 0);
      kind = CONTAINER;
      flags = this.rawExact ? RAW_EXACT : 0;
      p.digits[n] = this.longestString;
    } else if (c === 116) {
      i = this.literal(i, 0x74727565, 4);
      kind = TRUE;
    } else if (c === 102) {
      i = b[i + 4] === 101 ? this.literal(i, 0x66616c73, 5) : -1;
      kind = FALSE;
    } else if (c === 110) {
      i = this.literal(i, 0x6e756c6c, 4);
      kind = NULL;
    } else {
      i = this.num(i);
      kind = NUMBER;
      flags = this.numFlags;
      p.digits[n] = this.numDigits;
      p.intDigits[n] = this.numIntDigits;
    }
    if (i < 0) return -1;
    p.valEnd[n] = i;
    p.kind[n] = kind;
    p.flags[n] = flags;
    p.count = n + 1;
    return i;
  }

  /**
   * An envelope field scanned with the last line (Singer: `time_extracted`, `version`; Airbyte: the inner
   * record's `emitted_at`, `meta`), as parseMessageLine would give it; undefined when absent. The last
   * one wins when a field repeats, as in JSON.parse.
   */
  field(name: Uint8Array): unknown {
    return this.lookup(this.fields, name);
  }

  /** Whether the envelope has the field `name` (see field). */
  hasField(name: Uint8Array): boolean {
    return this.indexOf(this.fields, name) !== -1;
  }

  /** A record property by name, as parseMessageLine gives it (the last one when repeated); undefined when absent. */
  prop(name: Uint8Array): unknown {
    return this.lookup(this.props, name);
  }

  /** The envelope field at token `t` of `fields` (emittedAtToken, metaToken), as field() gives it; undefined for -1. */
  fieldAt(t: number): unknown {
    return t < 0 ? undefined : this.valueOf(this.fields, t);
  }

  private lookup(p: Tokens, name: Uint8Array): unknown {
    const t = this.indexOf(p, name);
    return t === -1 ? undefined : this.valueOf(p, t);
  }

  private valueOf(p: Tokens, t: number): unknown {
    const kind = p.kind[t]!;
    // A plain integer of up to 15 digits (Airbyte's emitted_at, a Singer version) is exact as a double:
    // read off its digits, no string made. -0 keeps the exact parse (JSON.parse gives -0).
    if (kind === NUMBER && !(p.flags[t]! & (NUM_FRAC | NUM_EXP | NUM_NEG_ZERO)) && p.digits[t]! <= 15) return smallInteger(this.b, p.valStart[t]!, p.valEnd[t]!);
    return materialise(kind, this.b, p.valStart[t]!, p.valEnd[t]!);
  }

  private indexOf(p: Tokens, name: Uint8Array): number {
    for (let t = p.count - 1; t >= 0; t--) {
      const ks = p.keyStart[t]!;
      if (p.keyEnd[t]! - ks === name.length && sameBytes(this.b, ks, name)) return t;
    }
    return -1;
  }

  private growProps(): Tokens {
    const p = grownTokens(this.props);
    (this as { props: Tokens }).props = p;
    return p;
  }

  private growFields(): Tokens {
    const f = grownTokens(this.fields);
    (this as { fields: Tokens }).fields = f;
    return f;
  }


  private ws(i: number): number {
    const b = this.b;
    const end = this.end;
    while (i < end) {
      const c = b[i]!;
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
    return i;
  }

  /** `true` / `false` / `null` (its first four bytes as a big-endian word). Index past it, or -1. */
  private literal(i: number, word: number, length: number): number {
    const b = this.b;
    if (i + length > this.end) return -1;
    if (((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0 !== word) return -1;
    return i + length;
  }

  /**
   * The string opening at `i` (a `"`). Index past its closing quote, or -1 (a control character, a bad
   * escape, no end). Sets `escaped`. Bytes ≥ 0x80 are taken as they are: the unit was checked as UTF-8.
   */
  private str(i: number): number {
    const b = this.b;
    const end = this.end;
    let escaped = false;
    i++;
    while (i < end) {
      const c = b[i]!;
      if (c === 34) {
        this.escaped = escaped;
        return i + 1;
      }
      if (c < 32) return -1;
      if (c === 92) {
        escaped = true;
        const e = b[i + 1];
        if (e === 117 /* u */) {
          if (i + 6 > end) return -1;
          for (let k = i + 2; k < i + 6; k++) {
            const h = b[k]!;
            if (!((h >= 48 && h <= 57) || (h >= 65 && h <= 70) || (h >= 97 && h <= 102))) return -1;
          }
          i += 6;
        } else if (e === 34 || e === 92 || e === 47 || e === 98 || e === 102 || e === 110 || e === 114 || e === 116) {
          i += 2;
        } else {
          return -1;
        }
        continue;
      }
      i++;
    }
    return -1;
  }

  /**
   * A number token at `i` (RFC 8259 §6: `-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?`). Index past it, or -1.
   * Sets numFlags, numDigits (integer and fraction digits) and numIntDigits.
   */
  private num(i: number): number {
    const b = this.b;
    const end = this.end;
    let flags = 0;
    if (b[i] === 45) {
      flags |= NUM_NEG;
      i++;
    }
    const intStart = i;
    const c = b[i];
    if (c === 48) {
      i++;
    } else if (c !== undefined && c >= 49 && c <= 57) {
      i++;
      while (i < end && b[i]! >= 48 && b[i]! <= 57) i++;
    } else {
      return -1;
    }
    const intDigits = i - intStart;
    let fracDigits = 0;
    let zero = intDigits === 1 && c === 48;
    if (b[i] === 46) {
      flags |= NUM_FRAC;
      const fs = ++i;
      while (i < end && b[i]! >= 48 && b[i]! <= 57) {
        if (b[i] !== 48) zero = false;
        i++;
      }
      fracDigits = i - fs;
      if (fracDigits === 0) return -1;
      if (b[i - 1] === 48) flags |= NUM_TRAILING_ZERO;
    }
    const e = b[i];
    if (e === 101 || e === 69) {
      flags |= NUM_EXP;
      i++;
      if (b[i] === 43 || b[i] === 45) i++;
      const es = i;
      while (i < end && b[i]! >= 48 && b[i]! <= 57) i++;
      if (i === es) return -1;
    }
    if (zero && flags & NUM_NEG) flags |= NUM_NEG_ZERO;
    this.numFlags = flags;
    this.numDigits = intDigits + fracDigits;
    this.numIntDigits = intDigits;
    return i;
  }

  /**
   * Any JSON value at `i`, validated. Index past it, or -1. Inside containers, clears `rawExact` when the
   * text differs from what JSON.stringify writes for its parse (see RAW_EXACT).
   */
  private value(i: number, depth: number): number {
    const b = this.b;
    const c = b[i];
    if (c === 34) {
      const from = i;
      i = this.str(i);
      if (this.escaped) this.rawExact = false;
      else if (i - from - 2 > this.longestString) this.longestString = i - from - 2;
      return i;
    }
    if (c === 123 || c === 91) {
      if (depth >= MAX_DEPTH) return -1;
      const object = c === 123;
      const close = object ? 125 : 93;
      const j = i + 1;
      i = this.ws(j);
      if (i !== j) this.rawExact = false;
      if (b[i] === close) return i + 1;
      const keyBase = depth * MAX_RAW_KEYS * 2;
      let keys = 0;
      for (;;) {
        if (object) {
          if (b[i] !== 34) return -1;
          const ks = i + 1;
          i = this.str(i);
          if (i < 0) return -1;
          if (this.rawExact) this.checkKey(ks, i - 1, keyBase, keys++);
          const k = i;
          i = this.ws(i);
          if (b[i] !== 58) return -1;
          if (i !== k) this.rawExact = false;
          const v = i + 1;
          i = this.ws(v);
          if (i !== v) this.rawExact = false;
        }
        i = this.value(i, depth + 1);
        if (i < 0) return -1;
        const after = i;
        i = this.ws(i);
        if (i !== after) this.rawExact = false;
        const d = b[i];
        if (d === close) return i + 1;
        if (d !== 44) return -1;
        const next = i + 1;
        i = this.ws(next);
        if (i !== next) this.rawExact = false;
      }
    }
    if (c === 116) return this.literal(i, 0x74727565, 4);
    if (c === 102) return b[i + 4] === 101 ? this.literal(i, 0x66616c73, 5) : -1;
    if (c === 110) return this.literal(i, 0x6e756c6c, 4);
    i = this.num(i);
    // What JSON.stringify writes for the parse: the token itself when it has 16+ digits, an exponent or
    // is a negative zero (parseMessageLine keeps those as JsonNumber), else the double's shortest text.
    if (i >= 0 && this.rawExact && !(this.numDigits >= 16 || this.numFlags & (NUM_EXP | NUM_NEG_ZERO))) {
      if (!shortestText(this.numFlags, this.numDigits, this.numIntDigits, b, i)) this.rawExact = false;
    }
    return i;
  }

  /**
   * Object keys that JSON.parse would reorder (array-index-like keys go first) or merge (a duplicate: the
   * last one wins) make the raw text differ from the object's; such containers are not RAW_EXACT.
   */
  private checkKey(ks: number, ke: number, base: number, index: number): void {
    const b = this.b;
    if (this.escaped || index >= MAX_RAW_KEYS || (b[ks]! >= 48 && b[ks]! <= 57)) {
      this.rawExact = false;
      return;
    }
    const stack = this.keyStack;
    const len = ke - ks;
    for (let k = 0; k < index; k++) {
      const s = stack[base + 2 * k]!;
      if (stack[base + 2 * k + 1]! - s !== len) continue;
      let same = true;
      for (let x = 0; x < len; x++) {
        if (b[s + x] !== b[ks + x]) {
          same = false;
          break;
        }
      }
      if (same) {
        this.rawExact = false;
        return;
      }
    }
    stack[base + 2 * index] = ks;
    stack[base + 2 * index + 1] = ke;
  }
}

/**
 * Whether a number token of at most 15 digits, without exponent, ending at `end`, is what String() prints
 * for its double: no trailing fraction zero, and not below 1e-6 (printed with an exponent). Such a token
 * reads back exactly (a double keeps any 15 significant digits), so its shortest text is itself.
 */
function shortestText(flags: number, digits: number, intDigits: number, b: Uint8Array, end: number): boolean {
  if (flags & (NUM_TRAILING_ZERO | NUM_EXP | NUM_NEG_ZERO) || digits > 15) return false;
  if (intDigits === 1 && flags & NUM_FRAC) {
    const frac = digits - 1;
    if (b[end - frac - 2] === 48) {
      // 0.000001 prints as itself, 0.0000001 as 1e-7.
      let zeros = 0;
      for (let k = end - frac; k < end && b[k] === 48; k++) zeros++;
      if (zeros >= 6) return false;
    }
  }
  return true;
}

/** Where rows are written: a growable byte buffer. */
export interface ByteSink {
  bytes: Buffer;
  length: number;
  /** Makes room for `extra` more bytes after `length` (may replace `bytes`). */
  ensure(extra: number): void;
}

/** How a column is written from a token. */
const enum Col {
  Text,
  Integer,
  Double,
  Numeric,
  Boolean,
  Super,
  Timestamp,
  TimestampTz,
  /** no copy: every value goes to the column's encoder */
  Other,
}

const INT_MAX_DIGITS: Record<string, [string, string]> = {
  smallint: ["32767", "32768"],
  integer: ["2147483647", "2147483648"],
  bigint: ["9223372036854775807", "9223372036854775808"],
};

/**
 * One stream's rows from scanned lines (see the file comment). Data columns are copied or encoded from
 * their tokens; metadata columns are computed from the row's context (RowContext, filled by the caller
 * from the scanned envelope) by their own functions and encoded, as on the object path.
 */
export class FastRowWriter {
  /**
   * Whether the byte path can write a stream of these columns: every metadata column is described as
   * data (a MetaSource) and none needs the whole record as an object (Airbyte's `_airbyte_data`).
   */
  static serves(plans: readonly ColumnPlan[]): boolean {
    return plans.every((p) => p.property !== undefined || (p.meta?.source !== undefined && p.meta.source.kind !== "record"));
  }

  /** per column, the field name its changes are recorded under (as columnPlan names it) */
  private readonly fieldNames: string[];
  private readonly cols: Col[];
  /** per column, the most digits any value of its integer type has, and its max and |min| as digit strings */
  private readonly intLimits: ([number, Uint8Array, Uint8Array] | undefined)[];
  private readonly numericLimits: Int32Array;
  /** per text column, its width in bytes when the plan was made */
  private readonly columnBytes: Int32Array;
  private readonly columnOf = new Map<string, number>();
  /** property name bytes of the last record, by position, and their columns: records repeat their key order */
  private lastKeys: Uint8Array[] = [];
  private lastCols: number[] = [];
  private readonly tokenOf: Int32Array;
  private readonly keyIndexes: number[];
  private readonly keyKinds: string[];
  private readonly fieldStart: Int32Array;
  /** per column, where the last row written ends its field (the index of the comma or newline after it) */
  readonly fieldEnd: Int32Array;
  /** per column, how a metadata field is written (META_*) */
  private readonly metaWrite: Int8Array;
  /** META_EPOCH_MS columns: the minute last written, its field (undefined: the encoder's), where its `.000` is */
  private readonly epochMinute: number[] = [];
  private readonly epochField: (Buffer | undefined)[] = [];
  private readonly epochDot: number[] = [];
  /** the field a metadata column reads: META_EPOCH_MS, the message's milliseconds; META_SEQUENCE, the record's own sequence */
  private readonly sourceField: string[] = [];
  /** META_SEQUENCE columns: the run's start (ms), see sdcSequence */
  private readonly runStartMs: number[] = [];
  /** META_SEQUENCE columns: the high part last written (see putSequence) and its digits */
  private readonly sequenceHigh: number[] = [];
  private readonly sequenceHighDigits: Uint8Array[] = [];
  /** per column, its field when it is the same on every row (see fixedMetaField) */
  private readonly fixedField: (Buffer | undefined)[];
  /**
   * META_EPOCH_MS columns read from the Airbyte envelope's emitted_at token: the digits of the last token
   * but its last three (its second), how many digits it had (-1: none kept), and that second's field
   * (its milliseconds written per row at epochDot + 1).
   */
  private readonly epochFromToken: boolean[] = [];
  private readonly epochKey: Uint8Array[] = [];
  private readonly epochKeyDigits: Int32Array;
  private readonly epochSecondField: Uint8Array[] = [];
  private readonly epochSecondMs: Int32Array;
  /** META_CACHED columns: the last value and its field (undefined: it recorded a change) */
  private readonly metaValue: unknown[] = [];
  private readonly metaField: (string | undefined)[] = [];
  private readonly metaBytes: (Buffer | undefined)[] = [];
  /** key identity of the last row (see BatchKeys), and whether a key field is NULL */
  key: unknown;
  nullKey = false;

  constructor(
    private readonly plans: readonly ColumnPlan[],
    keyColumns: readonly string[],
  ) {
    this.cols = plans.map((p) => colOf(p.type.kind));
    this.intLimits = plans.map((p) => {
      const l = INT_MAX_DIGITS[p.type.kind];
      return l ? [l[0].length, Buffer.from(l[0]), Buffer.from(l[1])] : undefined;
    });
    this.columnBytes = Int32Array.from(plans, (p) => Math.min(p.type.length ?? 0, MAX_VARCHAR_BYTES));
    this.numericLimits = new Int32Array(plans.length * 2);
    plans.forEach((p, i) => {
      const precision = p.type.precision ?? 18;
      const scale = p.type.scale ?? 0;
      this.numericLimits[2 * i] = precision - scale;
      this.numericLimits[2 * i + 1] = scale;
    });
    plans.forEach((p, i) => {
      if (p.property !== undefined) this.columnOf.set(p.property, i);
    });
    this.fixedField = plans.map(fixedMetaField);
    this.metaWrite = Int8Array.from(plans, (p, c) => {
      const kind = p.meta?.source?.kind;
      if (kind === undefined) return META_ENCODED;
      // A text column's encoder measures every value it writes (its width can widen the column): the
      // other fast forms are for typed columns (the Airbyte and Singer columns' own types).
      if (isTextual(p.type.kind)) return META_ENCODED;
      if (kind === "message-epoch-ms" && epochFieldPatches(p)) return META_EPOCH_MS;
      if (kind === "sequence" && p.type.kind === "bigint") return META_SEQUENCE;
      if (kind === "constant" && this.fixedField[c] !== undefined) return META_CONSTANT;
      if (kind === "airbyte-meta" && this.fixedField[c] !== undefined) return META_AIRBYTE_META;
      // The same encoder on the same value.
      return META_CACHED;
    });
    this.epochKeyDigits = new Int32Array(plans.length).fill(-1);
    this.epochSecondMs = new Int32Array(plans.length);
    plans.forEach((p, c) => {
      const epoch = this.metaWrite[c] === META_EPOCH_MS;
      this.epochKey[c] = epoch ? new Uint8Array(16) : EMPTY;
      this.epochSecondField[c] = EMPTY;
      if (epoch || this.metaWrite[c] === META_SEQUENCE) this.sourceField[c] = (p.meta!.source as { field: string }).field;
      this.epochFromToken[c] = epoch && this.sourceField[c] === "emitted_at";
      if (this.metaWrite[c] === META_SEQUENCE) this.runStartMs[c] = (p.meta!.source as { runStartMs: number }).runStartMs;
    });
    this.fieldNames = plans.map((p) => p.property ?? p.name);
    this.tokenOf = new Int32Array(plans.length);
    this.keyIndexes = keyColumns.map((k) => plans.findIndex((p) => p.name === k));
    this.keyKinds = this.keyIndexes.map((i) => plans[i]!.type.kind);
    this.fieldStart = new Int32Array(plans.length);
    this.fieldEnd = new Int32Array(plans.length);
  }

  /** Whether every key property is present in the scanned record (else the object path reports it). */
  private mapTokens(s: RecordLineScanner, b: Uint8Array): boolean {
    const tokenOf = this.tokenOf;
    tokenOf.fill(-1);
    const p = s.props;
    for (let t = 0; t < p.count; t++) {
      const ks = p.keyStart[t]!;
      const len = p.keyEnd[t]! - ks;
      const last = this.lastKeys[t];
      let col: number;
      if (last !== undefined && last.length === len && sameBytes(b, ks, last)) {
        col = this.lastCols[t]!;
      } else {
        const name = Buffer.from(b.buffer, b.byteOffset + ks, len);
        col = this.columnOf.get(name.toString("utf8")) ?? -1;
        this.lastKeys[t] = Uint8Array.from(name);
        this.lastCols[t] = col;
      }
      if (col >= 0) tokenOf[col] = t; // a repeated property: the last one wins, as in JSON.parse
    }
    for (const k of this.keyIndexes) if (tokenOf[k] === -1) return false;
    return true;
  }

  /**
   * Appends the scanned record's CSV row (fields only: no ordinal, no newline) to `out`. "declined": the
   * object path must take the line (nothing was written). Throws what the column encoders throw (a value a
   * key column cannot hold; any value under invalid_value: fail), with nothing written either.
   */
  write(s: RecordLineScanner, b: Uint8Array, out: ByteSink, changes: RowChanges, ctx?: RowContext): "written" | "declined" {
    if (!this.mapTokens(s, b)) return "declined";
    const p = s.props;
    const plans = this.plans;
    const start = out.length;
    let at = start;
    // Room for the whole row at once: a copied field takes at most twice its token (SUPER doubles quotes),
    // a missing one 3 bytes; only a field an encoder writes can take more (putString makes its own room).
    const room = 2 * (s.lineEnd - s.lineStart) + 6 * plans.length + 16;
    out.ensure(room);
    try {
      for (let c = 0; c < plans.length; c++) {
        const t = this.tokenOf[c]!;
        if (c > 0) out.bytes[at++] = 44;
        this.fieldStart[c] = at;
        const meta = plans[c]!.meta;
        if (meta !== undefined) {
          at = this.putMeta(c, meta.value, s, b, out, at, changes, ctx!, room);
        } else if (t === -1) {
          at = putNull(out.bytes, at);
        } else {
          const vs = p.valStart[t]!;
          const ve = p.valEnd[t]!;
          const kind = p.kind[t]!;
          const copied = kind === NULL ? putNull(out.bytes, at) : this.copy(c, kind, p.flags[t]!, p.digits[t]!, p.intDigits[t]!, b, vs, ve, out.bytes, at, changes);
          at = copied >= 0 ? copied : putString(out, at, plans[c]!.encode(materialise(kind, b, vs, ve), changes), room);
        }
        this.fieldEnd[c] = at;
      }
    } finally {
      // Nothing of a row that threw is kept; `length` only moves for a whole row.
      out.length = start;
    }
    this.identify(out.bytes);
    out.length = at;
    return "written";
  }

  /**
   * A metadata column's field. A constant (and an Airbyte `_airbyte_meta` of a row with no changes, its
   * own or upstream) is its fixed field; Airbyte's `emitted_at` from its token's digits (putEpochToken);
   * `_sdc_sequence` from the position (putSequence); a value equal (===) to the column's previous one
   * that encoded without a change reuses that field (the encoders are pure; text columns track widths,
   * and take none of these forms). Else the encoder writes it.
   */
  private putMeta(c: number, value: (ctx: RowContext) => unknown, s: RecordLineScanner, b: Uint8Array, out: ByteSink, at: number, changes: RowChanges, ctx: RowContext, room: number): number {
    const how = this.metaWrite[c]!;
    if (how === META_CONSTANT) return putBytes(out, at, this.fixedField[c]!, room);
    // Data columns come first (late columns last), so `changes` is the row's whole list here.
    if (how === META_AIRBYTE_META && s.metaToken === -1 && changes.list.length === 0) return putBytes(out, at, this.fixedField[c]!, room);
    if (how === META_EPOCH_MS) {
      if (this.epochFromToken[c]) {
        const end = this.putEpochToken(c, s, b, out, at, room);
        if (end >= 0) return end;
      }
      const ms = ctx.message[this.sourceField[c]!];
      if (typeof ms === "number" && Number.isSafeInteger(ms) && ms >= FIRST_MS && ms <= LAST_MS) {
        const end = this.putEpochMs(c, ms, out, at, room);
        if (end >= 0) return end;
      }
    }
    if (how === META_SEQUENCE && ctx.record[this.sourceField[c]!] === undefined) {
      const end = this.putSequence(c, ctx.position, out, at, room);
      if (end >= 0) return end;
    }
    const v = value(ctx);
    if (how === META_CACHED || how === META_AIRBYTE_META) {
      const field = this.metaField[c];
      if (field !== undefined && v === this.metaValue[c]) {
        // Its bytes from the second use on (a value that changes every row never pays for them).
        return putBytes(out, at, (this.metaBytes[c] ??= Buffer.from(field, "utf8")), room);
      }
      const before = changes.list.length;
      const text = this.plans[c]!.encode(v, changes);
      this.metaValue[c] = v;
      this.metaField[c] = changes.list.length === before ? text : undefined;
      this.metaBytes[c] = undefined;
      return putString(out, at, text, room);
    }
    return putString(out, at, this.plans[c]!.encode(v, changes), room);
  }

  /**
   * An epoch-milliseconds column (Airbyte's `_airbyte_extracted_at`): the field of the record's minute is
   * encoded once (by the column's encoder, from the ISO text metadataValue gives) and its `00.000` written
   * with the record's seconds and milliseconds; epochFieldPatches checked that this is what the encoder
   * writes. Once a minute, not once a second: at a record per millisecond the encoder (and the
   * date-time check under it) ran often enough to be compiled on every worker, for ~1,000 calls.
   * -1: a minute the encoder changes (or writes otherwise) goes to the encoder, record by record.
   */
  private putEpochMs(c: number, ms: number, out: ByteSink, at: number, room: number): number {
    const second = Math.floor(ms / 1000);
    const minute = Math.floor(second / 60);
    let field = this.epochField[c];
    if (this.epochMinute[c] !== minute) {
      const changes = new RowChanges();
      const text = this.plans[c]!.encode(new Date(minute * 60_000).toISOString(), changes);
      const dot = text.indexOf(":00.000");
      field = changes.list.length === 0 && dot !== -1 ? Buffer.from(text, "latin1") : undefined;
      this.epochField[c] = field;
      this.epochMinute[c] = minute;
      this.epochDot[c] = dot + 3;
    }
    if (field === undefined) return -1;
    const end = putBytes(out, at, field, room);
    const dot = at + this.epochDot[c]!;
    writeDigits(out.bytes, dot - 2, second - minute * 60, 2);
    writeDigits(out.bytes, dot + 1, ms - second * 1000, 3);
    return end;
  }

  /**
   * Airbyte's `emitted_at` (the envelope's token) as putEpochMs writes it, read off its digits: a plain
   * integer of 4–14 digits (1970 to 5138) is its second's digits then three of milliseconds, so a token
   * whose leading digits are the last one's is in the same second: that second's field, with the
   * token's last three digits as its milliseconds. -1: not such a token, or putEpochMs declined.
   */
  private putEpochToken(c: number, s: RecordLineScanner, b: Uint8Array, out: ByteSink, at: number, room: number): number {
    const f = s.fields;
    const t = s.emittedAtToken;
    // flags 0: no sign, fraction or exponent
    if (t < 0 || f.kind[t] !== NUMBER || f.flags[t] !== 0) return -1;
    const vs = f.valStart[t]!;
    const ve = f.valEnd[t]!;
    const digits = ve - vs;
    if (digits < 4 || digits > 14) return -1;
    const key = this.epochKey[c]!;
    let same = this.epochKeyDigits[c] === digits;
    for (let k = 0; same && k < digits - 3; k++) if (b[vs + k] !== key[k]) same = false;
    if (!same) {
      const end = this.putEpochMs(c, smallInteger(b, vs, ve), out, at, room);
      if (end < 0) {
        this.epochKeyDigits[c] = -1;
        return -1;
      }
      this.epochSecondField[c] = Uint8Array.prototype.slice.call(out.bytes, at, end); // a copy (Buffer#slice is a view)
      this.epochSecondMs[c] = this.epochDot[c]! + 1;
      for (let k = 0; k < digits - 3; k++) key[k] = b[vs + k]!;
      this.epochKeyDigits[c] = digits;
      return end;
    }
    const end = putBytes(out, at, this.epochSecondField[c]!, room);
    const ms = at + this.epochSecondMs[c]!;
    const o = out.bytes;
    o[ms] = b[ve - 3]!;
    o[ms + 1] = b[ve - 2]!;
    o[ms + 2] = b[ve - 1]!;
    return end;
  }

  /**
   * `_sdc_sequence` of a record without its own: sdcSequence's digits (run start + the position's
   * millions, then the rest as 6 digits) written straight into the row, as the BIGINT encoder
   * writes that text. -1: the encoder decides (a run start or position out of the common range).
   */
  private putSequence(c: number, position: number, out: ByteSink, at: number, room: number): number {
    const runStartMs = this.runStartMs[c]!;
    if (!(runStartMs > 0 && Number.isSafeInteger(runStartMs) && position >= 0 && Number.isSafeInteger(position))) return -1;
    const carry = Math.floor(position / 1_000_000);
    const high = runStartMs + carry;
    if (high >= SEQUENCE_HIGH_LIMIT) return -1;
    out.ensure(at - out.length + 32 + room);
    const o = out.bytes;
    // The high part changes once per million positions: its 13 digits are kept, not divided out per row
    // (past 2^31 that took float divisions, and was a tenth of the metadata path's encode step).
    let digits = this.sequenceHighDigits[c];
    if (this.sequenceHigh[c] !== high || digits === undefined) {
      digits = Buffer.from(String(high), "latin1");
      this.sequenceHighDigits[c] = digits;
      this.sequenceHigh[c] = high;
    }
    for (let k = 0; k < digits.length; k++) o[at + k] = digits[k]!;
    at += digits.length;
    writeDigits(o, at, position - carry * 1_000_000, 6);
    return at + 6;
  }

  /** The field written by copying the token's bytes (index past it), or -1: the encoder decides. */
  private copy(c: number, kind: number, flags: number, digits: number, intDigits: number, b: Uint8Array, vs: number, ve: number, o: Buffer, at: number, changes: RowChanges): number {
    switch (this.cols[c]) {
      case Col.Text: {
        if (kind !== STRING) return -1;
        const bytes = ve - vs - 2;
        if (bytes > MAX_VARCHAR_BYTES) return -1;
        // As textEncoder: only a string that could outgrow the column is measured (3 × length bounds its bytes).
        const width = this.plans[c]!.width;
        if (bytes > width.maxBytes && bytes * 3 > this.columnBytes[c]!) width.maxBytes = bytes;
        return putSlice(o, at, b, vs, ve); // "…": a string without escapes holds no quote
      }
      case Col.Integer: {
        if (kind !== NUMBER || flags & (NUM_FRAC | NUM_EXP | NUM_NEG_ZERO)) return -1;
        const [most, max, min] = this.intLimits[c]!;
        if (digits > most) return -1;
        if (digits === most) {
          // Same length as the type's bound: compare digit by digit.
          const bound = flags & NUM_NEG ? min : max;
          const from = flags & NUM_NEG ? vs + 1 : vs;
          for (let k = 0; k < digits; k++) {
            const d = b[from + k]! - bound[k]!;
            if (d < 0) break;
            if (d > 0) return -1;
          }
        }
        return putSlice(o, at, b, vs, ve);
      }
      case Col.Double: {
        if (kind !== NUMBER || flags & (NUM_EXP | NUM_NEG_ZERO) || digits > 15 || !shortestText(flags & ~NUM_TRAILING_ZERO, digits, intDigits, b, ve)) return -1;
        return putSlice(o, at, b, vs, flags & NUM_TRAILING_ZERO ? trimZeros(b, ve) : ve);
      }
      case Col.Numeric: {
        if (kind !== NUMBER || flags & (NUM_EXP | NUM_NEG_ZERO)) return -1;
        const end = flags & NUM_TRAILING_ZERO ? trimZeros(b, ve) : ve;
        const frac = !(flags & NUM_FRAC) ? 0 : end === ve ? digits - intDigits : countFrac(b, vs, end);
        // A zero integer part counts no digits (0.5 fits NUMERIC(1,1)).
        const ints = intDigits === 1 && b[flags & NUM_NEG ? vs + 1 : vs] === 48 ? 0 : intDigits;
        if (ints > this.numericLimits[2 * c]! || frac > this.numericLimits[2 * c + 1]!) return -1;
        return putSlice(o, at, b, vs, end);
      }
      case Col.Boolean:
        if (kind === TRUE || kind === FALSE) return putSlice(o, at, b, vs, ve);
        return -1;
      case Col.Super: {
        if (kind !== CONTAINER || !(flags & RAW_EXACT)) return -1;
        // The raw text is what superEncoder would write, so its limits are read off it without building
        // the value (a 60 MB document would cost several times its size as objects): a string over 65535
        // bytes (rule 4), or a document over 16 MiB, is NULL and recorded, as there (a strict column's
        // encoder fails the record instead).
        if (digits > MAX_VARCHAR_BYTES || ve - vs > SUPER_MAX_BYTES) {
          if (this.plans[c]!.strict) return -1;
          changes.add(this.fieldNames[c]!, "NULLED", "DESTINATION_FIELD_SIZE_LIMITATION");
          return putNull(o, at);
        }
        return putDoubled(o, at, b, vs, ve);
      }
      case Col.Timestamp:
      case Col.TimestampTz: {
        if (kind !== STRING || !canonicalUtcBytes(b, vs + 1, ve - 1)) return -1;
        // "YYYY-MM-DDTHH:MM:SS[.f]Z" → YYYY-MM-DD HH:MM:SS[.f](+00)
        const from = at;
        at = putSlice(o, at, b, vs + 1, ve - 2);
        o[from + 10] = 32;
        if (this.cols[c] === Col.TimestampTz) {
          o[at++] = 43;
          o[at++] = 48;
          o[at++] = 48;
        }
        return at;
      }
      default:
        return -1;
    }
  }

  /** The row's key identity from its written key fields, as CsvRowEncoder.encode sets it. */
  private identify(o: Buffer): void {
    const keys = this.keyIndexes;
    if (keys.length === 0) return;
    let nullKey = false;
    for (const k of keys) if (isNullMarker(o, this.fieldStart[k]!, this.fieldEnd[k]!)) nullKey = true;
    this.nullKey = nullKey;
    if (keys.length === 1) {
      const k = keys[0]!;
      const kind = this.keyKinds[0]!;
      const from = this.fieldStart[k]!;
      const to = this.fieldEnd[k]!;
      if (this.cols[k] === Col.Integer && !nullKey && to - from <= 15) {
        this.key = smallInteger(o, from, to);
        return;
      }
      this.key = fieldIdentity(o.toString("utf8", from, to), kind);
      return;
    }
    let key = o.toString("utf8", this.fieldStart[keys[0]!]!, this.fieldEnd[keys[0]!]!);
    for (let i = 1; i < keys.length; i++) key += `,${o.toString("utf8", this.fieldStart[keys[i]!]!, this.fieldEnd[keys[i]!]!)}`;
    this.key = key;
  }
}

function colOf(kind: string): Col {
  switch (kind) {
    case "varchar":
    case "char":
      return Col.Text;
    case "smallint":
    case "integer":
    case "bigint":
      return Col.Integer;
    case "double":
      // REAL is left to its encoder: a decimal rounded straight to float4 can differ from one rounded
      // through a double, and the object path writes the double's text.
      return Col.Double;
    case "numeric":
      return Col.Numeric;
    case "boolean":
      return Col.Boolean;
    case "super":
      return Col.Super;
    case "timestamp":
      return Col.Timestamp;
    case "timestamptz":
      return Col.TimestampTz;
    default:
      return Col.Other;
  }
}

/** A value as parseMessageLine gives it inside a record (numbers a double would change as JsonNumber). */
function materialise(kind: number, b: Uint8Array, vs: number, ve: number): unknown {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  switch (kind) {
    case STRING:
      return buf.toString("utf8", vs + 1, ve - 1);
    case ESCAPED_STRING:
      return JSON.parse(buf.toString("utf8", vs, ve)) as string;
    case NUMBER: {
      const text = buf.toString("latin1", vs, ve);
      return plainNumber(text) ? Number(text) : new JsonNumber(text);
    }
    case TRUE:
      return true;
    case FALSE:
      return false;
    case CONTAINER:
      return parseExactJson(buf.toString("utf8", vs, ve));
    default:
      return null;
  }
}

function sameBytes(b: Uint8Array, at: number, bytes: Uint8Array): boolean {
  for (let k = 0; k < bytes.length; k++) if (b[at + k] !== bytes[k]) return false;
  return true;
}

function putNull(o: Uint8Array, at: number): number {
  o[at] = NULL_MARKER[0]!;
  o[at + 1] = NULL_MARKER[1]!;
  return at + 2;
}

/** Copies b[from, to) to `at`: short runs by hand (a subarray view per field cost more than the copy). */
function putSlice(o: Uint8Array, at: number, b: Uint8Array, from: number, to: number): number {
  const n = to - from;
  if (n < 256) for (let k = 0; k < n; k++) o[at + k] = b[from + k]!;
  else o.set(b.subarray(from, to), at);
  return at + n;
}

const META_ENCODED = 0;
const META_CACHED = 1;
const META_EPOCH_MS = 2;
const META_SEQUENCE = 3;
/** the same field on every row (a constant: Airbyte's `_airbyte_generation_id`) */
const META_CONSTANT = 4;
/** Airbyte's `_airbyte_meta`: one field for every row without changes (its own or upstream) */
const META_AIRBYTE_META = 5;
/** `_sdc_sequence` written from its digits below this high part (BIGINT's bound, 9223372036854775807, is the encoder's) */
const SEQUENCE_HIGH_LIMIT = 9_223_372_036_854;

/** Epoch milliseconds of 0001-01-01 and 9999-12-31T23:59:59.999Z: what toISOString writes with 4-digit years. */
const FIRST_MS = new Date("0001-01-01T00:00:00.000Z").getTime();
const LAST_MS = new Date("9999-12-31T23:59:59.999Z").getTime();

/**
 * The field of a metadata column that is the same on every row: a constant's, and Airbyte's
 * `_airbyte_meta` of a row without changes (the encoder's text of the document, once); undefined for any
 * other column, a text column, or when the encoder records a change or throws on it (then it is encoded
 * per row, where the row's own path reports it).
 */
function fixedMetaField(p: ColumnPlan): Buffer | undefined {
  const source = p.meta?.source;
  if (source?.kind !== "constant" && source?.kind !== "airbyte-meta") return undefined;
  // A text column measures each value it writes (its encoder would count this one, never written, too).
  if (isTextual(p.type.kind)) return undefined;
  const changes = new RowChanges();
  try {
    const text = p.encode(source.kind === "constant" ? source.value : airbyteMeta(source.syncId, []), changes);
    return changes.list.length === 0 ? Buffer.from(text, "utf8") : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a message-epoch-ms column's encoder writes a whole minute's ISO text with `:00.000` that can be
 * replaced by any second's and millisecond's digits (so putEpochMs writes what the encoder would): probed
 * on a few values, none of which may record a change.
 */
function epochFieldPatches(p: ColumnPlan): boolean {
  try {
    return epochFieldsPatch(p);
  } catch {
    return false; // an encoder that throws on a date-time (invalid_value: fail) meets it row by row
  }
}

function epochFieldsPatch(p: ColumnPlan): boolean {
  const base = Date.UTC(2024, 1, 29, 23, 59);
  const changes = new RowChanges();
  const whole = p.encode(new Date(base).toISOString(), changes);
  const dot = whole.indexOf(":00.000") + 3;
  if (dot === 2 || whole.indexOf(":00.000", dot) !== -1 || /[^\x20-\x7e]/.test(whole)) return false;
  for (const second of [0, 1, 9, 10, 59]) {
    for (const frac of [0, 1, 10, 100, 120, 999]) {
      const digits = `${String(second).padStart(2, "0")}.${String(frac).padStart(3, "0")}`;
      if (p.encode(new Date(base + second * 1000 + frac).toISOString(), changes) !== `${whole.slice(0, dot - 2)}${digits}${whole.slice(dot + 4)}`) return false;
    }
  }
  return changes.list.length === 0;
}

/**
 * A field's bytes written before; keeps `room` bytes free after it for the rest of the row. Past 16 bytes
 * one `set` (a memcpy, ~16 ns) beats the byte loop (~1.3 ns a byte).
 */
function putBytes(out: ByteSink, at: number, field: Uint8Array, room: number): number {
  out.ensure(at - out.length + field.length + room);
  if (field.length <= 16) return putSlice(out.bytes, at, field, 0, field.length);
  out.bytes.set(field, at);
  return at + field.length;
}

/** A field an encoder wrote; keeps `room` bytes free after it for the rest of the row. */
function putString(out: ByteSink, at: number, s: string, room: number): number {
  out.ensure(at - out.length + s.length * 3 + room);
  return at + out.bytes.write(s, at, "utf8");
}

/** The JSON text as one CSV field: quoted, each `"` doubled. */
function putDoubled(o: Uint8Array, at: number, b: Uint8Array, from: number, to: number): number {
  o[at++] = 34;
  for (let k = from; k < to; k++) {
    const c = b[k]!;
    o[at++] = c;
    if (c === 34) o[at++] = 34;
  }
  o[at++] = 34;
  return at;
}

/** End of a number token without its fraction's trailing zeros (and the point, when nothing is left). */
function trimZeros(b: Uint8Array, ve: number): number {
  let end = ve;
  while (b[end - 1] === 48) end--;
  return b[end - 1] === 46 ? end - 1 : end;
}

function countFrac(b: Uint8Array, vs: number, end: number): number {
  for (let k = vs; k < end; k++) if (b[k] === 46) return end - k - 1;
  return 0;
}

/** Writes 0 ≤ n < 2^31 as exactly `digits` decimal digits at `at` (zero-padded on the left). */
function writeDigits(b: Uint8Array, at: number, n: number, digits: number): void {
  for (let k = at + digits - 1, x = n; k >= at; k--) {
    const q = (x / 10) | 0;
    b[k] = 48 + x - q * 10;
    x = q;
  }
}

/** Writes a non-negative integer below 2^53 as decimal digits at `at`; returns the digit count. */
export function writeInteger(b: Uint8Array, at: number, n: number): number {
  if (n < 10) {
    b[at] = 48 + n;
    return 1;
  }
  if (n <= 0x7fffffff) {
    // Int32 arithmetic (a division by 10 becomes a multiply): every ordinal of the first GiB of input.
    let digits = 1;
    for (let x = n; x >= 10; x = (x / 10) | 0) digits++;
    writeDigits(b, at, n, digits);
    return digits;
  }
  let digits = 0;
  for (let x = n; x >= 1; x = Math.floor(x / 10)) digits++;
  for (let k = digits - 1, x = n; k >= 0; k--, x = Math.floor(x / 10)) b[at + k] = 48 + (x % 10);
  return digits;
}

/** Whether o[from, to) is a bare CSV field holding the NULL marker (CSV_NULL_MARKER, `\N`). */
export function isNullMarker(o: Uint8Array, from: number, to: number): boolean {
  return to - from === 2 && o[from] === NULL_MARKER[0] && o[from + 1] === NULL_MARKER[1];
}

/**
 * The integer written in o[from, to) as ASCII digits with an optional leading `-`, when it has 1 to 15
 * digits (exact as a double); NaN for anything else (the caller's exact path decides). Used for tokens and
 * fields already known to be integers, and by the Parquet row-group writer on the encoders' text.
 */
export function smallInteger(o: Uint8Array, from: number, to: number): number {
  const neg = o[from] === 45;
  let k = neg ? from + 1 : from;
  if (k === to || to - k > 15) return NaN;
  let n = 0;
  for (; k < to; k++) {
    const d = o[k]! - 48;
    if (d < 0 || d > 9) return NaN;
    n = n * 10 + d;
  }
  return neg ? -n : n;
}

const isDigit = (c: number) => c >= 48 && c <= 57;
const two = (b: Uint8Array, i: number) => (b[i]! - 48) * 10 + (b[i + 1]! - 48);


/** canonicalUtc (encode.ts) on bytes: `YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z`, a real date, year ≥ 1. */
function canonicalUtcBytes(b: Uint8Array, s: number, e: number): boolean {
  const n = e - s;
  if (n < 20 || n > 27 || b[e - 1] !== 90) return false;
  if (b[s + 4] !== 45 || b[s + 7] !== 45 || b[s + 10] !== 84 || b[s + 13] !== 58 || b[s + 16] !== 58) return false;
  for (let k = 0; k < DIGIT_PLACES.length; k++) if (!isDigit(b[s + DIGIT_PLACES[k]!]!)) return false;
  if (n > 20) {
    if (b[s + 19] !== 46 || n === 21) return false;
    for (let i = s + 20; i < e - 1; i++) if (!isDigit(b[i]!)) return false;
  }
  const year = two(b, s) * 100 + two(b, s + 2);
  const month = two(b, s + 5);
  const day = two(b, s + 8);
  return year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month) && two(b, s + 11) <= 23 && two(b, s + 14) <= 59 && two(b, s + 17) <= 59;
}
const DIGIT_PLACES = Uint8Array.of(0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18);
