// Redshift names of up to 127 bytes on a PostgreSQL that keeps 63 (NAMEDATALEN 64).
//
// Every identifier the gateway sees is folded, cut to Redshift's 127 bytes, and — when it is longer
// than PostgreSQL's 63 — replaced by a deterministic short PostgreSQL name: its first bytes (cut at a
// character boundary) + "_" + 10 hex digits of its SHA-256. The gateway keeps the pairs (in memory,
// written through to redshift_local.identifiers) and translates short names back to the Redshift name
// in what it returns: column names of a result, values of a result that equal a short name, and
// error / notice texts. So a client of the gateway only ever sees the Redshift names.
import { createHash } from "node:crypto";

/** Redshift's identifier limit in UTF-8 bytes; longer names are truncated (AWS "Names and identifiers"). */
export const REDSHIFT_MAX_IDENT_BYTES = 127;
/** PostgreSQL's: NAMEDATALEN - 1. */
export const PG_MAX_IDENT_BYTES = 63;
const HASH_HEX = 10;
const PREFIX_BYTES = PG_MAX_IDENT_BYTES - 1 - HASH_HEX;

/** The first ≤ maxBytes UTF-8 bytes of s, never splitting a character (as PostgreSQL's pg_mbcliplen). */
export function cutUtf8(s: string, maxBytes: number): string {
  if (s.length * 3 <= maxBytes) return s;
  const b = Buffer.from(s, "utf8");
  if (b.length <= maxBytes) return s;
  let end = maxBytes;
  while (end > 0 && (b[end]! & 0xc0) === 0x80) end--;
  return b.subarray(0, end).toString("utf8");
}

/**
 * The name Redshift stores for an (already case-folded) identifier: longer than 127 bytes, it is cut
 * to 127 bytes at a character boundary, silently.
 */
export const redshiftName = (name: string): string => cutUtf8(name, REDSHIFT_MAX_IDENT_BYTES);

/** The PostgreSQL name of a Redshift name: itself up to 63 bytes, else prefix + "_" + hash (≤ 63 bytes). */
export function pgName(name: string): string {
  if (Buffer.byteLength(name, "utf8") <= PG_MAX_IDENT_BYTES) return name;
  const hash = createHash("sha256").update(name, "utf8").digest("hex").slice(0, HASH_HEX);
  return `${cutUtf8(name, PREFIX_BYTES)}_${hash}`;
}

/** True when a value of `len` bytes could be a short name made by pgName (a cheap first check). */
const couldBeShort = (b: Buffer, start: number, len: number): boolean =>
  len > HASH_HEX + 1 && len <= PG_MAX_IDENT_BYTES && b[start + len - HASH_HEX - 1] === 0x5f;

/** The pairs seen so far: PostgreSQL short name -> Redshift name. */
export class LongNames {
  private byShort = new Map<string, string>();
  /** Keys as latin1 strings of the short name's UTF-8 bytes, for matching raw wire values. */
  private byBytes = new Map<string, Buffer>();
  private pattern: RegExp | undefined;

  get size(): number {
    return this.byShort.size;
  }

  /** Records a pair; false if it was known already. Throws on a (never seen) hash collision. */
  add(long: string): boolean {
    const short = pgName(long);
    const known = this.byShort.get(short);
    if (known !== undefined) {
      if (known !== long) throw new Error(`identifier hash collision: "${known}" and "${long}" both map to "${short}"`);
      return false;
    }
    this.byShort.set(short, long);
    this.byBytes.set(Buffer.from(short, "utf8").toString("latin1"), Buffer.from(long, "utf8"));
    this.pattern = undefined;
    return true;
  }

  longOf(short: string): string | undefined {
    return this.byShort.get(short);
  }

  /** The Redshift name for a wire value (bytes [start, start+len) of b), if it is a short name. */
  longBytes(b: Buffer, start: number, len: number): Buffer | undefined {
    if (!couldBeShort(b, start, len)) return undefined;
    return this.byBytes.get(b.toString("latin1", start, start + len));
  }

  /** Replaces every short name inside a text (error messages, details). */
  inText(text: string): string {
    if (this.byShort.size === 0 || text.length < HASH_HEX + 2) return text;
    this.pattern ??= new RegExp([...this.byShort.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp).join("|"), "g");
    return text.replace(this.pattern, (s) => this.byShort.get(s) ?? s);
  }
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * A DataRow ('D') or RowDescription ('T') frame with short names turned back into Redshift names, or
 * undefined when nothing in it is a short name. DataRow: a value equal to a short name (catalog
 * columns like relname, attname, column_name) becomes the Redshift name; RowDescription: column names.
 */
export function translateFrame(names: LongNames, type: string, raw: Buffer): Buffer | undefined {
  if (names.size === 0) return undefined;
  const body = raw.subarray(5);
  const n = body.readInt16BE(0);
  let off = 2;
  let parts: Buffer[] | undefined;
  let copied = 0; // body bytes already in parts
  const swap = (start: number, end: number, by: Buffer, lenPrefix: boolean) => {
    parts ??= [];
    parts.push(body.subarray(copied, lenPrefix ? start - 4 : start));
    if (lenPrefix) {
      const l = Buffer.allocUnsafe(4);
      l.writeInt32BE(by.length);
      parts.push(l);
    }
    parts.push(by);
    copied = end;
  };
  if (type === "D") {
    for (let i = 0; i < n; i++) {
      const len = body.readInt32BE(off);
      off += 4;
      if (len < 0) continue;
      const long = names.longBytes(body, off, len);
      if (long) swap(off, off + len, long, true);
      off += len;
    }
  } else if (type === "T") {
    for (let i = 0; i < n; i++) {
      const end = body.indexOf(0, off);
      const long = names.longBytes(body, off, end - off);
      if (long) swap(off, end, long, false);
      off = end + 1 + 18;
    }
  } else return undefined;
  if (!parts) return undefined;
  parts.push(body.subarray(copied));
  const out = Buffer.concat(parts);
  const head = Buffer.allocUnsafe(5);
  head[0] = raw[0]!;
  head.writeInt32BE(out.length + 4, 1);
  return Buffer.concat([head, out]);
}
