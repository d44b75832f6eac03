// Identifiers of 64..127 bytes (Redshift's limit; PostgreSQL keeps 63) work end to end through the
// gateway, and longer ones are cut to 127 bytes as Redshift does. The connector's own SQL builders are
// used so that what is proven is what the connector runs.
import { describe, expect, it } from "vitest";
import * as sql from "../../src/redshift/sql.js";
import { pgName } from "./names.js";
import { connectClients, useLocalRedshift } from "./shared.js";
import { errorOf, gz, put, putManifest, ROLE } from "./test-helpers.js";

const h = useLocalRedshift();
const { gateway: c, direct: d } = connectClients(h);

let seq = 0;
/** A lowercase name of exactly `bytes` UTF-8 bytes: a unique head, then `fill` repeated (1-byte pad). */
function named(head: string, bytes: number, fill: string): string {
  let s = `${head}${process.pid}_${++seq}_`;
  while (Buffer.byteLength(s + fill) <= bytes) s += fill;
  while (Buffer.byteLength(s) < bytes) s += "x";
  expect(Buffer.byteLength(s)).toBe(bytes);
  return s;
}
const bytes = (s: string) => Buffer.byteLength(s, "utf8");
const q = (s: string) => `"${s.replace(/"/g, '""')}"`;

describe("names of 64..127 bytes", () => {
  it("CREATE SCHEMA/TABLE, the connector's catalog read, information_schema and pg_table_def show the names exactly", async () => {
    const schema = named("s_", 100, "é");
    const table = named("t_", 127, "😀");
    const col100 = named("c_", 100, "x");
    const col127 = named("e_", 127, "é");
    const t = { schema, table };
    await c.query(sql.createSchema(schema));
    await c.query(sql.createTable(t, [
      { name: "id", type: { kind: "bigint" } },
      { name: col100, type: { kind: "varchar", length: 10 } },
      { name: col127, type: { kind: "timestamptz" } },
    ] as sql.ColumnDef[]));
    const described = await c.query(sql.describeTable(t));
    expect(described.rows).toEqual([
      { column_name: "id", column_type: "bigint", column_comment: null },
      { column_name: col100, column_type: "character varying(10)", column_comment: null },
      { column_name: col127, column_type: "timestamp with time zone", column_comment: null },
    ]);
    const info = await c.query(
      `SELECT table_schema, table_name, column_name FROM information_schema.columns WHERE table_schema = '${schema}' AND table_name IN ('${table}') ORDER BY ordinal_position`,
    );
    expect(info.rows.map((r) => [r.table_schema, r.table_name, r.column_name])).toEqual([
      [schema, table, "id"],
      [schema, table, col100],
      [schema, table, col127],
    ]);
    await c.query(`SET search_path TO ${q(schema)}`);
    const def = await c.query(`SELECT schemaname, tablename, "column" FROM pg_table_def WHERE tablename = '${table}' ORDER BY 3`);
    await c.query("SET search_path TO public");
    expect(def.rows.map((r) => r.column).sort()).toEqual([col100, col127, "id"].sort());
    expect(def.rows[0]).toMatchObject({ schemaname: schema, tablename: table });
    const ns = await c.query(`SELECT nspname FROM pg_namespace WHERE nspname = '${schema}'`);
    expect(ns.rows).toEqual([{ nspname: schema }]);
    // Texts that name relations: '…'::regclass and to_regclass('…').
    const oid = await c.query(`SELECT ${sql.quoteLiteral(sql.tableSql(t))}::regclass::oid AS a, to_regclass(${sql.quoteLiteral(sql.tableSql(t))})::oid AS b`);
    expect(oid.rows[0].a).toBe(oid.rows[0].b);
    expect(Number(oid.rows[0].a)).toBeGreaterThan(0);
    // The column names of a result are names too.
    const sel = await c.query(`SELECT id AS ${q(col127)}, ${q(col100)} FROM ${sql.tableSql(t)}`);
    expect(sel.fields.map((f) => f.name)).toEqual([col127, col100]);
    // Direct PostgreSQL clients find the short names in redshift_local.identifiers.
    const map = await d.query(`SELECT pg_name FROM redshift_local.identifiers WHERE redshift_name = $1`, [table]);
    expect(map.rows).toEqual([{ pg_name: pgName(table) }]);
    expect(bytes(pgName(table))).toBeLessThanOrEqual(63);
  });

  it("unquoted long names fold like quoted ones; the same name always reaches the same object", async () => {
    const table = named("Up_", 90, "Z").replace(/\d/g, "a");
    await c.query(`CREATE TABLE ${table} (${"Col".repeat(30)} INTEGER)`);
    await c.query(`INSERT INTO "${table.toUpperCase()}" VALUES (1)`);
    const r = await c.query(`SELECT ${"cOL".repeat(30)} FROM ${table.toLowerCase()}`);
    expect(r.rows).toEqual([{ ["col".repeat(30)]: 1 }]);
    const cat = await c.query(`SELECT relname FROM pg_class WHERE relname = '${table.toLowerCase()}'`);
    expect(cat.rows).toEqual([{ relname: table.toLowerCase() }]);
  });

  it("ALTER TABLE ADD COLUMN, RENAME, RENAME COLUMN and ALTER COLUMN TYPE with long names", async () => {
    const schema = named("alt_", 64, "é");
    const t = { schema, table: named("t_", 110, "😀") };
    const col = named("col_", 127, "😀");
    await c.query(sql.createSchema(schema));
    await c.query(sql.createTable(t, [{ name: "id", type: { kind: "bigint" } }] as sql.ColumnDef[]));
    await c.query(sql.addColumn(t, { name: col, type: { kind: "varchar", length: 5 } } as sql.ColumnDef));
    await c.query(`INSERT INTO ${sql.tableSql(t)} VALUES (1, 'abcde')`);
    await c.query(sql.widenVarchar(t, col, 300));
    await c.query(`INSERT INTO ${sql.tableSql(t)} VALUES (2, '${"y".repeat(300)}')`);
    const renamed = { schema, table: named("r_", 127, "é") };
    const col2 = named("col2_", 99, "é");
    await c.query(`ALTER TABLE ${sql.tableSql(t)} RENAME TO ${q(renamed.table)}`);
    await c.query(`ALTER TABLE ${sql.tableSql(renamed)} RENAME COLUMN ${q(col)} TO ${q(col2)}`);
    const described = await c.query(sql.describeTable(renamed));
    expect(described.rows).toEqual([
      { column_name: "id", column_type: "bigint", column_comment: null },
      { column_name: col2, column_type: "character varying(300)", column_comment: null },
    ]);
    expect((await c.query(sql.describeTable(t))).rows).toEqual([]);
  });

  it("stage table, COPY with a long column list, MERGE, DELETE+INSERT and INSERT … SELECT, as the connector runs them", async () => {
    const schema = named("ld_", 127, "é");
    const target = { schema, table: named("tbl_", 127, "😀") };
    const key = named("key_", 100, "é");
    const val = named("val_", 127, "😀");
    const stage = named("stage_", 127, "é");
    const ordinal = named("_tr_ordinal_", 70, "x");
    const cols = [
      { name: key, type: { kind: "bigint" } },
      { name: val, type: { kind: "varchar", length: 20 } },
    ] as sql.ColumnDef[];
    await c.query(sql.createSchema(schema));
    await c.query(sql.createTable(target, cols));
    await c.query(`INSERT INTO ${sql.tableSql(target)} VALUES (1, 'old'), (9, 'keep')`);

    const upsert = async (csv: string, strategy: "merge" | "delete-insert") => {
      const url = await putManifest(h.rs, `names/${process.pid}_${++seq}`, [gz(csv)]);
      await c.query(sql.createStageTable(stage, [...cols, { name: ordinal, type: { kind: "bigint" } } as sql.ColumnDef]));
      await c.query(sql.copyFromManifest({ table: stage, columns: [key, val, ordinal], manifestUrl: url, auth: { iamRoleArn: ROLE }, format: "csv_gzip" }));
      expect(Number((await c.query(sql.lastCopyCount())).rows[0].loaded)).toBe(csv.trim().split("\n").length);
      await c.query(sql.dedupStage(stage, [key], [], ordinal));
      const plan = { target, stage, columns: [key, val], keys: [key] };
      const statements = strategy === "merge" ? sql.mergeUpsert(plan) : sql.deleteInsertUpsert(plan);
      await c.query("BEGIN");
      await c.query(sql.lockTable(target));
      for (const s of statements) await c.query(s.sql);
      await c.query("COMMIT");
      await c.query(sql.dropTable(stage));
    };
    await upsert(`1,"new",1\n2,"two",2\n2,"two-later",3\n`, "merge");
    await upsert(`3,"three",1\n9,"nine",2\n`, "delete-insert");
    const appendStage = { ...target, table: named("app_", 127, "é") };
    await c.query(sql.createTable(appendStage, cols));
    await c.query(`INSERT INTO ${sql.tableSql(appendStage)} VALUES (4, 'four')`);
    await c.query(sql.insertFromStage({ target, stage: appendStage.table, columns: [key, val] }).sql.replace(`FROM ${q(appendStage.table)}`, `FROM ${sql.tableSql(appendStage)}`));
    const r = await c.query(`SELECT ${q(key)} AS k, ${q(val)} AS v FROM ${sql.tableSql(target)} ORDER BY 1`);
    expect(r.rows).toEqual([
      { k: "1", v: "new" },
      { k: "2", v: "two-later" },
      { k: "3", v: "three" },
      { k: "4", v: "four" },
      { k: "9", v: "nine" },
    ]);
    await c.query(`DELETE FROM ${sql.tableSql(target)} WHERE ${q(key)} > 2`);
    expect(Number((await c.query(sql.countRows(target))).rows[0].n)).toBe(2);
  });

  it("a failed COPY names the table and column by their Redshift names; JSON 'auto' matches long keys", async () => {
    const table = named("bad_", 120, "é");
    const col = named("n_", 127, "😀");
    await c.query(`CREATE TABLE ${q(table)} (${q(col)} INTEGER)`);
    const url = await put(h.rs, `names/${process.pid}_${++seq}.csv`, "1\nabc\n");
    const e = await errorOf(c.query(`COPY ${q(table)} FROM '${url}' IAM_ROLE '${ROLE}' CSV`));
    expect(e.message).toBe(`Load into table '${table}' failed.  Check 'stl_load_errors' system table for details.`);
    const le = await c.query(`SELECT trim(colname) AS colname FROM stl_load_errors WHERE filename LIKE '%${url.split("/").pop()}%'`);
    expect(le.rows).toEqual([{ colname: col }]);
    const json = await put(h.rs, `names/${process.pid}_${++seq}.json`, JSON.stringify({ [col]: 7 }));
    await c.query(`COPY ${q(table)} FROM '${json}' IAM_ROLE '${ROLE}' JSON 'auto'`);
    expect((await c.query(`SELECT ${q(col)} AS v FROM ${q(table)}`)).rows).toEqual([{ v: 7 }]);
    const missing = await errorOf(c.query(`SELECT * FROM ${q(table + "é")}`));
    expect(missing.message).toBe(`relation "${table}é" does not exist`);
  });

  it("names over 127 bytes are cut to 127 bytes at a character boundary, as Redshift truncates them", async () => {
    let head = `cut_${process.pid}_${++seq}_`;
    if (head.length % 2) head += "x"; // even, so that é's straddle bytes 127-128
    const long = head + "é".repeat(60);
    const cut = Buffer.from(long).subarray(0, 127).toString("utf8").replace(/\uFFFD$/, "");
    expect(bytes(cut)).toBe(126); // the 127th byte would split an é
    await c.query(`CREATE TABLE ${q(long)} (${q("k".repeat(130))} INTEGER)`);
    await c.query(`INSERT INTO ${q(cut)} VALUES (5)`);
    const r = await c.query(`SELECT * FROM ${q(long + "ignored")}`);
    expect(r.rows).toEqual([{ ["k".repeat(127)]: 5 }]);
    const cat = await c.query(`SELECT relname FROM pg_class WHERE relname = '${cut}'`);
    expect(cat.rows).toEqual([{ relname: cut }]);
    // A catalog literal over 127 bytes matches no name, as in Redshift.
    expect((await c.query(`SELECT relname FROM pg_class WHERE relname = '${long}'`)).rows).toEqual([]);
  });

  it("data that merely looks long is never rewritten: long string values and LIKE patterns stay as sent", async () => {
    const t = named("data_", 80, "é");
    const v = "v".repeat(100);
    await c.query(`CREATE TABLE ${q(t)} (s VARCHAR(200))`);
    await c.query(`INSERT INTO ${q(t)} VALUES ('${v}')`);
    expect((await c.query(`SELECT s FROM ${q(t)} WHERE s = '${v}'`)).rows).toEqual([{ s: v }]);
    expect((await d.query(`SELECT s FROM "${pgName(t)}"`)).rows).toEqual([{ s: v }]);
  });
});
