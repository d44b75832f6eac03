import { describe, expect, it } from "vitest";
import { DEFAULT_POLICY, InvalidValueError, RowChanges, encoderFor, plainDecimal, valueEncoderFor } from "../../../src/encode/encode.js";
import type { ColumnType } from "../../../src/redshift/types.js";

function enc(type: ColumnType, policy = DEFAULT_POLICY) {
  const changes = new RowChanges();
  const f = encoderFor("f", type, policy, { maxBytes: 0 });
  return {
    run: (v: unknown) => {
      changes.reset();
      return f(v, changes);
    },
    changes,
  };
}
const N = (precision: number, scale: number): ColumnType => ({ kind: "numeric", precision, scale });

describe("NUMERIC(p,s): exact digits or a recorded change, never rounded", () => {
  it("keeps every digit of the text it is given", () => {
    const { run, changes } = enc(N(38, 10));
    expect(run("123456789.0123456789")).toBe("123456789.0123456789");
    expect(run("9999999999999999999999999999.9999999999")).toBe("9999999999999999999999999999.9999999999");
    expect(run("-0.0000000001")).toBe("-0.0000000001");
    expect(run("1.50000000000000")).toBe("1.5"); // trailing zeros beyond the scale are not digits lost
    expect(run("00012")).toBe("12");
    expect(run(1e-7)).toBe("0.0000001"); // a double whose text is in exponent form
    expect(run("1E+3")).toBe("1000");
    expect(changes.list).toEqual([]);
  });
  it("more scale than the column: NULL and recorded (COPY would cut or ROUNDEC round it)", () => {
    const { run, changes } = enc(N(10, 2));
    expect(run("1.005")).toBe("\\N");
    expect(changes.list).toEqual([{ field: "f", change: "NULLED", reason: "DESTINATION_SERIALIZATION_ERROR" }]);
    expect(run(0.125)).toBe("\\N");
    expect(run(1.5e-7)).toBe("\\N"); // toFixed(2) would have made this 0.00
    expect(run("12345678.99")).toBe("12345678.99");
    expect(run("123456789.9")).toBe("\\N"); // nine integer digits in NUMERIC(10,2)
  });
  it("fails under invalid_value: fail", () => {
    const { run } = enc(N(5, 0), { ...DEFAULT_POLICY, invalidValue: "fail" });
    expect(() => run("0.5")).toThrow(InvalidValueError);
    expect(() => run(123456)).toThrow(/fits NUMERIC\(5,0\)/);
  });
  it("Parquet takes the same decision", () => {
    const f = valueEncoderFor("f", N(10, 2), DEFAULT_POLICY, { maxBytes: 0 });
    expect(f("1.005", new RowChanges())).toBeNull();
    expect(f("1.10", new RowChanges())).toBe("1.1");
  });
  it("plainDecimal", () => {
    expect(plainDecimal("1.2345e2")).toBe("123.45");
    expect(plainDecimal("-12e-3")).toBe("-0.012");
    expect(plainDecimal("abc")).toBeUndefined();
    expect(plainDecimal("1e999")).toBeUndefined();
  });
});

describe("date-times: every RFC 3339 / ISO 8601 spelling taps send", () => {
  const tz = enc({ kind: "timestamptz" });
  const ts = enc({ kind: "timestamp" });
  it("lower-case t and z, space, -00:00", () => {
    expect(tz.run("2025-09-22t14:42:59z")).toBe("2025-09-22 14:42:59+00");
    expect(tz.run("2025-09-22 14:42:59Z")).toBe("2025-09-22 14:42:59+00");
    expect(tz.run("2025-09-22T14:42:59-00:00")).toBe("2025-09-22 14:42:59+00");
    expect(tz.run("2025-09-22T14:42:59+0530")).toBe("2025-09-22 09:12:59+00");
  });
  it("offsets with seconds (PostgreSQL's local mean time)", () => {
    expect(tz.run("1883-11-18T12:00:00-03:30:52")).toBe("1883-11-18 15:30:52+00");
    expect(tz.run("1900-01-01T00:00:00+01:39:49")).toBe("1899-12-31 22:20:11+00");
  });
  it("more than 6 fraction digits: cut to µs and recorded when digits are lost", () => {
    expect(tz.run("2024-01-02T03:04:05.123456789Z")).toBe("2024-01-02 03:04:05.123456+00");
    expect(tz.changes.list).toEqual([{ field: "f", change: "TRUNCATED", reason: "DESTINATION_SERIALIZATION_ERROR" }]);
    expect(tz.run("2024-01-02T03:04:05.123456000Z")).toBe("2024-01-02 03:04:05.123456+00");
    expect(tz.changes.list).toEqual([]);
  });
  it("24:00:00 is the next day's midnight; a leap second is :59.999999, recorded", () => {
    expect(tz.run("2024-12-31T24:00:00Z")).toBe("2025-01-01 00:00:00+00");
    expect(tz.run("2024-12-31T24:00:01Z")).toBe("\\N");
    expect(tz.run("2016-12-31T23:59:60Z")).toBe("2016-12-31 23:59:59.999999+00");
    expect(tz.changes.list).toEqual([{ field: "f", change: "CONVERTED", reason: "DESTINATION_SERIALIZATION_ERROR" }]);
  });
  it("TIMESTAMP keeps a value without zone as sent (never shifted by a session zone)", () => {
    expect(ts.run("2024-03-10T02:30:00")).toBe("2024-03-10 02:30:00");
    expect(ts.run("2024-03-10t02:30:00.5")).toBe("2024-03-10 02:30:00.5");
    expect(ts.run("2024-03-10T02:30:00+01:00")).toBe("2024-03-10 01:30:00");
  });
});

describe("times", () => {
  it("TIMETZ keeps the offset as sent, seconds too", () => {
    const { run } = enc({ kind: "timetz" });
    expect(run("10:30:00+02:00")).toBe("10:30:00+02:00");
    expect(run("10:30:00z")).toBe("10:30:00+00");
    expect(run("10:30:00-03:30:52")).toBe("10:30:00-03:30:52");
    expect(run("24:00:00+00")).toBe("24:00:00+00");
  });
  it("TIME: 24:00:00 kept; an offset is applied and recorded as CONVERTED; Z needs nothing", () => {
    const { run, changes } = enc({ kind: "time" });
    expect(run("24:00:00")).toBe("24:00:00");
    expect(run("24:00:01")).toBe("\\N");
    expect(run("10:30:00Z")).toBe("10:30:00");
    expect(changes.list).toEqual([]);
    expect(run("15:45:30-05:00")).toBe("20:45:30");
    expect(changes.list).toEqual([{ field: "f", change: "CONVERTED", reason: "DESTINATION_SERIALIZATION_ERROR" }]);
    expect(run("01:00:00.25+02:00")).toBe("23:00:00.25");
    expect(run("12:00:00.1234567")).toBe("12:00:00.123456");
    expect(changes.list[0]?.change).toBe("TRUNCATED");
  });
});

describe("NUL removal is recorded", () => {
  it("text and SUPER", () => {
    const t = enc({ kind: "varchar", length: 10 });
    expect(t.run("a\u0000b")).toBe('"ab"');
    expect(t.changes.list).toEqual([{ field: "f", change: "CONVERTED", reason: "DESTINATION_SERIALIZATION_ERROR" }]);
    const s = enc({ kind: "super" });
    expect(s.run({ k: "a\u0000b" })).toBe('"{""k"":""ab""}"');
    expect(s.changes.list).toHaveLength(1);
    expect(s.run({ k: "a\\u0000b" })).toBe('"{""k"":""a\\\\u0000b""}"'); // an escaped backslash: no NUL
    expect(s.changes.list).toEqual([]);
  });
});
