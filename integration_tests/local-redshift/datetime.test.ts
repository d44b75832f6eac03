// TIME, TIMETZ and TIMESTAMP as Redshift stores them (AWS "Datetime types"): TIMETZ is kept in UTC,
// TIMESTAMP ignores an input offset, TIME reaches 24:00:00, fractions are cut (not rounded) to
// microseconds; Parquet DECIMAL / TIME / TIMESTAMP columns load exactly.
import { describe, expect, it } from "vitest";
import { parquetWriteBuffer } from "hyparquet-writer";
import { connectClients, useLocalRedshift } from "./shared.js";
import { put, putManifest, ROLE, uniq } from "./test-helpers.js";

const h = useLocalRedshift();
const { gateway: c, direct: d } = connectClients(h);

const text = async (t: string, cols: string) => (await d.query(`SELECT ${cols} FROM ${t} ORDER BY id`)).rows;

describe("TIMETZ", () => {
  it("COPY loads offsets of every spelling and keeps the time in UTC, as Redshift does", async () => {
    const t = uniq("ttz");
    await c.query(`CREATE TABLE ${t} (id INTEGER, a TIMETZ, b TIME WITH TIME ZONE)`);
    const csv = [
      "1,10:30:00+02,10:30:00+02:00",
      "2,15:45:30-05:00,15:45:30-05",
      "3,24:00:00+02,00:00:00Z",
      "4,12:00:00-03:30:52,23:59:59.9999999+00",
      "5,10:30:00.1234567+02,\\N",
      "6,09:15:00,",
    ].join("\n");
    const url = await put(h.rs, `dt1/${t}.csv`, csv + "\n");
    await c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' CSV NULL AS '\\N' TIMEFORMAT 'auto'`);
    expect(await text(t, "id, a::text AS a, b::text AS b")).toEqual([
      { id: 1, a: "08:30:00+00", b: "08:30:00+00" },
      { id: 2, a: "20:45:30+00", b: "20:45:30+00" },
      { id: 3, a: "22:00:00+00", b: "00:00:00+00" },
      { id: 4, a: "15:30:52+00", b: "23:59:59.999999+00" },
      { id: 5, a: "08:30:00.123456+00", b: null },
      { id: 6, a: "09:15:00+00", b: null },
    ]);
    const cols = await d.query(`SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`, [t]);
    expect(cols.rows.map((r) => r.data_type)).toEqual(["integer", "time with time zone", "time with time zone"]);
  });

  it("INSERT, UPDATE, MERGE and a stage table made with LIKE keep TIMETZ in UTC too", async () => {
    const t = uniq("ttz2");
    await c.query(`CREATE TABLE ${t} (id INTEGER, a TIMETZ)`);
    await c.query(`INSERT INTO ${t} VALUES (1, '10:30:00+02'), (2, '01:00:00-01:30')`);
    await c.query(`UPDATE ${t} SET a = '23:00:00-02' WHERE id = 2`);
    await c.query(`CREATE TEMP TABLE s_${t} (LIKE ${t})`);
    await c.query(`INSERT INTO s_${t} VALUES (1, '12:00:00+05'), (3, '00:30:00+01')`);
    expect((await c.query(`SELECT a::text AS a FROM s_${t} ORDER BY id`)).rows).toEqual([{ a: "07:00:00+00" }, { a: "23:30:00+00" }]);
    await c.query(
      `MERGE INTO ${t} AS d USING s_${t} AS s ON d.id = s.id WHEN MATCHED THEN UPDATE SET a = '11:11:11+11' WHEN NOT MATCHED THEN INSERT (id, a) VALUES (s.id, s.a)`,
    );
    await c.query(`ALTER TABLE ${t} ADD COLUMN z TIMETZ`);
    await c.query(`INSERT INTO ${t} VALUES (4, NULL, '05:00:00+05')`);
    expect(await text(t, "id, a::text AS a, z::text AS z")).toEqual([
      { id: 1, a: "00:11:11+00", z: null },
      { id: 2, a: "01:00:00+00", z: null },
      { id: 3, a: "23:30:00+00", z: null },
      { id: 4, a: null, z: "00:00:00+00" },
    ]);
  });
});

describe("TIME and TIMESTAMP", () => {
  it("TIMESTAMP ignores the offset of its input; TIMESTAMPTZ applies it; TIME takes 24:00:00; fractions are cut to µs", async () => {
    const t = uniq("tsx");
    await c.query(`CREATE TABLE ${t} (id INTEGER, ts TIMESTAMP, tz TIMESTAMPTZ, tm TIME)`);
    const csv = [
      "1,2024-03-10T02:30:00+05:00,2024-03-10T02:30:00+05:00,24:00:00",
      "2,2025-09-22t14:42:59z,2025-09-22t14:42:59z,15:45:30-05:00",
      "3,1883-11-18T12:00:00-03:30:52,1883-11-18T12:00:00-03:30:52,10:30:00.9999999",
      "4,2024-01-01 00:00:00.1234567-00:00,2024-01-01 00:00:00.1234567-00:00,00:00:00",
    ].join("\n");
    const url = await put(h.rs, `dt2/${t}.csv`, csv + "\n");
    await c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' CSV TIMEFORMAT 'auto'`);
    expect(await text(t, "id, ts::text AS ts, tz::text AS tz, tm::text AS tm")).toEqual([
      { id: 1, ts: "2024-03-10 02:30:00", tz: "2024-03-09 21:30:00+00", tm: "24:00:00" },
      { id: 2, ts: "2025-09-22 14:42:59", tz: "2025-09-22 14:42:59+00", tm: "15:45:30" },
      { id: 3, ts: "1883-11-18 12:00:00", tz: "1883-11-18 15:30:52+00", tm: "10:30:00.999999" },
      { id: 4, ts: "2024-01-01 00:00:00.123456", tz: "2024-01-01 00:00:00.123456+00", tm: "00:00:00" },
    ]);
  });
});

describe("Parquet logical types load exactly", () => {
  it("DECIMAL (INT32, INT64, FIXED_LEN_BYTE_ARRAY), TIME and TIMESTAMP in every unit, TIME(UTC) into TIMETZ", async () => {
    const t = uniq("pqx");
    await c.query(
      `CREATE TABLE ${t} (id INTEGER, d1 NUMERIC(9,1), d2 NUMERIC(18,4), d3 NUMERIC(38,10), t1 TIME, t2 TIME, t3 TIMETZ, s1 TIMESTAMP, s2 TIMESTAMPTZ, s3 TIMESTAMPTZ)`,
    );
    const opt = { repetition_type: "OPTIONAL" as const };
    const dec = (precision: number, scale: number) => ({ converted_type: "DECIMAL" as const, scale, precision, logical_type: { type: "DECIMAL" as const, scale, precision } });
    const schema = [
      { name: "root", num_children: 10 },
      { name: "id", type: "INT32", ...opt },
      { name: "d1", type: "INT32", ...opt, ...dec(9, 1) },
      { name: "d2", type: "INT64", ...opt, ...dec(18, 4) },
      { name: "d3", type: "FIXED_LEN_BYTE_ARRAY", type_length: 16, ...opt, ...dec(38, 10) },
      { name: "t1", type: "INT32", ...opt, converted_type: "TIME_MILLIS", logical_type: { type: "TIME", isAdjustedToUTC: false, unit: "MILLIS" } },
      { name: "t2", type: "INT64", ...opt, logical_type: { type: "TIME", isAdjustedToUTC: false, unit: "NANOS" } },
      { name: "t3", type: "INT64", ...opt, converted_type: "TIME_MICROS", logical_type: { type: "TIME", isAdjustedToUTC: true, unit: "MICROS" } },
      { name: "s1", type: "INT64", ...opt, converted_type: "TIMESTAMP_MILLIS", logical_type: { type: "TIMESTAMP", isAdjustedToUTC: false, unit: "MILLIS" } },
      { name: "s2", type: "INT64", ...opt, converted_type: "TIMESTAMP_MICROS", logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MICROS" } },
      { name: "s3", type: "INT64", ...opt, logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "NANOS" } },
    ];
    const columnData = [
      { name: "id", data: [1, 2, 3] },
      { name: "d1", data: [7n, -3n, null] },
      { name: "d2", data: [12345678901234n, -1n, 0n] },
      { name: "d3", data: [1234567890123456789012345678n, -1n, 10n ** 37n] },
      { name: "t1", data: [45296789, 0, null] },
      { name: "t2", data: [45296789123999n, 86400000000000n, null] },
      { name: "t3", data: [37800000000n, 1n, null] },
      { name: "s1", data: [1704164645123n, -62135596800001n, null] },
      { name: "s2", data: [1704164645123456n, -1n, null] },
      { name: "s3", data: [1704164645123456789n, -1n, null] },
    ];
    const buf = Buffer.from(parquetWriteBuffer({ columnData, schema } as never));
    const url = await putManifest(h.rs, `dt3/${t}`, [buf], { contentLength: true });
    await c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' MANIFEST FORMAT AS PARQUET`);
    const cols = "id, d1::text AS d1, d2::text AS d2, d3::text AS d3, t1::text AS t1, t2::text AS t2, t3::text AS t3, s1::text AS s1, s2::text AS s2, s3::text AS s3";
    expect(await text(t, cols)).toEqual([
      {
        id: 1, d1: "0.7", d2: "1234567890.1234", d3: "123456789012345678.9012345678",
        t1: "12:34:56.789", t2: "12:34:56.789123", t3: "10:30:00+00",
        s1: "2024-01-02 03:04:05.123", s2: "2024-01-02 03:04:05.123456+00", s3: "2024-01-02 03:04:05.123456+00",
      },
      {
        id: 2, d1: "-0.3", d2: "-0.0001", d3: "-0.0000000001",
        t1: "00:00:00", t2: "24:00:00", t3: "00:00:00.000001+00",
        s1: "0001-12-31 23:59:59.999 BC", s2: "1969-12-31 23:59:59.999999+00", s3: "1969-12-31 23:59:59.999999+00",
      },
      { id: 3, d1: null, d2: "0.0000", d3: "1000000000000000000000000000.0000000000", t1: null, t2: null, t3: null, s1: null, s2: null, s3: null },
    ]);
  });

  it("a JSON column keeps big integers and long decimals exactly in SUPER", async () => {
    const t = uniq("pqn");
    await c.query(`CREATE TABLE ${t} (id INTEGER, j SUPER)`);
    const doc = '{"big":12345678901234567890,"dec":123456789.0123456789,"s":"\\u00e9"}';
    const schema = [
      { name: "root", num_children: 2 },
      { name: "id", type: "INT32", repetition_type: "OPTIONAL" },
      { name: "j", type: "BYTE_ARRAY", repetition_type: "OPTIONAL", logical_type: { type: "JSON" } },
    ];
    const buf = Buffer.from(parquetWriteBuffer({ columnData: [{ name: "id", data: [1] }, { name: "j", data: [new TextEncoder().encode(doc)] }], schema } as never));
    const url = await putManifest(h.rs, `dt4/${t}`, [buf], { contentLength: true });
    await c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' MANIFEST FORMAT AS PARQUET SERIALIZETOJSON`);
    expect((await c.query(`SELECT JSON_SERIALIZE(j) AS j FROM ${t}`)).rows[0].j).toBe('{"s":"é","big":12345678901234567890,"dec":123456789.0123456789}');
  });
});
