/**
 * The CSV that COPY reads (`FORMAT AS CSV QUOTE AS '"'`, RFC 4180): a quoted field ends at a `"` not
 * followed by another `"` (`""` is one quote inside the field), and may hold commas and line breaks.
 * Shared by whoever has to find fields or rows in text the encoders wrote.
 */

const QUOTE = 34;

/**
 * Where the quoted field opened by the `"` at `open` closes: the index of its closing quote, or -1 when
 * `text[open + 1, to)` holds no closing quote that a byte in range follows (a quote at `to - 1` could be the
 * first of a doubled pair, so it cannot be told from one yet).
 */
export function closingQuote(text: Uint8Array, open: number, to: number): number {
  let j = open + 1;
  for (;;) {
    const c = text.indexOf(QUOTE, j);
    if (c === -1 || c + 1 >= to) return -1;
    if (text[c + 1] !== QUOTE) return c;
    j = c + 2;
  }
}
