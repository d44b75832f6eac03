/**
 * Issue 11, families 2–4 and 8: column types from the schema's own constraints, time as sent, values
 * never rounded or changed in silence, evolution that never narrows digits. Every value is read back
 * from the stand-in as PostgreSQL's text.
 */
import { describe, expect, it } from "vitest";
import { configFor, record, runSinger, schemaMsg, uniqueSchema, withPg } from "./helpers/target.js";
import { airbyteConfig, runAirbyte } from "./helpers/airbyte.js";

const lines = (...msgs: unknown[]) => msgs.map((m) => (typeof m === "string" ? m : JSON.stringify(m))).join("\n") + "\n";

/** Column types and rows of a table, every value as PostgreSQL's text. */
async function table(schema: string, name: string, order = "id"): Promise<{ types: Record<string, string>; rows: Record<string, string | null>[] }> {
  return withPg(async (c) => {
    const cols = (
      await c.query("SELECT column_name, format_type(atttypid, atttypmod) AS t FROM information_schema.columns JOIN pg_attribute ON attrelid = ($1 || '.' || $2)::regclass AND attname = column_name WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position", [schema, name])
    ).rows as { column_name: string; t: string }[];
    const types = Object.fromEntries(cols.map((x) => [x.column_name, x.t]));
    const select = cols.map((x) => `"${x.column_name}"::text AS "${x.column_name}"`).join(", ");
    const rows = (await c.query(`SELECT ${select} FROM "${schema}"."${name}" ORDER BY "${order}"`)).rows as Record<string, string | null>[];
    return { types, rows };
  });
}

/** A SCHEMA line written by hand, so its numbers keep every digit (JSON.stringify would round them). */
const rawSchema = (stream: string, properties: string, keys = '["id"]') =>
  `{"type":"SCHEMA","stream":"${stream}","schema":{"type":"object","properties":{${properties}}},"key_properties":${keys}}`;

describe("types from the schema's own constraints (Singer)", () => {
  it("pipelinewise-tap-postgres numeric(38,10) and an unsigned 64-bit counter: NUMERIC(38,10), NUMERIC(20,0), values exact", async () => {
    const schema = uniqueSchema("ex_num");
    const r = await runSinger(
      configFor(schema),
      lines(
        rawSchema(
          "t",
          '"id":{"type":"integer"},' +
            '"n":{"type":["null","number"],"multipleOf":1e-10,"maximum":1e28,"exclusiveMaximum":true,"minimum":-1e28,"exclusiveMinimum":true},' +
            '"u":{"type":["null","integer"],"minimum":0,"maximum":18446744073709551615}',
        ),
        '{"type":"RECORD","stream":"t","record":{"id":1,"n":1234.5678901234,"u":10000000000000000000}}',
        '{"type":"RECORD","stream":"t","record":{"id":2,"n":1e-10,"u":0}}',
        '{"type":"RECORD","stream":"t","record":{"id":3,"n":-99999.5,"u":null}}',
        // 11 decimal places in NUMERIC(38,10): NULL and recorded, never cut by COPY
        '{"type":"RECORD","stream":"t","record":{"id":4,"n":1.00000000001,"u":1}}',
        '{"type":"STATE","value":{"done":1}}',
      ),
    );
    expect(r.code, r.stderr.join("\n")).toBe(0);
    const t = await table(schema, "t");
    expect(t.types.n).toBe("numeric(38,10)");
    expect(t.types.u).toBe("numeric(20,0)");
    expect(t.rows.map((x) => [x.n, x.u])).toEqual([
      ["1234.5678901234", "10000000000000000000"],
      ["0.0000000001", "0"],
      ["-99999.5000000000", null],
      [null, "1"],
    ]);
    expect(r.stderr.join("\n")).toMatch(/n: NULLED \(DESTINATION_SERIALIZATION_ERROR\)/);
  });

  it("integer bounds choose SMALLINT / INTEGER / BIGINT (BIGINT's own bounds read exactly)", async () => {
    const schema = uniqueSchema("ex_int");
    const r = await runSinger(
      configFor(schema),
      lines(
        rawSchema(
          "t",
          '"id":{"type":"integer"},' +
            '"s":{"type":"integer","minimum":-32768,"maximum":32767},' +
            '"i":{"type":"integer","minimum":-2147483648,"maximum":2147483647},' +
            '"b":{"type":"integer","minimum":-9223372036854775808,"maximum":9223372036854775807},' +
            '"d":{"type":"number","multipleOf":0.01,"maximum":1e8,"exclusiveMaximum":true,"minimum":-1e8,"exclusiveMinimum":true}',
        ),
        '{"type":"RECORD","stream":"t","record":{"id":1,"s":-32768,"i":2147483647,"b":-9007199254740991,"d":99999999.99}}',
        '{"type":"RECORD","stream":"t","record":{"id":2,"s":32768,"i":1,"b":1,"d":0.001}}',
      ),
    );
    expect(r.code, r.stderr.join("\n")).toBe(0);
    const t = await table(schema, "t");
    expect([t.types.s, t.types.i, t.types.b, t.types.d]).toEqual(["smallint", "integer", "bigint", "numeric(10,2)"]);
    expect(t.rows.map((x) => [x.s, x.i, x.b, x.d])).toEqual([
      ["-32768", "2147483647", "-9007199254740991", "99999999.99"],
      [null, "1", "1", null],
    ]);
  });

  it("BIGINT → number evolution goes to NUMERIC, not DOUBLE: the digits stay", async () => {
    const schema = uniqueSchema("ex_evo");
    const cfg = configFor(schema);
    // A raw token no double holds (JSON.stringify of a JS number would send a double's shortest digits).
    const big = '{"type":"RECORD","stream":"t","record":{"id":1,"v":1234567890123456789}}';
    const first = await runSinger(cfg, lines(schemaMsg("t", { id: { type: "integer" }, v: { type: "integer" } }), big));
    expect(first.code, first.stderr.join("\n")).toBe(0);
    const r = await runSinger(cfg, lines(schemaMsg("t", { id: { type: "integer" }, v: { type: "number" } }), record("t", { id: 2, v: 0.5 })));
    expect(r.code, r.stderr.join("\n")).toBe(0);
    const t = await table(schema, "t");
    expect(t.types.v).toBe("numeric(38,19)");
    expect(t.rows.map((x) => x.v)).toEqual(["1234567890123456789.0000000000000000000", "0.5000000000000000000"]);
    expect(r.stderr.join("\n")).toMatch(/from BIGINT to NUMERIC\(38,19\), values kept/);
  });
});

describe("time as sent (Singer)", () => {
  it("every RFC 3339 spelling taps send lands; a time's offset is applied to TIME and recorded", async () => {
    const schema = uniqueSchema("ex_time");
    const r = await runSinger(
      configFor(schema, { add_metadata_columns: true }),
      lines(
        schemaMsg("t", { id: { type: "integer" }, at: { type: ["null", "string"], format: "date-time" }, tm: { type: ["null", "string"], format: "time" } }),
        record("t", { id: 1, at: "2025-09-22t14:42:59z", tm: "24:00:00" }),
        record("t", { id: 2, at: "1883-11-18T12:00:00-03:30:52", tm: "15:45:30-05:00" }),
        record("t", { id: 3, at: "2024-01-02 03:04:05.123456789-00:00", tm: "10:00:00Z" }),
        record("t", { id: 4, at: "2016-12-31T23:59:60Z", tm: null }),
      ),
    );
    expect(r.code, r.stderr.join("\n")).toBe(0);
    const t = await table(schema, "t");
    expect(t.types.at).toBe("timestamp with time zone");
    expect(t.types.tm).toBe("time without time zone");
    const change = (field: string, c: string) => [{ field, change: c, reason: "DESTINATION_SERIALIZATION_ERROR" }];
    expect(t.rows.map((x) => [x.at, x.tm, x._sdc_value_changes === null ? null : JSON.parse(x._sdc_value_changes!)])).toEqual([
      ["2025-09-22 14:42:59+00", "24:00:00", null],
      ["1883-11-18 15:30:52+00", "20:45:30", change("tm", "CONVERTED")],
      ["2024-01-02 03:04:05.123456+00", "10:00:00", change("at", "TRUNCATED")],
      ["2016-12-31 23:59:59.999999+00", null, change("at", "CONVERTED")],
    ]);
  });

  it("a table created with TIMESTAMP and TIMETZ keeps them; values are encoded for them", async () => {
    const schema = uniqueSchema("ex_keep");
    await withPg(async (c) => {
      await c.query(`CREATE SCHEMA "${schema}"`);
      await c.query(`CREATE TABLE "${schema}"."t" (id BIGINT, at TIMESTAMP, tm TIMETZ)`);
    });
    const r = await runSinger(
      configFor(schema),
      lines(
        schemaMsg("t", { id: { type: "integer" }, at: { type: "string", format: "date-time" }, tm: { type: "string", format: "time" } }),
        record("t", { id: 1, at: "2024-03-10T02:30:00+01:00", tm: "10:30:00+02:00" }),
      ),
    );
    expect(r.code, r.stderr.join("\n")).toBe(0);
    const t = await table(schema, "t");
    expect([t.types.at, t.types.tm]).toEqual(["timestamp without time zone", "time with time zone"]);
    // Redshift keeps TIMETZ in UTC (the stand-in emulates it, FIDELITY rule 9): the moment sent, read back at +00.
    expect(t.rows.map((x) => [x.at, x.tm])).toEqual([["2024-03-10 01:30:00", "08:30:00+00"]]);
    expect(r.stderr.join("\n")).not.toMatch(/values kept/);
  });
});

describe("types and time as sent (Airbyte)", () => {
  it("timestamp_without_timezone → TIMESTAMP, time_with_timezone → TIMETZ, big_integer and WellKnownTypes bounds", async () => {
    const ns = uniqueSchema("ex_ab");
    // Written by hand: the catalog's numbers keep every digit.
    const catalog =
      `{"streams":[{"stream":{"name":"t","namespace":"${ns}","supported_sync_modes":["full_refresh"],"json_schema":{"type":"object","properties":{` +
      '"id":{"type":"integer"},' +
      '"ts":{"type":"string","format":"date-time","airbyte_type":"timestamp_without_timezone"},' +
      '"tz":{"type":"string","format":"date-time","airbyte_type":"timestamp_with_timezone"},' +
      '"tt":{"type":"string","format":"time","airbyte_type":"time_with_timezone"},' +
      '"tn":{"$ref":"WellKnownTypes.json#/definitions/TimeWithoutTimezone"},' +
      '"big":{"type":"number","airbyte_type":"big_integer"},' +
      '"u":{"$ref":"WellKnownTypes.json#/definitions/Integer","minimum":0,"maximum":18446744073709551615},' +
      '"w":{"$ref":"WellKnownTypes.json#/definitions/TimestampWithoutTimezone"}' +
      '}}},"sync_mode":"full_refresh","destination_sync_mode":"append","generation_id":0,"minimum_generation_id":0,"sync_id":1}]}';
    const rec = (data: string) => `{"type":"RECORD","record":{"stream":"t","namespace":"${ns}","emitted_at":1700000000000,"data":${data}}}`;
    const r = await runAirbyte("write", {
      config: airbyteConfig(ns),
      catalog,
      input: [rec('{"id":1,"ts":"2024-03-10T02:30:00","tz":"2024-03-10T02:30:00+02:00","tt":"10:30:00+02:00","tn":"10:30:00","big":123456789012345,"u":10000000000000000000,"w":"2024-03-10t02:30:00.5"}')],
    });
    expect(r.code, JSON.stringify(r.traces)).toBe(0);
    const t = await table(ns, "t");
    expect([t.types.ts, t.types.tz, t.types.tt, t.types.tn, t.types.big, t.types.u, t.types.w]).toEqual([
      "timestamp without time zone",
      "timestamp with time zone",
      "time with time zone",
      "time without time zone",
      "numeric(38,0)",
      "numeric(20,0)",
      "timestamp without time zone",
    ]);
    expect(t.rows.map((x) => [x.ts, x.tz, x.tt, x.tn, x.big, x.u, x.w])).toEqual([
      ["2024-03-10 02:30:00", "2024-03-10 00:30:00+00", "08:30:00+00", "10:30:00", "123456789012345", "10000000000000000000", "2024-03-10 02:30:00.5"],
    ]);
  });
});

describe("NUL removal is recorded", () => {
  it("in text and SUPER, in _sdc_value_changes and the summary", async () => {
    const schema = uniqueSchema("ex_nul");
    const r = await runSinger(
      configFor(schema, { add_metadata_columns: true }),
      lines(schemaMsg("t", { id: { type: "integer" }, s: { type: "string" }, o: { type: "object" } }), record("t", { id: 1, s: "a\u0000b", o: { k: "c\u0000d" } })),
    );
    expect(r.code, r.stderr.join("\n")).toBe(0);
    const t = await table(schema, "t");
    expect(t.rows.map((x) => [x.s, x.o])).toEqual([["ab", '{"k": "cd"}']]);
    expect(JSON.parse(t.rows[0]!._sdc_value_changes!)).toEqual([
      { field: "s", change: "CONVERTED", reason: "DESTINATION_SERIALIZATION_ERROR" },
      { field: "o", change: "CONVERTED", reason: "DESTINATION_SERIALIZATION_ERROR" },
    ]);
    expect(r.stderr.join("\n")).toMatch(/s: CONVERTED/);
  });
});

describe("deeply nested values", () => {
  /** A RECORD line with `o` nested `depth` levels (written as text: JSON.stringify itself overflows far down). */
  const deepRecord = (id: number, depth: number) => `{"type":"RECORD","stream":"t","record":{"id":${id},"o":${"[".repeat(depth)}"x"${"]".repeat(depth)},"v":${"[".repeat(depth)}1${"]".repeat(depth)}}}`;

  it.each([
    { workers: 0, format: "csv_gzip" },
    { workers: 2, format: "csv_gzip" },
    { workers: 0, format: "parquet" },
    { workers: 2, format: "parquet" },
  ])("SUPER: 1,000 levels load whole; 1,001 and 100,000 are NULLed and recorded (Redshift's limit); a VARCHAR keeps its deep JSON text (encode_workers $workers, $format)", async ({ workers, format }) => {
    const schema = uniqueSchema(`deep_${workers}_${format}`);
    const input = lines(
      schemaMsg("t", { id: { type: "integer" }, o: { type: ["array", "null"] }, v: { type: ["string", "null"] } }),
      deepRecord(1, 1000),
      deepRecord(2, 1001),
      deepRecord(3, 100_000),
      { type: "STATE", value: { at: 3 } },
    );
    // v is a string column fed arrays: its text is the array's JSON (invalid_value aside, text takes any JSON).
    const r = await runSinger(configFor(schema, { add_metadata_columns: true, encode_workers: workers, file_format: format }), input);
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(r.states).toEqual([{ at: 3 }]);
    const rows = await withPg(async (c) => (await c.query(`SELECT id, o IS NULL AS o_null, length(o::text) AS o_len, length(v) AS v_len, _sdc_value_changes::text AS ch FROM "${schema}"."t" ORDER BY id`)).rows);
    expect(rows.map((x) => [x.id, x.o_null])).toEqual([
      ["1", false],
      ["2", true],
      ["3", true],
    ]);
    expect(rows[0]!.ch).toBeNull();
    const nulled = { field: "o", change: "NULLED", reason: "DESTINATION_FIELD_SIZE_LIMITATION" };
    expect(JSON.parse(rows[1]!.ch as string)).toEqual([nulled]);
    expect(JSON.parse(rows[2]!.ch as string)).toEqual([nulled, { field: "v", change: "TRUNCATED", reason: "DESTINATION_FIELD_SIZE_LIMITATION" }]);
    // VARCHAR has no depth limit: the text of 1,001 levels is kept whole (2 × 1,001 + 1 characters);
    // 100,000 levels are 200,001 characters, past 65,535 bytes: cut and recorded like any long string.
    expect(rows.map((x) => Number(x.v_len))).toEqual([2001, 2003, 65535]);
    expect(r.stderr.join("\n")).toMatch(/o: NULLED \(DESTINATION_FIELD_SIZE_LIMITATION\)/);
  });

  it.each([0, 2])("a number a double would change, 100,000 levels down: the run fails naming the line and stream (not 'invalid JSON'), no STATE past it (encode_workers %i)", async (workers) => {
    const schema = uniqueSchema(`deepnum_${workers}`);
    const deep = `${"[".repeat(100_000)}12345678901234567890${"]".repeat(100_000)}`;
    const input = lines(
      schemaMsg("t", { id: { type: "integer" }, o: { type: ["array", "null"] } }),
      { type: "STATE", value: { at: 0 } },
      `{"type":"RECORD","stream":"t","record":{"id":1,"o":${deep}}}`,
      { type: "STATE", value: { at: 1 } },
    );
    const r = await runSinger(configFor(schema, { encode_workers: workers }), input);
    expect(r.code).toBe(1);
    // Never the STATE after the failed record (the one before may not have gone out yet on the workers).
    expect([[], [{ at: 0 }]]).toContainEqual(r.states);
    // The line's own stream is not known (it could not be parsed), so no stream is named: not the last one's.
    expect(r.stderr.join("\n")).toMatch(/line 3: a value nested too deeply to handle/);
    // A STATE nested as deep: its line is named too.
    const s = await runSinger(configFor(schema, { encode_workers: workers }), lines(`{"type":"STATE","value":{"a":${deep}}}`));
    expect(s.code).toBe(1);
    expect(s.stderr.join("\n")).toMatch(/line 1: a value nested too deeply to handle/);
  });
});
