/**
 * Message parsing. Python taps (simplejson / json with allow_nan, the default) write NaN, Infinity and
 * -Infinity as bare tokens, which are not JSON. Rather than failing the line, such tokens are quoted
 * and the line parsed again: the column encoders then treat "NaN" like any value Redshift cannot hold
 * (NULL and a recorded change, or a clear error under invalid_value: fail). Only a line JSON.parse
 * rejects pays for the second pass.
 */
import { isStackOverflow } from "../errors.js";

const BARE = ["-Infinity", "Infinity", "NaN"] as const;

/** The line with bare NaN / Infinity / -Infinity tokens (outside strings) quoted; undefined if it has none. */
export function quoteNonFiniteTokens(line: string): string | undefined {
  let out = "";
  let last = 0;
  let inString = false;
  let found = false;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
      continue;
    }
    if (c === 34) {
      inString = true;
      continue;
    }
    if (c !== 78 /* N */ && c !== 73 /* I */ && c !== 45 /* - */) continue;
    const token = BARE.find((t) => line.startsWith(t, i));
    if (!token) continue;
    out += `${line.slice(last, i)}"${token}"`;
    i += token.length - 1;
    last = i + 1;
    found = true;
  }
  return found ? out + line.slice(last) : undefined;
}

export type ParsedLine = { ok: true; value: unknown; nonFinite: boolean } | { ok: false; error: string };

/**
 * One message line → its value. `exactAt`: the paths of a RECORD whose numbers must be exact (each door's
 * EXACT_PATHS, e.g. Singer's `[["record"], ["version"]]`; see graftExact); numbers there that a double
 * would change arrive as JsonNumber.
 */
export function parseMessageLine(line: string, exactAt: readonly (readonly string[])[] = []): ParsedLine {
  try {
    const value: unknown = JSON.parse(line);
    if (exactAt.length > 0) graftExact(value, line, exactAt);
    return { ok: true, value, nonFinite: false };
  } catch (e) {
    // Valid JSON nested deeper than the exact-number parser's recursion: not "invalid JSON" (the door
    // names the line and what happened).
    if (isStackOverflow(e)) throw e;
    const quoted = quoteNonFiniteTokens(line);
    if (quoted !== undefined) {
      try {
        const value: unknown = JSON.parse(quoted);
        if (exactAt.length > 0) graftExact(value, quoted, exactAt);
        return { ok: true, value, nonFinite: true };
      } catch {
        // not only the tokens were wrong: report the original error
      }
    }
    return { ok: false, error: (e as Error).message };
  }
}

/**
 * A JSON number whose digits a double would not keep, carried as its exact text (RFC 8259 §6 `number`
 * grammar: `-?int frac? exp?`). Produced only for tokens with 16 or more digits, an exponent, or a negative
 * zero: every other token is a double that prints back as the same value (a double keeps any 15
 * significant digits), so the common record carries plain numbers and only these few pay for exactness.
 */
export class JsonNumber {
  constructor(readonly text: string) {}
  /** The value as a double (what JSON.parse would have given: may be rounded, ±Infinity or ±0). */
  valueOf(): number {
    return Number(this.text);
  }
  toString(): string {
    return this.text;
  }
}

/**
 * A number token in value position (after `:`, `,` or `[`) that JSON.parse may not keep exactly: 16+
 * digits (dots between them allowed), an exponent, or a negative zero. A match inside a string only sends
 * the line down the exact parse, which gives the same values for everything else.
 */
const RISKY_NUMBER = /[:,[]\s*(?:-?(?:\d\.?){16}|-?\d[\d.]*[eE]|-0(?:\.0*)?\s*[,\]}])/;

/**
 * Whether a number token keeps its value as a double (see JsonNumber): fewer than 16 digits, no exponent,
 * not a negative zero. Counts digits, not characters: `-123456789012.10` (15 digits) is a plain double
 * whether or not another token sent its line down the exact parse, so both parses give the same value.
 */
export function plainNumber(token: string): boolean {
  let digits = 0;
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c === 101 || c === 69) return false;
    if (c >= 48 && c <= 57) digits++;
  }
  return digits < 16 && !(token.charCodeAt(0) === 45 && Number(token) === 0);
}

/**
 * JSON.parse of a text known to be valid JSON, with the numbers plainNumber rejects kept as JsonNumber.
 * Strings without escapes are sliced; escaped ones go through JSON.parse (exact unescaping for free).
 * `__proto__` keys become own properties, as with JSON.parse.
 */
export function parseExactJson(text: string): unknown {
  return scanJson(text, false);
}

/**
 * The scanner behind parseExactJson and parseJsonExact (one exact parser for RECORD values and SCHEMA
 * lines): `everyNumber` keeps every number token as JsonNumber, not only those plainNumber rejects.
 */
function scanJson(text: string, everyNumber: boolean): unknown {
  let i = 0;
  const ws = () => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 10 || c === 13 || c === 9) i++;
      else return;
    }
  };
  const str = (): string => {
    const start = ++i;
    const close = text.indexOf('"', start);
    // A backslash is looked for up to the closing quote only: indexOf to the end of the text, for every
    // string, made a 3 MB array of small objects take 10 s (quadratic) and a 61 MB one never end.
    let bs = start;
    while (bs < close && text.charCodeAt(bs) !== 92) bs++;
    if (close !== -1 && bs === close) {
      i = close + 1;
      return text.slice(start, close);
    }
    let j = bs;
    for (;;) {
      const c = text.charCodeAt(j);
      if (c === 92) j += 2;
      else if (c === 34) break;
      else j++;
    }
    i = j + 1;
    return JSON.parse(text.slice(start - 1, i)) as string;
  };
  const value = (): unknown => {
    ws();
    const c = text.charCodeAt(i);
    if (c === 34) return str();
    if (c === 123) {
      i++;
      const o: Record<string, unknown> = {};
      ws();
      if (text.charCodeAt(i) === 125) {
        i++;
        return o;
      }
      for (;;) {
        ws();
        const k = str();
        ws();
        i++; // :
        const v = value();
        if (k === "__proto__") Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
        else o[k] = v;
        ws();
        if (text.charCodeAt(i++) === 125) return o;
      }
    }
    if (c === 91) {
      i++;
      const a: unknown[] = [];
      ws();
      if (text.charCodeAt(i) === 93) {
        i++;
        return a;
      }
      for (;;) {
        a.push(value());
        ws();
        if (text.charCodeAt(i++) === 93) return a;
      }
    }
    if (c === 116) {
      i += 4;
      return true;
    }
    if (c === 102) {
      i += 5;
      return false;
    }
    if (c === 110) {
      i += 4;
      return null;
    }
    const start = i;
    for (;;) {
      const d = text.charCodeAt(i);
      if ((d >= 48 && d <= 57) || d === 45 || d === 43 || d === 46 || d === 101 || d === 69) i++;
      else break;
    }
    const token = text.slice(start, i);
    return !everyNumber && plainNumber(token) ? Number(token) : new JsonNumber(token);
  };
  return value();
}

/**
 * In a RECORD message as JSON.parse gave it, replaces the value at each of `paths` (EXACT_PATHS) by its
 * exact parse, when `line` may carry numbers a double does not keep: an object gets its exact values, a
 * number becomes a JsonNumber where its digits need one; a path that is absent, or holds anything else,
 * is left as it is. The rest of the envelope (type, stream…) keeps the plain values its validation expects.
 */
function graftExact(msg: unknown, line: string, paths: readonly (readonly string[])[]): void {
  if (msg === null || typeof msg !== "object" || (msg as Record<string, unknown>).type !== "RECORD" || !RISKY_NUMBER.test(line)) return;
  let exact: Record<string, unknown> | undefined;
  for (const path of paths) {
    let plain = msg as Record<string, unknown>;
    let k = 0;
    for (; k < path.length - 1; k++) {
      const next = plain[path[k]!];
      if (next === null || typeof next !== "object") break;
      plain = next as Record<string, unknown>;
    }
    const last = path[path.length - 1]!;
    const v = plain[last];
    if (k < path.length - 1 || !((v !== null && typeof v === "object") || typeof v === "number")) continue;
    exact ??= parseExactJson(line) as Record<string, unknown>;
    let e = exact;
    for (let j = 0; j < path.length - 1; j++) e = e[path[j]!] as Record<string, unknown>;
    plain[last] = e[last];
  }
}

/**
 * A STATE message as sent, digit for digit: the message parsed with numbers a double would change kept as
 * JsonNumber (write it back with exactJson), or `plain` itself when the line has none. A tap's bookmark
 * such as `{"cursor": 12345678901234567890}` must come back out as those digits, not as 2^64's double.
 * `plain` is the message as parseMessageLine gave it; a line whose NaN / Infinity tokens were quoted
 * keeps `plain` (the exact scanner reads valid JSON only).
 */
export function exactState(line: string, plain: unknown, nonFinite: boolean): unknown {
  return nonFinite || !RISKY_NUMBER.test(line) ? plain : parseExactJson(line);
}

/**
 * A line holding a bare record object (a Singer BATCH file's line): JSON.parse, with numbers a double
 * would change kept as JsonNumber. Throws JSON.parse's SyntaxError on invalid JSON.
 */
export function parseRecordText(line: string): unknown {
  const value: unknown = JSON.parse(line);
  return value !== null && typeof value === "object" && RISKY_NUMBER.test(line) ? parseExactJson(line) : value;
}

/** `v` with every JsonNumber as a double (for a JSON Schema validator, which knows only numbers); `v` itself when it has none. */
export function withPlainNumbers(v: unknown): unknown {
  if (v instanceof JsonNumber) return Number(v.text);
  if (v === null || typeof v !== "object" || !hasJsonNumber(v)) return v;
  if (Array.isArray(v)) return v.map(withPlainNumbers);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === "__proto__") Object.defineProperty(out, k, { value: withPlainNumbers(x), writable: true, enumerable: true, configurable: true });
    else out[k] = withPlainNumbers(x);
  }
  return out;
}

function hasJsonNumber(v: unknown): boolean {
  if (v instanceof JsonNumber) return true;
  if (v === null || typeof v !== "object") return false;
  if (Array.isArray(v)) return v.some(hasJsonNumber);
  for (const k in v) if (hasJsonNumber((v as Record<string, unknown>)[k])) return true;
  return false;
}

/**
 * The key under which parseJsonExact keeps a number's exact text on the object that holds it:
 * `obj[NUMBER_TEXT][key]` is the token as sent (`"18446744073709551615"`, `"1e-10"`). A registered symbol
 * so the pure Redshift room can read it without importing this one; non-enumerable, so JSON.stringify,
 * zod and Ajv never see it.
 */
export const NUMBER_TEXT: unique symbol = Symbol.for("target-redshift.numberText") as never;

/**
 * JSON.parse, plus each number's text as sent, kept on the object that holds it under NUMBER_TEXT
 * (array members are not kept). For rare lines (SCHEMA, catalogs), whose constraints
 * (`maximum: 18446744073709551615`, `multipleOf: 1e-10`) must be read digit for digit: a double
 * would turn BIGINT's own maximum 9223372036854775807 into 2^63. The values stay plain numbers (zod
 * and Ajv read them); the texts come from the same scanner as RECORD values' JsonNumbers. Throws
 * SyntaxError like JSON.parse (the text is JSON.parse'd first, so only valid JSON reaches the scanner).
 */
export function parseJsonExact(text: string): unknown {
  JSON.parse(text);
  return plainWithTexts(scanJson(text, true));
}

/** Every JsonNumber of `v` replaced, in place, by its double; each object's texts kept under NUMBER_TEXT. */
function plainWithTexts(v: unknown): unknown {
  if (v instanceof JsonNumber) return Number(v.text);
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) {
    for (let k = 0; k < v.length; k++) v[k] = plainWithTexts(v[k]);
    return v;
  }
  const obj = v as Record<string, unknown>;
  let texts: Record<string, string> | undefined;
  for (const key of Object.keys(obj)) {
    const x = obj[key];
    if (x instanceof JsonNumber) (texts ??= {})[key] = x.text;
    // An own `__proto__` data property is set as a plain property (own properties are found first).
    obj[key] = plainWithTexts(x);
  }
  if (texts) Object.defineProperty(obj, NUMBER_TEXT, { value: texts, enumerable: false });
  return obj;
}

/** The exact text of `obj[key]` when it is a number parsed by parseJsonExact, else its JS text. */
export function numberText(obj: Record<string, unknown>, key: string): string | undefined {
  const v = obj[key];
  if (typeof v !== "number") return undefined;
  const texts = (obj as { [NUMBER_TEXT]?: Record<string, string> })[NUMBER_TEXT];
  return texts?.[key] ?? String(v);
}
