import { describe, expect, it } from "vitest";
import { JsonNumber, parseExactJson, parseMessageLine, parseRecordText, quoteNonFiniteTokens, withPlainNumbers } from "../../../src/input/json.js";
import { EXACT_PATHS } from "../../../src/encode/envelopes.js";

describe("bare NaN / Infinity from Python taps", () => {
  it("quotes the tokens outside strings only", () => {
    expect(quoteNonFiniteTokens('{"a": NaN, "b": -Infinity, "c": [Infinity], "d": "NaN Infinity \\" NaN"}')).toBe(
      '{"a": "NaN", "b": "-Infinity", "c": ["Infinity"], "d": "NaN Infinity \\" NaN"}',
    );
    expect(quoteNonFiniteTokens('{"a": 1, "b": -2}')).toBeUndefined();
  });
  it("parses such a line and says so; plain JSON pays nothing extra", () => {
    expect(parseMessageLine('{"x": NaN}')).toEqual({ ok: true, value: { x: "NaN" }, nonFinite: true });
    expect(parseMessageLine('{"x": 1}')).toEqual({ ok: true, value: { x: 1 }, nonFinite: false });
  });
  it("still rejects a line that is broken otherwise, with the original error", () => {
    const r = parseMessageLine('{"x": NaN,');
    expect(r.ok).toBe(false);
  });
});

describe("exact numbers (issue 11 family 1)", () => {
  const texts = (v: unknown): unknown => (v instanceof JsonNumber ? `#${v.text}` : Array.isArray(v) ? v.map(texts) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, texts(x)])) : v);

  it("a RECORD's numbers a double would change arrive as their text; every other value as JSON.parse gives it", () => {
    const line = '{"type":"RECORD","stream":"s","record":{"a":9007199254740993,"b":123456789.0123456789,"c":1e400,"d":1E-7,"e":-0,"f":-0.0,"g":12,"h":0.1,"i":-0.5,"j":{"k":[12345678901234567890,"x\\"y"]},"s":"1234567890123456789"}}';
    const p = parseMessageLine(line, [["record"]]);
    expect(p.ok && texts(p.value)).toEqual({
      type: "RECORD",
      stream: "s",
      record: { a: "#9007199254740993", b: "#123456789.0123456789", c: "#1e400", d: "#1E-7", e: "#-0", f: "#-0.0", g: 12, h: 0.1, i: -0.5, j: { k: ["#12345678901234567890", 'x"y'] }, s: "1234567890123456789" },
    });
  });

  it("only the paths asked for are exact (the record; Singer's version; Airbyte's emitted_at and meta): the rest of the envelope and other messages keep plain numbers", () => {
    const line = '{"type":"RECORD","record":{"stream":"s","emitted_at":1700000000000000001,"data":{"n":18446744073709551615},"other":{"x":18446744073709551615}}}';
    const ab = parseMessageLine(line, EXACT_PATHS.airbyte);
    expect(ab.ok && texts(ab.value)).toEqual({ type: "RECORD", record: { stream: "s", emitted_at: "#1700000000000000001", data: { n: "#18446744073709551615" }, other: { x: 18446744073709551615 } } });
    const dataOnly = parseMessageLine(line, [["record", "data"]]);
    expect(dataOnly.ok && texts(dataOnly.value)).toMatchObject({ record: { emitted_at: 1700000000000000001, data: { n: "#18446744073709551615" } } });
    // An ordinary emitted_at stays a number; a missing or non-numeric one is left as it is.
    expect(parseMessageLine('{"type":"RECORD","record":{"stream":"s","emitted_at":1700000000000,"data":{"n":1e400}}}', EXACT_PATHS.airbyte)).toMatchObject({ value: { record: { emitted_at: 1700000000000 } } });
    expect(parseMessageLine('{"type":"RECORD","record":{"stream":"s","emitted_at":"1e400","data":{"n":1e400}}}', EXACT_PATHS.airbyte)).toMatchObject({ value: { record: { emitted_at: "1e400" } } });
    // Envelope fields loaded by metadata columns: Singer's version, Airbyte's meta.
    const sv = parseMessageLine('{"type":"RECORD","stream":"s","version":12345678901234567,"record":{"a":1}}', EXACT_PATHS.singer);
    expect(sv.ok && texts(sv.value)).toEqual({ type: "RECORD", stream: "s", version: "#12345678901234567", record: { a: 1 } });
    const am = parseMessageLine('{"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{},"meta":{"changes":[{"size":12345678901234567}]}}}', EXACT_PATHS.airbyte);
    expect(am.ok && texts(am.value)).toEqual({ type: "RECORD", record: { stream: "s", emitted_at: 1, data: {}, meta: { changes: [{ size: "#12345678901234567" }] } } });
    const schema = parseMessageLine('{"type":"SCHEMA","stream":"s","schema":{"maximum":18446744073709551615}}', EXACT_PATHS.singer);
    expect(schema.ok && texts(schema.value)).toEqual({ type: "SCHEMA", stream: "s", schema: { maximum: 18446744073709551615 } });
    expect(parseMessageLine('{"type":"RECORD","stream":"s","record":{"n":18446744073709551615}}')).toMatchObject({ value: { record: { n: 18446744073709551615 } } });
  });

  it("bare NaN lines and BATCH file lines are exact too", () => {
    const p = parseMessageLine('{"type":"RECORD","stream":"s","record":{"n":NaN,"m":99999999999999999}}', [["record"]]);
    expect(p.ok && texts(p.value)).toEqual({ type: "RECORD", stream: "s", record: { n: "NaN", m: "#99999999999999999" } });
    expect(texts(parseRecordText('{"m":99999999999999999,"k":1}'))).toEqual({ m: "#99999999999999999", k: 1 });
    expect(() => parseRecordText("{")).toThrow(SyntaxError);
  });

  it("parseExactJson: plain strings before, between and after escaped ones (the backslash search stops at each string's end)", () => {
    const text = '[{"a":"plain","b":"esc\\"aped\\\\","c":"x"},"no escape","tab\\t","",{"\\u00e9":"\\\\"},"last"]';
    expect(parseExactJson(text)).toEqual(JSON.parse(text));
    const many = JSON.stringify(Array.from({ length: 5_000 }, (_, k) => ({ k, s: k % 1_000 === 999 ? `q"${k}\\` : `s${k}` })));
    expect(parseExactJson(many)).toEqual(JSON.parse(many));
  });

  it("parseExactJson equals JSON.parse on documents without long numbers (2,000 random ones, escapes, __proto__)", () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const gen = (d: number): unknown => {
      const r = rnd();
      if (d > 3 || r < 0.3) return [1, -2.5, 0, 1e-5, 123456789012345, "a\"b\\c\u00e9\n", "", true, false, null, "é😀"][Math.floor(rnd() * 11)];
      if (r < 0.6) return Array.from({ length: Math.floor(rnd() * 4) }, () => gen(d + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(rnd() * 4) }, (_, i) => [`k${i}"\\`, gen(d + 1)]));
    };
    for (let n = 0; n < 2000; n++) {
      const text = JSON.stringify(gen(0), null, n % 3 === 0 ? 1 : undefined);
      expect(parseExactJson(text)).toEqual(JSON.parse(text));
    }
    const proto = parseExactJson('{"__proto__":{"x":1},"a":2}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(Object.keys(proto)).toEqual(["__proto__", "a"]);
  });

  it("withPlainNumbers gives a validator doubles, and the same object when there is nothing to convert", () => {
    const plain = { a: 1, b: [2] };
    expect(withPlainNumbers(plain)).toBe(plain);
    expect(withPlainNumbers({ a: new JsonNumber("9007199254740993"), b: [new JsonNumber("1e400")] })).toEqual({ a: 9007199254740992, b: [Infinity] });
  });
});
