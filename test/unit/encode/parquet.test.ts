import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { parquetMetadata, parquetRead, parquetReadObjects } from "hyparquet";
import { afterEach, describe, expect, it } from "vitest";
import type { ColumnType } from "../../../src/redshift/types.js";
import { JsonNumber } from "../../../src/input/json.js";
import { PART_BUFFER_BYTES, ParquetPartWriter, PartFile, type PlacedRowGroup, rowGroupOf, workerPartFooter } from "../../../src/stage/parquet-part-writer.js";
import { ByteWriter, ParquetWriter } from "hyparquet-writer";
import { ParquetRowGroupEncoder, plainDecimal } from "../../../src/encode/parquet-row-group.js";
import { DEFAULT_POLICY, RowChanges, encoderFor, valueEncoderFor } from "../../../src/encode/encode.js";
import {
  dateDays,
  decimalUnscaled,
  parquetConverter,
  parquetField,
  timeMicros,
  timestampMicros,
} from "../../../src/encode/parquet-values.js";

/** Our pages are GZIP; hyparquet reads only SNAPPY itself. */
const compressors = { GZIP: (input: Uint8Array) => gunzipSync(input) };
const arrayBuffer = (buf: Buffer) => buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;

describe("Parquet values from the encoders' normalised text", () => {
  it("dates are days since 1970-01-01, including years before 100 and after 9999", () => {
    expect(dateDays("1970-01-01")).toBe(0);
    expect(dateDays("1970-01-02")).toBe(1);
    expect(dateDays("1969-12-31")).toBe(-1);
    expect(dateDays("2024-02-29")).toBe(Date.UTC(2024, 1, 29) / 86_400_000);
    expect(dateDays("0001-01-01")).toBe(-719162);
    expect(dateDays("0099-03-01")).toBe(new Date("0099-03-01T00:00:00Z").getTime() / 86_400_000);
    expect(dateDays("12345-01-01")).toBe(Math.round((new Date("+012345-01-01T00:00:00Z").getTime()) / 86_400_000));
    // Past a JS Date's end (275760-09-13), up to Redshift's 294276-12-31: integer arithmetic, no NaN.
    expect(dateDays("275760-09-13")).toBe(100_000_000);
    expect(dateDays("275760-09-14")).toBe(100_000_001);
    expect(dateDays("294276-12-31")).toBe(106_762_939); // 1076-12-31 (a Date can) + 733 × 146,097 days (400-year cycles)
    expect(() => dateDays("not a date")).toThrow(/not a date/);
  });

  it("timestamps past 275760 are exact; past an INT64 of microseconds (294247-01-10) they are refused, not wrapped", () => {
    expect(timestampMicros("294247-01-10 04:00:54.775807+00")).toBe(2n ** 63n - 1n);
    expect(timestampMicros("290000-06-15 00:00:00+00")).toBe(BigInt(dateDays("290000-06-15")) * 86_400_000_000n);
    expect(() => timestampMicros("294247-01-10 04:00:54.775808+00")).toThrow(/past what a Parquet TIMESTAMP holds.*csv_gzip/);
    expect(() => timestampMicros("294276-12-31 23:59:59.999999+00")).toThrow(RangeError);
  });

  it("timestamps are UTC microseconds, fraction kept to the microsecond", () => {
    expect(timestampMicros("1970-01-01 00:00:00")).toBe(0n);
    expect(timestampMicros("2024-01-02 03:04:05.123456+00")).toBe(BigInt(Date.UTC(2024, 0, 2, 3, 4, 5)) * 1000n + 123456n);
    expect(timestampMicros("2024-01-02 03:04:05.5")).toBe(BigInt(Date.UTC(2024, 0, 2, 3, 4, 5)) * 1000n + 500000n);
    expect(timestampMicros("1969-12-31 23:59:59.999999+00")).toBe(-1n);
    expect(timestampMicros("0001-01-01 00:00:00+00")).toBe(-62135596800000000n);
  });

  it("times are microseconds since midnight; TIMETZ is shifted to UTC", () => {
    expect(timeMicros("00:00:00", false)).toBe(0n);
    expect(timeMicros("12:34:56.789123", false)).toBe(45296789123n);
    expect(timeMicros("01:00:00+02", true)).toBe(23n * 3_600_000_000n);
    expect(timeMicros("23:30:00-01:30", true)).toBe(3_600_000_000n);
    expect(timeMicros("10:00:00+02", false)).toBe(36_000_000_000n);
  });

  it("decimals are the unscaled integer; extra scale is cut like COPY without ROUNDEC", () => {
    expect(decimalUnscaled("1.239", 2)).toBe(123n);
    expect(decimalUnscaled("-1.239", 2)).toBe(-123n);
    expect(decimalUnscaled("5", 3)).toBe(5000n);
    expect(decimalUnscaled("0.000001", 9)).toBe(1000n);
    expect(decimalUnscaled("98765432109876543210.123456789", 9)).toBe(98765432109876543210123456789n);
    expect(decimalUnscaled("-0.5", 0)).toBe(-0n);
  });

  it("each column type maps to the Parquet type Redshift binds to it", () => {
    const f = (t: ColumnType) => {
      const x = parquetField("c", t);
      return [x.type, x.converted_type ?? null, x.logical_type?.type ?? null];
    };
    expect(f({ kind: "varchar", length: 10 })).toEqual(["BYTE_ARRAY", "UTF8", null]);
    expect(f({ kind: "smallint" })).toEqual(["INT32", null, null]);
    expect(f({ kind: "integer" })).toEqual(["INT32", null, null]);
    expect(f({ kind: "bigint" })).toEqual(["INT64", null, null]);
    expect(f({ kind: "real" })).toEqual(["FLOAT", null, null]);
    expect(f({ kind: "double" })).toEqual(["DOUBLE", null, null]);
    expect(f({ kind: "boolean" })).toEqual(["BOOLEAN", null, null]);
    expect(f({ kind: "numeric", precision: 9, scale: 2 })).toEqual(["INT32", "DECIMAL", "DECIMAL"]);
    expect(f({ kind: "numeric", precision: 18, scale: 2 })).toEqual(["INT64", "DECIMAL", "DECIMAL"]);
    expect(f({ kind: "numeric", precision: 38, scale: 9 })).toEqual(["FIXED_LEN_BYTE_ARRAY", "DECIMAL", "DECIMAL"]);
    expect(parquetField("c", { kind: "numeric", precision: 38, scale: 9 }).type_length).toBe(16);
    expect(f({ kind: "date" })).toEqual(["INT32", "DATE", null]);
    expect(f({ kind: "timestamptz" })).toEqual(["INT64", "TIMESTAMP_MICROS", "TIMESTAMP"]);
    expect(f({ kind: "timestamp" })).toEqual(["INT64", "TIMESTAMP_MICROS", "TIMESTAMP"]);
    expect(f({ kind: "time" })).toEqual(["INT64", "TIME_MICROS", "TIME"]);
    expect(f({ kind: "super" })).toEqual(["BYTE_ARRAY", null, "JSON"]);
  });
});

describe("valueEncoderFor: the CSV encoder's decisions, unquoted", () => {
  const both = (t: ColumnType, v: unknown) => {
    const a = new RowChanges();
    const b = new RowChanges();
    const csv = encoderFor("f", t, DEFAULT_POLICY, { maxBytes: 0 })(v, a);
    const raw = valueEncoderFor("f", t, DEFAULT_POLICY, { maxBytes: 0 })(v, b);
    return { csv, raw, same: JSON.stringify(a.list) === JSON.stringify(b.list), changes: b.list };
  };

  it("NULL is null (not the CSV marker); the empty string stays empty", () => {
    expect(both({ kind: "varchar" }, null)).toMatchObject({ csv: "\\N", raw: null });
    expect(both({ kind: "varchar" }, "")).toMatchObject({ csv: '""', raw: "" });
    expect(both({ kind: "varchar" }, 'a"b')).toMatchObject({ csv: '"a""b"', raw: 'a"b' });
  });

  it("invalid values are NULLed and recorded the same way", () => {
    for (const [t, v] of [
      [{ kind: "double" }, "NaN"],
      [{ kind: "bigint" }, 1.5],
      [{ kind: "timestamptz" }, "not a date"],
      [{ kind: "date" }, "2024-02-30"],
      [{ kind: "boolean" }, "yes"],
    ] as [ColumnType, unknown][]) {
      const r = both(t, v);
      expect(r.raw).toBeNull();
      expect(r.csv).toBe("\\N");
      expect(r.same).toBe(true);
      expect(r.changes).toEqual([{ field: "f", change: "NULLED", reason: "DESTINATION_SERIALIZATION_ERROR" }]);
    }
  });

  it("oversized strings are truncated and the width tracker sees the same bytes", () => {
    const w = { maxBytes: 0 };
    const changes = new RowChanges();
    const out = valueEncoderFor("f", { kind: "varchar" }, DEFAULT_POLICY, w)("é".repeat(40_000), changes);
    expect(Buffer.byteLength(out!, "utf8")).toBe(65534);
    expect(w.maxBytes).toBe(65534);
    expect(changes.list).toEqual([{ field: "f", change: "TRUNCATED", reason: "DESTINATION_FIELD_SIZE_LIMITATION" }]);
  });

  it("normalised text converts to the Parquet value", () => {
    const conv = (t: ColumnType, v: unknown) => parquetConverter(t)(valueEncoderFor("f", t, DEFAULT_POLICY, { maxBytes: 0 })(v, new RowChanges())!);
    expect(conv({ kind: "bigint" }, "9223372036854775807")).toBe(9223372036854775807n);
    expect(conv({ kind: "integer" }, 42)).toBe(42);
    expect(conv({ kind: "boolean" }, "false")).toBe(false);
    expect(conv({ kind: "timestamptz" }, "2024-01-02T05:04:05.1234567+02:00")).toBe(BigInt(Date.UTC(2024, 0, 2, 3, 4, 5)) * 1000n + 123456n);
    expect(conv({ kind: "numeric", precision: 10, scale: 2 }, 12.34)).toBe(1234n);
    expect(conv({ kind: "numeric", precision: 10, scale: 4 }, "-12.3")).toBe(-123000n);
    // A NUMERIC(38,10) of 19 significant digits, as the exact parse gives it: every digit in the unscaled value.
    expect(conv({ kind: "numeric", precision: 38, scale: 10 }, new JsonNumber("123456789.0123456789"))).toBe(1234567890123456789n);
    expect(conv({ kind: "bigint" }, new JsonNumber("-9223372036854775808"))).toBe(-9223372036854775808n);
    expect(Buffer.from(conv({ kind: "super" }, { n: new JsonNumber("12345678901234567890") }) as Uint8Array).toString()).toBe('{"n":12345678901234567890}');
    expect(Buffer.from(conv({ kind: "super" }, { a: "\u0000x" }) as Uint8Array).toString()).toBe('{"a":"x"}');
  });

  it("a DOUBLE PRECISION's text read without a string is the double Number() reads, bit for bit", () => {
    const read = (t: string) => {
      const b = Buffer.from(`,${t},`);
      const v = plainDecimal(b, 1, b.length - 1);
      return Number.isNaN(v) ? Number(t) : v;
    };
    // Clinger's fast path holds up to 15 digits; the 16-digit and exponent forms go to Number().
    const fixed = ["0", "-0", "0.0", "-0.000", "1234.56", "0.1", "0.30000000000000004", "999999999999999", "99999999999999.9",
      "0.000000000000001", "123456789012345", "1234567890123456", "9007199254740993", "4.35", "-7264.82", "1e21", "1.5e-7",
      "5e-324", "1.7976931348623157e308", "NaN", "Infinity", "-Infinity", "00012.5", ".5", "5.", "1.2.3", "1-2", "+1"];
    // Random decimals of 1 to 17 digits, point anywhere, either sign, with leading and trailing zeros.
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const random = Array.from({ length: 20_000 }, () => {
      const digits = Array.from({ length: 1 + rand(17) }, () => String(rand(10))).join("");
      const point = rand(digits.length + 1);
      const body = point === 0 || point === digits.length ? digits : `${digits.slice(0, point)}.${digits.slice(point)}`;
      return rand(2) ? `-${body}` : body;
    });
    for (const t of [...fixed, ...random]) expect(Object.is(read(t), Number(t)), t).toBe(true);
    // The fast path takes what it can take, and declines the rest.
    expect(plainDecimal(Buffer.from("-0"), 0, 2)).toBe(-0);
    expect(plainDecimal(Buffer.from("99999999999999.9"), 0, 16)).toBe(99999999999999.9);
    for (const t of ["1234567890123456", "1e21", "NaN", ".5", "5.", "", "-", "1.2.3", "+1"]) expect(plainDecimal(Buffer.from(t), 0, t.length), t).toBeNaN();
  });
});

/** One column of each type the Parquet writers map (parquetField), NUMERIC in each of its physical types. */
const EVERY_TYPE: readonly ColumnType[] = [
  { kind: "bigint" },
  { kind: "integer" },
  { kind: "smallint" },
  { kind: "real" },
  { kind: "double" },
  { kind: "boolean" },
  { kind: "varchar" },
  { kind: "super" },
  { kind: "date" },
  { kind: "timestamptz" },
  { kind: "timestamp" },
  { kind: "time" },
  { kind: "timetz" },
  { kind: "numeric", precision: 9, scale: 2 },
  { kind: "numeric", precision: 18, scale: 4 },
  { kind: "numeric", precision: 38, scale: 10 },
];

describe("ParquetPartWriter", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  const cols = (types: [string, ColumnType][]) => types.map(([n, t]) => ({ field: parquetField(n, t), convert: parquetConverter(t) }));

  it("writes row groups round-robin into parts, exactly the given columns in order, nulls as Parquet nulls", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pqw-"));
    dirs.push(dir);
    const w = new ParquetPartWriter(dir, 2, cols([["id", { kind: "bigint" }], ["s", { kind: "varchar" }], ["j", { kind: "super" }], ["d", { kind: "date" }]]), 10);
    for (let i = 0; i < 25; i++) w.write([String(i), i % 5 === 0 ? null : i % 7 === 0 ? "" : `v${i}`, i % 2 ? `{"i":${i}}` : null, "2024-01-01"]);
    expect(w.rows).toBe(25);
    const parts = await w.finish();
    expect(parts.map((p) => [p.path.endsWith(".parquet"), p.rows])).toEqual([
      [true, 15],
      [true, 10],
    ]);
    const all: Record<string, unknown>[] = [];
    for (const p of parts) {
      const buf = readFileSync(p.path);
      expect(p.bytes).toBe(buf.length);
      const ab = arrayBuffer(buf);
      const meta = parquetMetadata(ab);
      expect(meta.schema.slice(1).map((s) => s.name)).toEqual(["id", "s", "j", "d"]);
      expect(meta.schema[3]!.logical_type).toEqual({ type: "JSON" });
      expect(meta.row_groups.every((g) => Number(g.num_rows) <= 10)).toBe(true);
      all.push(...(await parquetReadObjects({ file: ab, compressors })));
    }
    all.sort((a, b) => Number(a.id) - Number(b.id));
    expect(all).toHaveLength(25);
    expect(all[0]).toMatchObject({ id: 0n, s: null, j: null });
    expect(all[7]).toMatchObject({ id: 7n, s: "", j: '{"i":7}' }); // JSON text, annotated JSON
    expect(all[8]).toMatchObject({ id: 8n, s: "v8", j: null });
    expect((all[8]!.d as Date).toISOString()).toBe("2024-01-01T00:00:00.000Z");
    await w.discard();
  });

  it("a row with the wrong number of values is refused (COPY binds by position)", () => {
    const dir = mkdtempSync(join(tmpdir(), "pqw-"));
    dirs.push(dir);
    const w = new ParquetPartWriter(dir, 1, cols([["a", { kind: "bigint" }]]));
    expect(() => w.write(["1", "2"])).toThrow(/2 values for 1 columns/);
  });

  /** Every row of the parts, read back with hyparquet, sorted by `id`. */
  async function readParts(parts: { path: string; bytes: number }[]): Promise<Record<string, unknown>[]> {
    const all: Record<string, unknown>[] = [];
    for (const p of parts) {
      const buf = readFileSync(p.path);
      expect(p.bytes).toBe(buf.length);
      all.push(...(await parquetReadObjects({ file: arrayBuffer(buf), compressors })));
    }
    return all.sort((a, b) => Number(a.id) - Number(b.id));
  }

  /**
   * Every row of the parts as the physical values in the file (logical and converted types dropped, so
   * hyparquet turns no DECIMAL into a float and no TIMESTAMP into a Date), in file order.
   */
  async function readRaw(parts: { path: string }[]): Promise<unknown[][]> {
    const rows: unknown[][] = [];
    for (const p of parts) {
      const file = arrayBuffer(readFileSync(p.path));
      const metadata = parquetMetadata(file);
      for (const el of metadata.schema.slice(1)) {
        el.logical_type = undefined;
        el.converted_type = undefined;
      }
      await parquetRead({ file, metadata, compressors, rowFormat: "array", utf8: false, onComplete: (r: unknown[][]) => rows.push(...r) });
    }
    return rows.map((r) => r.map((v) => (v instanceof Uint8Array ? `bytes:${Buffer.from(v).toString("hex")}` : v)));
  }

  /** A CSV field as the encoders write it: NULL marker, quoted text (quotes doubled) or bare. */
  const csvField = (t: ColumnType, v: string | null) =>
    v === null ? "\\N" : t.kind === "varchar" || t.kind === "char" || t.kind === "super" ? `"${v.replaceAll('"', '""')}"` : v;
  const csvRows = (types: ColumnType[], rows: (string | null)[][]) => Buffer.from(rows.map((r) => r.map((v, k) => csvField(types[k]!, v)).join(",") + "\n").join(""));

  it("row groups encoded elsewhere (encode workers) land beside gathered rows, read back the same", async () => {
    const types: [string, ColumnType][] = [
      ["id", { kind: "bigint" }],
      ["s", { kind: "varchar" }],
      ["j", { kind: "super" }],
      ["q", { kind: "numeric", precision: 38, scale: 4 }],
      ["ts", { kind: "timestamptz" }],
    ];
    const row = (i: number): (string | null)[] => [String(i), i % 4 === 0 ? null : `v${i} "é"`, i % 3 ? `{"i":${i}}` : null, `${i}.5`, "2024-01-01 00:00:00.25+00"];
    const gathered = new ParquetPartWriter(mkdtempSync(join(tmpdir(), "pqw-")), 3, cols(types), 4);
    const spliced = new ParquetPartWriter(mkdtempSync(join(tmpdir(), "pqw-")), 3, cols(types), 4);
    dirs.push((gathered as unknown as { dir: string }).dir, (spliced as unknown as { dir: string }).dir);
    for (let i = 0; i < 10; i++) gathered.write(row(i));
    // The same rows: some gathered here, some encoded as groups of 3 and 1 rows, in between.
    spliced.write(row(0));
    spliced.write(row(1));
    const encoder = new ParquetRowGroupEncoder(cols(types));
    for (const ids of [[2, 3, 4], [5], [6, 7, 8]]) {
      const text = csvRows(types.map(([, t]) => t), ids.map(row));
      spliced.writeRowGroup(encoder.encode(text, text.length, ids.length), 100);
    }
    spliced.write(row(9));
    expect(spliced.rows).toBe(10);
    const a = await readParts(await gathered.finish());
    const b = await readParts(await spliced.finish());
    expect(b).toHaveLength(10);
    expect(b).toEqual(a);
    expect(b[5]).toMatchObject({ id: 5n, s: 'v5 "é"', j: '{"i":5}' });
  });

  it("a row group with other columns is refused", () => {
    const w = new ParquetPartWriter(mkdtempSync(join(tmpdir(), "pqw-")), 1, cols([["a", { kind: "bigint" }]]));
    dirs.push((w as unknown as { dir: string }).dir);
    const two = cols([["a", { kind: "bigint" }], ["b", { kind: "bigint" }]]);
    expect(() => w.writeRowGroup(new ParquetRowGroupEncoder(two).encode(Buffer.from("1,2\n"), 4, 1), 10)).toThrow(/2 columns for 1/);
  });

  /**
   * Every column type, values at the edges of each fast path (the digit reader, the timestamp reader, the
   * definition levels' runs and bit-packed groups): the encode workers' row groups must hold exactly the
   * physical values of the main thread's path (hyparquet-writer from the converters).
   */
  it("every type: a worker's row group holds the physical values the main thread's path writes", async () => {
    const types: ColumnType[] = [...EVERY_TYPE, { kind: "varchar" } /* NULL in every row */];
    const values: (string | null)[][] = [
      ["0", "-1", "9223372036854775807", "-9223372036854775808", "999999999999999", "1000000000000000", "-999999999999999", "9007199254740993", "42"],
      ["0", "2147483647", "-2147483648", "-7", "123"],
      ["0", "32767", "-32768", "5"],
      ["0", "3.4028235e38", "1.17549435e-38", "-0", "0.1", "16777217", "1.401298464324817e-45"],
      ["0", "1.7976931348623157e308", "5e-324", "-0", "0.1", "1234.56", "-9.87e-10"],
      ["true", "false"],
      ["", 'a "quoted" value', "comma, and\nnewline\r\n", "\\N", '""', "é 東京 😀", "x".repeat(300)],
      ['{"a":1}', "[]", '{"s":"q \\" x"}', "12345678901234567890", '"text"', "null"],
      ["1970-01-01", "0001-01-01", "9999-12-31", "2024-02-29", "1969-12-31", "12345-01-01", "275760-09-14", "294276-12-31"],
      [
        "2024-01-02 03:04:05.123456+00",
        "2024-01-02 03:04:05+00",
        "2024-01-02 03:04:05",
        "2024-01-02 03:04:05.5",
        "2024-01-02 03:04:05.12",
        "1969-12-31 23:59:59.999999+00",
        "0001-01-01 00:00:00+00",
        "9999-12-31 23:59:59.999999+00",
        "1685-01-01 00:00:00+00",
        "1684-12-31 23:59:59.999999+00",
        "2254-12-31 23:59:59.999999+00",
        "2255-06-01 00:00:00+00",
        "2400-01-01 00:00:00.000001+00",
        "290000-06-15 12:00:00.5+00",
        "294247-01-10 04:00:54.775807+00",
        "1970-01-01 00:00:00.000001+00",
        "2000-02-29 12:00:00+00",
        "1900-03-01 00:00:00+00",
      ],
      ["2024-06-30 23:59:59.999999", "1970-01-01 00:00:00", "0100-02-28 00:00:00.1"],
      ["00:00:00", "23:59:59.999999", "12:34:56.7"],
      ["01:00:00+02", "23:30:00-01:30", "00:00:00+00", "12:00:00.5+05:45"],
      ["0.00", "-1234567.89", "9999999.99", "0.01"],
      ["0.0000", "-99999999999999.9999", "12345678901234.5678", "0.0001"],
      ["0.0000000000", "-9999999999999999999999999999.9999999999", "1234567890.0123456789", "-0.0000000001"],
      [],
    ];
    // 150 rows: each column cycles through its values, with NULLs in runs and alone (RLE runs of 7, 8, 9
    // and more, bit-packed groups across them, an all-NULL column and a never-NULL one).
    const nullPattern = (c: number, r: number) =>
      c % 4 === 1 ? Math.floor(r / values[c]!.length) % 3 === 0 : c % 4 === 2 ? r % 20 < (c % 5) + 7 : c % 4 === 3 ? (r * 7 + c) % 11 < 2 : r > 140;
    const rows: (string | null)[][] = [];
    for (let r = 0; r < 150; r++) rows.push(types.map((_, c) => (values[c]!.length === 0 || (c !== 0 && c !== 6 && nullPattern(c, r)) ? null : values[c]![r % values[c]!.length]!)));
    // Every value of every column lands non-NULL somewhere (or the pattern hid it).
    values.forEach((vs, c) => vs.forEach((v) => expect(rows.some((row) => row[c] === v), `column ${c}: ${v}`).toBe(true)));
    const named = types.map((t, k) => [`c${k}`, t] as [string, ColumnType]);
    const gathered = new ParquetPartWriter(mkdtempSync(join(tmpdir(), "pqw-")), 1, cols(named));
    const spliced = new ParquetPartWriter(mkdtempSync(join(tmpdir(), "pqw-")), 1, cols(named));
    dirs.push((gathered as unknown as { dir: string }).dir, (spliced as unknown as { dir: string }).dir);
    for (const row of rows) gathered.write(row);
    const encoder = new ParquetRowGroupEncoder(cols(named));
    // Two row groups through one encoder (its buffers are reused), the first ending mid-pattern. File order
    // is row order in both files (one part each).
    for (const [from, to] of [[0, 67], [67, 150]]) {
      const text = csvRows(types, rows.slice(from, to));
      spliced.writeRowGroup(encoder.encode(text, text.length, to - from), text.length);
    }
    const want = await readRaw(await gathered.finish());
    const got = await readRaw(await spliced.finish());
    expect(got).toHaveLength(150);
    expect(got).toEqual(want);
    // Spot checks of what both hold, against the converters' own values.
    expect(got[2]![0]).toBe(9223372036854775807n);
    expect(got[3]![0]).toBe(-9223372036854775808n);
    expect(got[7]![0]).toBe(9007199254740993n); // past 2^53: not through a double
    expect(got[5]![0]).toBe(1000000000000000n);
    expect(got[rows.findIndex((r) => r[9] === "0001-01-01 00:00:00+00")]![9]).toBe(-62135596800000000n);
    expect(got[rows.findIndex((r) => r[9] === "2255-06-01 00:00:00+00")]![9]).toBe(timestampMicros("2255-06-01 00:00:00+00"));
    expect(got[rows.findIndex((r) => r[6] === "\\N")]![6]).toBe(`bytes:${Buffer.from("\\N").toString("hex")}`); // the string, not NULL
    expect(got.filter((r) => r[5] === null)).toHaveLength(rows.filter((r) => r[5] === null).length);
  });

  it("a part of workers' row groups gets the footer hyparquet-writer writes for rowGroupOf's row groups, byte for byte (every logical type, lists past 14, counts past 2^32)", () => {
    const named = EVERY_TYPE.map((t, k): [string, ColumnType] => [`c${k} é`, t]);
    const columns = cols(named);
    const fields = columns.map((c) => c.field);
    const row = ["1", "2", "3", "1.5", "2.5", "true", '"a, ""b"""', '"{""k"":1}"', "2024-01-01", "2024-01-02 03:04:05+00", "2024-01-02 03:04:05", "01:02:03", "01:02:03+00", "1.25", "2.5", "3.75"].join(",");
    const encoder = new ParquetRowGroupEncoder(columns);
    const groups: PlacedRowGroup[] = [];
    let offset = 4;
    for (let g = 0; g < 20; g++) {
      const rows = 1 + g * 3;
      const text = Buffer.from(Array.from({ length: rows }, (_, r) => (r % 4 === 3 ? named.map(() => "\\N").join(",") : row) + "\n").join(""));
      // structuredClone: as a worker's message arrives
      const group = structuredClone(encoder.encode(text, text.length, rows));
      const sizes = [...group.chunks].filter((_, i) => i % 2 === 0);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(group.bytes.length); // the chunks are back to back
      groups.push({ offset, rows, chunks: group.chunks });
      offset += group.bytes.length;
    }
    // i64 varints of 5 and more bytes: a row count and offsets past 2^32
    groups[7] = { ...groups[7]!, rows: 2 ** 33 + 3 };
    groups[19] = { ...groups[19]!, offset: 2 ** 41 + 5 };
    const hyparquet = new ByteWriter();
    const writer = new ParquetWriter({ writer: hyparquet, schema: [{ name: "root", num_children: named.length }, ...fields] as never, statistics: false, createdBy: "target-redshift", codec: "GZIP" });
    writer.row_groups.push(...groups.map((g) => rowGroupOf(g, fields)));
    writer.num_rows = groups.reduce((n, g) => n + BigInt(g.rows), 0n);
    writer.finish();
    const theirs = Buffer.from(hyparquet.getBytes()).subarray(4, hyparquet.index - 4); // between the two PAR1
    const ours = workerPartFooter(fields, groups);
    expect(ours.toString("hex")).toBe(theirs.toString("hex"));
  });

  it("the workers' footer refuses a row group without a size for every column, and a size past 2^52 or not whole (never a wrong footer)", () => {
    const fields = cols([["a", { kind: "bigint" }]]).map((c) => c.field);
    expect(() => workerPartFooter(fields, [{ offset: 4, rows: 1, chunks: new Float64Array(4) }])).toThrow("a row group with 2 column chunks for 1 columns");
    expect(() => workerPartFooter(fields, [{ offset: 2 ** 53, rows: 1, chunks: Float64Array.of(10, 10) }])).toThrow("i64 field 2 holds 9007199254740992, not a whole number within ±2^52");
    expect(() => workerPartFooter(fields, [{ offset: 4, rows: 1, chunks: Float64Array.of(10.5, 10) }])).toThrow(/i64 field 7 holds 10.5/);
  });

  it("encoders of two streams take turns (one scratch per thread): each row group holds its own rows", async () => {
    const aTypes: [string, ColumnType][] = [["id", { kind: "bigint" }], ["s", { kind: "varchar" }]];
    const bTypes: [string, ColumnType][] = [["id", { kind: "bigint" }], ["d", { kind: "double" }], ["j", { kind: "super" }], ["t", { kind: "varchar" }]];
    const a = new ParquetRowGroupEncoder(cols(aTypes));
    const b = new ParquetRowGroupEncoder(cols(bTypes));
    const aw = new ParquetPartWriter(mkdtempSync(join(tmpdir(), "pqw-")), 1, cols(aTypes));
    const bw = new ParquetPartWriter(mkdtempSync(join(tmpdir(), "pqw-")), 1, cols(bTypes));
    dirs.push((aw as unknown as { dir: string }).dir, (bw as unknown as { dir: string }).dir);
    const aRow = (i: number) => [String(i), `a${i}`.repeat(i % 50)];
    const bRow = (i: number) => [String(i), `${i}.25`, `{"i":${i},"pad":"${"x".repeat(i)}"}`, i % 3 ? `b${i}` : null];
    for (let turn = 0; turn < 3; turn++) {
      // Spans of different sizes, so one encoder's larger buffers are the other's next time.
      const aIds = Array.from({ length: 40 + turn * 200 }, (_, k) => turn * 1000 + k);
      const bIds = Array.from({ length: 300 - turn * 120 }, (_, k) => turn * 1000 + k);
      const aText = csvRows(aTypes.map(([, t]) => t), aIds.map(aRow));
      const aGroup = a.encode(aText, aText.length, aIds.length);
      const aCopy = { ...aGroup, bytes: Uint8Array.from(aGroup.bytes) };
      const bText = csvRows(bTypes.map(([, t]) => t), bIds.map(bRow));
      bw.writeRowGroup(b.encode(bText, bText.length, bIds.length), bText.length);
      aw.writeRowGroup(aCopy, aText.length);
    }
    const aGot = await readParts(await aw.finish());
    const bGot = await readParts(await bw.finish());
    expect(aGot).toHaveLength(40 + 240 + 440);
    expect(bGot).toHaveLength(300 + 180 + 60);
    expect(aGot.find((r) => r.id === 2017n)).toEqual({ id: 2017n, s: aRow(2017)[1] });
    expect(bGot.find((r) => r.id === 1050n)).toEqual({ id: 1050n, d: 1050.25, j: bRow(1050)[2], t: null });
    expect(bGot.find((r) => r.id === 2059n)).toEqual({ id: 2059n, d: 2059.25, j: bRow(2059)[2], t: "b2059" });
  });

  it("quoted fields of every length around the short-field scan's 64 bytes, with a doubled quote anywhere, read back as written", async () => {
    const types: [string, ColumnType][] = [["id", { kind: "bigint" }], ["s", { kind: "varchar" }], ["j", { kind: "super" }]];
    const rows: string[][] = [];
    for (let len = 0; len <= 140; len++) {
      for (const quoteAt of [-1, 0, len - 1, 62, 63, 64, 65, 127, 128]) {
        if (quoteAt >= len) continue;
        const chars = "abcdefghij".repeat(15).slice(0, len).split("");
        if (quoteAt >= 0) chars[quoteAt] = '"';
        rows.push([String(rows.length), chars.join(""), JSON.stringify(chars.join(""))]);
      }
    }
    const encoder = new ParquetRowGroupEncoder(cols(types));
    const w = new ParquetPartWriter(mkdtempSync(join(tmpdir(), "pqw-")), 1, cols(types));
    dirs.push((w as unknown as { dir: string }).dir);
    const text = csvRows(types.map(([, t]) => t), rows);
    // Past `length` the buffer holds another unit's bytes (quotes among them): never read as this row group's.
    const buffer = Buffer.concat([text, Buffer.from('"a""b"\n"')]);
    w.writeRowGroup(encoder.encode(buffer, text.length, rows.length), text.length);
    const got = await readParts(await w.finish());
    expect(got).toEqual(rows.map(([id, s, j]) => ({ id: BigInt(id!), s, j })));
    // A last field cut at `length` with quotes right after it is unterminated, not closed by them.
    const cut = Buffer.from('1,"x","y"\n');
    expect(() => encoder.encode(cut, cut.length - 3, 1)).toThrow(/unterminated/);
  });

  it("a row group's CSV must hold the columns' fields: fewer, more or an unterminated quote is an error", () => {
    const encoder = new ParquetRowGroupEncoder(cols([["a", { kind: "bigint" }], ["b", { kind: "varchar" }]]));
    const text = Buffer.from('1,"x"\n2,"y"\n');
    expect(encoder.encode(text, text.length, 2).rows).toBe(2);
    expect(() => encoder.encode(text, text.length - 1, 2)).toThrow(/fields|unterminated/);
    expect(() => encoder.encode(Buffer.from("1\n"), 2, 1)).toThrow(/does not have 2 fields/);
    expect(() => encoder.encode(Buffer.from('1,"x",3\n'), 8, 1)).toThrow(/does not have 2 fields/);
    expect(() => encoder.encode(Buffer.from('1,"x\n'), 5, 1)).toThrow(/unterminated/);
  });

  it("a value no Parquet type holds fails naming its column, on both paths (never a wrapped or zero value)", () => {
    const columns = cols([["id", { kind: "bigint" }], ["ts", { kind: "timestamptz" }]]);
    const text = Buffer.from("1,294276-12-31 00:00:00+00\n");
    expect(() => new ParquetRowGroupEncoder(columns).encode(text, text.length, 1)).toThrow(/column "ts": parquet: 294276-12-31 00:00:00\+00 is past what a Parquet TIMESTAMP holds/);
    const w = new ParquetPartWriter(mkdtempSync(join(tmpdir(), "pqw-")), 1, columns);
    dirs.push((w as unknown as { dir: string }).dir);
    expect(() => w.write(["1", "294276-12-31 00:00:00+00"])).toThrow(/column "ts": parquet: .* past what a Parquet TIMESTAMP holds/);
    const dates = Buffer.from("x\n");
    expect(() => new ParquetRowGroupEncoder(cols([["d", { kind: "date" }]])).encode(dates, dates.length, 1)).toThrow(/column "d": parquet: "x" is not a date/);
  });

  it("pages are GZIP-compressed v1 data pages, PLAIN values, no dictionary", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pqw-"));
    dirs.push(dir);
    const columns = cols([["id", { kind: "bigint" }], ["s", { kind: "varchar" }]]);
    const w = new ParquetPartWriter(dir, 1, columns);
    const text = Buffer.from(Array.from({ length: 100 }, (_, i) => `${i},"same text"\n`).join(""));
    w.writeRowGroup(new ParquetRowGroupEncoder(columns).encode(text, text.length, 100), text.length);
    w.write(["100", "same text"]);
    const [part] = await w.finish();
    const meta = parquetMetadata(arrayBuffer(readFileSync(part!.path)));
    for (const g of meta.row_groups) for (const c of g.columns) expect(c.meta_data!.codec).toBe("GZIP");
    expect(meta.row_groups[0]!.columns.map((c) => c.meta_data!.encodings)).toEqual([["PLAIN", "RLE"], ["PLAIN", "RLE"]]);
    expect(meta.row_groups[0]!.columns.every((c) => c.meta_data!.dictionary_page_offset === undefined)).toBe(true);
  });

  it("a part's file holds every byte in order: small writes buffered, large appends written as they are, across buffer fills", () => {
    const dir = mkdtempSync(join(tmpdir(), "pqw-"));
    dirs.push(dir);
    const path = join(dir, "p.parquet");
    const f = new PartFile(path);
    const expected: Buffer[] = [];
    let seed = 5;
    const byte = () => (seed = (seed * 1103515245 + 12345) & 0xff);
    // Sizes around the direct-append threshold (64 KiB) and past the buffer, between runs of single bytes
    // and 32-bit words that fill the buffer to its edge.
    for (const size of [1, 65535, 65536, 300_000, 10, PART_BUFFER_BYTES - 3, PART_BUFFER_BYTES + 1, 0, 70_000]) {
      const bytes = Uint8Array.from({ length: size }, byte);
      f.appendBytes(bytes);
      expected.push(Buffer.from(bytes));
      const singles = Buffer.alloc(50_001);
      for (let k = 0; k < singles.length; k++) f.appendUint8((singles[k] = byte()));
      expected.push(singles, Buffer.from("PAR1"));
      f.appendUint32(0x31524150);
    }
    const all = Buffer.concat(expected);
    expect(f.offset).toBe(all.length);
    f.finish();
    const written = readFileSync(path);
    expect(written.length).toBe(all.length);
    expect(written.equals(all)).toBe(true);
    f.close(); // idempotent
    expect(() => f.appendBytes(new Uint8Array(PART_BUFFER_BYTES))).toThrow(`parquet part ${path}: written after it was closed`);
  });

  it("a part file that cannot be opened fails naming it", () => {
    const path = join(tmpdir(), "no-such-dir-pqw", "p.parquet");
    expect(() => new PartFile(path)).toThrow(path);
  });

  it("open parts hold no file descriptor between writes (a part per slice per open batch: hundreds of streams would run out); discard removes them", async () => {
    const fds = () => readdirSync("/proc/self/fd").length;
    const before = fds();
    const writers = [];
    for (let s = 0; s < 20; s++) {
      const dir = mkdtempSync(join(tmpdir(), "pqw-"));
      dirs.push(dir);
      const w = new ParquetPartWriter(dir, 16, cols([["id", { kind: "bigint" }]]), 2);
      for (let i = 0; i < 40; i++) w.write([String(i)]);
      writers.push([w, dir] as const);
    }
    expect(fds()).toBe(before);
    for (const [w, dir] of writers) {
      await w.discard();
      expect(existsSync(dir)).toBe(false);
    }
  });

  it("an empty batch has no parts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pqw-"));
    dirs.push(dir);
    const w = new ParquetPartWriter(dir, 4, cols([["a", { kind: "bigint" }]]));
    expect(await w.finish()).toEqual([]);
  });
});
