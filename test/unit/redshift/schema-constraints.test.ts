import { describe, expect, it } from "vitest";
import { parseJsonExact } from "../../../src/input/json.js";
import { resolveWellKnownTypes } from "../../../src/airbyte/messages.js";
import { columnTypeFor, columnTypeSql, decimalOf } from "../../../src/redshift/types.js";

/** The column type of `{"p": <schema>}` read from its JSON text, exactly as a SCHEMA line is. */
const typeOf = (schemaJson: string) => {
  const parsed = parseJsonExact(`{"p":${schemaJson}}`) as { p: unknown };
  return columnTypeSql(columnTypeFor(parsed.p));
};

describe("column types from the schema's own constraints", () => {
  it("pipelinewise-tap-postgres numeric(38,10) → NUMERIC(38,10)", () => {
    expect(
      typeOf('{"type":["null","number"],"multipleOf":1e-10,"maximum":1e28,"exclusiveMaximum":true,"minimum":-1e28,"exclusiveMinimum":true}'),
    ).toBe("NUMERIC(38,10)");
  });
  it("numeric(10,2), numeric(5,0) and draft-6 exclusive bounds", () => {
    expect(typeOf('{"type":"number","multipleOf":0.01,"maximum":1e8,"exclusiveMaximum":true,"minimum":-1e8,"exclusiveMinimum":true}')).toBe("NUMERIC(10,2)");
    expect(typeOf('{"type":"number","multipleOf":1,"exclusiveMaximum":100000,"exclusiveMinimum":-100000}')).toBe("NUMERIC(5,0)");
    // inclusive 1e28 needs 29 integer digits: beyond 38 with scale 10, so the widest Redshift has
    expect(typeOf('{"type":"number","multipleOf":1e-10,"maximum":1e28,"minimum":-1e28}')).toBe("NUMERIC(38,10)");
    expect(typeOf('{"type":"number","multipleOf":0.25,"maximum":999.75,"minimum":0}')).toBe("NUMERIC(5,2)");
  });
  it("multipleOf without bounds: NUMERIC(38,s); no multipleOf: DOUBLE PRECISION", () => {
    expect(typeOf('{"type":"number","multipleOf":0.001}')).toBe("NUMERIC(38,3)");
    expect(typeOf('{"type":"number","maximum":10,"minimum":0}')).toBe("DOUBLE PRECISION");
    expect(typeOf('{"type":"number","multipleOf":1e-50}')).toBe("NUMERIC(38,37)");
  });
  it("integers: the least of SMALLINT / INTEGER / BIGINT / NUMERIC(p,0) holding the range", () => {
    expect(typeOf('{"type":["null","integer"],"minimum":-32768,"maximum":32767}')).toBe("SMALLINT");
    expect(typeOf('{"type":["null","integer"],"minimum":-2147483648,"maximum":2147483647}')).toBe("INTEGER");
    expect(typeOf('{"type":["null","integer"],"minimum":-9223372036854775808,"maximum":9223372036854775807}')).toBe("BIGINT");
    expect(typeOf('{"type":["null","integer"],"minimum":0,"maximum":18446744073709551615}')).toBe("NUMERIC(20,0)");
    expect(typeOf('{"type":"integer","minimum":0,"maximum":65535}')).toBe("INTEGER");
    expect(typeOf('{"type":"integer","exclusiveMinimum":-32769,"exclusiveMaximum":32768}')).toBe("SMALLINT");
    expect(typeOf('{"type":"integer","minimum":0}')).toBe("BIGINT");
    expect(typeOf('{"type":"integer","minimum":-1e50,"maximum":1e50}')).toBe("NUMERIC(38,0)");
  });
  it("BIGINT's own maximum is read exactly (a double would make it 2^63 and pick NUMERIC)", () => {
    const parsed = JSON.parse('{"type":"integer","minimum":-9223372036854775808,"maximum":9223372036854775807}');
    expect(columnTypeSql(columnTypeFor(parsed))).toBe("NUMERIC(19,0)"); // what a plain JSON.parse would give
    expect(typeOf('{"type":"integer","minimum":-9223372036854775808,"maximum":9223372036854775807}')).toBe("BIGINT");
  });
  it("a union's range is the widest of its members'", () => {
    expect(typeOf('{"anyOf":[{"type":"integer","minimum":0,"maximum":10},{"type":"integer","minimum":0,"maximum":100000}]}')).toBe("INTEGER");
    expect(typeOf('{"anyOf":[{"type":"integer","minimum":0,"maximum":10},{"type":"integer"}]}')).toBe("BIGINT");
  });
  it("Airbyte: big_integer (v0 airbyte_type) → NUMERIC(38,0); v1 $ref Integer/Number keep their bounds", () => {
    const ab = (s: string) => columnTypeSql(columnTypeFor(resolveWellKnownTypes((parseJsonExact(`{"p":${s}}`) as { p: unknown }).p)));
    expect(ab('{"type":"number","airbyte_type":"big_integer"}')).toBe("NUMERIC(38,0)");
    expect(ab('{"type":"string","airbyte_type":"big_integer"}')).toBe("VARCHAR(256)");
    expect(ab('{"type":"number","airbyte_type":"integer","minimum":0,"maximum":255}')).toBe("SMALLINT");
    expect(ab('{"$ref":"WellKnownTypes.json#/definitions/Integer","minimum":0,"maximum":18446744073709551615}')).toBe("NUMERIC(20,0)");
    expect(ab('{"$ref":"WellKnownTypes.json#/definitions/Number","multipleOf":0.0001,"maximum":1e10,"exclusiveMaximum":true,"minimum":0}')).toBe("NUMERIC(14,4)");
    expect(ab('{"$ref":"WellKnownTypes.json#/definitions/Number"}')).toBe("DOUBLE PRECISION");
  });
  it("type_mapping still wins", () => {
    const s = parseJsonExact('{"type":"number","multipleOf":0.01,"maximum":10,"minimum":0}');
    expect(columnTypeSql(columnTypeFor(s, { number: "NUMERIC(38,9)" }))).toBe("NUMERIC(38,9)");
  });
  it("decimalOf reads any JSON number exactly", () => {
    expect(decimalOf("18446744073709551615")).toEqual({ neg: false, digits: 18446744073709551615n, exp: 0 });
    expect(decimalOf("1e-10")).toEqual({ neg: false, digits: 1n, exp: -10 });
    expect(decimalOf("-1.500E+3")).toEqual({ neg: true, digits: 15n, exp: 2 });
  });
});

describe("parseJsonExact", () => {
  it("keeps each number's text beside the value JSON.parse gives, invisible to JSON.stringify", () => {
    const text = '{ "a" : 18446744073709551615, "b":[1, {"c": 1e-10}], "s": "x\\"}1", "n": null, "e": {} }';
    const v = parseJsonExact(text) as Record<string, unknown>;
    expect(JSON.stringify(v)).toBe(JSON.stringify(JSON.parse(text)));
    const sym = Symbol.for("target-redshift.numberText");
    expect((v as Record<symbol, unknown>)[sym]).toEqual({ a: "18446744073709551615" });
    const inner = (v.b as unknown[])[1] as Record<symbol, unknown>;
    expect(inner[sym]).toEqual({ c: "1e-10" });
  });
  it("throws on invalid JSON like JSON.parse", () => {
    expect(() => parseJsonExact('{"a":}')).toThrow(SyntaxError);
  });
});
