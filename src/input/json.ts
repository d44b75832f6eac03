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
