/**
 * `file_format: parquet` end to end on the stand-in: the same Singer input loaded once as gzip CSV and once
 * as Parquet must give the same tables, for every column type, NULL vs empty string, upserts, schema
 * changes, VARCHAR widening and nested objects into SUPER.
 */
import { describe, expect, it } from "vitest";
import { columns, configFor, record, rows, runSinger, schemaMsg, uniqueSchema, withPg } from "./helpers/target.js";
import { trackEncodePaths } from "./helpers/encode-paths.js";

const seen = trackEncodePaths();

const lines = (...msgs: unknown[]) => msgs.map((m) => JSON.stringify(m)).join("\n") + "\n";

/** Table contents as text (SUPER via its JSON text), so the two loads compare exactly. */
async function table(schema: string, name: string): Promise<Record<string, unknown>[]> {
  return withPg(async (c) => {
    const cols = Object.keys(await columns(schema, name));
    const list = cols.map((x) => `"${x}"::text AS "${x}"`).join(", ");
    return (await c.query(`SELECT ${list} FROM "${schema}"."${name}" ORDER BY 1`)).rows;
  });
}

/**
 * Loads `input` as CSV, as Parquet, and as Parquet on the line path (encode_workers 0: every value decided
 * and converted on the main thread); extra config for all. Both Parquet loads must give the same table;
 * returns the CSV and the Parquet table and column types.
 */
async function both(prefix: string, input: string, extra: Record<string, unknown> = {}, stream = "t") {
  const out: { rows: Record<string, unknown>[]; cols: Record<string, string>; stderr: string }[] = [];
  for (const [tag, more] of [
    ["csv", { file_format: "csv_gzip" }],
    ["pq", { file_format: "parquet" }],
    ["pqline", { file_format: "parquet", encode_workers: 0 }],
  ] as const) {
    const schema = uniqueSchema(`${prefix}_${tag}`);
    const r = await runSinger(configFor(schema, { ...extra, ...more }), input);
    expect(r.code, r.stderr.join("\n")).toBe(0);
    out.push({ rows: await table(schema, stream), cols: await columns(schema, stream), stderr: r.stderr.join("\n") });
  }
  expect(out[2]!.cols).toEqual(out[1]!.cols);
  expect(out[2]!.rows).toEqual(out[1]!.rows);
  return { csv: out[0]!, pq: out[1]! };
}

const everyType = {
  id: { type: "integer" },
  s: { type: ["null", "string"] },
  n: { type: ["null", "number"] },
  b: { type: ["null", "boolean"] },
  ts: { type: ["null", "string"], format: "date-time" },
  d: { type: ["null", "string"], format: "date" },
  o: { type: ["null", "object"] },
  a: { type: ["null", "array"] },
};

const everyTypeRecords = [
  { id: 1, s: "plain", n: 1.5, b: true, ts: "2024-01-02T03:04:05.123Z", d: "2024-02-29", o: { k: 1, nested: { x: [1, "two", null] } }, a: [1, 2, 3] },
  { id: 2, s: "", n: -0.25, b: false, ts: "2024-06-30T23:59:59+02:00", d: "1999-12-31", o: {}, a: [] },
  { id: 3, s: null, n: null, b: null, ts: null, d: null, o: null, a: null },
  { id: 4, s: 'quote " comma , newline \n tab \t é 東京 \\N', n: 1e300, b: true, ts: "0001-01-01T00:00:00Z", d: "0001-01-01", o: { s: "with \"quotes\" and \\ backslash" }, a: [{ x: true }] },
  { id: 5, s: "nan", n: "NaN", b: "yes", ts: "not a date", d: "2024-02-30", o: { deep: [[[]]] }, a: ["é"] },
  { id: -9007199254740991, s: "\u0000nul", n: 0, b: false, ts: "9999-12-31T23:59:59.999Z", d: "9999-12-31", o: { n: 12345678901234 }, a: [null] },
];

describe("Parquet staging loads what CSV loads", () => {
  it("every default column type round-trips with the same values as the CSV path (NULL vs empty string kept)", async () => {
    const input = lines(schemaMsg("t", everyType), ...everyTypeRecords.map((r) => record("t", r)));
    const { csv, pq } = await both("pqtypes", input);
    expect(pq.cols).toEqual(csv.cols);
    expect(pq.rows).toEqual(csv.rows);
    expect(pq.rows.length).toBe(6);
    const byId = new Map(pq.rows.map((r) => [r.id, r]));
    expect(byId.get("2")!.s).toBe("");
    expect(byId.get("3")!.s).toBeNull();
    expect(byId.get("1")!.o).toBe('{"k": 1, "nested": {"x": [1, "two", null]}}');
    // invalid values NULLed (and recorded) the same way in both formats
    expect(byId.get("5")!.n).toBeNull();
    expect(byId.get("5")!.ts).toBeNull();
  });

  it("NUMERIC, INTEGER, TIMESTAMP (without zone), SMALLINT/REAL through type_mapping", async () => {
    const props = { id: { type: "integer" }, q: { type: ["null", "number"] }, ts: { type: ["null", "string"], format: "date-time" } };
    const recs = [
      { id: 1, q: 123.456789, ts: "2024-01-02T03:04:05Z" },
      { id: 2, q: -0.000001, ts: "2024-01-02T03:04:05.5-05:00" },
      { id: 3, q: 12345678901234567890, ts: null },
      { id: 4, q: "98765432109876543210.123456789", ts: "2024-01-02T03:04:05" },
      { id: 5, q: 1.2345678919, ts: null },
      { id: 6, q: null, ts: null },
    ];
    const input = lines(schemaMsg("t", props), ...recs.map((r) => record("t", r)));
    const numeric = await both("pqnum", input, { type_mapping: { number: "NUMERIC(38,9)", integer: "INTEGER", datetime: "TIMESTAMP" } });
    expect(numeric.pq.cols).toEqual(numeric.csv.cols);
    expect(numeric.pq.cols.q).toBe("numeric(38,9)");
    // The stand-in reads Parquet DECIMAL through a double (hyparquet): digits beyond ~16 are lost there, not
    // in the file (test/unit/encode/parquet.test.ts checks the unscaled value written). Compare the rest.
    const exact = (rs: Record<string, unknown>[]) => rs.filter((r) => r.id !== "4");
    expect(exact(numeric.pq.rows)).toEqual(exact(numeric.csv.rows));
    expect(numeric.csv.rows[3]!.q).toBe("98765432109876543210.123456789");

    const small = await both("pqsmall", input, { type_mapping: { number: "REAL", integer: "SMALLINT", datetime: "TIMESTAMPTZ" } });
    expect(small.pq.cols.q).toBe("real");
    expect(small.pq.rows).toEqual(small.csv.rows);

    const dec = await both("pqdec", input, { type_mapping: { number: "NUMERIC(9,2)" } });
    expect(dec.pq.rows).toEqual(dec.csv.rows);
  });

  it("REAL: a number no float4 holds (1e300, 3.5e38, 1e-300) is NULL and recorded, on CSV and Parquet alike", async () => {
    const props = { id: { type: "integer" }, n: { type: ["null", "number"] } };
    const recs = [
      { id: 1, n: 1e300 },
      { id: 2, n: 3.5e38 },
      { id: 3, n: 1e-300 },
      { id: 4, n: 3.25e38 },
      { id: 5, n: 1.5 },
    ];
    const input = lines(schemaMsg("t", props), ...recs.map((r) => record("t", r)));
    const { csv, pq } = await both("pqreal", input, { type_mapping: { number: "REAL" } });
    expect(pq.cols.n).toBe("real");
    expect(pq.rows).toEqual(csv.rows);
    expect(pq.rows.map((r) => r.n)).toEqual([null, null, null, "3.25e+38", "1.5"]);
    expect(pq.stderr).toMatch(/n: NULLED \(DESTINATION_SERIALIZATION_ERROR\)/);
  });

  it("-0 after 0 in a DOUBLE column lands as -0 on every path (a Parquet dictionary had merged it with 0)", async () => {
    const props = { id: { type: "integer" }, n: { type: ["null", "number"] } };
    // JSON.stringify cannot write -0: the lines are written by hand.
    const recs = ['{"id":1,"n":0}', '{"id":2,"n":-0.0}', '{"id":3,"n":-0}', '{"id":4,"n":0.0}', '{"id":5,"n":-0e3}'];
    const input = lines(schemaMsg("t", props)) + recs.map((r) => `{"type":"RECORD","stream":"t","record":${r}}\n`).join("");
    const { csv, pq } = await both("pqnegzero", input);
    expect(csv.rows.map((r) => r.n)).toEqual(["0", "-0", "-0", "0", "-0"]);
    expect(pq.rows).toEqual(csv.rows);
  });

  it("DATE and TIMESTAMP past a JS Date's end (275760) and past 9999 land as with CSV (a worker wrote 1970-01-01)", async () => {
    const props = { id: { type: "integer" }, d: { type: ["null", "string"], format: "date" }, ts: { type: ["null", "string"], format: "date-time" } };
    const recs = [
      { id: 1, d: "2024-01-01", ts: "2024-01-01T00:00:00Z" },
      { id: 2, d: "10000-01-01", ts: "10000-01-01T00:00:00.5Z" },
      { id: 3, d: "275760-09-14", ts: "275760-09-14T12:00:00Z" },
      { id: 4, d: "290000-06-15", ts: "290000-06-15T00:00:00.000001Z" },
      { id: 5, d: "294276-12-31", ts: "294247-01-10T04:00:54.775807Z" },
    ];
    const { csv, pq } = await both("pqfar", lines(schemaMsg("t", props), ...recs.map((r) => record("t", r))));
    expect(pq.rows).toEqual(csv.rows);
    expect(pq.rows.map((r) => r.d)).toEqual(["2024-01-01", "10000-01-01", "275760-09-14", "290000-06-15", "294276-12-31"]);
    expect(pq.rows[4]!.ts).toBe("294247-01-10 04:00:54.775807+00");
  });

  it("a TIMESTAMP past what Parquet holds (294247-01-10 04:00:54.775807 UTC) is NULL and recorded, or fails the run naming line, stream and field; CSV loads it", async () => {
    const props = { id: { type: "integer" }, ts: { type: ["null", "string"], format: "date-time" } };
    const input = lines(
      schemaMsg("t", props),
      record("t", { id: 1, ts: "294276-12-31T00:00:00Z" }),
      record("t", { id: 2, ts: "294250-06-01T00:30:00+01:00" }),
      record("t", { id: 3, ts: "294247-01-10T04:00:54.775807Z" }),
      { type: "STATE", value: { n: 1 } },
    );
    for (const workers of [undefined, 0]) {
      const more = workers === undefined ? {} : { encode_workers: workers };
      const schema = uniqueSchema("pqts64");
      const r = await runSinger(configFor(schema, { file_format: "parquet", add_metadata_columns: true, ...more }), input);
      expect(r.code, r.stderr.join("\n")).toBe(0);
      expect(r.states).toEqual([{ n: 1 }]);
      const rows = (await table(schema, "t")).sort((a, b) => Number(a.id) - Number(b.id));
      expect(rows.map((x) => x.ts)).toEqual([null, null, "294247-01-10 04:00:54.775807+00"]);
      const nulled = [{ field: "ts", change: "NULLED", reason: "DESTINATION_SERIALIZATION_ERROR" }];
      expect(rows.map((x) => (x._sdc_value_changes === null ? null : JSON.parse(x._sdc_value_changes as string)))).toEqual([nulled, nulled, null]);

      const strict = await runSinger(configFor(uniqueSchema("pqts64fail"), { file_format: "parquet", invalid_value: "fail", ...more }), input);
      expect(strict.code).toBe(1);
      expect(strict.states).toEqual([]);
      expect(strict.stderr.join("\n")).toMatch(/line 2 \(stream "t"\): field "ts": expected a date-time up to 294247-01-10 04:00:54\.775807 UTC.*file_format csv_gzip/);
    }
    const schema = uniqueSchema("pqts64csv");
    const ok = await runSinger(configFor(schema), input);
    expect(ok.code, ok.stderr.join("\n")).toBe(0);
    expect((await table(schema, "t")).map((r) => r.ts).sort()).toEqual(["294247-01-10 04:00:54.775807+00", "294250-05-31 23:30:00+00", "294276-12-31 00:00:00+00"]);
  });

  it("upsert with duplicates inside one batch and across batches (newest wins)", async () => {
    const props = { id: { type: "integer" }, v: { type: ["null", "string"] } };
    const input = lines(
      schemaMsg("t", props),
      record("t", { id: 1, v: "a" }),
      record("t", { id: 2, v: "b" }),
      record("t", { id: 1, v: "a2" }),
      record("t", { id: 3, v: "c" }),
      record("t", { id: 2, v: null }),
      record("t", { id: 3, v: "c2" }),
    );
    const { csv, pq } = await both("pqups", input, { batch_size_rows: 4 });
    expect(pq.rows).toEqual(csv.rows);
    expect(pq.rows).toEqual([
      { id: "1", v: "a2" },
      { id: "2", v: null },
      { id: "3", v: "c2" },
    ]);
  });

  it("a schema change mid-stream adds a column; earlier rows keep NULL there", async () => {
    const input = lines(
      schemaMsg("t", { id: { type: "integer" }, a: { type: "string" } }),
      record("t", { id: 1, a: "x" }),
      schemaMsg("t", { id: { type: "integer" }, a: { type: "string" }, b: { type: ["null", "integer"] }, c: { type: ["null", "object"] } }),
      record("t", { id: 2, a: "y", b: 7, c: { z: 1 } }),
      record("t", { id: 1, a: "x2", b: 8, c: null }),
    );
    const { csv, pq } = await both("pqevo", input);
    expect(pq.cols).toEqual(csv.cols);
    expect(pq.rows).toEqual(csv.rows);
    expect(pq.rows).toEqual([
      { id: "1", a: "x2", b: "8", c: null },
      { id: "2", a: "y", b: "7", c: '{"z": 1}' },
    ]);
  });

  it("a wide string widens the VARCHAR column; over 65535 bytes it is truncated as with CSV", async () => {
    const input = lines(
      schemaMsg("t", { id: { type: "integer" }, s: { type: "string" } }),
      record("t", { id: 1, s: "short" }),
      record("t", { id: 2, s: "é".repeat(5000) }),
      record("t", { id: 3, s: "x".repeat(70_000) }),
    );
    const { csv, pq } = await both("pqwide", input);
    expect(pq.cols).toEqual(csv.cols);
    expect(pq.cols.s).toBe("character varying(65535)");
    expect(pq.rows).toEqual(csv.rows);
    expect((pq.rows[2]!.s as string).length).toBe(65535);
  });

  it("nested objects and arrays land in SUPER as JSON documents, not as strings", async () => {
    const input = lines(
      schemaMsg("t", { id: { type: "integer" }, o: { type: "object" }, a: { type: "array" }, any: {} }),
      record("t", { id: 1, o: { a: { b: [1, { c: "d" }] } }, a: [1, "x", { y: null }], any: "just a string" }),
      record("t", { id: 2, o: { empty: {} }, a: [[]], any: 42 }),
    );
    const { csv, pq } = await both("pqsuper", input);
    expect(pq.cols.o).toBe("super");
    expect(pq.rows).toEqual(csv.rows);
    const schema = uniqueSchema("pqsuper_typeof");
    const r = await runSinger(configFor(schema, { file_format: "parquet" }), input);
    expect(r.code, r.stderr.join("\n")).toBe(0);
    const kinds = await withPg(async (c) =>
      (await c.query(`SELECT id, jsonb_typeof(o::jsonb) AS o, jsonb_typeof(a::jsonb) AS a, jsonb_typeof("any"::jsonb) AS "any" FROM "${schema}".t ORDER BY id`)).rows,
    );
    expect(kinds).toEqual([
      { id: "1", o: "object", a: "array", any: "string" },
      { id: "2", o: "object", a: "array", any: "number" },
    ]);
  });

  it("the staged objects are .parquet files listed with content_length (and removed after the load)", async () => {
    const schema = uniqueSchema("pqkeep");
    const input = lines(schemaMsg("t", { id: { type: "integer" } }), ...Array.from({ length: 50 }, (_, i) => record("t", { id: i })));
    const r = await runSinger(configFor(schema, { file_format: "parquet", purge_staging_files: false }), input);
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect((await rows(schema, "t")).length).toBe(50);
  });

  // TIME(MICROS) and TIMESTAMP(MICROS) keep their microseconds through the stand-in's Parquet reader as
  // through Redshift's (they failed while the stand-in read them through hyparquet's JS Dates and counts;
  // the staged files themselves are checked in test/unit/encode/parquet.test.ts).
  const timeInput = lines(
    schemaMsg("t", { id: { type: "integer" }, t: { type: ["null", "string"], format: "time" }, ts: { type: "string", format: "date-time" } }),
    record("t", { id: 1, t: "12:34:56.789123", ts: "2024-01-02T03:04:05.123456Z" }),
  );
  it("a TIME column loads from Parquet with its microseconds, as from CSV", async () => {
    const { csv, pq } = await both("pqtime", timeInput);
    expect(csv.rows[0]!.t).toBe("12:34:56.789123");
    expect(pq.cols).toEqual(csv.cols);
    expect(pq.rows).toEqual(csv.rows);
  });
  it("TIMESTAMP microseconds survive a Parquet load", async () => {
    const input = lines(
      schemaMsg("t", { id: { type: "integer" }, ts: { type: "string", format: "date-time" } }),
      record("t", { id: 1, ts: "2024-01-02T03:04:05.123456Z" }),
    );
    const { csv, pq } = await both("pqmicros", input);
    expect(csv.rows[0]!.ts).toBe("2024-01-02 03:04:05.123456+00");
    expect(pq.rows).toEqual(csv.rows);
  });

  it("records encoded by the workers arrive as row groups; a batch is sealed before a span would cross batch_size_rows", async () => {
    const props = { id: { type: "integer" }, s: { type: ["null", "string"] }, n: { type: ["null", "number"] }, ts: { type: ["null", "string"], format: "date-time" }, o: { type: ["null", "object"] } };
    // ~4.5 MB: units go to the workers (over the inline size), several spans per batch.
    const recs = Array.from({ length: 45_000 }, (_, i) => ({
      id: i % 40_000, // 5,000 updates of earlier keys, some in a later batch
      s: i % 11 === 0 ? null : i % 13 === 0 ? "" : `v${i} "q" , é`,
      n: i % 7 === 0 ? "NaN" : i / 8,
      ts: i % 17 === 0 ? "not a date" : new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString(),
      o: i % 5 === 0 ? null : { i, a: [i, "x"] },
    }));
    const input = lines(schemaMsg("t", props), ...recs.map((r) => record("t", r)));
    const schema = uniqueSchema("pqspans_workers");
    const r = await runSinger(configFor(schema, { file_format: "parquet", batch_size_rows: 32_768, encode_workers: 2 }), input);
    expect(r.code, r.stderr.join("\n")).toBe(0);
    // Every record came from the workers, as row groups.
    expect(seen.units).toBeGreaterThan(2);
    expect(seen.encodedRows).toBe(45_000);
    expect(seen.mainThreadRecords).toBe(0);
    const { csv, pq } = await both("pqspans", input, { batch_size_rows: 32_768, encode_workers: 2 });
    expect(await table(schema, "t")).toEqual(pq.rows);
    expect(pq.rows).toHaveLength(40_000);
    expect(pq.rows).toEqual(csv.rows);
    // Workers on: every committed Parquet batch within the limit (spans are never split).
    const committed = [...pq.stderr.matchAll(/committed batch \d+ of stream t into [^:]+: (\d+) records/g)].map((m) => Number(m[1]));
    expect(committed.length).toBeGreaterThanOrEqual(2);
    expect(committed.reduce((a, b) => a + b, 0)).toBe(45_000);
    for (const n of committed) expect(n).toBeLessThanOrEqual(32_768);
    // Row by row (the line path) the first batch would hold exactly 32,768: it ends at a span's end instead.
    expect(committed[0]).toBeLessThan(32_768);
  });

  it("after a line longer than a unit, read in one big chunk, the next unit still fits in a batch", async () => {
    // Found by review: the grown slot of a 2.5 MB line took the rest of the chunk (45,000 rows in one
    // row group, one batch over batch_size_rows). In-process reads can be this big; stdin reads are not.
    const big = JSON.stringify({ type: "STATE", value: { pad: "x".repeat(2_500_000) } });
    const input = `${lines(schemaMsg("t", { a: { type: ["null", "integer"] } }, []))}${big}\n${'{"type":"RECORD","stream":"t","record":{}}\n'.repeat(100_000)}`;
    const schema = uniqueSchema("pqlongline");
    const r = await runSinger(configFor(schema, { file_format: "parquet", batch_size_rows: 32_768, batch_size_bytes: 4_194_304, encode_workers: 2 }), input);
    expect(r.code, r.stderr.join("\n")).toBe(0);
    const committed = [...r.stderr.join("\n").matchAll(/committed batch \d+ of stream t into [^:]+: (\d+) records/g)].map((m) => Number(m[1]));
    expect(committed.reduce((a, b) => a + b, 0)).toBe(100_000);
    for (const n of committed) expect(n).toBeLessThanOrEqual(32_768);
    expect(seen.mainThreadRecords).toBe(0);
  });
});
