// JSON without JSON.parse's number rounding. Redshift keeps a JSON number's digits (a BIGINT key of
// 9223372036854775807, a NUMERIC(38,10), integers inside SUPER); JSON.parse turns every number into a
// double. These helpers work on the JSON text itself (already validated by JSON.parse), so numbers stay
// the text that was sent; PostgreSQL's jsonb and numeric input then read them exactly.

/** JSON text to be written as it is by stringifyExact (e.g. a nested value read from a file). */
export class RawJson {
  /** `nested`: an object or array (COPY needs a SUPER column or SERIALIZETOJSON for it). */
  constructor(
    readonly text: string,
    readonly nested = false,
  ) {}
}

/** JSON.stringify, but bigints are written as their digits and RawJson as its text. */
export function stringifyExact(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "bigint") return v.toString();
  if (v instanceof RawJson) return v.text;
  if (v instanceof Date) return JSON.stringify(v.toISOString());
  if (v instanceof Uint8Array) return JSON.stringify(Buffer.from(v).toString("utf8"));
  if (Array.isArray(v)) return `[${v.map(stringifyExact).join(",")}]`;
  if (typeof v === "object") {
    const parts: string[] = [];
    for (const [k, x] of Object.entries(v)) if (x !== undefined) parts.push(`${JSON.stringify(k)}:${stringifyExact(x)}`);
    return `{${parts.join(",")}}`;
  }
  return JSON.stringify(v);
}

const isWs = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/** End (exclusive) of the JSON string starting at text[i] === '"'. */
function stringEnd(text: string, i: number): number {
  for (let k = i + 1; k < text.length; k++) {
    const c = text.charCodeAt(k);
    if (c === 0x5c) k++;
    else if (c === 0x22) return k + 1;
  }
  return text.length;
}

/** End (exclusive) of the JSON value starting at text[i] (no leading whitespace). */
function valueEnd(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === 0x22) return stringEnd(text, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (let k = i; k < text.length; k++) {
      const d = text.charCodeAt(k);
      if (d === 0x22) k = stringEnd(text, k) - 1;
      else if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        if (--depth === 0) return k + 1;
      }
    }
    return text.length;
  }
  let k = i;
  while (k < text.length && !isWs(text.charCodeAt(k)) && !",}]".includes(text[k]!)) k++;
  return k;
}

export type JsonMember = { kind: "string"; value: string } | { kind: "number" | "literal" | "nested"; text: string };

/**
 * The members of one JSON object text (valid JSON; a later duplicate key wins, as with JSON.parse):
 * strings decoded, numbers as their exact text, true/false/null as written, objects and arrays as
 * compact JSON text with their numbers as written.
 */
export function jsonMembers(text: string): Map<string, JsonMember> {
  const out = new Map<string, JsonMember>();
  let i = text.indexOf("{") + 1;
  const skipWs = () => {
    while (i < text.length && isWs(text.charCodeAt(i))) i++;
  };
  for (;;) {
    skipWs();
    if (text[i] !== '"') break;
    const keyEnd = stringEnd(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = keyEnd;
    skipWs();
    i++; // ':'
    skipWs();
    const end = valueEnd(text, i);
    const raw = text.slice(i, end);
    const c = raw[0];
    if (c === '"') out.set(key, { kind: "string", value: JSON.parse(raw) as string });
    else if (c === "{" || c === "[") out.set(key, { kind: "nested", text: compactJson(raw) });
    else if (c === "t" || c === "f" || c === "n") out.set(key, { kind: "literal", text: raw });
    else out.set(key, { kind: "number", text: raw });
    i = end;
    skipWs();
    if (text[i] === ",") i++;
  }
  return out;
}

/** Valid JSON text without the whitespace between tokens. */
export function compactJson(text: string): string {
  let out = "";
  let seg = 0;
  for (let k = 0; k < text.length; k++) {
    const c = text.charCodeAt(k);
    if (c === 0x22) k = stringEnd(text, k) - 1;
    else if (isWs(c)) {
      out += text.slice(seg, k);
      seg = k + 1;
    }
  }
  return seg === 0 ? text : out + text.slice(seg);
}

/**
 * Replaces `\uXXXX` escapes of characters above 0x7F (surrogate pairs included) inside the strings of a
 * JSON text by the characters themselves, leaving everything else — numbers in particular — as written.
 * (The stand-in's SQL_ASCII database cannot read such escapes into jsonb; the raw UTF-8 is the same text.)
 */
export function unescapeNonAscii(text: string): string {
  return text.replace(/\\(\\|u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})|u([0-9a-fA-F]{4}))/g, (m, _e, hi?: string, lo?: string, one?: string) => {
    if (hi && lo) return String.fromCharCode(parseInt(hi, 16), parseInt(lo, 16));
    if (one) {
      const code = parseInt(one, 16);
      if (code >= 0x80 && (code < 0xd800 || code > 0xdfff)) return String.fromCharCode(code);
    }
    return m;
  });
}
