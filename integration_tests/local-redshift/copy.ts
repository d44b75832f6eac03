// COPY ... FROM 's3://...' emulated as COPY ... FROM STDIN on the client's own session: the gateway
// reads the objects, applies Redshift's per-field rules, and streams CSV to PostgreSQL.
import { promisify } from "node:util";
import { isUtf8 } from "node:buffer";
import zlib from "node:zlib";
import { createRequire } from "node:module";
import { decompress as zstdDecompress } from "fzstd";
import { parquetMetadata, parquetRead } from "hyparquet";
import type { Rewritten } from "./dialect.js";
import { type JsonMember, RawJson, jsonMembers, stringifyExact, unescapeNonAscii } from "./json-exact.js";
import { nextQueryId, type Session } from "./gateway.js";
import { GatewayError, identValue, quoteIdent, quoteLiteral, sig, stringValue, upper, type Tok } from "./sql.js";

const require = createRequire(import.meta.url);
const Bunzip = require("seek-bzip") as { decode(input: Buffer): Buffer };
const gunzip = promisify(zlib.gunzip);

export interface CopySpec {
  tableSql: string;
  tableName: string;
  columns?: string[];
  source: string;
  manifest: boolean;
  format: "csv" | "text" | "json" | "parquet";
  delimiter: string;
  quote: string;
  nullAs?: string;
  compression?: "gzip" | "zstd" | "bzip2";
  ignoreHeader: number;
  jsonIgnoreCase: boolean;
  serializeToJson: boolean;
  emptyAsNull: boolean;
  blanksAsNull: boolean;
  truncateColumns: boolean;
  acceptInvChars?: string;
  roundec: boolean;
  trimBlanks: boolean;
  fillRecord: boolean;
  removeQuotes: boolean;
  escape: boolean;
  maxError: number;
  region?: string;
  timeFormat?: string;
  dateFormat?: string;
  auth: { kind: "iam_role"; role: string } | { kind: "keys"; accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

const syntax = (near: string) => new GatewayError(`syntax error at or near "${near}"`, "42601");

export function parseCopy(r: Rewritten): CopySpec {
  const s = sig(r.toks);
  let i = 1;
  const tableToks: Tok[] = [];
  while (s[i] && s[i]!.text !== "(" && upper(s[i]) !== "FROM") tableToks.push(s[i++]!);
  const tableSql = tableToks.map((t) => t.text).join("");
  const tableName = identValue(tableToks[tableToks.length - 1] ?? { kind: "word", text: "?" });
  let columns: string[] | undefined;
  if (s[i]?.text === "(") {
    columns = [];
    i++;
    while (s[i] && s[i]!.text !== ")") {
      if (s[i]!.text !== ",") columns.push(identValue(s[i]!));
      i++;
    }
    i++;
  }
  if (upper(s[i]) !== "FROM") throw syntax(s[i]?.text ?? "end of input");
  const source = stringValue(s[i + 1]!);
  i += 2;

  const spec: CopySpec = {
    tableSql,
    tableName,
    columns,
    source,
    manifest: false,
    format: "text",
    delimiter: "|",
    quote: '"',
    ignoreHeader: 0,
    jsonIgnoreCase: false,
    serializeToJson: false,
    emptyAsNull: false,
    blanksAsNull: false,
    truncateColumns: false,
    roundec: false,
    trimBlanks: false,
    fillRecord: false,
    removeQuotes: false,
    escape: false,
    maxError: 0,
    auth: { kind: "iam_role", role: "" },
  };
  const auths: string[] = [];
  let accessKeyId: string | undefined;
  let secretAccessKey: string | undefined;
  let sessionToken: string | undefined;
  let delimiterSet = false;
  let sawJson = false;

  const optAs = () => {
    if (upper(s[i]) === "AS") i++;
  };
  const str = (what: string): string => {
    optAs();
    const t = s[i];
    if (!t || t.kind !== "string") throw new GatewayError(`${what} expects a quoted string`, "42601");
    i++;
    return stringValue(t);
  };
  const num = (what: string): number => {
    optAs();
    const t = s[i];
    if (!t || t.kind !== "number") throw new GatewayError(`${what} expects a number`, "42601");
    i++;
    return Number(t.text);
  };

  while (i < s.length) {
    const t = s[i]!;
    const u = upper(t);
    i++;
    switch (u) {
      case "IAM_ROLE": {
        auths.push("IAM_ROLE");
        if (upper(s[i]) === "DEFAULT") {
          i++;
          spec.auth = { kind: "iam_role", role: "default" };
        } else {
          const role = str("IAM_ROLE");
          for (const one of role.split(",")) {
            if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@\/-]+$/.test(one.trim())) {
              throw new GatewayError(`Invalid IAM role ARN: ${one}`, "XX000", "IAM_ROLE must be arn:aws:iam::<12-digit account>:role/<name>");
            }
          }
          spec.auth = { kind: "iam_role", role };
        }
        break;
      }
      case "CREDENTIALS":
      case "WITH": {
        if (u === "WITH") {
          if (upper(s[i]) !== "CREDENTIALS") throw syntax(t.text);
          i++;
        }
        auths.push("CREDENTIALS");
        const c = str("CREDENTIALS");
        const kv = new Map(c.split(";").map((p) => p.split("=").map((x) => x.trim()) as [string, string]));
        if (kv.has("aws_iam_role")) spec.auth = { kind: "iam_role", role: kv.get("aws_iam_role")! };
        else if (kv.has("aws_access_key_id") && kv.has("aws_secret_access_key")) {
          spec.auth = { kind: "keys", accessKeyId: kv.get("aws_access_key_id")!, secretAccessKey: kv.get("aws_secret_access_key")!, sessionToken: kv.get("token") };
        } else throw new GatewayError("Invalid credentials. Must be of the format: credentials 'aws_iam_role=...' or 'aws_access_key_id=...;aws_secret_access_key=...[;token=...]'", "XX000");
        break;
      }
      case "ACCESS_KEY_ID":
        auths.push("ACCESS_KEY_ID");
        accessKeyId = str(u);
        break;
      case "SECRET_ACCESS_KEY":
        secretAccessKey = str(u);
        break;
      case "SESSION_TOKEN":
        sessionToken = str(u);
        break;
      case "MANIFEST":
        spec.manifest = true;
        break;
      case "FORMAT": {
        optAs();
        const f = upper(s[i]);
        if (!f) throw syntax("FORMAT");
        // Re-dispatch the format keyword itself.
        break;
      }
      case "CSV":
        spec.format = "csv";
        if (!delimiterSet) spec.delimiter = ",";
        break;
      case "JSON": {
        spec.format = "json";
        sawJson = true;
        optAs();
        if (s[i]?.kind === "string") {
          const mode = stringValue(s[i]!).toLowerCase();
          i++;
          if (mode === "auto") spec.jsonIgnoreCase = false;
          else if (mode === "auto ignorecase") spec.jsonIgnoreCase = true;
          else throw new GatewayError(`JSON '${mode}': only 'auto' and 'auto ignorecase' are emulated (no jsonpaths files)`, "0A000");
        }
        break;
      }
      case "PARQUET":
        spec.format = "parquet";
        break;
      case "AVRO":
      case "ORC":
      case "FIXEDWIDTH":
      case "SHAPEFILE":
      case "LZOP":
        throw new GatewayError(`COPY option ${u} is not emulated by the local stand-in`, "0A000");
      case "QUOTE":
        spec.quote = str(u);
        break;
      case "DELIMITER":
        spec.delimiter = str(u);
        delimiterSet = true;
        break;
      case "NULL":
        spec.nullAs = str(u);
        break;
      case "GZIP":
        spec.compression = "gzip";
        break;
      case "ZSTD":
        spec.compression = "zstd";
        break;
      case "BZIP2":
        spec.compression = "bzip2";
        break;
      case "IGNOREHEADER":
        spec.ignoreHeader = num(u);
        break;
      case "SERIALIZETOJSON":
        spec.serializeToJson = true;
        break;
      case "EMPTYASNULL":
        spec.emptyAsNull = true;
        break;
      case "BLANKSASNULL":
        spec.blanksAsNull = true;
        break;
      case "TRUNCATECOLUMNS":
        spec.truncateColumns = true;
        break;
      case "ROUNDEC":
        spec.roundec = true;
        break;
      case "TRIMBLANKS":
        spec.trimBlanks = true;
        break;
      case "FILLRECORD":
        spec.fillRecord = true;
        break;
      case "REMOVEQUOTES":
        spec.removeQuotes = true;
        break;
      case "ESCAPE":
        spec.escape = true;
        break;
      case "EXPLICIT_IDS":
      case "IGNOREBLANKLINES":
      case "ACCEPTANYDATE":
        break;
      case "ACCEPTINVCHARS":
        optAs();
        if (s[i]?.kind === "string") spec.acceptInvChars = stringValue(s[i++]!);
        else spec.acceptInvChars = "?";
        break;
      case "TIMEFORMAT":
        spec.timeFormat = str(u);
        break;
      case "DATEFORMAT":
        spec.dateFormat = str(u);
        break;
      case "STATUPDATE":
      case "COMPUPDATE":
        if (["ON", "OFF", "TRUE", "FALSE", "PRESET"].includes(upper(s[i]))) i++;
        break;
      case "REGION":
        spec.region = str(u);
        break;
      case "MAXERROR":
        spec.maxError = num(u);
        break;
      case "ENCODING":
        optAs();
        if (upper(s[i]) !== "UTF8") throw new GatewayError("only ENCODING UTF8 is emulated", "0A000");
        i++;
        break;
      default:
        throw syntax(t.text);
    }
  }
  void sawJson;
  if (accessKeyId !== undefined || secretAccessKey !== undefined) {
    if (!accessKeyId || !secretAccessKey) throw new GatewayError("ACCESS_KEY_ID and SECRET_ACCESS_KEY must be given together", "XX000");
    spec.auth = { kind: "keys", accessKeyId, secretAccessKey, sessionToken };
  }
  if (auths.length === 0) {
    throw new GatewayError("Missing credentials: COPY needs exactly one of IAM_ROLE, ACCESS_KEY_ID/SECRET_ACCESS_KEY or CREDENTIALS", "XX000");
  }
  if (auths.length > 1) {
    throw new GatewayError(`conflicting or redundant options: more than one authorization form (${auths.join(", ")})`, "42601");
  }
  if (spec.format === "parquet") {
    if (spec.region) throw new GatewayError("REGION argument is not supported for PARQUET based COPY", "0A000");
    if (spec.maxError) throw new GatewayError("MAXERROR argument is not supported for PARQUET based COPY", "0A000");
    if (spec.compression) throw new GatewayError("Compression options are not supported for PARQUET based COPY", "0A000");
  }
  if (spec.delimiter.length !== 1) throw new GatewayError("COPY delimiter must be a single one-byte character", "22023");
  if (spec.format === "csv" && spec.quote.length !== 1) throw new GatewayError("COPY quote must be a single one-byte character", "22023");
  if (spec.region && !/^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(spec.region)) throw new GatewayError(`Invalid region: ${spec.region}`, "XX000");
  return spec;
}

// ---------------------------------------------------------------------------------------------

interface Column {
  name: string;
  /** The name as Redshift shows it (differs from `name` for names over PostgreSQL's 63 bytes). */
  redshiftName: string;
  typname: string; // base type name
  fmt: string; // format_type
  typmod: number;
  isSuper: boolean;
  notNull: boolean;
}

interface LoadError {
  file: string;
  line: number;
  colname: string;
  type: string;
  colLength: string;
  position: number;
  rawLine: string;
  rawField: string;
  code: number;
  reason: string;
}

class RowError extends Error {
  constructor(
    readonly col: number,
    readonly code: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

type Converter = (v: string | null) => string | null;

const CHAR_TYPES = new Set(["varchar", "bpchar", "text"]);

function converterFor(col: Column, spec: CopySpec, colIdx: number): Converter {
  const t = col.typname;
  if (CHAR_TYPES.has(t)) {
    const max = col.typmod > 4 ? col.typmod - 4 : Infinity;
    return (v) => {
      if (v === null) return null;
      if (spec.trimBlanks) v = v.replace(/^ +| +$/g, "");
      if (v === "") return spec.emptyAsNull ? null : v;
      if (spec.blanksAsNull && /^[ \t]*$/.test(v)) return null;
      if (v.includes("\u0000")) throw new RowError(colIdx, 1220, "Invalid null byte - field contains NUL (0x00)");
      if (t === "bpchar" && /[^\x00-\x7f]/.test(v)) throw new RowError(colIdx, 1220, "Multibyte character not supported for CHAR (Hint: try using VARCHAR)");
      if (v.includes("\uFFFD") && invalidUtf8Context.current) {
        if (spec.acceptInvChars === undefined) throw new RowError(colIdx, 1220, "String contains invalid or unsupported UTF8 codepoints. Bad UTF8 hex sequence");
        v = v.replace(/\uFFFD/g, spec.acceptInvChars);
      }
      if (max !== Infinity) {
        const bytes = Buffer.byteLength(v, "utf8");
        if (bytes > max) {
          if (!spec.truncateColumns) throw new RowError(colIdx, 1204, "String length exceeds DDL length");
          v = truncateUtf8(v, max);
        }
      }
      return v;
    };
  }
  const emptyNull = (v: string | null): string | null => (v === null || v === "" || (spec.blanksAsNull && /^\s*$/.test(v)) ? null : v);
  if (col.isSuper) {
    return (v) => {
      v = emptyNull(v);
      if (v === null) return null;
      if (Buffer.byteLength(v, "utf8") > 16 * 1024 * 1024) throw new RowError(colIdx, 1224, "SUPER value exceeds the 16 MB limit");
      // SQL_ASCII cannot decode \u escapes above 0x7F in jsonb: write those characters as UTF-8
      // (the text stays the same JSON; numbers keep their digits).
      return v.includes("\\u") ? unescapeNonAscii(v) : v;
    };
  }
  if (t === "numeric") {
    const scale = col.typmod > 4 ? (col.typmod - 4) & 0xffff : -1;
    return (v) => {
      v = emptyNull(v);
      if (v === null) return null;
      v = v.trim();
      if (/^[+-]?(nan|inf|infinity)$/i.test(v)) throw new RowError(colIdx, 1207, `Invalid digit, Value '${v[0]}', Pos 0, Type: Decimal`);
      // Redshift truncates extra scale unless ROUNDEC; PostgreSQL would round.
      if (!spec.roundec && scale >= 0) {
        const m = /^([+-]?\d*)\.(\d+)$/.exec(v);
        if (m && m[2]!.length > scale) v = scale === 0 ? m[1]! || "0" : `${m[1]}.${m[2]!.slice(0, scale)}`;
      }
      return v;
    };
  }
  if (t === "float8" || t === "float4") {
    return (v) => {
      v = emptyNull(v);
      if (v === null) return null;
      if (/^\s*[+-]?(nan|inf|infinity)\s*$/i.test(v)) throw new RowError(colIdx, 1207, `Invalid digit, Value '${v.trim()[0]}', Pos 0, Type: Double`);
      return v;
    };
  }
  if (t === "timestamp" || t === "timestamptz" || t === "time" || t === "timetz") {
    const tf = t.startsWith("timestamp") ? spec.timeFormat?.toLowerCase() : undefined;
    return (v) => {
      v = emptyNull(v);
      if (v === null) return null;
      if (tf === "epochsecs" || tf === "epochmillisecs") {
        const n = Number(v);
        if (!Number.isFinite(n)) throw new RowError(colIdx, 1206, "Invalid timestamp format or value");
        return new Date(tf === "epochsecs" ? n * 1000 : n).toISOString();
      }
      // Redshift truncates fractional seconds to microseconds; PostgreSQL would round.
      return v.replace(/(\d{2}:\d{2}:\d{2}\.\d{6})\d+/, "$1");
    };
  }
  return emptyNull;
}

const invalidUtf8Context = { current: false };

function truncateUtf8(v: string, maxBytes: number): string {
  const b = Buffer.from(v, "utf8");
  let end = maxBytes;
  while (end > 0 && (b[end]! & 0xc0) === 0x80) end--;
  return b.subarray(0, end).toString("utf8");
}

/** Test hook: false forces every record through the converting path (the pass-through's reference). */
export const copyTuning = { passThrough: true };

// ---- pass-through of CSV bytes ----------------------------------------------------------------
//
// Most CSV records need no conversion at all: every field is one that converterFor() would return
// unchanged, and PostgreSQL's own CSV reader (same delimiter, quote and NULL string) reads exactly the
// same values from the original bytes. Such records are sent as they are; any record the scanner is
// not sure about goes through parseCsv + converterFor as before, so results and errors do not change.

interface PassFormat {
  D: number;
  Q: number;
  nullStr: string;
  /** nullStr came from NULL AS (unquoted matches are NULL); otherwise it is only the wire marker. */
  nullIsSpec: boolean;
}

export function passThroughFormat(spec: CopySpec): PassFormat | undefined {
  if (spec.format !== "csv") return undefined;
  const D = spec.delimiter.charCodeAt(0);
  const Q = spec.quote.charCodeAt(0);
  const bad = (c: number) => c >= 0x80 || c === 0 || c === 10 || c === 13 || c === 92 /* \ */ || c === 46 /* . */;
  if (bad(D) || bad(Q) || D === Q) return undefined;
  const nullStr = spec.nullAs ?? "\\N";
  if (nullStr === "" || nullStr.startsWith("\\.") || /[^\x20-\x7e]/.test(nullStr) || nullStr.includes(spec.delimiter) || nullStr.includes(spec.quote)) return undefined;
  return { D, Q, nullStr, nullIsSpec: spec.nullAs !== undefined };
}

// What converterFor() does to a column, for the pass-through check.
const enum Kind {
  Char,
  Bpchar,
  Super,
  Numeric,
  Float,
  Timestamp,
  Other,
}

interface FastColumn {
  kind: Kind;
  max: number; // byte length limit of a character column
  scale: number; // NUMERIC scale whose excess is truncated; -1 = none
  emptyAsNull: boolean;
}

export function fastColumn(col: Column, spec: CopySpec): FastColumn {
  const t = col.typname;
  const c: FastColumn = { kind: Kind.Other, max: Infinity, scale: -1, emptyAsNull: spec.emptyAsNull };
  if (CHAR_TYPES.has(t)) {
    c.kind = t === "bpchar" ? Kind.Bpchar : Kind.Char;
    c.max = col.typmod > 4 ? col.typmod - 4 : Infinity;
  } else if (col.isSuper) c.kind = Kind.Super;
  else if (t === "numeric") {
    c.kind = Kind.Numeric;
    c.scale = !spec.roundec && col.typmod > 4 ? (col.typmod - 4) & 0xffff : -1;
  } else if (t === "float8" || t === "float4") c.kind = Kind.Float;
  else if (t === "timestamp" || t === "timestamptz" || t === "time" || t === "timetz") c.kind = Kind.Timestamp;
  return c;
}

/** Whole-file conditions for the byte scanner; otherwise the file takes the converting path. */
function fastFileOk(buf: Buffer, spec: CopySpec): boolean {
  if (spec.trimBlanks || spec.blanksAsNull) return false;
  const tf = spec.timeFormat?.toLowerCase();
  if (tf === "epochsecs" || tf === "epochmillisecs") return false;
  // No NUL (error 1220), no CR (PostgreSQL's end-of-line rules differ), valid UTF-8 (1220 / ACCEPTINVCHARS).
  return buf.indexOf(0) < 0 && buf.indexOf(13) < 0 && isUtf8(buf);
}

/**
 * True when the field's value (bytes [s, e) of buf, inside the quotes if quoted, `quotes` doubled
 * quote pairs) would leave converterFor() unchanged and is not NULL there.
 */
function fieldPasses(col: FastColumn, buf: Buffer, s: number, e: number, quotes: number, hasBackslashU: boolean): boolean {
  const len = e - s - quotes;
  switch (col.kind) {
    case Kind.Char:
      if (len === 0) return !col.emptyAsNull;
      return len <= col.max;
    case Kind.Bpchar:
      if (len === 0) return !col.emptyAsNull;
      if (len > col.max) return false;
      for (let i = s; i < e; i++) if (buf[i]! >= 0x80) return false;
      return true;
    case Kind.Super:
      if (len === 0 || len > 16 * 1024 * 1024) return false;
      if (hasBackslashU) for (let i = s; i < e - 1; i++) if (buf[i] === 92 && buf[i + 1] === 117) return false;
      return true;
    case Kind.Numeric: {
      if (len === 0 || quotes) return false;
      let dot = -1;
      for (let i = s; i < e; i++) {
        const c = buf[i]!;
        if (c >= 48 && c <= 57) continue;
        if (c === 46 && dot < 0) dot = i;
        else if (c !== 43 && c !== 45) return false;
      }
      return col.scale < 0 || dot < 0 || e - dot - 1 <= col.scale;
    }
    case Kind.Float:
      if (len === 0 || quotes) return false;
      for (let i = s; i < e; i++) {
        const c = buf[i]! | 0x20;
        if (c === 110 /* n */ || c === 105 /* i */) return false;
      }
      return true;
    case Kind.Timestamp: {
      if (len === 0 || quotes) return false;
      // more than 6 fractional digits would be truncated
      let run = -1;
      for (let i = s; i < e; i++) {
        const c = buf[i]!;
        if (c === 46) run = 0;
        else if (run >= 0 && c >= 48 && c <= 57) {
          if (++run > 6) return false;
        } else run = -1;
      }
      return true;
    }
    default:
      return len !== 0 && !quotes;
  }
}

/**
 * Splits a CSV file into records exactly as parseCsv does (same line numbers, header and blank-line
 * skipping, same "Unterminated quoted field" error) and tells for each whether its bytes can be given
 * to PostgreSQL as they are. Requires fastFileOk(buf).
 */
export function scanCsvFast(
  buf: Buffer,
  f: PassFormat,
  ignoreHeader: number,
  cols: FastColumn[],
  hasBackslashU: boolean,
  onRecord: (line: number, start: number, end: number, passes: boolean) => void,
): void {
  const { D, Q } = f;
  const n = buf.length;
  const ncols = cols.length;
  const nul = Buffer.from(f.nullStr, "latin1");
  const nulLen = nul.length;
  const nul0 = nul[0]!;
  let i = 0;
  let line = 1;
  let skip = ignoreHeader;
  while (i < n) {
    const recStart = i;
    const recLine = line;
    let nf = 0;
    let ok = true;
    for (;;) {
      const col = cols[nf];
      if (buf[i] === Q) {
        i++;
        const fs = i;
        let quotes = 0;
        for (;;) {
          if (i >= n) throw new RowError(-1, 1214, "Unterminated quoted field");
          const c = buf[i];
          if (c === Q) {
            if (buf[i + 1] === Q) {
              quotes++;
              i += 2;
              continue;
            }
            break;
          }
          if (c === 10) {
            line++;
            if (buf[i + 1] === 92) ok = false; // PostgreSQL might take "\." there for the end marker
          }
          i++;
        }
        const fe = i;
        i++;
        if (i < n && buf[i] !== D && buf[i] !== 10) {
          ok = false; // text after the closing quote
          while (i < n && buf[i] !== D && buf[i] !== 10) i++;
        }
        if (ok && (col === undefined || !fieldPasses(col, buf, fs, fe, quotes, hasBackslashU))) ok = false;
      } else {
        const fs = i;
        let sawQuote = false;
        for (; i < n; i++) {
          const c = buf[i];
          if (c === D || c === 10) break;
          if (c === Q) sawQuote = true; // PostgreSQL would start a quoted section there
        }
        if (ok) {
          if (sawQuote || col === undefined) ok = false;
          else if (i - fs === nulLen && buf[fs] === nul0 && buf.compare(nul, 0, nulLen, fs, i) === 0) ok = f.nullIsSpec;
          else if (!fieldPasses(col, buf, fs, i, 0, hasBackslashU)) ok = false;
        }
      }
      nf++;
      if (i < n && buf[i] === D) {
        i++;
        continue;
      }
      break;
    }
    const recEnd = i;
    if (i < n) i++; // the newline
    line++;
    if (skip > 0) {
      skip--;
      continue;
    }
    if (recEnd === recStart) continue; // blank line or the trailing newline
    if (nf !== ncols || (buf[recStart] === 92 && buf[recStart + 1] === 46)) ok = false;
    onRecord(recLine, recStart, recEnd, ok);
  }
}

// ---- parsers: each calls onRecord(fields, line, start, end) with 1-based physical line numbers.

/** `bad`: the record cannot be read (e.g. an unclosed quote); it fails alone, like a bad value. */
type OnRecord = (fields: Array<string | null>, line: number, start: number, end: number, bad?: { code: number; reason: string }) => void;

function parseCsv(text: string, spec: CopySpec, onRecord: OnRecord): void {
  const D = spec.delimiter.charCodeAt(0);
  const Q = spec.quote.charCodeAt(0);
  const nullAs = spec.nullAs;
  const n = text.length;
  let i = 0;
  let line = 1;
  let skip = spec.ignoreHeader;
  while (i < n) {
    const recStart = i;
    const recLine = line;
    const fields: Array<string | null> = [];
    for (;;) {
      // one field
      if (text.charCodeAt(i) === Q) {
        i++;
        let val = "";
        let segStart = i;
        for (;;) {
          if (i >= n) throw new RowError(-1, 1214, "Unterminated quoted field");
          const c = text.charCodeAt(i);
          if (c === Q) {
            if (text.charCodeAt(i + 1) === Q) {
              val += text.slice(segStart, i + 1);
              i += 2;
              segStart = i;
              continue;
            }
            val += text.slice(segStart, i);
            i++;
            break;
          }
          if (c === 10) line++;
          i++;
        }
        // Characters after the closing quote up to the delimiter are appended, as PostgreSQL does.
        const restStart = i;
        while (i < n) {
          const c = text.charCodeAt(i);
          if (c === D || c === 10 || (c === 13 && text.charCodeAt(i + 1) === 10)) break;
          i++;
        }
        fields.push(val + text.slice(restStart, i));
      } else {
        const fStart = i;
        while (i < n) {
          const c = text.charCodeAt(i);
          if (c === D || c === 10 || (c === 13 && text.charCodeAt(i + 1) === 10)) break;
          i++;
        }
        const raw = text.slice(fStart, i);
        fields.push(nullAs !== undefined && raw === nullAs ? null : raw);
      }
      if (i < n && text.charCodeAt(i) === D) {
        i++;
        continue;
      }
      break;
    }
    const recEnd = i;
    if (i < n && text.charCodeAt(i) === 13) i++;
    if (i < n && text.charCodeAt(i) === 10) i++;
    line++;
    if (skip > 0) {
      skip--;
      continue;
    }
    if (recEnd === recStart && i >= n) break; // trailing newline
    if (recEnd === recStart) continue; // blank line
    onRecord(fields, recLine, recStart, recEnd);
  }
}

/**
 * Delimited text (not CSV), as Redshift reads it (AWS "Data conversion parameters" and "Data format
 * parameters"): one record per line; NULL AS (default `\N`) matches a whole unquoted field.
 * - ESCAPE: a backslash makes the next character (delimiter, newline, quote, backslash) plain data; the
 *   character itself is kept (`\n` loads `n`, not a newline); with the default NULL string `\\N` is NULL too.
 * - REMOVEQUOTES: a field that starts with `"` or `'` runs to the same quote followed by the delimiter or
 *   the end of the line; the surrounding quotes go and everything between them stays, delimiters and other
 *   quotes included (AWS's example `' ' 'Black' ' '` loads ` ' 'Black' ' `). A quote never closed fails
 *   that record (1214).
 * The record's raw text and physical start line are passed on; an unescaped newline always ends a record.
 */
function parseText(text: string, spec: CopySpec, onRecord: OnRecord): void {
  const D = spec.delimiter;
  const nullAs = spec.nullAs ?? "\\N";
  const escapedNull = spec.escape && spec.nullAs === undefined ? "\\\\N" : undefined;
  const n = text.length;
  let i = 0;
  let line = 1;
  let skip = spec.ignoreHeader;
  const atEnd = (k: number) => k >= n || text[k] === "\n" || (text[k] === "\r" && (k + 1 >= n || text[k + 1] === "\n"));
  while (i < n) {
    const recStart = i;
    const recLine = line;
    const fields: Array<string | null> = [];
    let bad: { code: number; reason: string } | undefined;
    for (;;) {
      const q = text[i];
      if (spec.removeQuotes && (q === '"' || q === "'")) {
        let k = i + 1;
        let val = "";
        let closed = false;
        while (k < n && text[k] !== "\n") {
          const c = text[k]!;
          if (spec.escape && c === "\\" && k + 1 < n) {
            if (text[k + 1] === "\n") line++;
            val += text[k + 1];
            k += 2;
            continue;
          }
          if (c === q && (text[k + 1] === D || atEnd(k + 1))) {
            closed = true;
            k++;
            break;
          }
          val += c;
          k++;
        }
        if (!closed) {
          bad ??= { code: 1214, reason: "Unterminated quoted string" };
          while (k < n && text[k] !== "\n") k++;
        }
        fields.push(val);
        i = k;
      } else {
        const fStart = i;
        let val = "";
        let seg = i;
        while (!(text[i] === D || atEnd(i))) {
          if (spec.escape && text[i] === "\\" && i + 1 < n) {
            if (text[i + 1] === "\n") line++;
            val += text.slice(seg, i) + text[i + 1];
            i += 2;
            seg = i;
          } else i++;
        }
        const raw = text.slice(fStart, i);
        fields.push(raw === nullAs || raw === escapedNull ? null : val + text.slice(seg, i));
      }
      if (i < n && text[i] === D) {
        i++;
        continue;
      }
      break;
    }
    const recEnd = i;
    if (i < n && text[i] === "\r") i++;
    if (i < n && text[i] === "\n") i++;
    line++;
    if (skip > 0) {
      skip--;
      continue;
    }
    if (recEnd === recStart) continue; // blank line or the trailing newline
    onRecord(fields, recLine, recStart, recEnd, bad);
  }
}

/** A JSON member as the field text COPY loads: strings decoded, numbers and nested JSON exactly as written. */
function jsonValue(m: JsonMember | undefined): string | null {
  if (m === undefined) return null;
  if (m.kind === "string") return m.value;
  if (m.kind === "literal" && m.text === "null") return null;
  return m.text;
}

function parseJson(text: string, spec: CopySpec, cols: Column[], onRecord: OnRecord): void {
  const n = text.length;
  let i = 0;
  let line = 1;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 10) line++;
    if (c !== 123 /* { */) {
      if (!/\s/.test(text[i]!)) throw new RowError(-1, 1224, `Invalid JSON object: unexpected '${text[i]}'`);
      i++;
      continue;
    }
    const start = i;
    const startLine = line;
    let depth = 0;
    let inStr = false;
    for (; i < n; i++) {
      const ch = text.charCodeAt(i);
      if (ch === 10) line++;
      if (inStr) {
        if (ch === 92) i++;
        else if (ch === 34) inStr = false;
      } else if (ch === 34) inStr = true;
      else if (ch === 123 || ch === 91) depth++;
      else if (ch === 125 || ch === 93) {
        depth--;
        if (depth === 0) {
          i++;
          break;
        }
      }
    }
    const slice = text.slice(start, i);
    try {
      JSON.parse(slice);
    } catch (e) {
      throw new RowError(-1, 1224, `Invalid JSONPath format: ${(e as Error).message}`);
    }
    if (Buffer.byteLength(slice, "utf8") > 4 * 1024 * 1024) throw new RowError(-1, 1224, "JSON object exceeds the 4 MB row limit");
    const keyed = new Map<string, JsonMember>();
    for (const [k, v] of jsonMembers(slice)) keyed.set(spec.jsonIgnoreCase ? k.toLowerCase() : k, v);
    onRecord(
      cols.map((c) => jsonValue(keyed.get(c.redshiftName))),
      startLine,
      start,
      i,
    );
  }
}

/** How a top-level Parquet column's raw value becomes text (its logical type, taken off before reading). */
type ParquetExact =
  | { kind: "date" }
  | { kind: "decimal"; scale: number }
  | { kind: "time"; unit: "MILLIS" | "MICROS" | "NANOS" }
  | { kind: "timestamp"; unit: "MILLIS" | "MICROS" | "NANOS" };

const UNIT_PER_MICRO = { MILLIS: -1000n, MICROS: 1n, NANOS: 1000n } as const;

/** A count of `unit` as whole microseconds (sub-µs digits truncated toward the earlier instant, as a cast would). */
function toMicros(v: number | bigint, unit: "MILLIS" | "MICROS" | "NANOS"): bigint {
  const n = BigInt(v);
  const f = UNIT_PER_MICRO[unit];
  if (f < 0n) return n * -f;
  const q = n / f;
  return n % f < 0n ? q - 1n : q;
}

const pad = (n: number | bigint, w: number) => String(n).padStart(w, "0");

/** Microseconds since midnight → HH:MM:SS.ffffff (24:00:00 stays 24:00:00, inside Redshift's TIME range). */
function timeText(us: bigint): string {
  const secs = us / 1_000_000n;
  const frac = us % 1_000_000n;
  return `${pad(secs / 3600n, 2)}:${pad((secs / 60n) % 60n, 2)}:${pad(secs % 60n, 2)}${frac ? `.${pad(frac, 6)}` : ""}`;
}

/**
 * Days since 1970-01-01 → proleptic Gregorian [year, month, day], any year (H. Hinnant, "chrono-Compatible
 * Low-Level Date Algorithms": civil_from_days). Not a JS Date: those end at 275760-09-13, Redshift's dates
 * at 294276-12-31 (and a year past 9999 in toISOString's form is not one PostgreSQL reads).
 */
function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return [y, m, d];
}

/** Days since 1970-01-01 → `YYYY-MM-DD` (more digits past 9999), and whether the year is BC (year ≤ 0). */
function dateParts(days: number): { date: string; bc: boolean } {
  const [y, m, d] = civilFromDays(days);
  return { date: `${pad(y > 0 ? y : 1 - y, 4)}-${pad(m, 2)}-${pad(d, 2)}`, bc: y <= 0 };
}

/** A Parquet DATE (days since 1970-01-01) as PostgreSQL reads it. */
function dateText(days: number): string {
  const { date, bc } = dateParts(days);
  return bc ? `${date} BC` : date;
}

/** Microseconds since the Unix epoch (UTC) → ISO text with all six fraction digits; BC years as PostgreSQL writes them. */
function timestampText(us: bigint): string {
  let secs = us / 1_000_000n;
  let frac = us % 1_000_000n;
  if (frac < 0n) {
    frac += 1_000_000n;
    secs -= 1n;
  }
  let days = secs / 86_400n;
  if (secs % 86_400n < 0n) days -= 1n;
  const sod = Number(secs - days * 86_400n);
  const { date, bc } = dateParts(Number(days));
  const time = `${pad(Math.floor(sod / 3600), 2)}:${pad(Math.floor(sod / 60) % 60, 2)}:${pad(sod % 60, 2)}${frac ? `.${pad(frac, 6)}` : ""}`;
  return `${date} ${time}+00${bc ? " BC" : ""}`;
}

/** An unscaled DECIMAL (INT32, INT64 or big-endian two's complement bytes) as exact decimal text. */
function decimalText(v: number | bigint | Uint8Array, scale: number): string {
  let n: bigint;
  if (v instanceof Uint8Array) {
    n = 0n;
    for (const b of v) n = (n << 8n) | BigInt(b);
    if (v.length && v[0]! >= 0x80) n -= 1n << BigInt(v.length * 8);
  } else n = BigInt(v);
  const neg = n < 0n;
  const digits = (neg ? -n : n).toString();
  if (scale <= 0) return (neg ? "-" : "") + digits + "0".repeat(-scale);
  const whole = digits.length > scale ? digits.slice(0, -scale) : "0";
  return `${neg ? "-" : ""}${whole}.${digits.padStart(scale, "0").slice(-scale)}`;
}

/**
 * A file the Parquet reader refuses (not Parquet, truncated, a page codec it cannot decompress) fails the
 * load with the reader's reason in stl_load_errors, as Redshift's Spectrum scan fails the COPY; the code is
 * the stand-in's own (Redshift reports these as "Spectrum Scan Error" without a documented load code).
 */
function unreadableParquet(e: unknown): RowError {
  return new RowError(-1, 15001, `Spectrum Scan Error: ${e instanceof Error ? e.message : String(e)}`);
}

async function parquetReadOrFail(options: Parameters<typeof parquetRead>[0]): Promise<void> {
  try {
    await parquetRead(options);
  } catch (e) {
    if (e instanceof RowError) throw e;
    throw unreadableParquet(e);
  }
}

/**
 * Reads a Parquet file. DATE, DECIMAL, TIME and TIMESTAMP columns are read as their raw integers and turned into
 * text here, exactly: hyparquet would make DECIMAL a float (digits lost), TIMESTAMP a JS Date (µs lost) and
 * leave TIME a bare count. Redshift loads them at full precision, sub-microsecond digits truncated.
 */
async function parseParquet(buf: Buffer, spec: CopySpec, cols: Column[], onRecord: OnRecord): Promise<void> {
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  let metadata: ReturnType<typeof parquetMetadata>;
  try {
    metadata = parquetMetadata(ab);
  } catch (e) {
    throw unreadableParquet(e);
  }
  // A column chunk the footer places past the end of the file: hyparquet would read it as NULLs.
  metadata.row_groups.forEach((g, gi) => {
    for (const c of g.columns) {
      const m = c.meta_data;
      if (!m) continue;
      // The chunk's pages: from its first page (the dictionary's, if any) for total_compressed_size bytes,
      // between the leading "PAR1" and the footer's length and trailing "PAR1" (8 bytes).
      const start = Number(m.dictionary_page_offset ?? m.data_page_offset);
      const end = start + Number(m.total_compressed_size);
      const data = Number(m.data_page_offset);
      if (start < 4 || end > buf.length - 8 || data < start || data >= end) {
        // err_reason holds 100 characters: the short form.
        throw unreadableParquet(new Error(`column ${m.path_in_schema.join(".")}, row group ${gi}: pages at bytes ${start}-${end}, file has ${buf.length}`));
      }
    }
  });
  const exact: Array<ParquetExact | undefined> = [];
  // Top-level columns: the root's children, skipping the subtrees of nested ones.
  const schema = metadata.schema;
  for (let i = 1; i < schema.length; ) {
    const el = schema[i]!;
    let e: ParquetExact | undefined;
    const lt = el.logical_type;
    if (!el.num_children) {
      if (lt?.type === "DECIMAL" || el.converted_type === "DECIMAL") e = { kind: "decimal", scale: (lt?.type === "DECIMAL" ? lt.scale : el.scale) ?? 0 };
      else if (lt?.type === "DATE" || el.converted_type === "DATE") e = { kind: "date" };
      else if (lt?.type === "TIME") e = { kind: "time", unit: lt.unit };
      else if (el.converted_type === "TIME_MILLIS" || el.converted_type === "TIME_MICROS") e = { kind: "time", unit: el.converted_type === "TIME_MILLIS" ? "MILLIS" : "MICROS" };
      else if (lt?.type === "TIMESTAMP") e = { kind: "timestamp", unit: lt.unit };
      else if (el.converted_type === "TIMESTAMP_MILLIS" || el.converted_type === "TIMESTAMP_MICROS") e = { kind: "timestamp", unit: el.converted_type === "TIMESTAMP_MILLIS" ? "MILLIS" : "MICROS" };
      if (e) {
        el.logical_type = undefined;
        el.converted_type = undefined;
      }
    }
    exact.push(e);
    // skip this element and all its descendants
    let pending = 1;
    while (pending > 0 && i < schema.length) {
      pending += (schema[i]!.num_children ?? 0) - 1;
      i++;
    }
  }
  let rows: unknown[][] = [];
  await parquetReadOrFail({
    file: ab,
    metadata,
    rowFormat: "array",
    // Page codecs beyond hyparquet's own SNAPPY: GZIP (what target-redshift writes; Redshift reads both).
    compressors: { GZIP: (input: Uint8Array) => zlib.gunzipSync(input) },
    // INT96 (legacy Spark) timestamps arrive as nanoseconds.
    parsers: {
      timestampFromNanoseconds: (ns: bigint) => new RawJson(timestampText(toMicros(ns, "NANOS"))) as unknown as Date,
      // JSON logical type: keep the text (JSON.parse would round its numbers).
      jsonFromBytes: (bytes: Uint8Array | undefined) => {
        if (!bytes) return undefined;
        const text = Buffer.from(bytes).toString("utf8").trim();
        return new RawJson(text, text.startsWith("{") || text.startsWith("["));
      },
    },
    onComplete: (r: unknown[][]) => {
      rows = r;
    },
  });
  rows.forEach((row, idx) => {
    if (row.length !== cols.length) {
      throw new RowError(-1, 1202, `Parquet file has ${row.length} columns but the table has ${cols.length} (columns bind by position)`);
    }
    const fields = row.map((v, c): string | null => {
      if (v === null || v === undefined) return null;
      const e = exact[c];
      if (e?.kind === "decimal") return decimalText(v as number | bigint | Uint8Array, e.scale);
      if (e?.kind === "date") return dateText(Number(v));
      if (e?.kind === "time") return timeText(toMicros(v as number | bigint, e.unit)) + (cols[c]!.typname === "timetz" ? "+00" : "");
      if (e?.kind === "timestamp") return timestampText(toMicros(v as number | bigint, e.unit));
      if (v instanceof RawJson) {
        if (v.nested && !spec.serializeToJson && !cols[c]!.isSuper) throw new RowError(c, 1224, "Nested Parquet data needs a SUPER column or SERIALIZETOJSON");
        return v.text;
      }
      if (v instanceof Date) return v.toISOString();
      if (typeof v === "bigint") return v.toString();
      // String(-0) is "0": a DOUBLE/REAL -0 would land as 0.
      if (typeof v === "number") return Object.is(v, -0) ? "-0" : String(v);
      if (v instanceof Uint8Array) return Buffer.from(v).toString("utf8");
      if (typeof v === "object") {
        if (!spec.serializeToJson && !cols[c]!.isSuper) {
          throw new RowError(c, 1224, "Nested Parquet data needs a SUPER column or SERIALIZETOJSON");
        }
        return stringifyExact(v);
      }
      return String(v);
    });
    onRecord(fields, idx + 1, 0, 0);
  });
}

// ---------------------------------------------------------------------------------------------

function parseS3Url(url: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(url);
  if (!m) throw new GatewayError(`Invalid S3 URL: ${url}`, "XX000");
  return { bucket: m[1]!, key: m[2]! };
}

async function decompress(buf: Buffer, spec: CopySpec): Promise<Buffer> {
  switch (spec.compression) {
    case "gzip": {
      // Output in one or a few large chunks: with zlib's default 16 KB chunks, the callbacks and the
      // final concatenation cost more CPU than inflating itself. The gzip trailer's ISIZE (size mod
      // 2^32 of the last member) is only a hint for the chunk size.
      const isize = buf.length >= 18 ? buf.readUInt32LE(buf.length - 4) : 0;
      const hint = isize > 0 && isize <= buf.length * 1032 ? isize + 1 : 1 << 20;
      return gunzip(buf, { chunkSize: Math.min(Math.max(hint, 64 * 1024), 128 << 20) });
    }
    case "zstd":
      return Buffer.from(zstdDecompress(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)));
    case "bzip2":
      return Bunzip.decode(buf);
    default:
      return buf;
  }
}

function loadFailed(spec: CopySpec, errors: LoadError[], queryId: number): GatewayError {
  const e = errors[0];
  const detail = e
    ? `\n  -----------------------------------------------\n  error:  ${e.reason}\n  code:      ${e.code}\n  context:   ${e.rawField.slice(0, 100)}\n  query:     ${queryId}\n  location:  ${e.file}:${e.line}\n  process:   local-redshift\n  -----------------------------------------------\n`
    : undefined;
  return new GatewayError(`Load into table '${spec.tableName}' failed.  Check 'stl_load_errors' system table for details.`, "XX000", detail);
}

function mapPgError(f: Map<string, string>, col: Column | undefined): { code: number; reason: string } {
  const sqlstate = f.get("C") ?? "";
  const msg = f.get("M") ?? "";
  const typeName: Record<string, string> = { int2: "Short", int4: "Integer", int8: "Long", numeric: "Decimal", float4: "Float", float8: "Double" };
  const value = /: "(.*)"$/.exec(msg)?.[1] ?? "";
  if (sqlstate === "22P02" && col && typeName[col.typname]) return { code: 1207, reason: `Invalid digit, Value '${value[0] ?? ""}', Pos 0, Type: ${typeName[col.typname]}` };
  if (sqlstate === "22P02" && col?.isSuper) return { code: 1224, reason: `Invalid JSON: ${msg}` };
  if (sqlstate === "22P02" && col?.typname === "bool") return { code: 1219, reason: `Invalid boolean value: ${value}` };
  if (col?.typname === "date" && (sqlstate === "22007" || sqlstate === "22008")) return { code: 1205, reason: "Invalid Date Format - length must be 10 or more" };
  if ((col?.typname === "timestamp" || col?.typname === "timestamptz") && (sqlstate === "22007" || sqlstate === "22008")) return { code: 1206, reason: "Invalid timestamp format or value [YYYY-MM-DD HH24:MI:SS]" };
  if (sqlstate === "22003") return { code: 1216, reason: `Numeric value out of range: ${msg}` };
  if (sqlstate === "23502") return { code: 1213, reason: "Missing data for not-null field" };
  if (sqlstate === "22001") return { code: 1204, reason: "String length exceeds DDL length" };
  if (sqlstate === "22P04" && /extra data/.test(msg)) return { code: 1214, reason: "Extra column(s) found" };
  if (sqlstate === "22P04" && /missing data/.test(msg)) return { code: 1214, reason: "Delimiter not found" };
  return { code: 9999, reason: `${msg} (PostgreSQL ${sqlstate})` };
}

async function recordErrors(session: Session, tableOid: number, queryId: number, errors: LoadError[]): Promise<void> {
  for (const e of errors) {
    await session.gw.admin.query(
      `INSERT INTO redshift_local.load_errors (userid, slice, tbl, starttime, session, query, filename, line_number, colname, type, col_length, "position", raw_line, raw_field_value, err_code, err_reason, transaction_id)
       VALUES (100, 0, $1, (now() AT TIME ZONE 'UTC'), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 0)`,
      [tableOid, session.backendPid, queryId, e.file, e.line, e.colname, e.type, e.colLength, e.position, e.rawLine.slice(0, 1024), e.rawField.slice(0, 1024), e.code, e.reason.slice(0, 512)],
    );
  }
}

function csvField(v: string | null, q: string, nullStr: string): string {
  if (v === null) return nullStr;
  return v.includes(q) ? `${q}${v.split(q).join(q + q)}${q}` : `${q}${v}${q}`;
}

/** The records of one COPY: file, physical line, span, and the re-encoded line of converted ones. */
class RecordList {
  length = 0;
  file = new Int32Array(1024);
  line = new Float64Array(1024);
  start = new Float64Array(1024);
  end = new Float64Array(1024);
  readonly out = new Map<number, string>();

  add(file: number, line: number, start: number, end: number, out: string | undefined): void {
    const k = this.length;
    if (k === this.file.length) {
      const grow = <T extends Int32Array | Float64Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(a.length * 2);
        b.set(a);
        return b;
      };
      this.file = grow(this.file);
      this.line = grow(this.line);
      this.start = grow(this.start);
      this.end = grow(this.end);
    }
    this.file[k] = file;
    this.line[k] = line;
    this.start[k] = start;
    this.end[k] = end;
    if (out !== undefined) this.out.set(k, out);
    this.length = k + 1;
  }
}

export async function runCopy(session: Session, r: Rewritten): Promise<boolean> {
  const queryId = nextQueryId();
  let spec: CopySpec;
  try {
    spec = parseCopy(r);
  } catch (e) {
    if (e instanceof GatewayError) return session.raise(e);
    throw e;
  }
  spec.tableName = session.gw.names.longOf(spec.tableName) ?? spec.tableName;
  const s3 = session.gw.opts.s3;
  const fail = (e: GatewayError) => {
    session.lastCopyCount = 0;
    return session.raise(e);
  };
  if (spec.auth.kind === "keys" && spec.auth.accessKeyId !== session.gw.s3AccessKeyId) {
    return fail(new GatewayError("S3ServiceException:The AWS Access Key Id you provided does not exist in our records.,Status 403,Error InvalidAccessKeyId", "XX000"));
  }

  // Column metadata from this session (the target may be a temp table only it can see).
  const meta = await session.internal(
    `SELECT c.oid, a.attname, coalesce(bt.typname, t.typname), format_type(a.atttypid, a.atttypmod), a.atttypmod, (t.typname = 'super'), a.attnotnull, a.attidentity
     FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid JOIN pg_type t ON t.oid = a.atttypid
     LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
     WHERE c.oid = ${quoteLiteral(spec.tableSql)}::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
  );
  if (meta.error) {
    return session.raise(new GatewayError(meta.error.get("M") ?? "COPY target lookup failed", meta.error.get("C") ?? "42P01"));
  }
  const tableOid = Number(meta.rows[0]?.[0] ?? 0);
  const all: Column[] = meta.rows.map((row) => ({
    name: row[1]!,
    redshiftName: session.gw.names.longOf(row[1]!) ?? row[1]!,
    typname: row[2]!,
    fmt: row[3]!,
    typmod: Number(row[4]),
    isSuper: row[5] === "t",
    notNull: row[6] === "t",
    identity: row[7],
  })) as Column[];
  let cols: Column[];
  // Redshift: a columnar file's columns go into the table's columns by position, and their counts must
  // match ("COPY from columnar data formats"); what it does with a column list there is not documented,
  // so one that is not the table's own columns, in order, is refused rather than guessed at.
  const tableColumns = all.filter((c) => !(meta.rows.find((row) => row[1] === c.name)?.[7] === "a"));
  if (spec.format === "parquet" && spec.columns && spec.columns.join("\u0000") !== tableColumns.map((c) => c.name).join("\u0000")) {
    return fail(
      new GatewayError(
        `COPY from PARQUET binds the file's columns by position to every column of "${spec.tableName}" (${tableColumns.map((c) => c.redshiftName).join(", ")}); a column list that differs from them is not supported here`,
        "0A000",
      ),
    );
  }
  if (spec.columns) {
    cols = [];
    for (const name of spec.columns) {
      const c = all.find((x) => x.name === name);
      if (!c) return fail(new GatewayError(`column "${name}" of relation "${spec.tableName}" does not exist`, "42703"));
      cols.push(c);
    }
  } else {
    cols = tableColumns;
  }

  // Which objects.
  let files: string[];
  try {
    const { bucket, key } = parseS3Url(spec.source);
    if (spec.manifest) {
      const body = await s3.get(bucket, key);
      if (!body) throw new GatewayError(`Problem reading manifest file - S3ServiceException:The specified key does not exist.,Status 404,Error NoSuchKey,Key ${key}`, "XX000");
      let man: { entries?: Array<{ url?: string; mandatory?: boolean; meta?: { content_length?: number } }> };
      try {
        man = JSON.parse(body.toString("utf8"));
      } catch {
        throw new GatewayError(`Manifest file is not in correct json format: ${spec.source}`, "XX000");
      }
      if (!Array.isArray(man.entries)) throw new GatewayError(`Manifest file is not in correct json format: ${spec.source} (no "entries")`, "XX000");
      files = [];
      // Existence checks run up to 16 entries ahead; checks and errors keep the manifest's order.
      const entries = man.entries;
      const present: Array<Promise<boolean> | undefined> = [];
      const ask = (idx: number) => {
        const ent = entries[idx];
        if (present[idx] || !ent?.url) return;
        let u: { bucket: string; key: string };
        try {
          u = parseS3Url(ent.url);
        } catch {
          return;
        }
        const p = s3.exists(u.bucket, u.key);
        p.catch(() => undefined);
        present[idx] = p;
      };
      for (const [idx, ent] of entries.entries()) {
        for (let a = idx; a < idx + 16 && a < entries.length; a++) ask(a);
        if (!ent.url) throw new GatewayError("Manifest entry without url", "XX000");
        if (spec.format === "parquet" && typeof ent.meta?.content_length !== "number") {
          throw new GatewayError(`Manifest entry ${ent.url} needs "meta": {"content_length": N} for PARQUET`, "XX000");
        }
        const u = parseS3Url(ent.url);
        const exists = await (present[idx] ?? s3.exists(u.bucket, u.key));
        if (!exists) {
          if (ent.mandatory) throw new GatewayError(`Manifest file entry ${ent.url} is mandatory but S3ServiceException:The specified key does not exist.,Status 404,Error NoSuchKey`, "XX000");
          continue;
        }
        files.push(ent.url);
      }
    } else {
      const keys = await s3.list(bucket, key);
      if (keys.length === 0) throw new GatewayError(`The specified S3 prefix '${key}' does not exist`, "XX000");
      files = keys.map((k) => `s3://${bucket}/${k}`);
    }
  } catch (e) {
    if (e instanceof GatewayError) return fail(e);
    return fail(new GatewayError(`S3ServiceException: ${(e as Error).message}`, "XX000"));
  }

  // Read, decode and convert every record; keep enough to map PostgreSQL's line numbers back.
  // Records of CSV files that need no conversion are passed to PostgreSQL as the original bytes
  // (see scanCsvFast); the rest are parsed, converted and re-encoded as before.
  const converters = cols.map((c, i) => converterFor(c, spec, i));
  const pass = copyTuning.passThrough ? passThroughFormat(spec) : undefined;
  const outQ = pass ? spec.quote : '"';
  const outD = pass ? spec.delimiter : ",";
  const outNull = pass ? pass.nullStr : "";
  const fastCols = pass ? cols.map((c) => fastColumn(c, spec)) : [];
  const fileBufs: Array<Buffer | undefined> = [];
  const fileTexts: Array<string | undefined> = [];
  // One entry per record to load: its file, physical line, span (bytes in fileBufs, characters in
  // fileTexts) and, unless it passes through as is, its re-encoded CSV line.
  const rec = new RecordList();
  const rawOf = (k: number): string => {
    const fi = rec.file[k]!;
    const b = fileBufs[fi];
    return b ? b.toString("utf8", rec.start[k]!, rec.end[k]!) : fileTexts[fi]!.slice(rec.start[k]!, rec.end[k]!);
  };
  const errors: LoadError[] = [];
  const mkError = (fileIdx: number, line: number, raw: string, col: number, code: number, reason: string, rawField: string): LoadError => ({
    file: files[fileIdx]!,
    line,
    colname: cols[col]?.redshiftName ?? "",
    type: cols[col]?.fmt.replace(/\(.*/, "") ?? "",
    colLength: cols[col] && cols[col]!.typmod > 4 ? String(cols[col]!.typmod - 4) : "0",
    position: 0,
    rawLine: raw.replace(/\u0000/g, "\\x00"),
    rawField: rawField.replace(/\u0000/g, "\\x00"),
    code,
    reason,
  });
  // The converted CSV line of one record, or undefined after recording its error.
  const convert = (fi: number, fields: Array<string | null>, line: number, raw: string): string | undefined => {
    if (fields.length !== cols.length && !(spec.fillRecord && fields.length < cols.length)) {
      errors.push(mkError(fi, line, raw, -1, fields.length > cols.length ? 1202 : 1214, fields.length > cols.length ? "Extra column(s) found" : "Delimiter not found", raw));
      return undefined;
    }
    const conv: string[] = [];
    for (let c = 0; c < cols.length; c++) {
      const v = fields[c] ?? null;
      try {
        conv.push(csvField(converters[c]!(v), outQ, outNull));
      } catch (e) {
        if (!(e instanceof RowError)) throw e;
        errors.push(mkError(fi, line, raw, c, e.code, e.reason, v ?? ""));
        return undefined;
      }
    }
    return conv.join(outD);
  };
  const addRecord = (fi: number, line: number, start: number, end: number, out: string | undefined) => rec.add(fi, line, start, end, out);

  // Fetch every object at once; decompress them one after the other (zlib on the thread pool), so
  // that the first is ready soon and the next one is decompressed while the current one is loaded.
  let previous: Promise<unknown> = Promise.resolve();
  const prepared = files.map((url) => {
    const { bucket, key } = parseS3Url(url);
    const fetched = s3.get(bucket, key);
    fetched.catch(() => undefined);
    const p = previous.then(
      () => fetched,
      () => fetched,
    ).then((body) => {
      if (!body) throw new Error("The specified key does not exist.");
      return decompress(body, spec);
    });
    p.catch(() => undefined);
    previous = p;
    return p;
  });
  /** Reads file fi into the record list; false when no further file is read (as before: a file that
   * cannot be read, or more gateway-found errors than MAXERROR). */
  const readFile = async (fi: number): Promise<boolean> => {
    let buf: Buffer;
    try {
      buf = await prepared[fi]!;
    } catch (e) {
      errors.push(mkError(fi, 0, "", -1, 1216, `Cannot read ${spec.compression ?? "input"}: ${(e as Error).message}`.slice(0, 512), ""));
      return false;
    }
    try {
      if (pass && fastFileOk(buf, spec)) {
        fileBufs[fi] = buf;
        invalidUtf8Context.current = false;
        const hasBackslashU = buf.indexOf("\\u") >= 0;
        const sub = { ...spec, ignoreHeader: 0 };
        scanCsvFast(buf, pass, spec.ignoreHeader, fastCols, hasBackslashU, (line, start, end, ok) => {
          if (ok) return addRecord(fi, line, start, end, undefined);
          const raw = buf.toString("utf8", start, end);
          parseCsv(raw, sub, (fields) => {
            const out = convert(fi, fields, line, raw);
            if (out !== undefined) addRecord(fi, line, start, end, out);
          });
        });
      } else {
        let text = "";
        if (spec.format !== "parquet") {
          try {
            text = new TextDecoder("utf-8", { fatal: true }).decode(buf);
            invalidUtf8Context.current = false;
          } catch {
            text = buf.toString("utf8");
            invalidUtf8Context.current = true;
          }
        }
        fileTexts[fi] = text;
        const onRecord: OnRecord = (fields, line, start, end, bad) => {
          if (bad) return void errors.push(mkError(fi, line, text.slice(start, end), -1, bad.code, bad.reason, text.slice(start, end)));
          const out = convert(fi, fields, line, text.slice(start, end));
          if (out !== undefined) addRecord(fi, line, start, end, out);
        };
        if (spec.format === "csv") parseCsv(text, spec, onRecord);
        else if (spec.format === "json") parseJson(text, spec, cols, onRecord);
        else if (spec.format === "parquet") await parseParquet(buf, spec, cols, onRecord);
        else parseText(text, spec, onRecord);
      }
    } catch (e) {
      if (!(e instanceof RowError)) throw e;
      errors.push(mkError(fi, 0, "", e.col, e.code, e.reason, ""));
    }
    return errors.length <= spec.maxError;
  };

  // Stream to PostgreSQL; PostgreSQL-detected bad rows are skipped and retried under MAXERROR.
  // The first attempt sends each file's records as soon as the file is read. Gateway-found errors
  // still win over PostgreSQL's, as when every file was read before the COPY started: all files are
  // read even after PostgreSQL failed, and too many gateway errors cancel the COPY (CopyFail) and
  // fail the load with them.
  const excluded = new Set<number>();
  const colList = cols.map((c) => quoteIdent(c.name)).join(", ");
  // E'' so that the text is the same whatever the session's standard_conforming_strings
  const lit = (x: string) => `E'${x.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
  const copySql = pass
    ? `COPY ${spec.tableSql} (${colList}) FROM STDIN WITH (FORMAT csv, DELIMITER ${lit(outD)}, QUOTE ${lit(outQ)}, NULL ${lit(outNull)})`
    : `COPY ${spec.tableSql} (${colList}) FROM STDIN WITH (FORMAT csv)`;
  const useSavepoint = spec.maxError > 0 && session.txStatus === "T";
  const dropFault = session.gw.opts.faults.dropOn.indexOf("copy");
  if (dropFault >= 0) session.gw.opts.faults.dropOn.splice(dropFault, 1);
  const NL = Buffer.from("\n");
  const CHUNK = 1 << 20;
  const CANCEL = "local-redshift: load cancelled";
  let firstAttempt = true;
  for (;;) {
    if (useSavepoint) await session.internal("SAVEPOINT redshift_local_copy");
    let emittedCount = 0;
    const streaming = firstAttempt;
    firstAttempt = false;
    const res = await session.copyIn(copySql, async (send, aborted) => {
      let pieces: Buffer[] = [];
      let lines: string[] = [];
      let size = 0;
      let sent = 0;
      let stopped = false; // fault fired or the server failed the COPY: send nothing more
      // A run of consecutive pass-through records of one file: bytes [runStart, runEnd).
      let runBuf: Buffer | undefined;
      let runStart = 0;
      let runEnd = 0;
      const closeRun = () => {
        if (!runBuf) return;
        if (runBuf[runEnd] === 10) pieces.push(runBuf.subarray(runStart, runEnd + 1));
        else pieces.push(runBuf.subarray(runStart, runEnd), NL);
        runBuf = undefined;
      };
      const closeLines = () => {
        if (!lines.length) return;
        pieces.push(Buffer.from(lines.join("\n") + "\n", "utf8"));
        lines = [];
      };
      const flush = async (): Promise<void> => {
        closeRun();
        closeLines();
        if (!pieces.length || stopped) return;
        const chunk = pieces;
        pieces = [];
        size = 0;
        await send(chunk);
        sent++;
        if (dropFault >= 0 && sent === 1) {
          session.destroy();
          stopped = true;
        } else if (aborted()) stopped = true;
      };
      const emit = async (from: number, to: number): Promise<void> => {
        const anyExcluded = excluded.size > 0;
        const anyConverted = rec.out.size > 0;
        for (let k = from; k < to && !stopped; k++) {
          if (anyExcluded && excluded.has(k)) continue;
          emittedCount++;
          const out = anyConverted ? rec.out.get(k) : undefined;
          if (out !== undefined) {
            closeRun();
            lines.push(out);
            size += out.length + 1;
          } else {
            const b = fileBufs[rec.file[k]!]!;
            const st = rec.start[k]!;
            const en = rec.end[k]!;
            if (runBuf === b && st === runEnd + 1 && b[runEnd] === 10) runEnd = en;
            else {
              closeLines();
              closeRun();
              runBuf = b;
              runStart = st;
              runEnd = en;
            }
            size += en - st + 1;
          }
          if (size > CHUNK) await flush();
        }
      };
      if (streaming) {
        for (let fi = 0; fi < files.length && !session.closed; fi++) {
          const from = rec.length;
          const more = await readFile(fi);
          if (errors.length > spec.maxError) return CANCEL;
          await emit(from, rec.length);
          if (!more) break;
        }
      } else await emit(0, rec.length);
      await flush();
      if (dropFault >= 0) session.destroy();
      return undefined;
    });
    if (session.closed) return false;
    if (errors.length > spec.maxError) {
      // Gateway-found errors (the COPY was cancelled, or PostgreSQL had failed it already).
      await recordErrors(session, tableOid, queryId, errors);
      session.lastCopyCount = 0;
      const err = loadFailed(spec, errors, queryId);
      if (session.txStatus === "T") return session.raise(err);
      session.sendError({ code: err.code, message: err.message, detail: err.detail });
      return false;
    }
    if (!res.error) {
      if (useSavepoint) await session.internal("RELEASE SAVEPOINT redshift_local_copy");
      const n = Number(/COPY (\d+)/.exec(res.tag ?? "")?.[1] ?? emittedCount);
      session.lastCopyCount = n;
      if (errors.length) await recordErrors(session, tableOid, queryId, errors);
      const skipped = errors.length ? ` ${errors.length} record(s) could not be loaded.  Check 'stl_load_errors' system table for details.` : "";
      session.sendNotice({ severity: "INFO", code: "00000", message: `Load into table '${spec.tableName}' completed, ${n} record(s) loaded successfully.${skipped}` });
      session.commandComplete(`COPY ${n}`);
      return true;
    }
    // Map "COPY t, line N, column c" back to the file and line.
    const where = res.error.get("W") ?? "";
    const m = /line (\d+)(?:, column ([^:]+))?/.exec(where);
    const pgLine = m ? Number(m[1]) : 0;
    // PostgreSQL's line N is the N-th record sent: the N-th record not excluded.
    let k: number | undefined;
    for (let j = 0, seen = 0; pgLine > 0 && pgLine <= emittedCount && j < rec.length; j++) {
      if (excluded.has(j)) continue;
      if (++seen === pgLine) {
        k = j;
        break;
      }
    }
    const colIdx = m?.[2] ? cols.findIndex((c) => c.name === m[2]) : -1;
    const mapped = mapPgError(res.error, cols[colIdx]);
    if (k !== undefined) {
      const raw = rawOf(k);
      const rawField = /column [^:]+: "(.*)"$/.exec(where)?.[1] ?? (/: "(.*)"$/.exec(res.error.get("M") ?? "")?.[1] ?? "");
      errors.push(mkError(rec.file[k]!, rec.line[k]!, raw, colIdx, mapped.code, mapped.reason, rawField));
    } else {
      errors.push(mkError(0, 0, "", colIdx, mapped.code, mapped.reason, ""));
    }
    if (k !== undefined && errors.length <= spec.maxError && (useSavepoint || session.txStatus !== "E")) {
      if (useSavepoint) await session.internal("ROLLBACK TO SAVEPOINT redshift_local_copy");
      excluded.add(k);
      continue;
    }
    await recordErrors(session, tableOid, queryId, errors);
    session.lastCopyCount = 0;
    const err = loadFailed(spec, errors, queryId);
    if (session.txStatus === "T") return session.raise(err);
    session.sendError({ code: err.code, message: err.message, detail: err.detail });
    return false;
  }
}
