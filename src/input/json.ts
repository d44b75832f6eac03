/**
 * Message parsing. Python taps (simplejson / json with allow_nan, the default) write NaN, Infinity and
 * -Infinity as bare tokens, which are not JSON. Rather than failing the line, such tokens are quoted
 * and the line parsed again: the column encoders then treat "NaN" like any value Redshift cannot hold
 * (NULL and a recorded change, or a clear error under invalid_value: fail). Only a line JSON.parse
 * rejects pays for the second pass.
 */

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

export function parseMessageLine(line: string): ParsedLine {
  try {
    return { ok: true, value: JSON.parse(line), nonFinite: false };
  } catch (e) {
    const quoted = quoteNonFiniteTokens(line);
    if (quoted !== undefined) {
      try {
        return { ok: true, value: JSON.parse(quoted), nonFinite: true };
      } catch {
        // not only the tokens were wrong: report the original error
      }
    }
    return { ok: false, error: (e as Error).message };
  }
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
 * would turn BIGINT's own maximum 9223372036854775807 into 2^63. Throws SyntaxError like JSON.parse
 * (the input is JSON.parse'd first, so only valid JSON reaches the scanner).
 */
export function parseJsonExact(text: string): unknown {
  const value: unknown = JSON.parse(text);
  let i = 0;
  const ws = () => {
    for (let c = text.charCodeAt(i); c === 32 || c === 9 || c === 10 || c === 13; c = text.charCodeAt(++i));
  };
  const skipString = () => {
    i++; // opening quote
    for (;;) {
      const c = text.charCodeAt(i++);
      if (c === 92) i++;
      else if (c === 34) return;
    }
  };
  const readString = (): string => {
    const start = i;
    skipString();
    return JSON.parse(text.slice(start, i)) as string;
  };
  // Walks the text beside the parsed value: the structure is the same, so keys line up.
  const walk = (v: unknown): string | undefined => {
    ws();
    const c = text.charCodeAt(i);
    if (c === 123 /* { */) {
      i++;
      const obj = v as Record<string, unknown>;
      let texts: Record<string, string> | undefined;
      ws();
      if (text.charCodeAt(i) === 125) {
        i++;
        return undefined;
      }
      for (;;) {
        ws();
        const key = readString();
        ws();
        i++; // :
        const t = walk(obj[key]);
        if (t !== undefined) (texts ??= {})[key] = t;
        ws();
        if (text.charCodeAt(i++) === 125) break; // } (else ,)
      }
      if (texts) Object.defineProperty(obj, NUMBER_TEXT, { value: texts, enumerable: false });
      return undefined;
    }
    if (c === 91 /* [ */) {
      i++;
      const arr = v as unknown[];
      ws();
      if (text.charCodeAt(i) === 93) {
        i++;
        return undefined;
      }
      for (let k = 0; ; k++) {
        walk(arr[k]);
        ws();
        if (text.charCodeAt(i++) === 93) break;
      }
      return undefined;
    }
    if (c === 34) {
      skipString();
      return undefined;
    }
    const start = i;
    while (i < text.length) {
      const d = text.charCodeAt(i);
      if (d === 44 || d === 125 || d === 93 || d === 32 || d === 9 || d === 10 || d === 13) break;
      i++;
    }
    const token = text.slice(start, i);
    return typeof v === "number" ? token : undefined;
  };
  walk(value);
  return value;
}

/** The exact text of `obj[key]` when it is a number parsed by parseJsonExact, else its JS text. */
export function numberText(obj: Record<string, unknown>, key: string): string | undefined {
  const v = obj[key];
  if (typeof v !== "number") return undefined;
  const texts = (obj as { [NUMBER_TEXT]?: Record<string, string> })[NUMBER_TEXT];
  return texts?.[key] ?? String(v);
}
