import { describe, expect, it } from "vitest";
import { ROW_ID_ORDINAL_LIMIT, rowId, rowIdPrefix } from "../../../src/encode/row-id.js";
import { rowIdSql } from "../../../src/redshift/sql.js";

const SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const bits = (id: string) => BigInt(`0x${id.replaceAll("-", "")}`);

describe("row ids (RFC 9562 §5.8 version 8: a run's 74 random bits, then the row's 48-bit ordinal)", () => {
  it("version 8, variant 10, whatever the random bytes", () => {
    for (const fill of [0x00, 0xff, 0x5a, 0xa5]) {
      const prefix = rowIdPrefix(new Uint8Array(10).fill(fill));
      const id = rowId(prefix, 1);
      expect(id, `fill ${fill}`).toMatch(SHAPE);
      expect(Number((bits(id) >> 76n) & 0xfn)).toBe(8);
      expect(Number((bits(id) >> 62n) & 0x3n)).toBe(2);
    }
  });

  it("keeps the 74 random bits the version and variant leave: the first 48, 12 after the version, 14 after the variant", () => {
    const random = Uint8Array.from([0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc]);
    expect(rowIdPrefix(random)).toBe("01234567-89ab-8def-bedc-");
    // Each random bit that survives changes the prefix.
    const base = rowIdPrefix(new Uint8Array(10));
    let kept = 0;
    for (let bit = 0; bit < 80; bit++) {
      const r = new Uint8Array(10);
      r[bit >> 3] = 0x80 >> (bit & 7);
      if (rowIdPrefix(r) !== base) kept++;
    }
    expect(kept).toBe(74);
  });

  it("a fresh prefix per call by default (a CSPRNG's bytes)", () => {
    const prefixes = new Set(Array.from({ length: 1000 }, () => rowIdPrefix()));
    expect(prefixes.size).toBe(1000);
    for (const p of prefixes) expect(rowIdSql({ column: "c", prefix: p, ordinal: "o" })).toContain(p); // accepted by the SQL builder
  });

  it("the ordinal as the last 12 hex digits, 0 to 2^48 - 1; outside that range a RangeError", () => {
    const p = "00000000-0000-8000-8000-";
    expect(rowId(p, 0)).toBe("00000000-0000-8000-8000-000000000000");
    expect(rowId(p, 255)).toBe("00000000-0000-8000-8000-0000000000ff");
    expect(rowId(p, 3 * 2 ** 21 + 5)).toBe("00000000-0000-8000-8000-000000600005");
    expect(rowId(p, ROW_ID_ORDINAL_LIMIT - 1)).toBe("00000000-0000-8000-8000-ffffffffffff");
    for (const bad of [-1, ROW_ID_ORDINAL_LIMIT, 1.5, Number.NaN]) expect(() => rowId(p, bad), String(bad)).toThrow(RangeError);
  });
});
