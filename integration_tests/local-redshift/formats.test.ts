import { execFileSync } from "node:child_process";
import { gzipSync } from "node:zlib";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ParquetPartWriter } from "../../src/stage/parquet-part-writer.js";
import { ParquetRowGroupEncoder } from "../../src/encode/parquet-row-group.js";
import { parquetColumns } from "../../src/encode/parquet-values.js";
import { describe, expect, it } from "vitest";
import { parquetWriteBuffer } from "hyparquet-writer";
import { connectClients, useLocalRedshift } from "./shared.js";
import { errorOf, put, putManifest, ROLE, uniq } from "./test-helpers.js";

const h = useLocalRedshift();
const { gateway: c, direct: d } = connectClients(h);

/** A valid zstd frame made of raw (stored) blocks: enough to test decoding without a compressor. */
function zstdStored(data: Buffer): Buffer {
  const parts: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38])]; // magic, descriptor, window 128 KiB
  const max = 128 * 1024;
  for (let off = 0; off < data.length || off === 0; off += max) {
    const block = data.subarray(off, off + max);
    const last = off + max >= data.length ? 1 : 0;
    const hdr = (block.length << 3) | last; // block type 0 = raw
    parts.push(Buffer.from([hdr & 0xff, (hdr >> 8) & 0xff, (hdr >> 16) & 0xff]), block);
    if (data.length === 0) break;
  }
  return Buffer.concat(parts);
}

const count = async (t: string) => (await d.query(`SELECT count(*)::int AS n FROM ${t}`)).rows[0].n as number;

describe("compression", () => {
  it("ZSTD", async () => {
    const t = uniq("zstd");
    await c.query(`CREATE TABLE ${t} (id INTEGER, s VARCHAR(10))`);
    const url = await putManifest(h.rs, `f1/${t}`, [zstdStored(Buffer.from("1,a\n2,b\n"))]);
    await c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' MANIFEST CSV ZSTD`);
    expect(await count(t)).toBe(2);
  });

  it("BZIP2", async () => {
    const t = uniq("bz");
    await c.query(`CREATE TABLE ${t} (id INTEGER, s VARCHAR(10))`);
    const bz = execFileSync("bzip2", ["-c"], { input: Buffer.from("1,a\n2,b\n3,c\n") });
    const url = await put(h.rs, `f2/${t}.bz2`, bz);
    await c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' CSV BZIP2`);
    expect(await count(t)).toBe(3);
  });

  it("GZIP declared but data not gzip fails the load", async () => {
    const t = uniq("notgz");
    await c.query(`CREATE TABLE ${t} (id INTEGER)`);
    const url = await put(h.rs, `f3/${t}.csv`, "1\n");
    const e = await errorOf(c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' CSV GZIP`));
    expect(e.message).toMatch(/Load into table/);
  });

  it("pages compressed as GZIP, SNAPPY or not at all load alike; -0 in DOUBLE and REAL stays -0", async () => {
    const t = uniq("pqcodec");
    await c.query(`CREATE TABLE ${t} (a BIGINT, d DOUBLE PRECISION, r REAL, s VARCHAR(20))`);
    const files = (["GZIP", "SNAPPY", "UNCOMPRESSED"] as const).map((codec, k) =>
      Buffer.from(
        parquetWriteBuffer({
          codec,
          compressors: { GZIP: (b: Uint8Array) => gzipSync(b) },
          columnData: [
            { name: "a", data: [BigInt(k * 2), BigInt(k * 2 + 1)], type: "INT64" },
            { name: "d", data: [-0, 1.5], type: "DOUBLE", encoding: "PLAIN" },
            { name: "r", data: [-0, 0.25], type: "FLOAT", encoding: "PLAIN" },
            { name: "s", data: [codec, null], type: "STRING" },
          ],
        }),
      ),
    );
    const url = await putManifest(h.rs, `f5/${t}/codecs`, files, { contentLength: true });
    await c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' MANIFEST FORMAT AS PARQUET`);
    const r = (await d.query(`SELECT a, d::text AS d, r::text AS r, s FROM ${t} ORDER BY a`)).rows;
    expect(r).toEqual([0, 1, 2].flatMap((k) => [
      { a: String(k * 2), d: "-0", r: "-0", s: ["GZIP", "SNAPPY", "UNCOMPRESSED"][k] },
      { a: String(k * 2 + 1), d: "1.5", r: "0.25", s: null },
    ]));
    // A codec the stand-in cannot read fails the COPY with its name; the session goes on.
    const lz4 = Buffer.from(
      parquetWriteBuffer({ codec: "LZ4_RAW", compressors: { LZ4_RAW: (b: Uint8Array) => b }, columnData: [{ name: "a", data: [1n], type: "INT64" }] }),
    );
    const t2 = uniq("pqlz4");
    await c.query(`CREATE TABLE ${t2} (a BIGINT)`);
    const bad = await putManifest(h.rs, `f5/${t2}/lz4`, [lz4], { contentLength: true });
    expect((await errorOf(c.query(`COPY ${t2} FROM '${bad}' IAM_ROLE '${ROLE}' MANIFEST FORMAT AS PARQUET`))).message).toMatch(/Load into table/);
    const why = await c.query(`SELECT err_code, trim(err_reason) AS reason FROM stl_load_errors WHERE filename LIKE '%${t2}%'`);
    expect(why.rows).toEqual([{ err_code: 15001, reason: expect.stringMatching(/Spectrum Scan Error: .*LZ4_RAW/) }]);
    expect((await c.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
  });

  it("DATE and TIMESTAMP past a JS Date's range (and past 9999) load exactly; a page the footer places past the file fails", async () => {
    const columns = parquetColumns(
      [
        { name: "d", type: { kind: "date" } },
        { name: "ts", type: { kind: "timestamptz" } },
      ],
      undefined,
    );
    const text = Buffer.from(
      [
        "0001-01-01,0001-01-01 00:00:00+00",
        "9999-12-31,9999-12-31 23:59:59.999999+00",
        "10000-01-01,10000-01-01 00:00:00+00",
        "275760-09-14,275760-09-14 00:00:00.5+00",
        "294276-12-31,294247-01-10 04:00:54.775807+00",
      ].join("\n") + "\n",
    );
    const dir = mkdtempSync(join(tmpdir(), "pqdates-"));
    try {
      const w = new ParquetPartWriter(dir, 1, columns);
      w.writeRowGroup(new ParquetRowGroupEncoder(columns).encode(text, text.length, 5), text.length);
      const [part] = await w.finish();
      const t = uniq("pqdates");
      await c.query(`CREATE TABLE ${t} (d DATE, ts TIMESTAMPTZ)`);
      const url = await putManifest(h.rs, `f5/${t}/ok`, [readFileSync(part!.path)], { contentLength: true });
      await c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' MANIFEST FORMAT AS PARQUET`);
      const r = (await d.query(`SELECT d::text AS d, ts::text AS ts FROM ${t} ORDER BY ${t}.d`)).rows;
      expect(r).toEqual([
        { d: "0001-01-01", ts: "0001-01-01 00:00:00+00" },
        { d: "9999-12-31", ts: "9999-12-31 23:59:59.999999+00" },
        { d: "10000-01-01", ts: "10000-01-01 00:00:00+00" },
        { d: "275760-09-14", ts: "275760-09-14 00:00:00.5+00" },
        { d: "294276-12-31", ts: "294247-01-10 04:00:54.775807+00" },
      ]);

      // The same rows with the first column chunk said to be 1 MB longer than it is: it ends past the end of the file.
      const group = new ParquetRowGroupEncoder(columns).encode(text, text.length, 5);
      const moved = { ...group, bytes: Uint8Array.from(group.bytes), chunks: Float64Array.from(group.chunks) };
      moved.chunks[0] += 1_000_000;
      const w2 = new ParquetPartWriter(join(dir, "moved"), 1, columns);
      await mkdir(join(dir, "moved"), { recursive: true });
      w2.writeRowGroup(moved, text.length);
      const [bad] = await w2.finish();
      const t2 = uniq("pqmoved");
      await c.query(`CREATE TABLE ${t2} (d DATE, ts TIMESTAMPTZ)`);
      const badUrl = await putManifest(h.rs, `f5/${t2}/moved`, [readFileSync(bad!.path)], { contentLength: true });
      expect((await errorOf(c.query(`COPY ${t2} FROM '${badUrl}' IAM_ROLE '${ROLE}' MANIFEST FORMAT AS PARQUET`))).message).toMatch(/Load into table/);
      const why = await c.query(`SELECT trim(err_reason) AS reason FROM stl_load_errors WHERE filename LIKE '%${t2}%'`);
      expect(why.rows).toEqual([{ reason: expect.stringMatching(/^Spectrum Scan Error: column d, row group 0: pages at bytes 4-100\d{4}, file has \d+$/) }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("JSON 'auto'", () => {
  it("'auto' matches keys case-sensitively against lowercase column names; 'auto ignorecase' does not", async () => {
    const t = uniq("json");
    await c.query(`CREATE TABLE ${t} (userid INTEGER, name VARCHAR(10), doc SUPER)`);
    const body = `{"UserId": 1, "name": "a", "doc": {"k": [1, 2]}}\n{"userid": 2, "Name": "b", "doc": null}`;
    const url = await put(h.rs, `f4/${t}.json`, body);
    await c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' FORMAT AS JSON 'auto'`);
    const r1 = (await d.query(`SELECT userid, name, doc::text AS doc FROM ${t} ORDER BY name NULLS LAST`)).rows;
    expect(r1).toEqual([
      { userid: null, name: "a", doc: '{"k": [1, 2]}' },
      { userid: 2, name: null, doc: null },
    ]);
    await c.query(`TRUNCATE ${t}`);
    await c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' JSON 'auto ignorecase'`);
    const r2 = (await d.query(`SELECT userid, name FROM ${t} ORDER BY userid`)).rows;
    expect(r2).toEqual([
      { userid: 1, name: "a" },
      { userid: 2, name: "b" },
    ]);
  });

  it("numbers keep every digit: big integers, long decimals, and numbers inside SUPER (no JSON.parse rounding)", async () => {
    const t = uniq("jsonnum");
    await c.query(`CREATE TABLE ${t} (id BIGINT, b BIGINT, n NUMERIC(38,10), doc SUPER, v VARCHAR(80), f DOUBLE PRECISION)`);
    const body = [
      `{"id": 99999999999999999, "b": 9223372036854775807, "n": 123456789.0123456789, "doc": {"x": 12345678901234567890, "y": "\\u00e9", "z": [1.5, -0.0000000000000000001]}, "v": {"a" : 9007199254740993}, "f": 0.1}`,
      `{"id": 9007199254740993, "b": -9223372036854775808, "n": -0.0000000001, "doc": 12345678901234567890123, "v": "9007199254740993", "f": 1e300}`,
    ].join("\n");
    const url = await put(h.rs, `f16/${t}.json`, body);
    await c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' JSON 'auto'`);
    const r = await c.query(`SELECT id::text AS id, b::text AS b, n::text AS n, JSON_SERIALIZE(doc) AS doc, v, f FROM ${t} ORDER BY id`);
    expect(r.rows).toEqual([
      { id: "9007199254740993", b: "-9223372036854775808", n: "-0.0000000001", doc: "12345678901234567890123", v: "9007199254740993", f: 1e300 },
      { id: "99999999999999999", b: "9223372036854775807", n: "123456789.0123456789", doc: '{"x":12345678901234567890,"y":"é","z":[1.5,-0.0000000000000000001]}', v: '{"a":9007199254740993}', f: 0.1 },
    ]);
  });

  it("jsonpaths files are not emulated", async () => {
    const e = await errorOf(c.query(`COPY x FROM 's3://${h.rs.s3.bucket}/k' IAM_ROLE '${ROLE}' JSON 's3://b/paths.json'`));
    expect(e.code).toBe("0A000");
  });
});

describe("PARQUET", () => {
  it("binds columns by position, SERIALIZETOJSON for nested data, needs content_length in the manifest", async () => {
    const t = uniq("pq");
    await c.query(`CREATE TABLE ${t} (a BIGINT, b VARCHAR(20), c SUPER)`);
    const buf = Buffer.from(
      parquetWriteBuffer({
        columnData: [
          { name: "Whatever", data: [1, 2], type: "INT32" },
          { name: "other_name", data: ["x", "y"], type: "STRING" },
          { name: "nested", data: [{ k: 1 }, { k: [true] }], type: "JSON" },
        ],
      }),
    );
    const noLen = await putManifest(h.rs, `f5/${t}/nolen`, [buf]);
    expect((await errorOf(c.query(`COPY ${t} FROM '${noLen}' IAM_ROLE '${ROLE}' MANIFEST FORMAT AS PARQUET SERIALIZETOJSON`))).message).toMatch(/content_length/);
    const url = await putManifest(h.rs, `f5/${t}/ok`, [buf], { contentLength: true });
    expect((await errorOf(c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' MANIFEST FORMAT AS PARQUET REGION 'us-east-1'`))).message).toMatch(/REGION/);
    expect((await errorOf(c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' MANIFEST FORMAT AS PARQUET MAXERROR 3`))).message).toMatch(/MAXERROR/);
    await c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' MANIFEST FORMAT AS PARQUET SERIALIZETOJSON`);
    const r = (await d.query(`SELECT a, b, c::text AS c FROM ${t} ORDER BY a`)).rows;
    expect(r).toEqual([
      { a: "1", b: "x", c: '{"k": 1}' },
      { a: "2", b: "y", c: '{"k": [true]}' },
    ]);
    const t2 = uniq("pq2");
    await c.query(`CREATE TABLE ${t2} (a BIGINT, b VARCHAR(20))`);
    const e = await errorOf(c.query(`COPY ${t2} FROM '${url}' IAM_ROLE '${ROLE}' MANIFEST FORMAT AS PARQUET`));
    expect(e.message).toMatch(/Load into table/);
    // The count must match the table's, not a column list's: a list naming fewer columns, or the table's in
    // another order, is refused (Redshift documents no column list for columnar files); the table's own
    // columns in order are accepted.
    const t3 = uniq("pq3");
    await c.query(`CREATE TABLE ${t3} (a BIGINT, b VARCHAR(20), c SUPER, d BIGINT)`);
    for (const list of ["(a, b, c)", "(b, a, c, d)"]) {
      const refused = await errorOf(c.query(`COPY ${t3} ${list} FROM '${url}' IAM_ROLE '${ROLE}' MANIFEST FORMAT AS PARQUET SERIALIZETOJSON`));
      expect(refused.message, list).toMatch(/binds the file's columns by position to every column of/);
    }
    expect((await errorOf(c.query(`COPY ${t3} (a, b, c, d) FROM '${url}' IAM_ROLE '${ROLE}' MANIFEST FORMAT AS PARQUET SERIALIZETOJSON`))).message).toMatch(/Load into table/);
    await c.query(`COPY ${t} (a, b, c) FROM '${url}' IAM_ROLE '${ROLE}' MANIFEST FORMAT AS PARQUET SERIALIZETOJSON`);
    expect((await d.query(`SELECT COUNT(*)::int AS n FROM ${t}`)).rows).toEqual([{ n: 4 }]);
  });
});

describe("character handling", () => {
  it("invalid UTF-8 fails without ACCEPTINVCHARS and is replaced with it", async () => {
    const t = uniq("inv");
    await c.query(`CREATE TABLE ${t} (s VARCHAR(10))`);
    const url = await put(h.rs, `f6/${t}.csv`, Buffer.concat([Buffer.from("a"), Buffer.from([0xff]), Buffer.from("b\n")]));
    const e = await errorOf(c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' CSV`));
    expect(e.message).toMatch(/Load into table/);
    const r = await c.query(`SELECT err_code FROM stl_load_errors WHERE filename LIKE '%${t}%'`);
    expect(r.rows[0].err_code).toBe(1220);
    await c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' CSV ACCEPTINVCHARS`);
    await c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' CSV ACCEPTINVCHARS AS '^'`);
    expect((await d.query(`SELECT s FROM ${t} ORDER BY s`)).rows.map((x) => x.s)).toEqual(["a?b", "a^b"]);
  });

  it("CHAR takes single-byte characters only", async () => {
    const t = uniq("ch");
    await c.query(`CREATE TABLE ${t} (s CHAR(4))`);
    const url = await put(h.rs, `f11/${t}.csv`, "é\n");
    await errorOf(c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' CSV`));
    const r = await c.query(`SELECT err_code FROM stl_load_errors WHERE filename LIKE '%${t}%'`);
    expect(r.rows[0].err_code).toBe(1220);
  });

  it("NUL characters fail the load", async () => {
    const t = uniq("nul");
    await c.query(`CREATE TABLE ${t} (s VARCHAR(10))`);
    const url = await put(h.rs, `f7/${t}.csv`, "a\u0000b\n");
    const e = await errorOf(c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' CSV`));
    expect(e.message).toMatch(/Load into table/);
  });

  it("NaN and Infinity cannot be loaded into numeric or float columns", async () => {
    const t = uniq("nan");
    await c.query(`CREATE TABLE ${t} (f DOUBLE PRECISION)`);
    for (const v of ["NaN", "Infinity", "-inf"]) {
      const url = await put(h.rs, `f8/${t}-${v}.csv`, `${v}\n`);
      await errorOf(c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' CSV`));
    }
    expect(await count(t)).toBe(0);
  });

  it("the default (non-CSV) format is pipe-delimited text with \\N nulls", async () => {
    const t = uniq("txt");
    await c.query(`CREATE TABLE ${t} (a INTEGER, b VARCHAR(10))`);
    const url = await put(h.rs, `f9/${t}.txt`, "1|x\n2|\\N\n");
    await c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}'`);
    expect((await d.query(`SELECT a, b FROM ${t} ORDER BY a`)).rows).toEqual([
      { a: 1, b: "x" },
      { a: 2, b: null },
    ]);
  });

  it("SUPER from CSV takes JSON text, including \\u escapes beyond ASCII", async () => {
    const t = uniq("sup");
    await c.query(`CREATE TABLE ${t} (j SUPER)`);
    const url = await put(h.rs, `f10/${t}.csv`, `"{""s"": ""\\u00e9""}"\n`);
    await c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' CSV`);
    expect((await c.query(`SELECT JSON_SERIALIZE(j) AS j FROM ${t}`)).rows[0].j).toBe('{"s":"é"}');
  });
});

describe("delimited text: REMOVEQUOTES, ESCAPE, NULL and empty fields", () => {
  const rowsOf = async (t: string) => (await d.query(`SELECT * FROM ${t} ORDER BY id`)).rows;

  it("a file written as pipelinewise-target-redshift writes it (json.dumps values) loads with DELIMITER ',' REMOVEQUOTES ESCAPE", async () => {
    const t = uniq("pw");
    await c.query(`CREATE TABLE ${t} (id INTEGER, s VARCHAR(40), n NUMERIC(10,2), e VARCHAR(10), z INTEGER)`);
    const lines = [
      [1, "a, b, c", 3.5, "", null],
      [2, 'say "hi", \\ then | pipe', -1, " ", 7],
      [3, "é😀,", 0, "x", null],
    ].map((r) => r.map((v) => (v === null ? "" : JSON.stringify(v))).join(","));
    const url = await put(h.rs, `f12/${t}.csv`, lines.join("\n") + "\n");
    await c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' DELIMITER ',' REMOVEQUOTES ESCAPE EMPTYASNULL BLANKSASNULL TIMEFORMAT 'auto' COMPUPDATE OFF STATUPDATE OFF`);
    expect(await rowsOf(t)).toEqual([
      { id: 1, s: "a, b, c", n: "3.50", e: null, z: null },
      { id: 2, s: 'say "hi", \\ then | pipe', n: "-1.00", e: null, z: 7 },
      { id: 3, s: "é😀,", n: "0.00", e: "x", z: null },
    ]);
  });

  it("REMOVEQUOTES keeps everything between the surrounding quotes (AWS's examples); an unclosed quote fails its record", async () => {
    const t = uniq("rq");
    await c.query(`CREATE TABLE ${t} (id INTEGER, s VARCHAR(60))`);
    const body = [
      `1|"The delimiter is a pipe (|) character"`,
      `2|'Black'`,
      `3|"White"`,
      `4|Blue'`,
      `5|' ' 'Black' ' '`,
      `6|' '`,
      `7|'Blue`,
      `8|"Blue`,
      `9|"it's" and more"`,
    ].join("\n");
    const url = await put(h.rs, `f13/${t}.txt`, body + "\n");
    await c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' REMOVEQUOTES MAXERROR 5`);
    expect(await rowsOf(t)).toEqual([
      { id: 1, s: "The delimiter is a pipe (|) character" },
      { id: 2, s: "Black" },
      { id: 3, s: "White" },
      { id: 4, s: "Blue'" },
      { id: 5, s: " ' 'Black' ' " },
      { id: 6, s: " " },
      { id: 9, s: `it's" and more` },
    ]);
    const errs = await c.query(`SELECT line_number, err_code FROM stl_load_errors WHERE filename LIKE '%${t}%' ORDER BY line_number`);
    expect(errs.rows).toEqual([
      { line_number: "7", err_code: 1214 },
      { line_number: "8", err_code: 1214 },
    ]);
  });

  it("empty quoted string vs NULL: EMPTYASNULL and BLANKSASNULL apply after the quotes are removed; \\N is NULL", async () => {
    const t = uniq("en");
    await c.query(`CREATE TABLE ${t} (id INTEGER, a VARCHAR(5), b VARCHAR(5), i INTEGER)`);
    const body = `1|""|\\N|\n2||" "|\\N\n3|"\\N"|'x'|4\n`;
    const url = await put(h.rs, `f14/${t}.txt`, body);
    await c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' REMOVEQUOTES`);
    expect(await rowsOf(t)).toEqual([
      { id: 1, a: "", b: null, i: null },
      { id: 2, a: "", b: " ", i: null },
      { id: 3, a: "\\N", b: "x", i: 4 },
    ]);
    await c.query(`TRUNCATE ${t}`);
    await c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' REMOVEQUOTES EMPTYASNULL BLANKSASNULL`);
    expect(await rowsOf(t)).toEqual([
      { id: 1, a: null, b: null, i: null },
      { id: 2, a: null, b: null, i: null },
      { id: 3, a: "\\N", b: "x", i: 4 },
    ]);
  });

  it("ESCAPE: the character after a backslash is data (delimiter, newline, quote, backslash); \\\\N is NULL too", async () => {
    const t = uniq("esc");
    await c.query(`CREATE TABLE ${t} (id INTEGER, a VARCHAR(20), b VARCHAR(20))`);
    const body = `1|a\\|b|c\\\\d\n2|line\\\none|\\n\\t\n3|\\N|\\\\N\n4|"q\\""|'\\''\n`;
    const url = await put(h.rs, `f15/${t}.txt`, body);
    await c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' ESCAPE`);
    expect(await rowsOf(t)).toEqual([
      { id: 1, a: "a|b", b: "c\\d" },
      { id: 2, a: "line\none", b: "nt" },
      { id: 3, a: null, b: null },
      { id: 4, a: `"q""`, b: `'''` },
    ]);
    await c.query(`TRUNCATE ${t}`);
    await c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' ESCAPE REMOVEQUOTES`);
    expect((await rowsOf(t))[3]).toEqual({ id: 4, a: `q"`, b: `'` });
    // Without ESCAPE or REMOVEQUOTES, backslashes and quotes are plain data.
    await c.query(`TRUNCATE ${t}`);
    const plain = await put(h.rs, `f15/${t}-plain.txt`, `1|"x"|a\\b\n`);
    await c.query(`COPY ${t} FROM '${plain}' IAM_ROLE '${ROLE}'`);
    expect(await rowsOf(t)).toEqual([{ id: 1, a: `"x"`, b: "a\\b" }]);
  });
});
