/** Metadata values described as data (MetaSource): what the workers and the main thread compute alike. */
import { describe, expect, it } from "vitest";
import { RowChanges, encoderFor, DEFAULT_POLICY } from "../../../src/encode/encode.js";
import { type RowContext, metadataValue } from "../../../src/encode/metadata-values.js";

const ctx = (message: Record<string, unknown>, changes = new RowChanges()): RowContext => ({ message, record: {}, position: 1, receivedAt: "", batchedAt: "", changes });

describe("metadataValue", () => {
  it("message-epoch-ms: Date.toISOString's text for every millisecond, across seconds, before 1970 and for non-integers", () => {
    const v = metadataValue({ kind: "message-epoch-ms", field: "emitted_at" });
    for (const ms of [1_700_000_000_000, 1_700_000_000_999, 1_700_000_001_000, 1_700_000_000_001, 0, -1, -1_500, 253_402_300_799_999, 1_700_000_000_000.5]) {
      expect(v(ctx({ emitted_at: ms })), String(ms)).toBe(new Date(ms).toISOString());
    }
  });

  it("airbyte-meta: one frozen document for rows without changes; upstream changes first, then the row's", () => {
    const v = metadataValue({ kind: "airbyte-meta", syncId: 7 });
    const a = v(ctx({}));
    expect(a).toEqual({ sync_id: 7, changes: [] });
    expect(Object.isFrozen(a)).toBe(true);
    expect(v(ctx({ meta: null }))).toBe(a);
    const changes = new RowChanges();
    changes.add("x", "NULLED", "DESTINATION_SERIALIZATION_ERROR");
    expect(v(ctx({ meta: { changes: [{ field: "u" }] } }, changes))).toEqual({
      sync_id: 7,
      changes: [{ field: "u" }, { field: "x", change: "NULLED", reason: "DESTINATION_SERIALIZATION_ERROR" }],
    });
  });

  it("the SUPER encoder reuses a frozen document's text, and never a mutable one's", () => {
    const enc = encoderFor("m", { kind: "super" }, DEFAULT_POLICY, { maxBytes: 0 });
    const changes = new RowChanges();
    const frozen = Object.freeze({ a: 1 });
    expect(enc(frozen, changes)).toBe('"{""a"":1}"');
    expect(enc(frozen, changes)).toBe('"{""a"":1}"');
    const open: Record<string, unknown> = { a: 1 };
    expect(enc(open, changes)).toBe('"{""a"":1}"');
    open.a = 2;
    expect(enc(open, changes)).toBe('"{""a"":2}"');
  });

  it("the timestamp encoder's reuse of the last canonical text does not skip a change for a later non-canonical value", () => {
    const enc = encoderFor("t", { kind: "timestamptz" }, DEFAULT_POLICY, { maxBytes: 0 });
    const changes = new RowChanges();
    expect(enc("2026-11-30T08:00:00.123Z", changes)).toBe("2026-11-30 08:00:00.123+00");
    expect(enc("2026-11-30T08:00:00.123Z", changes)).toBe("2026-11-30 08:00:00.123+00");
    expect(enc("not a time", changes)).toBe("\\N");
    expect(changes.list).toHaveLength(1);
    expect(enc("2026-11-30T08:00:00.124Z", changes)).toBe("2026-11-30 08:00:00.124+00");
  });
});

describe("integer columns: a value already in canonical decimal text", () => {
  it("is kept as sent within range, invalid past it, and matches the BigInt path at the limits", () => {
    const changes = new RowChanges();
    const big = encoderFor("b", { kind: "bigint" }, DEFAULT_POLICY, { maxBytes: 0 });
    const small = encoderFor("s", { kind: "smallint" }, DEFAULT_POLICY, { maxBytes: 0 });
    for (const v of ["0", "7", "-7", "1796023923730000123", "9223372036854775807", "-9223372036854775808"]) expect(big(v, changes), v).toBe(v);
    expect(changes.list).toHaveLength(0);
    for (const v of ["9223372036854775808", "-9223372036854775809", "99999999999999999999"]) expect(big(v, changes), v).toBe("\\N");
    expect(changes.list).toHaveLength(3);
    expect(small("32767", changes)).toBe("32767");
    expect(small("32768", changes)).toBe("\\N");
    expect(small("-32768", changes)).toBe("-32768");
    // not canonical: the BigInt path normalises, as before
    expect(big("-0", changes)).toBe("0");
    expect(big("007", changes)).toBe("7");
  });
});
