import { describe, expect, it } from "vitest";
import { columnTypeFor, columnTypeSql, parseRedshiftType } from "../../../src/redshift/types.js";

const sqlOf = (schema: unknown, mapping = {}) => columnTypeSql(columnTypeFor(schema, mapping));

describe("columnTypeFor", () => {
  it("maps the basic JSON types", () => {
    expect(sqlOf({ type: "integer" })).toBe("BIGINT");
    expect(sqlOf({ type: ["null", "number"] })).toBe("DOUBLE PRECISION");
    expect(sqlOf({ type: "boolean" })).toBe("BOOLEAN");
    expect(sqlOf({ type: "object", properties: {} })).toBe("SUPER");
    expect(sqlOf({ type: "array", items: { type: "string" } })).toBe("SUPER");
  });
  it("sizes strings in bytes, never TEXT", () => {
    expect(sqlOf({ type: "string" })).toBe("VARCHAR(256)");
    expect(sqlOf({ type: "string", maxLength: 10 })).toBe("VARCHAR(40)");
    expect(sqlOf({ type: "string", maxLength: 100000 })).toBe("VARCHAR(65535)");
  });
  it("maps string formats", () => {
    expect(sqlOf({ type: "string", format: "date-time" })).toBe("TIMESTAMPTZ");
    expect(sqlOf({ type: ["string", "null"], format: "date" })).toBe("DATE");
    expect(sqlOf({ type: "string", format: "time" })).toBe("TIME");
  });
  it("reads nullability and formats through anyOf", () => {
    expect(sqlOf({ anyOf: [{ type: "string", format: "date-time" }, { type: "null" }] })).toBe("TIMESTAMPTZ");
    // a date-time member next to a plain string member: the plain string wins (not every value is a date-time)
    expect(sqlOf({ anyOf: [{ type: "string", format: "date-time" }, { type: ["string", "null"] }] })).toBe("VARCHAR(256)");
  });
  it("resolves unions by the documented rule", () => {
    expect(sqlOf({ type: ["integer", "number"] })).toBe("DOUBLE PRECISION");
    expect(sqlOf({ type: ["string", "integer"] })).toBe("VARCHAR(256)");
    expect(sqlOf({ type: ["object", "string"] })).toBe("SUPER");
    expect(sqlOf({ type: ["boolean", "integer"] })).toBe("SUPER");
  });
  it("maps a missing type to SUPER", () => {
    expect(sqlOf({})).toBe("SUPER");
    expect(sqlOf(true)).toBe("SUPER");
    expect(sqlOf({ description: "anything" })).toBe("SUPER");
  });
  it("applies type_mapping overrides", () => {
    const mapping = { string: "VARCHAR(1000)", datetime: "TIMESTAMP", number: "NUMERIC(38,9)", object: "VARCHAR(65535)" };
    expect(sqlOf({ type: "string" }, mapping)).toBe("VARCHAR(1000)");
    expect(sqlOf({ type: "string", format: "date-time" }, mapping)).toBe("TIMESTAMP");
    expect(sqlOf({ type: "number" }, mapping)).toBe("NUMERIC(38,9)");
    expect(sqlOf({ type: "object" }, mapping)).toBe("VARCHAR(65535)");
    expect(() => sqlOf({ type: "string" }, { string: "BLOB" })).toThrow(/type_mapping.string/);
  });
});

describe("parseRedshiftType", () => {
  it("reads catalog and config spellings", () => {
    expect(parseRedshiftType("character varying(300)")).toEqual({ kind: "varchar", length: 300 });
    expect(parseRedshiftType("VARCHAR(MAX)")).toEqual({ kind: "varchar", length: 65535 });
    expect(parseRedshiftType("numeric(38,9)")).toEqual({ kind: "numeric", precision: 38, scale: 9 });
    expect(parseRedshiftType("timestamp with time zone")).toEqual({ kind: "timestamptz" });
    expect(parseRedshiftType("double precision")).toEqual({ kind: "double" });
    expect(parseRedshiftType("super")).toEqual({ kind: "super" });
    expect(parseRedshiftType("geometry")).toBeUndefined();
  });
});
