import { describe, expect, it } from "vitest";
import { parseMessageLine, quoteNonFiniteTokens } from "../../../src/input/json.js";

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
