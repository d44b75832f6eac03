import { describe, expect, it } from "vitest";
import { sdcSequence } from "../../../src/singer/target.js";

describe("_sdc_sequence", () => {
  it("is exact past 2^53: neighbouring positions stay distinct", () => {
    const start = Date.UTC(2026, 10, 30);
    expect(sdcSequence(start, 1)).toBe(`${start}000001`);
    expect(sdcSequence(start, 2)).toBe(`${start}000002`);
    // Number arithmetic gives one value for both.
    expect(start * 1_000_000 + 1).toBe(start * 1_000_000 + 2);
  });

  it("a later run's first value is above an earlier run's last (fewer than 10^6 records per ms)", () => {
    expect(BigInt(sdcSequence(1000, 1)) > BigInt(sdcSequence(999, 999_999))).toBe(true);
  });
});

describe("_sdc_sequence without BigInt", () => {
  it("gives BigInt's digits for positions below, at and past 10^6 and on the encode-worker path's unit positions", () => {
    const start = Date.UTC(2026, 10, 30, 7, 41, 3, 123);
    for (const p of [0, 1, 999_999, 1_000_000, 1_000_001, 123_456_789, 2 ** 21 * 3 + 17, 2 ** 21 * 400_000 + 5, Number.MAX_SAFE_INTEGER - start * 0]) {
      expect(sdcSequence(start, p), String(p)).toBe((BigInt(start) * 1_000_000n + BigInt(p)).toString());
    }
    expect(sdcSequence(0, 5)).toBe("5");
  });
});
