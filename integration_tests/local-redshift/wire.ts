// PostgreSQL v3 wire protocol framing and the few message builders the gateway needs.

export interface Msg {
  type: string; // one char; "" for untyped start-up messages
  body: Buffer; // without type and length
  raw: Buffer; // the whole frame as received
}

export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  constructor(public expectUntyped: boolean) {}

  push(chunk: Buffer): Msg[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Msg[] = [];
    let off = 0;
    for (;;) {
      if (this.expectUntyped) {
        if (this.buf.length - off < 4) break;
        const len = this.buf.readInt32BE(off);
        if (this.buf.length - off < len) break;
        const raw = this.buf.subarray(off, off + len);
        out.push({ type: "", body: raw.subarray(4), raw });
        off += len;
        // Only the start-up phase is untyped; the caller flips this after the real start-up message.
        break;
      }
      if (this.buf.length - off < 5) break;
      const len = this.buf.readInt32BE(off + 1);
      if (this.buf.length - off < len + 1) break;
      const raw = this.buf.subarray(off, off + len + 1);
      out.push({ type: String.fromCharCode(raw[0]!), body: raw.subarray(5), raw });
      off += len + 1;
    }
    this.buf = this.buf.subarray(off);
    return out;
  }

  /** Bytes received but not yet framed (used when the stream switches to TLS or to typed frames). */
  takeRest(): Buffer {
    const r = this.buf;
    this.buf = Buffer.alloc(0);
    return r;
  }
}

export function frame(type: string, body: Buffer): Buffer {
  const b = Buffer.allocUnsafe(5 + body.length);
  b[0] = type.charCodeAt(0);
  b.writeInt32BE(body.length + 4, 1);
  body.copy(b, 5);
  return b;
}

export const cstr = (s: string): Buffer => Buffer.concat([Buffer.from(s, "utf8"), Buffer.from([0])]);

export function query(sql: string): Buffer {
  return frame("Q", cstr(sql));
}

export function readyForQuery(status: string): Buffer {
  return frame("Z", Buffer.from(status, "latin1"));
}

export function commandComplete(tag: string): Buffer {
  return frame("C", cstr(tag));
}

export interface ErrorFields {
  severity?: string;
  code: string;
  message: string;
  detail?: string;
  hint?: string;
  where?: string;
}

function fieldsBody(f: ErrorFields): Buffer {
  const parts: Buffer[] = [];
  const add = (k: string, v: string | undefined) => {
    if (v !== undefined) parts.push(Buffer.from(k, "latin1"), cstr(v));
  };
  add("S", f.severity ?? "ERROR");
  add("V", f.severity ?? "ERROR");
  add("C", f.code);
  add("M", f.message);
  add("D", f.detail);
  add("H", f.hint);
  add("W", f.where);
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

export function errorResponse(f: ErrorFields): Buffer {
  return frame("E", fieldsBody(f));
}

export function noticeResponse(f: ErrorFields): Buffer {
  return frame("N", fieldsBody(f));
}

export function parseFields(body: Buffer): Map<string, string> {
  const m = new Map<string, string>();
  let off = 0;
  while (off < body.length && body[off] !== 0) {
    const k = String.fromCharCode(body[off]!);
    const end = body.indexOf(0, off + 1);
    m.set(k, body.toString("utf8", off + 1, end));
    off = end + 1;
  }
  return m;
}

export function fieldsToBuffer(type: string, m: Map<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of m) parts.push(Buffer.from(k, "latin1"), cstr(v));
  parts.push(Buffer.from([0]));
  return frame(type, Buffer.concat(parts));
}

export function copyData(chunk: Buffer): Buffer {
  return frame("d", chunk);
}

/** RowDescription + DataRow values as text (the gateway's internal queries use text format). */
export function parseRowDescription(body: Buffer): string[] {
  const n = body.readInt16BE(0);
  const names: string[] = [];
  let off = 2;
  for (let i = 0; i < n; i++) {
    const end = body.indexOf(0, off);
    names.push(body.toString("utf8", off, end));
    off = end + 1 + 18;
  }
  return names;
}

export function parseDataRow(body: Buffer): Array<string | null> {
  const n = body.readInt16BE(0);
  const vals: Array<string | null> = [];
  let off = 2;
  for (let i = 0; i < n; i++) {
    const len = body.readInt32BE(off);
    off += 4;
    if (len < 0) vals.push(null);
    else {
      vals.push(body.toString("utf8", off, off + len));
      off += len;
    }
  }
  return vals;
}

export function rowDescription(names: string[], typeOids: number[]): Buffer {
  const parts: Buffer[] = [];
  const n = Buffer.alloc(2);
  n.writeInt16BE(names.length);
  parts.push(n);
  names.forEach((name, i) => {
    parts.push(cstr(name));
    const f = Buffer.alloc(18);
    f.writeInt32BE(0, 0);
    f.writeInt16BE(0, 4);
    f.writeInt32BE(typeOids[i] ?? 25, 6);
    f.writeInt16BE(-1, 10);
    f.writeInt32BE(-1, 12);
    f.writeInt16BE(0, 16);
    parts.push(f);
  });
  return frame("T", Buffer.concat(parts));
}
