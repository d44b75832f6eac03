/** Metadata values described as data (MetaSource): what the workers and the main thread compute alike. */
import { describe, expect, it } from "vitest";
import { RowChanges, encoderFor, DEFAULT_POLICY } from "../../../src/encode/encode.js";
import { type RowContext, metadataValue } from "../../../src/encode/metadata-values.js";
import { JsonNumber } from "../../../src/input/json.js";

const ctx = (message: Record<string, unknown>, changes = new RowChanges()): RowContext => ({ message, record: {}, position: 1, receivedAt: "", batchedAt: "", changes });

describe("metadataValue", () => {
  it("message-epoch-ms: Date.toISOString's text for every integer millisecond of 4-digit years, across seconds and before 1970", () => {
    const v = metadataValue({ kind: "message-epoch-ms", field: "emitted_at" });
    for (const ms of [1_700_000_000_000, 1_700_000_000_999, 1_700_000_001_000, 1_700_000_000_001, 0, -1, -1_500, 253_402_300_799_999, -62_167_219_200_000]) {
      expect(v(ctx({ emitted_at: ms })), String(ms)).toBe(new Date(ms).toISOString());
    }
  });

  it("message-epoch-ms: any JSON number lands exactly (its digits as sent) or NULL with a recorded change; none throws", () => {
    const v = metadataValue({ kind: "message-epoch-ms", field: "emitted_at" });
    const enc = encoderFor("_airbyte_extracted_at", { kind: "timestamptz" }, DEFAULT_POLICY, { maxBytes: 0 });
    const nulled = [{ field: "_airbyte_extracted_at", change: "NULLED", reason: "DESTINATION_SERIALIZATION_ERROR" }];
    const cases: [number, string, string, unknown[]][] = [
      // fractions of a millisecond: more digits of the seconds, taken from the floor below 1970
      [1.5, "1970-01-01T00:00:00.0015Z", "1970-01-01 00:00:00.0015+00", []],
      [-1.3, "1969-12-31T23:59:59.9987Z", "1969-12-31 23:59:59.9987+00", []],
      [-0.25, "1969-12-31T23:59:59.99975Z", "1969-12-31 23:59:59.99975+00", []],
      [1_700_000_000_000.123, "2023-11-14T22:13:20.000123Z", "2023-11-14 22:13:20.000123+00", []],
      // past microseconds: cut and recorded, as for any date-time value
      [1_700_000_000_000.1238, "2023-11-14T22:13:20.0001238Z", "2023-11-14 22:13:20.000123+00", [{ field: "_airbyte_extracted_at", change: "TRUNCATED", reason: "DESTINATION_SERIALIZATION_ERROR" }]],
      [5e-7, "1970-01-01T00:00:00.0000000005Z", "1970-01-01 00:00:00.000000+00", [{ field: "_airbyte_extracted_at", change: "TRUNCATED", reason: "DESTINATION_SERIALIZATION_ERROR" }]],
      // 5- and 6-digit years: no `+` (Date writes +010000); past Date's ±8.64e15 through 400-year cycles
      [253_402_300_800_000, "10000-01-01T00:00:00.000Z", "10000-01-01 00:00:00.000+00", []],
      [8_640_000_000_000_000, "275760-09-13T00:00:00.000Z", "275760-09-13 00:00:00.000+00", []],
      [8_640_000_000_000_001, "275760-09-13T00:00:00.001Z", "275760-09-13 00:00:00.001+00", []],
      [9_200_000_000_000_000, "293506-05-25T11:33:20.000Z", "293506-05-25 11:33:20.000+00", []],
      // outside Redshift's years (our 1 – 294276): NULL and recorded, whichever side of Date's range
      [9_300_000_000_000_000, "296675-04-08T21:20:00.000Z", "\\N", nulled],
      [-62_167_219_200_001, "-000001-12-31T23:59:59.999Z", "\\N", nulled],
      [-8_640_000_000_000_001, "-271821-04-19T23:59:59.999Z", "\\N", nulled],
      // 20 or more integer digits (300 million years and more): the text as sent, NULL and recorded
      [1e20, "100000000000000000000", "\\N", nulled],
      [-1e20, "-100000000000000000000", "\\N", nulled],
      [Number.POSITIVE_INFINITY, "Infinity", "\\N", nulled],
    ];
    const truncated = [{ field: "_airbyte_extracted_at", change: "TRUNCATED", reason: "DESTINATION_SERIALIZATION_ERROR" }];
    // Digits a double would change (16 or more, an exponent) arrive as JsonNumber and are read as sent.
    const exact: [JsonNumber, string, string, unknown[]][] = [
      [new JsonNumber("9007199254740993"), "287396-10-12T08:59:00.993Z", "287396-10-12 08:59:00.993+00", []],
      [new JsonNumber("9007199254740995"), "287396-10-12T08:59:00.995Z", "287396-10-12 08:59:00.995+00", []],
      [new JsonNumber("1700000000000.0009999999"), "2023-11-14T22:13:20.0000009999999Z", "2023-11-14 22:13:20.000000+00", truncated],
      [new JsonNumber("253402300799999.9999999"), "9999-12-31T23:59:59.9999999999Z", "9999-12-31 23:59:59.999999+00", truncated],
      [new JsonNumber("-62135596800000.0000001"), "0000-12-31T23:59:59.9999999999Z", "\\N", nulled],
      [new JsonNumber("-1e-40"), `1969-12-31T23:59:59.${"9".repeat(43)}Z`, "1969-12-31 23:59:59.999999+00", truncated],
      [new JsonNumber("17e11"), "2023-11-14T22:13:20.000Z", "2023-11-14 22:13:20.000+00", []],
      [new JsonNumber("-0"), "1970-01-01T00:00:00.000Z", "1970-01-01 00:00:00.000+00", []],
      [new JsonNumber("1e300"), "1e300", "\\N", nulled],
      // exponents past plainDecimal's -400: within a microsecond of 0, cut and recorded
      [new JsonNumber("1e-401"), "1970-01-01T00:00:00.0000000000001Z", "1970-01-01 00:00:00.000000+00", truncated],
      [new JsonNumber("-1e-99999999999"), "1969-12-31T23:59:59.9999999999999Z", "1969-12-31 23:59:59.999999+00", truncated],
      // a long run of zeros (read in one pass)
      [new JsonNumber(`1700000000000.${"0".repeat(300_000)}1`), `2023-11-14T22:13:20.000${"0".repeat(300_000)}1Z`, "2023-11-14 22:13:20.000000+00", truncated],
    ];
    for (const [ms, iso, field, recorded] of [...cases, ...exact]) {
      const changes = new RowChanges();
      expect(v(ctx({ emitted_at: ms }, changes)), String(ms)).toBe(iso);
      expect(enc(iso, changes), String(ms)).toBe(field);
      expect(changes.list, String(ms)).toEqual(recorded);
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
