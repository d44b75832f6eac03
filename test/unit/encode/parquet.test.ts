import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { afterEach, describe, expect, it } from "vitest";
import type { ColumnType } from "../../../src/redshift/types.js";
import { JsonNumber } from "../../../src/input/json.js";
import { ParquetPartWriter, encodeRowGroup } from "../../../src/stage/parquet-part-writer.js";
import { DEFAULT_POLICY, RowChanges, encoderFor, valueEncoderFor } from "../../../src/encode/encode.js";
import {
  type ParquetValue,
  csvRowsToParquet,
  dateDays,
  decimalUnscaled,
  parquetConverter,
  parquetField,
  timeMicros,
  timestampMicros,
} from "../../../src/encode/parquet-values.js";

describe("Parquet values from the encoders' normalised text", () => {
  it("dates are days since 1970-01-01, including years before 100 and after 9999", () => {
    expect(dateDays("1970-01-01")).toBe(0);
    expect(dateDays("1970-01-02")).toBe(1);
    expect(dateDays("1969-12-31")).toBe(-1);
    expect(dateDays("2024-02-29")).toBe(Date.UTC(2024, 1, 29) / 86_400_000);
    expect(dateDays("0001-01-01")).toBe(-719162);
    expect(dateDays("0099-03-01")).toBe(new Date("0099-03-01T00:00:00Z").getTime() / 86_400_000);
    expect(dateDays("12345-01-01")).toBe(Math.round((new Date("+012345-01-01T00:00:00Z").getTime()) / 86_400_000));
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
});

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
      const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
      const meta = parquetMetadata(ab);
      expect(meta.schema.slice(1).map((s) => s.name)).toEqual(["id", "s", "j", "d"]);
      expect(meta.schema[3]!.logical_type).toEqual({ type: "JSON" });
      expect(meta.row_groups.every((g) => Number(g.num_rows) <= 10)).toBe(true);
      all.push(...(await parquetReadObjects({ file: ab })));
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
      all.push(...(await parquetReadObjects({ file: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer })));
    }
    return all.sort((a, b) => Number(a.id) - Number(b.id));
  }

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
    for (const ids of [[2, 3, 4], [5], [6, 7, 8]]) {
      const data = cols(types).map((c, k) => ids.map((i) => (row(i)[k] === null ? null : c.convert(row(i)[k]!))));
      spliced.writeRowGroup(encodeRowGroup(cols(types), data, ids.length), 100);
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
    expect(() => w.writeRowGroup(encodeRowGroup(two, [[1n], [2n]], 1), 10)).toThrow(/2 columns for 1/);
  });

  it("CSV rows as the encoders write them come back as the values the Parquet path keeps", () => {
    const types: ColumnType[] = [{ kind: "varchar" }, { kind: "bigint" }, { kind: "boolean" }, { kind: "super" }, { kind: "timestamptz" }];
    const records: unknown[][] = [
      ['quote " comma , newline \n\r tab \t é 東京 😀', 1, true, { a: 'x " y', b: [1, null], c: "\n" }, "2024-01-02T03:04:05.5+02:00"],
      ["", -9007199254740991, false, [], "0001-01-01T00:00:00Z"],
      [null, null, null, null, null],
      ["\\N", 0, "yes", "\\N", "not a date"],
      ['""', 42, null, {}, null],
    ];
    const columns = cols(types.map((t, k) => [`c${k}`, t] as [string, ColumnType]));
    let text = "";
    const want: ParquetValue[][] = types.map(() => []);
    for (const rec of records) {
      text += rec.map((v, k) => encoderFor(`c${k}`, types[k]!, DEFAULT_POLICY, { maxBytes: 0 })(v, new RowChanges())).join(",") + "\n";
      rec.forEach((v, k) => {
        const raw = valueEncoderFor(`c${k}`, types[k]!, DEFAULT_POLICY, { maxBytes: 0 })(v, new RowChanges());
        want[k]!.push(raw === null ? null : columns[k]!.convert(raw));
      });
    }
    const buf = Buffer.from(text);
    // Text and SUPER come back as UTF-8 bytes (what the writer would make of the converter's string).
    const asText = (cols: ParquetValue[][]) => cols.map((col) => col.map((v) => (v instanceof Uint8Array ? `bytes:${Buffer.from(v).toString("utf8")}` : v)));
    const got = csvRowsToParquet(buf, buf.length, records.length, columns);
    expect(asText(got)).toEqual(asText(want.map((col, k) => (k === 0 ? col.map((v) => (typeof v === "string" ? Buffer.from(v) : v)) : col))));
    expect(got[0]![0]).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(got[0]![3] as Uint8Array).toString()).toBe("\\N"); // the string, not NULL
    expect(Buffer.from(got[0]![4] as Uint8Array).toString()).toBe('""');
    expect(Buffer.from(got[3]![0] as Uint8Array).toString()).toBe('{"a":"x \\" y","b":[1,null],"c":"\\n"}');
    expect(got[2]![3]).toBeNull(); // "yes" is no boolean: NULLed by the encoder, on both paths
    expect(() => csvRowsToParquet(buf, buf.length - 1, records.length, columns)).toThrow(/fields|unterminated/);
    expect(() => csvRowsToParquet(buf, buf.length, records.length, [...columns, columns[0]!])).toThrow(/fields/);
  });

  it("an empty batch has no parts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pqw-"));
    dirs.push(dir);
    const w = new ParquetPartWriter(dir, 4, cols([["a", { kind: "bigint" }]]));
    expect(await w.finish()).toEqual([]);
  });
});
