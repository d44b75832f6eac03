// The CSV pass-through (original bytes straight to PostgreSQL) against the converting path it
// shortcuts: every case is loaded both ways and must give the same rows, counts, errors and
// stl_load_errors entries.
import { afterAll, describe, expect, it } from "vitest";
import type pg from "pg";
import { copyTuning } from "./copy.js";
import { connectClients, useLocalRedshift } from "./shared.js";
import { gz, putManifest, ROLE, uniq } from "./test-helpers.js";

const h = useLocalRedshift();
const { gateway: c, direct: d } = connectClients(h);
afterAll(() => {
  copyTuning.passThrough = true;
});

const COLS = `(id BIGINT, name VARCHAR(12), code CHAR(3), payload SUPER, ts TIMESTAMPTZ, amount NUMERIC(10,2), f FLOAT8, ok BOOLEAN)`;
const OPTS = `FORMAT AS CSV QUOTE AS '"' DELIMITER ',' NULL AS '\\N' GZIP TIMEFORMAT 'auto' DATEFORMAT 'auto'`;

async function loadBothWays(cols: string, parts: string[], opts: string): Promise<void> {
  const url = await putManifest(h.rs, `pt/${uniq("m")}`, parts.map((p) => gz(p)));
  const results = [];
  for (const passThrough of [true, false]) {
    copyTuning.passThrough = passThrough;
    const t = uniq(passThrough ? "fast" : "slow");
    await c.query(`CREATE TABLE ${t} ${cols}`);
    let outcome: unknown;
    try {
      await c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' MANIFEST ${opts}`);
      outcome = { count: (await c.query(`SELECT pg_last_copy_count() AS n`)).rows[0].n };
    } catch (e) {
      const err = e as pg.DatabaseError;
      outcome = { code: err.code, message: err.message.replace(t, "T"), detail: err.detail?.replace(/query:\s+\d+/, "") };
    }
    const rows = (await d.query(`SELECT to_jsonb(x)::text AS r FROM ${t} x ORDER BY 1`)).rows.map((r) => r.r);
    const errs = (
      await d.query(
        `SELECT filename, line_number, colname, type, col_length, raw_line, raw_field_value, err_code, err_reason
         FROM redshift_local.load_errors WHERE tbl = '${t}'::regclass::oid ORDER BY line_number, filename, err_code`,
      )
    ).rows;
    results.push({ outcome, rows, errs });
  }
  copyTuning.passThrough = true;
  expect(results[0]).toEqual(results[1]);
}

describe("CSV pass-through gives the same results as converting every record", () => {
  it("plain rows, quoting, NULLs, empty fields, blank lines, no final newline", async () => {
    await loadBothWays(COLS, [
      `1,alice,abc,"{""a"":1}",2024-01-01T10:00:00.123456Z,1.23,1.5,true\n` +
        `2,"b, ""q""",\\N,\\N,\\N,\\N,\\N,\\N\n` +
        `3,,"",[1],2024-01-01 10:00:00+02,-2,1e3,f\n\n` +
        `4,"\\N",x,"""s""",2024-01-01,+3.1,-0.5,"t"\n` +
        `5,"multi\nline",y,{},2024-01-01T10:00:00Z,7,2,false`,
      `6,bö,zzz,"{""k"":""Zürich""}",2024-06-01T00:00:00.5Z,0.01,0,true\n7,,,,,,,\n`,
    ], OPTS);
  });

  it("values that need conversion: extra scale, nanoseconds, \\u escapes, EMPTYASNULL", async () => {
    const data = [
      `1,a,b,"{""s"":""\\u00e9""}",2024-01-01,1,1,true\n2,"",c,"{}",2024-01-01,5.5,2,false\n` +
        `3,a,b,{},2024-01-01T10:00:00.1234567Z,1,1,t\n4,a,b,{},2024-01-01,9.999,1,t\n5,a,,{},2024-01-01,0.5,1,t\n`,
    ];
    await loadBothWays(COLS, data, OPTS);
    await loadBothWays(COLS, data, `${OPTS} EMPTYASNULL`);
    await loadBothWays(COLS, data, `${OPTS} ROUNDEC`);
  });

  it("errors found by the gateway: too long, multibyte CHAR, NaN, column count, quotes", async () => {
    for (const bad of [
      `1,much too long a name,a,{},2024-01-01,1,1,t`,
      `1,a,é,{},2024-01-01,1,1,t`,
      `1,a,b,{},2024-01-01,1,NaN,t`,
      `1,a,b,{},2024-01-01,1,1,t,extra`,
      `1,a,b,{},2024-01-01,1,1`,
      `1,"a"b,c,{},2024-01-01,1,1,t`,
      `1,a"b,c,{},2024-01-01,1,1,t`,
      `\\.`,
      `1,"unterminated,c,{},2024-01-01,1,1,t`,
    ]) {
      await loadBothWays(COLS, [`0,ok,a,{},2024-01-01,1,1,t\n${bad}\n9,ok,a,{},2024-01-01,1,1,t\n`], OPTS);
    }
  });

  it("errors found by PostgreSQL, MAXERROR, a header, CRLF, NUL and invalid UTF-8 files", async () => {
    const good = `0,ok,a,{},2024-01-01,1,1,t\n`;
    await loadBothWays(COLS, [`${good}x,a,b,{},2024-01-01,1,1,t\n`], OPTS);
    await loadBothWays(COLS, [`${good}1,a,b,{bad,2024-01-01,1,1,t\n`], OPTS);
    await loadBothWays(COLS, [`${good}1,a,b,{},2024-13-01,1,1,t\n`], OPTS);
    await loadBothWays(COLS, [`${good}1,a,b,{},2024-01-01,1,1,maybe\n2,much too long a name,a,{},2024-01-01,1,1,t\n3,a,b,{},2024-01-01,1,1,t\n`], `${OPTS} MAXERROR 5`);
    await loadBothWays(COLS, [`id,name\n${good}`, `id,name\n${good}`], `${OPTS} IGNOREHEADER 1`);
    await loadBothWays(COLS, [`${good.replace("\n", "\r\n")}1,a,b,{},2024-01-01,1,1,t\r\n`], OPTS);
    await loadBothWays(COLS, [`${good}1,a\u0000,b,{},2024-01-01,1,1,t\n`], OPTS);
    await loadBothWays(COLS, [Buffer.concat([Buffer.from(good), Buffer.from([0x31, 0x2c, 0xff, 0x0a])]).toString("latin1")], `${OPTS} ACCEPTINVCHARS`);
  });

  it("gateway-found errors win over PostgreSQL's, as when all files were read before the COPY", async () => {
    const t = uniq("order");
    await c.query(`CREATE TABLE ${t} (a INTEGER, b VARCHAR(3))`);
    const bigGood = "1,abc\n".repeat(200_000); // several chunks, so PostgreSQL fails while file 2 is read
    const url = await putManifest(h.rs, `pt/${t}`, [gz(`x,abc\n${bigGood}`), gz(`2,abcd\n`)]);
    const e = await c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' MANIFEST CSV GZIP`).catch((x: pg.DatabaseError) => x);
    expect((e as pg.DatabaseError).message).toMatch(/^Load into table '.*' failed/);
    const errs = (await d.query(`SELECT line_number, err_code FROM redshift_local.load_errors WHERE tbl = '${t}'::regclass::oid`)).rows;
    expect(errs).toEqual([{ line_number: "1", err_code: 1204 }]);
    expect((await d.query(`SELECT count(*)::int AS n FROM ${t}`)).rows[0].n).toBe(0);
    const multi = (x: number) => `x,abc\n${bigGood}${"1,abc\n".repeat(x)}`;
    for (const maxError of [1, 2]) await loadBothWays(`(a INTEGER, b VARCHAR(3))`, [multi(3), `2,abcd\n3,abc\n`], `CSV MAXERROR ${maxError}`);
  });

  it("other delimiters, quotes and NULL AS", async () => {
    await loadBothWays(`(a INTEGER, b VARCHAR(10), e VARCHAR(10))`, [`1|'x|y'|\\N\n2||\n3|NULL|'it''s'\n`], `CSV DELIMITER '|' QUOTE ''''`);
    await loadBothWays(`(a INTEGER, b VARCHAR(10), e VARCHAR(10))`, [`1,NULL,x\n2,"NULL",\\N\n`], `CSV NULL AS 'NULL'`);
    await loadBothWays(`(a INTEGER, b VARCHAR(10), e VARCHAR(10))`, [`1,,x\n2,"",\n`], `CSV`);
  });
});
