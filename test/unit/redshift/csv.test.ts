import { describe, expect, it } from "vitest";
import { closingQuote } from "../../../src/redshift/csv.js";

const b = (s: string) => Buffer.from(s);

describe("closingQuote", () => {
  it("finds the quote that ends a field, skipping doubled quotes", () => {
    expect(closingQuote(b('"abc",x'), 0, 7)).toBe(4);
    expect(closingQuote(b('"a""b",x'), 0, 8)).toBe(5);
    expect(closingQuote(b('"""",x'), 0, 6)).toBe(3);
    expect(closingQuote(b('"",x'), 0, 4)).toBe(1);
    expect(closingQuote(b('x,"a\nb"\n'), 2, 8)).toBe(6);
  });

  it("-1 when no closing quote is in range, or the last byte in range is a quote (it may be doubled)", () => {
    expect(closingQuote(b('"abc'), 0, 4)).toBe(-1);
    expect(closingQuote(b('"abc"'), 0, 5)).toBe(-1);
    expect(closingQuote(b('"abc""'), 0, 6)).toBe(-1);
    expect(closingQuote(b('"abc",'), 0, 6)).toBe(4);
    expect(closingQuote(b('"a""b"\n'), 0, 5)).toBe(-1);
  });
});
