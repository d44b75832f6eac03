import { describe, expect, it } from "vitest";
import type pg from "pg";
import { connectClients, useLocalRedshift } from "./shared.js";
import { errorOf, gz, put, putManifest, ROLE, uniq } from "./test-helpers.js";

const h = useLocalRedshift();
const { gateway: c, direct: d } = connectClients(h);

const CSV_OPTS = `IAM_ROLE '${ROLE}' MANIFEST FORMAT AS CSV QUOTE AS '"' DELIMITER ',' NULL AS '\\N' GZIP TIMEFORMAT 'auto' DATEFORMAT 'auto' STATUPDATE OFF COMPUPDATE OFF`;

describe("COPY from S3 (CSV, manifest, gzip)", () => {
  it("loads gzip CSV parts through a manifest into a temp table and reports pg_last_copy_count()", async () => {
    const t = uniq("users");
    await c.query(`CREATE TABLE "public"."${t}" ("id" BIGINT, "name" VARCHAR(20), "payload" SUPER, "ts" TIMESTAMPTZ, "amount" NUMERIC(10,2), "ok" BOOLEAN, "d" DATE)`);
    const url = await putManifest(h.rs, `t1/${t}`, [
      gz(`1,alice,"{""a"":1}",2024-01-01T10:00:00.123456789Z,1.239,true,2024-01-01\n2,"",\\N,\\N,\\N,\\N,\\N\n`),
      gz(`3,"bö, ""q""",[1],2024-01-02 03:04:05+02,2,false,2024-02-03\n`),
    ]);
    await c.query(`CREATE TEMP TABLE "stage_x" (LIKE "public"."${t}")`);
    await c.query(`COPY "stage_x" ("id","name","payload","ts","amount","ok","d") FROM '${url}' ${CSV_OPTS}`);
    const n = await c.query(`SELECT pg_last_copy_count()`);
    expect(Number(n.rows[0].pg_last_copy_count)).toBe(3);
    await c.query(`BEGIN; INSERT INTO "public"."${t}" SELECT * FROM "stage_x"; COMMIT;`);
    const r = await d.query(`SELECT id, name, payload::text AS payload, ts, amount::text AS amount, ok, d::text AS d FROM "${t}" ORDER BY id`);
    expect(r.rows.map((x) => x.id)).toEqual(["1", "2", "3"]);
    expect(r.rows[0].payload).toBe('{"a": 1}');
    expect(r.rows[0].amount).toBe("1.23"); // truncated, not rounded (no ROUNDEC)
    expect((r.rows[0].ts as Date).toISOString()).toBe("2024-01-01T10:00:00.123Z");
    expect(r.rows[1].name).toBe(""); // quoted empty stays empty without EMPTYASNULL
    expect(r.rows[1].payload).toBeNull();
    expect(r.rows[2].name).toBe('bö, "q"');
    expect(r.rows[2].d).toBe("2024-02-03");
  });

  it("loads by key prefix without a manifest, with IGNOREHEADER, EMPTYASNULL, BLANKSASNULL", async () => {
    const t = uniq("pfx");
    await c.query(`CREATE TABLE ${t} (a INTEGER, b VARCHAR(10), e VARCHAR(10))`);
    await put(h.rs, `t2/${t}/a.csv`, "a,b,e\n1,,   \n");
    await put(h.rs, `t2/${t}/b.csv`, "a,b,e\n2,x,y\n");
    await c.query(`COPY ${t} FROM 's3://${h.rs.s3.bucket}/t2/${t}/' IAM_ROLE '${ROLE}' CSV IGNOREHEADER 1 EMPTYASNULL BLANKSASNULL`);
    const r = await d.query(`SELECT * FROM ${t} ORDER BY a`);
    expect(r.rows).toEqual([{ a: 1, b: null, e: null }, { a: 2, b: "x", e: "y" }]);
  });

  it("ROUNDEC rounds extra decimal scale", async () => {
    const t = uniq("rnd");
    await c.query(`CREATE TABLE ${t} (n NUMERIC(10,2))`);
    const url = await put(h.rs, `t3/${t}.csv`, "1.239\n");
    await c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' CSV ROUNDEC`);
    expect((await d.query(`SELECT n::text FROM ${t}`)).rows[0].n).toBe("1.24");
  });

  it("a failed load raises Redshift's error and fills stl_load_errors and sys_load_error_detail", async () => {
    const t = uniq("bad");
    await c.query(`CREATE TABLE ${t} (id BIGINT, name VARCHAR(5))`);
    const url = await putManifest(h.rs, `t4/${t}`, [gz("1,ok\n2,fine\n"), gz("3,x\nabc,y\n")]);
    const e = await errorOf(c.query(`COPY ${t} FROM '${url}' ${CSV_OPTS}`));
    expect(e.message).toBe(`Load into table '${t}' failed.  Check 'stl_load_errors' system table for details.`);
    expect(e.code).toBe("XX000");
    const r = await c.query(
      `SELECT trim(filename) AS filename, line_number, trim(colname) AS colname, trim(raw_field_value) AS raw, trim(raw_line) AS raw_line, err_code, trim(err_reason) AS reason FROM stl_load_errors WHERE filename LIKE '%${t}%'`,
    );
    expect(r.rows).toHaveLength(1);
    expect(r.rows[0]).toMatchObject({ filename: `s3://${h.rs.s3.bucket}/t4/${t}/part-1`, line_number: "2", colname: "id", raw: "abc", raw_line: "abc,y", err_code: 1207 });
    expect(r.rows[0].reason).toMatch(/Invalid digit/);
    const s = await c.query(`SELECT trim(file_name) AS f, line_number, trim(column_name) AS col, error_code FROM sys_load_error_detail WHERE file_name LIKE '%${t}%'`);
    expect(s.rows[0]).toMatchObject({ f: `s3://${h.rs.s3.bucket}/t4/${t}/part-1`, line_number: "2", col: "id", error_code: 1207 });
    expect((await d.query(`SELECT count(*)::int AS n FROM ${t}`)).rows[0].n).toBe(0); // atomic
    expect(Number((await c.query(`SELECT pg_last_copy_count() AS n`)).rows[0].n)).toBe(0);
  });

  it("VARCHAR(n) counts UTF-8 bytes in COPY: overflow fails (1204), TRUNCATECOLUMNS truncates on a character boundary", async () => {
    const t = uniq("bytes");
    await c.query(`CREATE TABLE ${t} (s VARCHAR(3))`);
    const url = await put(h.rs, `t5/${t}.csv`, "éé\n"); // 4 bytes, 2 characters
    const e = await errorOf(c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' CSV`));
    expect(e.message).toMatch(/Load into table/);
    const r = await c.query(`SELECT err_code, trim(err_reason) AS reason FROM stl_load_errors WHERE filename LIKE '%${t}%'`);
    expect(r.rows[0]).toEqual({ err_code: 1204, reason: "String length exceeds DDL length" });
    await c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' CSV TRUNCATECOLUMNS`);
    const v = (await d.query(`SELECT s FROM ${t}`)).rows[0].s as string;
    expect(v).toBe("é");
  });

  it("MAXERROR skips bad rows and still records them", async () => {
    const t = uniq("maxerr");
    await c.query(`CREATE TABLE ${t} (id INTEGER)`);
    const url = await put(h.rs, `t6/${t}.csv`, "1\nx\n3\n");
    await c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' CSV MAXERROR 5`);
    expect((await d.query(`SELECT count(*)::int AS n FROM ${t}`)).rows[0].n).toBe(2);
    expect(Number((await c.query(`SELECT pg_last_copy_count() AS n`)).rows[0].n)).toBe(2);
  });

  it("a missing mandatory manifest entry is an error; a missing optional one is skipped", async () => {
    const t = uniq("man");
    await c.query(`CREATE TABLE ${t} (id INTEGER)`);
    const bad = await putManifest(h.rs, `t7/${t}`, ["1\n"], { extraEntries: [`s3://${h.rs.s3.bucket}/t7/${t}/missing`] });
    const e = await errorOf(c.query(`COPY ${t} FROM '${bad}' IAM_ROLE '${ROLE}' MANIFEST CSV`));
    expect(e.message).toMatch(/mandatory/);
    const url = await put(h.rs, `t7/${t}/opt.json`, JSON.stringify({ entries: [{ url: `s3://${h.rs.s3.bucket}/t7/${t}/part-0`, mandatory: true }, { url: `s3://${h.rs.s3.bucket}/t7/${t}/nope`, mandatory: false }] }));
    await c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' MANIFEST CSV`);
    expect((await d.query(`SELECT count(*)::int AS n FROM ${t}`)).rows[0].n).toBe(1);
  });

  it("a missing prefix is an error", async () => {
    const t = uniq("nopfx");
    await c.query(`CREATE TABLE ${t} (id INTEGER)`);
    const e = await errorOf(c.query(`COPY ${t} FROM 's3://${h.rs.s3.bucket}/nothing/here/' IAM_ROLE '${ROLE}' CSV`));
    expect(e.message).toBe("The specified S3 prefix 'nothing/here/' does not exist");
  });

  it("requires exactly one authorization form; accepts CREDENTIALS and ACCESS_KEY_ID forms", async () => {
    const t = uniq("auth");
    await c.query(`CREATE TABLE ${t} (id INTEGER)`);
    const url = await put(h.rs, `t8/${t}.csv`, "1\n");
    expect((await errorOf(c.query(`COPY ${t} FROM '${url}' CSV`))).message).toMatch(/Missing credentials/);
    expect((await errorOf(c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' ACCESS_KEY_ID 'a' SECRET_ACCESS_KEY 'b' CSV`))).message).toMatch(/more than one authorization/);
    expect((await errorOf(c.query(`COPY ${t} FROM '${url}' IAM_ROLE 'not-an-arn' CSV`))).message).toMatch(/Invalid IAM role/);
    await c.query(`COPY ${t} FROM '${url}' CREDENTIALS 'aws_access_key_id=${h.rs.s3.accessKeyId};aws_secret_access_key=${h.rs.s3.secretAccessKey}' CSV`);
    await c.query(`COPY ${t} FROM '${url}' ACCESS_KEY_ID '${h.rs.s3.accessKeyId}' SECRET_ACCESS_KEY '${h.rs.s3.secretAccessKey}' SESSION_TOKEN 'tok' CSV REGION 'us-west-2'`);
    expect((await errorOf(c.query(`COPY ${t} FROM '${url}' ACCESS_KEY_ID 'WRONG' SECRET_ACCESS_KEY 'x' CSV`))).message).toMatch(/Access Key Id/);
    expect((await d.query(`SELECT count(*)::int AS n FROM ${t}`)).rows[0].n).toBe(2);
  });

  it("COPY inside a transaction with a temp table, then MERGE, then COMMIT", async () => {
    const t = uniq("merge");
    await c.query(`CREATE TABLE ${t} (id BIGINT, v VARCHAR(10))`);
    await d.query(`INSERT INTO ${t} VALUES (1, 'old'), (2, 'keep')`);
    const url = await putManifest(h.rs, `t9/${t}`, [gz("1,new\n3,ins\n")]);
    await c.query(`CREATE TEMP TABLE s_${t} (LIKE ${t})`);
    await c.query(`BEGIN`);
    await c.query(`COPY s_${t} FROM '${url}' ${CSV_OPTS}`);
    await c.query(`MERGE INTO ${t} USING s_${t} s ON ${t}.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.v)`);
    expect((await d.query(`SELECT count(*)::int AS n FROM ${t}`)).rows[0].n).toBe(2); // not visible before COMMIT
    await c.query(`COMMIT`);
    expect((await d.query(`SELECT id, v FROM ${t} ORDER BY id`)).rows).toEqual([
      { id: "1", v: "new" },
      { id: "2", v: "keep" },
      { id: "3", v: "ins" },
    ]);
  });

  it("a multi-statement simple query containing a COPY runs statement by statement", async () => {
    const t = uniq("multi");
    await c.query(`CREATE TABLE ${t} (id INTEGER)`);
    const url = await put(h.rs, `t10/${t}.csv`, "1\n2\n");
    const res = (await c.query(`CREATE TEMP TABLE m_${t} (LIKE ${t}); COPY m_${t} FROM '${url}' IAM_ROLE '${ROLE}' CSV; INSERT INTO ${t} SELECT * FROM m_${t}; SELECT pg_last_copy_count() AS n`)) as unknown as pg.QueryResult[];
    expect(Number(res[3]!.rows[0].n)).toBe(2);
    expect((await d.query(`SELECT count(*)::int AS n FROM ${t}`)).rows[0].n).toBe(2);
  });

  it("COPY FROM s3 through the extended protocol is refused clearly", async () => {
    const e = await errorOf(c.query({ text: `COPY x FROM 's3://b/k' IAM_ROLE '${ROLE}' CSV`, values: [], queryMode: "extended" } as pg.QueryConfig));
    expect(e.message).toMatch(/simple query protocol/);
    const e2 = await errorOf(c.query(`SELECT $1::int AS a; COPY x FROM 's3://b/k'`, [1]));
    expect(e2).toBeTruthy();
    expect((await c.query(`SELECT 1 AS ok`)).rows[0].ok).toBe(1);
  });
});
