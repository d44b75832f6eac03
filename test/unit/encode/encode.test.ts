import { describe, expect, it } from "vitest";
import {
  DEFAULT_POLICY,
  InvalidValueError,
  RowChanges,
  SUPER_MAX_DEPTH,
  csvDoubledJson,
  csvQuote,
  decimalParts,
  deepJsonText,
  encoderFor,
  exactJson,
  parseDateTime,
  truncateUtf8,
} from "../../../src/encode/encode.js";
import { JsonNumber } from "../../../src/input/json.js";
import type { ColumnType } from "../../../src/redshift/types.js";

function enc(type: ColumnType, policy = DEFAULT_POLICY) {
  const width = { maxBytes: 0 };
  const changes = new RowChanges();
  const f = encoderFor("f", type, policy, width);
  return { run: (v: unknown) => f(v, changes), width, changes };
}

describe("encoders", () => {
  it("text: always quoted, NULL distinct from empty, quotes doubled, NUL removed", () => {
    const { run, width } = enc({ kind: "varchar", length: 10 });
    expect(run(null)).toBe("\\N");
    expect(run(undefined)).toBe("\\N");
    expect(run("")).toBe('""');
    expect(run("\\N")).toBe('"\\N"');
    expect(run('say "hi", ok\nnext')).toBe('"say ""hi"", ok\nnext"');
    expect(run("a\u0000b")).toBe('"ab"');
    expect(run("漢字")).toBe('"漢字"');
    expect(width.maxBytes).toBe(17); // 'say "hi", ok\nnext' is 17 bytes
    expect(run({ a: 1 })).toBe('"{""a"":1}"');
  });

  it("text: over 65535 bytes is truncated at a character boundary and recorded", () => {
    const { run, changes, width } = enc({ kind: "varchar", length: 65535 });
    const s = "é".repeat(40000); // 80000 bytes
    const out = run(s);
    expect(Buffer.byteLength(out.slice(1, -1))).toBe(65534);
    expect(changes.list).toEqual([{ field: "f", change: "TRUNCATED", reason: "DESTINATION_FIELD_SIZE_LIMITATION" }]);
    expect(width.maxBytes).toBe(65534);
  });

  it("text: null policy for oversized strings", () => {
    const { run, changes } = enc({ kind: "varchar", length: 65535 }, { stringOverflow: "null", invalidValue: "null" });
    expect(run("x".repeat(70000))).toBe("\\N");
    expect(changes.list[0]?.change).toBe("NULLED");
  });

  it("integers: range-checked", () => {
    const { run, changes } = enc({ kind: "bigint" });
    expect(run(42)).toBe("42");
    expect(run("-7")).toBe("-7");
    expect(run(1.5)).toBe("\\N");
    expect(run(1e30)).toBe("\\N");
    expect(run("9223372036854775808")).toBe("\\N");
    expect(run("9223372036854775807")).toBe("9223372036854775807");
    expect(changes.list).toHaveLength(3);
    const small = enc({ kind: "smallint" });
    expect(small.run(40000)).toBe("\\N");
  });

  it("invalid_value = fail names the field and what was expected", () => {
    const { run } = enc({ kind: "bigint" }, { stringOverflow: "truncate", invalidValue: "fail" });
    expect(() => run("abc")).toThrow(InvalidValueError);
    expect(() => run("abc")).toThrow(/field "f": expected an integer within BIGINT range, got "abc"/);
  });

  it("floats: NaN and Infinity become NULL", () => {
    const { run, changes } = enc({ kind: "double" });
    expect(run(1.25)).toBe("1.25");
    expect(run(Number.NaN)).toBe("\\N");
    expect(run(Number.POSITIVE_INFINITY)).toBe("\\N");
    expect(run("NaN")).toBe("\\N");
    expect(changes.list).toHaveLength(3);
  });

  it("numeric: precision checked", () => {
    const { run } = enc({ kind: "numeric", precision: 5, scale: 2 });
    expect(run(123.45)).toBe("123.45");
    expect(run(1234.5)).toBe("\\N");
  });

  it("booleans", () => {
    const { run } = enc({ kind: "boolean" });
    expect(run(true)).toBe("true");
    expect(run(false)).toBe("false");
    expect(run("yes")).toBe("\\N");
  });

  it("super: JSON text, quoted for CSV", () => {
    const { run, changes } = enc({ kind: "super" });
    expect(run(["a", "b"])).toBe('"[""a"",""b""]"');
    expect(run("plain")).toBe('"""plain"""');
    expect(run(3)).toBe('"3"');
    expect(run({ s: "x".repeat(70000) })).toBe("\\N");
    expect(changes.list[0]?.reason).toBe("DESTINATION_FIELD_SIZE_LIMITATION");
  });

  it("super: a string over 65535 bytes in a document shorter than that in characters is NULL too (multi-byte text)", () => {
    const { run, changes } = enc({ kind: "super" });
    // 32,768 × "é": 32,768 characters, 65,536 UTF-8 bytes (one over the limit)
    expect(run({ s: "é".repeat(32768) })).toBe("\\N");
    expect(changes.list).toEqual([{ field: "f", change: "NULLED", reason: "DESTINATION_FIELD_SIZE_LIMITATION" }]);
    expect(run({ s: "é".repeat(32767) })).not.toBe("\\N");
  });

  it("timestamptz: normalized to UTC, microseconds, offsets applied", () => {
    const { run } = enc({ kind: "timestamptz" });
    expect(run("2024-01-02T03:04:05Z")).toBe("2024-01-02 03:04:05+00");
    expect(run("2024-01-02T03:04:05.123456789+05:30")).toBe("2024-01-01 21:34:05.123456+00");
    expect(run("2024-01-02")).toBe("2024-01-02 00:00:00+00");
    expect(run("0999-12-31T23:00:00-02:00")).toBe("1000-01-01 01:00:00+00");
    expect(run("2024-02-30T00:00:00Z")).toBe("\\N");
    expect(run("not a date")).toBe("\\N");
    expect(run("300000-01-01T00:00:00Z")).toBe("\\N");
  });

  it("timestamptz: offsets and 24:00 applied in years past JavaScript Date's ±275,760 (they came out as NaN text)", () => {
    const { run, changes } = enc({ kind: "timestamptz" });
    expect(run("294000-06-01T00:30:00+01:00")).toBe("294000-05-31 23:30:00+00");
    expect(run("280000-12-31T23:30:00-01:00")).toBe("280001-01-01 00:30:00+00");
    expect(run("290000-02-28T24:00:00Z")).toBe("290000-02-29 00:00:00+00"); // 290000 is a leap year (÷400)
    expect(run("290100-02-28T24:00:00Z")).toBe("290100-03-01 00:00:00+00"); // 290100 is not (÷100)
    expect(run("294276-12-31T23:30:00-01:00")).toBe("\\N"); // 294277: past Redshift's range
    expect(run("0001-01-01T00:30:00+01:00")).toBe("\\N"); // year 0
    expect(changes.list.map((c) => c.change)).toEqual(["NULLED", "NULLED"]);
    expect(enc({ kind: "timestamp" }).run("276000-07-04T12:00:00+14:00")).toBe("276000-07-03 22:00:00");
  });

  it("offsets past a clock's (hour over 23, minutes or seconds over 59) are no date-time or time: NULL and recorded, not applied", () => {
    const bad = ["+00:60", "+24:00", "+99:99", "+00:00:99", "-2400", "+0060"];
    for (const kind of ["timestamptz", "timestamp"] as const) {
      const { run, changes } = enc({ kind });
      for (const z of bad) expect(run(`2024-01-01T00:00:00${z}`), `${kind} ${z}`).toBe("\\N");
      expect(changes.list).toHaveLength(bad.length);
      expect(run("2024-01-01T00:00:00+23:59")).toBe(`2023-12-31 00:01:00${kind === "timestamptz" ? "+00" : ""}`);
      expect(run("2024-01-01T00:00:00-00:00:59")).toBe(`2024-01-01 00:00:59${kind === "timestamptz" ? "+00" : ""}`);
    }
    for (const kind of ["time", "timetz"] as const) {
      const { run } = enc({ kind });
      for (const z of bad) expect(run(`12:00:00${z}`), `${kind} ${z}`).toBe("\\N");
    }
    // TIMETZ keeps the zone: only one it holds (±14:59); TIME folds any clock's offset in.
    expect(enc({ kind: "timetz" }).run("12:00:00+14:59")).toBe("12:00:00+14:59");
    expect(enc({ kind: "timetz" }).run("12:00:00-14:59")).toBe("12:00:00-14:59");
    for (const z of ["+15:00", "-14:59:01", "+23:59", "+1600"]) expect(enc({ kind: "timetz" }).run(`12:00:00${z}`), z).toBe("\\N");
    expect(() => enc({ kind: "timetz" }, { ...DEFAULT_POLICY, invalidValue: "fail" }).run("12:00:00+16:00")).toThrow(/field "f": expected a time whose offset is within ±14:59 \(TIMETZ\), got "12:00:00\+16:00"/);
    expect(enc({ kind: "time" }).run("12:00:00+23:59")).toBe("12:01:00");
    expect(() => enc({ kind: "timestamptz" }, { ...DEFAULT_POLICY, invalidValue: "fail" }).run("2024-01-01T00:00:00+00:60")).toThrow(/field "f": expected an ISO 8601 date-time, got "2024-01-01T00:00:00\+00:60"/);
  });

  it("a key or delete marker column (strict) fails on a value it cannot hold whole: string overflow and SUPER limits too", () => {
    const strict = { ...DEFAULT_POLICY, invalidValue: "fail" as const, strict: true };
    const long = "x".repeat(70_000);
    for (const stringOverflow of ["truncate", "null"] as const) {
      expect(() => enc({ kind: "varchar", length: 65535 }, { ...strict, stringOverflow }).run(long)).toThrow(/field "f": expected a string of at most 65535 bytes \(UTF-8\)/);
    }
    expect(() => enc({ kind: "super" }, strict).run({ s: long })).toThrow(/field "f": expected a document whose strings are at most 65535 bytes \(SUPER\)/);
    expect(() => enc({ kind: "super" }, strict).run(Array.from({ length: 300 }, () => "y".repeat(60_000)))).toThrow(/field "f": expected a document of at most 16777216 bytes \(SUPER\)/);
    // A NUL removed could make "x\u0000y" and "xy" one key: refused, in text and in SUPER.
    expect(() => enc({ kind: "varchar", length: 10 }, strict).run("x\u0000y")).toThrow(/field "f": expected text without NUL characters/);
    expect(() => enc({ kind: "super" }, strict).run({ a: "x\u0000y" })).toThrow(/field "f": expected text without NUL characters/);
    expect(enc({ kind: "varchar", length: 10 }, strict).run("xy")).toBe('"xy"');
    // Not strict: cut or NULLed and recorded, as the policy says.
    expect(enc({ kind: "super" }).run({ s: long })).toBe("\\N");
    // At any depth (the walk once stopped at 200 levels and kept a string 211 levels down).
    for (const depth of [1, 199, 200, 201, 211, 998]) {
      let doc: unknown = { s: "z".repeat(65_536) };
      for (let i = 0; i < depth; i++) doc = i % 2 === 0 ? [doc] : { d: doc };
      const { run, changes } = enc({ kind: "super" });
      expect(run(doc), `depth ${depth}`).toBe("\\N");
      expect(changes.list, `depth ${depth}`).toEqual([{ field: "f", change: "NULLED", reason: "DESTINATION_FIELD_SIZE_LIMITATION" }]);
      let ok: unknown = { s: "z".repeat(65_535) };
      for (let i = 0; i < depth; i++) ok = i % 2 === 0 ? [ok] : { d: ok };
      expect(enc({ kind: "super" }).run(ok), `depth ${depth}`).not.toBe("\\N");
    }
    expect(enc({ kind: "varchar", length: 65535 }).run(long)).toHaveLength(65537);
  });

  it("timestamp (no zone): converted to UTC first (rule 9)", () => {
    const { run } = enc({ kind: "timestamp" });
    expect(run("2024-03-10T23:30:00-01:00")).toBe("2024-03-11 00:30:00");
  });

  it("timestamps staged as Parquet: past 294247-01-10 04:00:54.775807 UTC (INT64 microseconds) NULL and recorded, or fail; the last one lands", () => {
    const parquet = { ...DEFAULT_POLICY, parquetTimestamps: true };
    for (const kind of ["timestamptz", "timestamp"] as const) {
      const zone = kind === "timestamptz" ? "+00" : "";
      const encode = (v: string, policy = parquet) => {
        const changes = new RowChanges();
        return { text: encoderFor("t", { kind }, policy, { maxBytes: 0 })(v, changes), changes: changes.list };
      };
      const nulled = [{ field: "t", change: "NULLED", reason: "DESTINATION_SERIALIZATION_ERROR" }];
      expect(encode("294247-01-10T04:00:54.775807Z")).toEqual({ text: `294247-01-10 04:00:54.775807${zone}`, changes: [] });
      expect(encode("294247-01-10T05:00:54.775807+01:00")).toEqual({ text: `294247-01-10 04:00:54.775807${zone}`, changes: [] });
      expect(encode("294247-01-10T04:00:54.7758Z")).toEqual({ text: `294247-01-10 04:00:54.7758${zone}`, changes: [] });
      expect(encode("294247-01-09T23:59:59Z").changes).toEqual([]);
      for (const past of ["294247-01-10T04:00:54.775808Z", "294247-01-10T04:00:55Z", "294247-01-10T04:01:00Z", "294247-01-10T05:00:00Z", "294247-01-11T00:00:00Z", "294247-02-01T00:00:00Z", "294250-06-01T00:00:00Z", "294276-12-31T23:59:59.999999Z", "294247-01-10T03:00:54.775808-01:00"]) {
        expect(encode(past), past).toEqual({ text: "\\N", changes: nulled });
        // CSV holds them: Redshift's range ends in 294276.
        expect(encode(past, DEFAULT_POLICY).changes, past).toEqual([]);
        expect(() => encode(past, { ...parquet, invalidValue: "fail" }), past).toThrow(/field "t": expected a date-time up to 294247-01-10 04:00:54.775807 UTC/);
      }
    }
  });

  it("date and time", () => {
    expect(enc({ kind: "date" }).run("2024-02-29")).toBe("2024-02-29");
    expect(enc({ kind: "date" }).run("2023-02-29")).toBe("\\N");
    expect(enc({ kind: "time" }).run("12:34:56.1234567")).toBe("12:34:56.123456");
    expect(enc({ kind: "time" }).run("25:00")).toBe("\\N");
  });
});

describe("helpers", () => {
  it("truncateUtf8 never splits a character", () => {
    expect(truncateUtf8("aé", 2)).toBe("a");
    expect(truncateUtf8("a😀", 4)).toBe("a");
    expect(truncateUtf8("abc", 5)).toBe("abc");
  });
  it("parseDateTime rejects impossible dates", () => {
    expect(parseDateTime("2024-13-01")).toBeUndefined();
    expect(parseDateTime("2024-04-31")).toBeUndefined();
    expect(parseDateTime("2024-04-30T10:00:00+0100")?.offset).toBe(3600); // seconds: offsets can carry them
  });
});

describe("SUPER NUL handling", () => {
  it("removes real NULs but keeps an escaped backslash followed by u0000", () => {
    const width = { maxBytes: 0 };
    const f = encoderFor("f", { kind: "super" }, DEFAULT_POLICY, width);
    const out = f({ a: "x\u0000y", b: "lit\\u0000eral", c: "\\\u0000" }, new RowChanges());
    const json = out.slice(1, -1).replace(/""/g, '"');
    expect(JSON.parse(json)).toEqual({ a: "xy", b: "lit\\u0000eral", c: "\\" });
  });
});

describe("timestamp fast path agrees with the full parse", () => {
  it("canonical UTC strings, valid and not", () => {
    const { run } = enc({ kind: "timestamptz" });
    expect(run("2024-02-29T23:59:59Z")).toBe("2024-02-29 23:59:59+00");
    expect(run("2024-02-29T23:59:59.123456Z")).toBe("2024-02-29 23:59:59.123456+00");
    expect(run("2023-02-29T00:00:00Z")).toBe("\\N");
    expect(run("2024-01-01T24:00:00Z")).toBe("2024-01-02 00:00:00+00"); // end of day: full parse
    expect(run("0000-01-01T00:00:00Z")).toBe("\\N");
    expect(run("2024-01-01T00:00:00.Z")).toBe("\\N");
    expect(run("2024-01-01T00:00:00.1234567Z")).toBe("2024-01-01 00:00:00.123456+00"); // 7 digits: full parse truncates
    expect(enc({ kind: "timestamp" }).run("2024-06-30T12:00:00.5Z")).toBe("2024-06-30 12:00:00.5");
  });
});

describe("SUPER over 16 MB", () => {
  it("is NULLed and recorded, even when every string in it is small", () => {
    const width = { maxBytes: 0 };
    const changes = new RowChanges();
    const f = encoderFor("f", { kind: "super" }, DEFAULT_POLICY, width);
    const big = Array.from({ length: 300_000 }, (_, i) => `value-${i}-${"x".repeat(50)}`); // ≈ 19 MB of JSON
    expect(f(big, changes)).toBe("\\N");
    expect(changes.list).toEqual([{ field: "f", change: "NULLED", reason: "DESTINATION_FIELD_SIZE_LIMITATION" }]);
  });
});

describe("numeric: huge and tiny doubles", () => {
  it("rejects magnitudes beyond the precision even when JavaScript prints them as exponents", () => {
    const { run, changes } = enc({ kind: "numeric", precision: 38, scale: 2 });
    expect(run(1e40)).toBe("\\N");
    expect(run(-1e36)).toBe("\\N");
    expect(changes.list).toHaveLength(2);
    expect(run(1e30)).toBe("1000000000000000000000000000000"); // the digits sent, not the double's expansion
    expect(run(1e-7)).toBe("\\N"); // more scale than NUMERIC(38,2): never rounded to 0.00
    expect(changes.list).toHaveLength(3);
  });
});

describe("SUPER as a CSV field: JSON built with doubled quotes", () => {
  const reference = (v: unknown) => JSON.stringify(v).replaceAll('"', '""');
  const samples: unknown[] = [
    { street: "785 Main St", city: "København", zip: "b664a" },
    { a: 'say "hi"', b: "back\\slash", c: "\\\"", d: "tab\tnew\nline\u0001", e: "東京 😀", f: "\ud800 lone" },
    [1, -0, 1.5, 1e21, 1e-7, -123456789012, null, true, false, "x", [], {}, [[["deep"]]]],
    { "": "empty key", '"quoted" key': 1, "10": "integer-like keys first", b: 2, "2": "two" },
    { nested: { arr: [{ k: "v" }, null, { q: '"' }], n: { m: { o: "p" } } } },
    [undefined, () => 1, Symbol("s"), Number.NaN, Number.POSITIVE_INFINITY],
    { u: undefined, f: () => 1, s: Symbol("s"), n: Number.NaN, kept: 1 },
    { when: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)), custom: { toJSON: () => ({ replaced: '"yes"' }) } },
    "a plain string",
    42,
    [],
    {},
  ];
  it("matches JSON.stringify with every quote doubled", () => {
    for (const v of samples) expect(csvDoubledJson(v)).toBe(reference(v));
  });

  it("matches it on random documents", () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const chars = ['"', "\\", "a", "é", "\n", "\u0000", "😀", ",", "{", "]", " "];
    const str = () => Array.from({ length: Math.floor(rand() * 8) }, () => chars[Math.floor(rand() * chars.length)]).join("");
    const gen = (depth: number): unknown => {
      const r = rand();
      if (depth > 3 || r < 0.3) return [str(), rand() * 1e6 - 5e5, null, true, Math.floor(rand() * 100)][Math.floor(rand() * 5)];
      if (r < 0.6) return Array.from({ length: Math.floor(rand() * 4) }, () => gen(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(rand() * 4) }, () => [str(), gen(depth + 1)]));
    };
    for (let i = 0; i < 2000; i++) {
      const v = gen(0);
      expect(csvDoubledJson(v)).toBe(reference(v));
    }
  });

  it("arrays over 256 entries (built from flat pieces, not a rope) give the same text, exact digits and all", () => {
    const big = Array.from({ length: 600 }, (_, i) => samples[i % samples.length]);
    const doc = { head: 1, items: big, nested: [big, Array.from({ length: 300 }, (_, i) => ({ i, s: 'q"', u: undefined }))] };
    expect(csvDoubledJson(doc)).toBe(reference(doc));
    expect(csvDoubledJson(big)).toBe(reference(big));
    expect(exactJson(doc)).toBe(JSON.stringify(doc));
    const exact = Array.from({ length: 300 }, (_, i) => (i === 299 ? { n: new JsonNumber("12345678901234567890") } : i));
    expect(exactJson(exact)).toBe(`[${Array.from({ length: 299 }, (_, i) => i).join(",")},{"n":12345678901234567890}]`);
    expect(csvDoubledJson(exact)).toBe(`[${Array.from({ length: 299 }, (_, i) => i).join(",")},{""n"":12345678901234567890}]`);
  });

  it("the SUPER encoder's CSV field is the quoted JSON, NUL escapes removed as before", () => {
    const f = encoderFor("f", { kind: "super" }, DEFAULT_POLICY, { maxBytes: 0 });
    for (const v of samples.filter((x) => typeof x === "object")) expect(f(v, new RowChanges())).toBe(csvQuote(JSON.stringify(v)));
    expect(f({ a: "x\u0000y", b: "\\u0000" }, new RowChanges())).toBe(csvQuote('{"a":"xy","b":"\\\\u0000"}'));
  });

  it("the 16 MB limit counts the JSON, not the doubled quotes", () => {
    const f = encoderFor("f", { kind: "super" }, DEFAULT_POLICY, { maxBytes: 0 });
    // 14 MB of JSON, 21 MB once its quotes are doubled: still within Redshift's limit
    const quotes = Array.from({ length: 3_500_000 }, () => "x");
    expect(JSON.stringify(quotes).length).toBeLessThan(16 * 1024 * 1024);
    expect(reference(quotes).length).toBeGreaterThan(16 * 1024 * 1024);
    const changes = new RowChanges();
    expect(f(quotes, changes)).toBe(csvQuote(JSON.stringify(quotes)));
    expect(changes.list).toEqual([]);
  });
});

describe("exact numbers (JsonNumber) in every column type", () => {
  const n = (t: string) => new JsonNumber(t);
  it("decimalParts normalises any JSON number text to plain digits", () => {
    expect(decimalParts("-1.50E+3")).toEqual({ neg: true, int: "1500", frac: "" });
    expect(decimalParts("1E-7")).toEqual({ neg: false, int: "", frac: "0000001" });
    expect(decimalParts("00012.3400")).toEqual({ neg: false, int: "12", frac: "34" });
    expect(decimalParts("123.456e-2")).toEqual({ neg: false, int: "1", frac: "23456" });
    expect(decimalParts("1e401")).toBeUndefined();
    expect(decimalParts("0e99999")).toEqual({ neg: false, int: "", frac: "" });
    expect(decimalParts("0.000")).toEqual({ neg: false, int: "", frac: "" });
    expect(decimalParts("100.100")).toEqual({ neg: false, int: "100", frac: "1" });
  });
  it("decimalParts and NUMERIC: long runs of zeros inside a number are read in one pass (a /0+$/ strip took 37 s on 200,000)", () => {
    const zeros = "0".repeat(300_000);
    expect(decimalParts(`1.${zeros}1${zeros}`)).toEqual({ neg: false, int: "1", frac: `${zeros}1` });
    expect(decimalParts(`${zeros}7${zeros}.5`)).toEqual({ neg: false, int: `7${zeros}`, frac: "5" });
    const changes = new RowChanges();
    expect(encoderFor("n", { kind: "numeric", precision: 38, scale: 10 }, DEFAULT_POLICY, { maxBytes: 0 })(n(`1.${zeros}1${zeros}`), changes)).toBe("\\N");
    expect(changes.list).toEqual([{ field: "n", change: "NULLED", reason: "DESTINATION_SERIALIZATION_ERROR" }]);
  });
  it("integer columns take every digit and check the range exactly; beyond it NULL and recorded", () => {
    const e = enc({ kind: "bigint" });
    expect(e.run(n("9223372036854775807"))).toBe("9223372036854775807");
    expect(e.run(n("-9223372036854775808"))).toBe("-9223372036854775808");
    expect(e.run(n("99999999999999999"))).toBe("99999999999999999");
    expect(e.run(n("1.5e3"))).toBe("1500");
    expect(e.run(n("-0"))).toBe("0");
    expect(e.changes.list).toEqual([]);
    expect(e.run(n("9223372036854775808"))).toBe("\\N");
    expect(e.run(n("1.00000000000000001"))).toBe("\\N");
    expect(e.run(n("1e400"))).toBe("\\N");
    expect(e.changes.list.map((c) => c.change)).toEqual(["NULLED", "NULLED", "NULLED"]);
    expect(() => enc({ kind: "smallint" }, { ...DEFAULT_POLICY, invalidValue: "fail" }).run(n("32768000000000000"))).toThrow(/got number 32768000000000000/);
  });
  it("NUMERIC columns take the exact decimal, exponents written out", () => {
    const e = enc({ kind: "numeric", precision: 38, scale: 10 });
    expect(e.run(n("123456789.0123456789"))).toBe("123456789.0123456789");
    expect(e.run(n("1E-7"))).toBe("0.0000001");
    expect(e.run(n("-0.0"))).toBe("0");
    expect(e.run(n("-99999999999999999999999999.9999999999"))).toBe("-99999999999999999999999999.9999999999");
    expect(e.changes.list).toEqual([]);
    expect(e.run(n("1e28"))).toBe("\\N");
    expect(e.run(n("1e400"))).toBe("\\N");
    expect(e.changes.list).toHaveLength(2);
  });
  it("DOUBLE columns take the nearest double; what no double holds is NULL and recorded; -0 keeps its sign", () => {
    const e = enc({ kind: "double" });
    expect(e.run(n("9007199254740993"))).toBe("9007199254740992");
    expect(e.run(n("1E-7"))).toBe("1e-7");
    expect(e.run(n("-0"))).toBe("-0");
    expect(e.changes.list).toEqual([]);
    expect(e.run(n("1e400"))).toBe("\\N");
    expect(e.run(n("1e-400"))).toBe("\\N");
    expect(e.changes.list).toHaveLength(2);
  });
  it("REAL columns: what no single-precision float holds (overflow, or a non-zero that rounds to 0) is NULL and recorded", () => {
    const e = enc({ kind: "real" });
    // In range: written as sent (COPY rounds to float4, as Redshift documents for REAL).
    expect(e.run(3.4e38)).toBe("3.4e+38");
    expect(e.run(1e-40)).toBe("1e-40"); // a subnormal float4, not 0
    expect(e.run(-0)).toBe("0");
    expect(e.run(n("-0"))).toBe("-0");
    expect(e.run("1.5")).toBe("1.5");
    expect(e.changes.list).toEqual([]);
    for (const v of [1e300, -3.5e38, 1e-300, n("3.5e38"), n("1e-50"), "1e39", "-1e-46"]) expect(e.run(v), String(v)).toBe("\\N");
    expect(e.changes.list).toHaveLength(7);
    expect(e.changes.list[0]).toEqual({ field: "f", change: "NULLED", reason: "DESTINATION_SERIALIZATION_ERROR" });
    expect(() => enc({ kind: "real" }, { ...DEFAULT_POLICY, invalidValue: "fail" }).run(1e300)).toThrow(InvalidValueError);
    // The same values in a DOUBLE column are kept.
    expect(enc({ kind: "double" }).run(1e300)).toBe("1e+300");
  });
  it("SUPER and text keep the digits as sent, nested too", () => {
    const doc = { x: n("12345678901234567890"), y: [n("1e400"), 1.5, n("-0"), "s"] };
    expect(exactJson(doc)).toBe('{"x":12345678901234567890,"y":[1e400,1.5,-0,"s"]}');
    expect(csvDoubledJson(doc)).toBe('{""x"":12345678901234567890,""y"":[1e400,1.5,-0,""s""]}');
    expect(enc({ kind: "super" }).run(n("18446744073709551615"))).toBe('"18446744073709551615"');
    expect(enc({ kind: "varchar", length: 256 }).run(n("123456789.0123456789"))).toBe('"123456789.0123456789"');
    expect(enc({ kind: "varchar", length: 256 }).run(doc)).toBe('"{""x"":12345678901234567890,""y"":[1e400,1.5,-0,""s""]}"');
  });
});

describe("deeply nested values (JSON.parse takes any depth; SUPER holds 1,000 levels)", () => {
  /** `{"d":[{"d":[ … "x" … ]}]}`: `depth` containers around a string, as text and as a value. */
  const nested = (depth: number): { text: string; value: unknown } => {
    let text = '"x"';
    for (let i = 0; i < depth; i++) text = i % 2 === 0 ? `[${text}]` : `{"d":${text}}`;
    return { text, value: JSON.parse(text) };
  };

  it("serialize at any depth, the same text as at a small one (no stack overflow)", () => {
    for (const depth of [10, 5_000, 100_000]) {
      const { text, value } = nested(depth);
      expect(exactJson(value) === text, `depth ${depth}`).toBe(true);
      expect(csvDoubledJson(value) === text.replaceAll('"', '""'), `depth ${depth}`).toBe(true);
    }
  });

  it("the stack-free serializer writes what the recursive one does: toJSON, undefined, functions, exact numbers, quotes in keys", () => {
    const samples: unknown[] = [
      { a: [1, undefined, () => 1, null, new JsonNumber("12345678901234567890")], b: undefined, 'k"q': { t: new Date(0) }, c: [[[]], {}], s: "é\n\u0000" },
      [undefined],
      "plain",
      new JsonNumber("1.50"),
      null,
      { toJSON: () => ({ x: [1, 2] }) },
    ];
    for (const v of samples) {
      expect(deepJsonText(v), JSON.stringify(v)).toBe(exactJson(v));
      expect(deepJsonText(v, (x) => JSON.stringify(x).replaceAll('"', '""'))).toBe(csvDoubledJson(v));
    }
  });

  it("SUPER: up to 1,000 levels kept; deeper NULLed and recorded (Redshift's limit), or refused in a strict column", () => {
    expect(SUPER_MAX_DEPTH).toBe(1000);
    const kept = nested(1000);
    expect(enc({ kind: "super" }).run(kept.value)).toBe(`"${kept.text.replaceAll('"', '""')}"`);
    for (const depth of [1001, 5_000, 100_000]) {
      const { run, changes } = enc({ kind: "super" });
      expect(run(nested(depth).value), `depth ${depth}`).toBe("\\N");
      expect(changes.list).toEqual([{ field: "f", change: "NULLED", reason: "DESTINATION_FIELD_SIZE_LIMITATION" }]);
      expect(() => enc({ kind: "super" }, { ...DEFAULT_POLICY, invalidValue: "fail", strict: true }).run(nested(depth).value)).toThrow(
        /field "f": expected a document nested at most 1000 levels \(SUPER\), got an (array|object)/,
      );
    }
  });

  it("SUPER: a string that fits once its NULs are removed is kept (the NULs recorded), one past it NULLed", () => {
    const fits = enc({ kind: "super" });
    expect(fits.run({ s: `\u0000${"a".repeat(65_535)}` })).toBe(`"{""s"":""${"a".repeat(65_535)}""}"`);
    expect(fits.changes.list).toEqual([{ field: "f", change: "CONVERTED", reason: "DESTINATION_SERIALIZATION_ERROR" }]);
    const over = enc({ kind: "super" });
    expect(over.run({ s: `\u0000${"a".repeat(65_536)}` })).toBe("\\N");
    expect(over.changes.list.map((c) => c.change)).toEqual(["CONVERTED", "NULLED"]);
  });

  it("text: a deep document is written whole as its JSON text (VARCHAR has no depth limit)", () => {
    const { text, value } = nested(5_000);
    const { run, changes } = enc({ kind: "varchar", length: 65535 });
    expect(run(value) === `"${text.replaceAll('"', '""')}"`).toBe(true);
    expect(changes.list).toEqual([]);
  });
});
