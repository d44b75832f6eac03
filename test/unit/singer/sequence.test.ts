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
