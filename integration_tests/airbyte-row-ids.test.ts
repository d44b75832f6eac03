/**
 * `_airbyte_raw_id` is made by the load statement from the staged ordinal (src/encode/row-id.ts,
 * rowIdSql in src/redshift/sql.ts), never staged: through both upsert strategies, Parquet staging, both
 * encode paths, and tables made elsewhere whose raw id column is narrower or not text.
 */
import { describe, expect, it } from "vitest";
import { uniqueSchema, withPg } from "./helpers/target.js";
import { type Json, airbyteConfig, catalogOf, runAirbyte, streamState } from "./helpers/airbyte.js";

const SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const schemaOf = { type: "object", properties: { id: { type: "integer" }, v: { type: "string" } } };
const rec = (stream: string, id: number, v: string) => JSON.stringify({ type: "RECORD", record: { stream, emitted_at: 1_700_000_000_000 + id, data: { id, v } } });

async function query(sql: string): Promise<Record<string, unknown>[]> {
  return withPg(async (c) => (await c.query(sql)).rows);
}

/** The table's rows as id → [v, raw id's ordinal (its last 12 hex digits)], checking each id's shape. */
async function idsOf(schema: string, table: string): Promise<Map<number, [string, number]>> {
  const out = new Map<number, [string, number]>();
  for (const r of await query(`SELECT id, v, _airbyte_raw_id AS raw FROM "${schema}"."${table}" ORDER BY id`)) {
    expect(r.raw as string).toMatch(SHAPE);
    out.set(Number(r.id), [r.v as string, Number.parseInt((r.raw as string).slice(24), 16)]);
  }
  return out;
}

describe("Airbyte raw ids made by the load statement", () => {
  describe.each([
    { strategy: "merge", format: "csv_gzip", workers: 0 },
    { strategy: "delete_insert", format: "csv_gzip", workers: 2 },
    { strategy: "merge", format: "parquet", workers: 0 },
    { strategy: "delete_insert", format: "parquet", workers: 2 },
  ])("upsert_strategy $strategy, file_format $format, encode_workers $workers", ({ strategy, format, workers }) => {
    it("an updated row takes the id of the record that updated it; append rows keep theirs; ids unique and of one run's prefix", async () => {
      const schema = uniqueSchema(`rid_${strategy}_${format}_${workers}`);
      const config = airbyteConfig(schema, { upsert_strategy: strategy, file_format: format, encode_workers: workers, batch_size_rows: 3 });
      const catalog = catalogOf({ name: "d", schema: schemaOf, mode: "append_dedup", primaryKey: [["id"]] }, { name: "a", schema: schemaOf, mode: "append" });
      // Input positions (main thread): d1=1, a1=2, d2=3, a2=4, d3=5, d1'=6 (STATE takes none), d2'=7, a3=8.
      const input = [rec("d", 1, "x"), rec("a", 1, "x"), rec("d", 2, "x"), rec("a", 2, "x"), rec("d", 3, "x"), streamState("d", undefined, { s: 1 }), rec("d", 1, "y"), rec("d", 2, "y"), rec("a", 3, "x")];
      const r = await runAirbyte("write", { config, catalog, input });
      expect(r.code, JSON.stringify(r.traces)).toBe(0);
      const d = await idsOf(schema, "d");
      const a = await idsOf(schema, "a");
      expect([...d.values()].map((x) => x[0])).toEqual(["y", "y", "x"]);
      expect(a.size).toBe(3);
      const all = await query(`SELECT _airbyte_raw_id AS raw FROM "${schema}"."d" UNION ALL SELECT _airbyte_raw_id FROM "${schema}"."a"`);
      expect(new Set(all.map((x) => x.raw)).size).toBe(6);
      expect(new Set(all.map((x) => (x.raw as string).slice(0, 24))).size).toBe(1);
      if (workers === 0) {
        expect(d.get(1)![1]).toBe(6);
        expect(d.get(2)![1]).toBe(7);
        expect(d.get(3)![1]).toBe(5);
        expect([...a.values()].map((x) => x[1])).toEqual([2, 4, 8]);
      } else {
        // Worker positions are unit × 2^21 + line: the later record of a key still has the greater one.
        expect(d.get(1)![1]).toBeGreaterThan(d.get(3)![1]);
        expect(d.get(2)![1]).toBeGreaterThan(d.get(3)![1]);
      }
    });
  });

  it("a table made elsewhere with a narrower VARCHAR raw id column: widened, ids whole", async () => {
    const schema = uniqueSchema("rid_narrow");
    await withPg(async (c) => {
      await c.query(`CREATE SCHEMA "${schema}"`);
      await c.query(`CREATE TABLE "${schema}"."a" (id BIGINT, v VARCHAR(10), _airbyte_raw_id VARCHAR(16), _airbyte_extracted_at TIMESTAMPTZ, _airbyte_generation_id BIGINT, _airbyte_meta SUPER)`);
    });
    const r = await runAirbyte("write", { config: airbyteConfig(schema, { encode_workers: 0 }), catalog: catalogOf({ name: "a", schema: schemaOf, mode: "append" }), input: [rec("a", 1, "x"), rec("a", 2, "x")] });
    expect(r.code, JSON.stringify(r.traces)).toBe(0);
    expect([...(await idsOf(schema, "a")).values()].map((x) => x[1])).toEqual([1, 2]);
  });

  it("a table made elsewhere whose raw id column is SUPER (the one type not migrated to VARCHAR): the run fails naming stream, table, column and type; nothing loaded, no STATE", async () => {
    const schema = uniqueSchema("rid_super");
    await withPg(async (c) => {
      await c.query(`CREATE SCHEMA "${schema}"`);
      await c.query(`CREATE TABLE "${schema}"."a" (id BIGINT, v VARCHAR(10), _airbyte_raw_id SUPER)`);
    });
    const r = await runAirbyte("write", {
      config: airbyteConfig(schema),
      catalog: catalogOf({ name: "a", schema: schemaOf, mode: "append" }),
      input: [rec("a", 1, "x"), streamState("a", undefined, { s: 1 })],
    });
    expect(r.code).not.toBe(0);
    expect(r.states).toEqual([]);
    const error = r.traces.map((t) => (t.trace as Json).error as Json | undefined).find((e) => e !== undefined);
    expect(error?.message).toMatch(/stream "a": column "_airbyte_raw_id" of rid_super_\w+\.a is SUPER, but it holds row ids \(36-character text\)/);
    expect(error?.failure_type).toBe("config_error");
    expect(await query(`SELECT COUNT(*)::int AS n FROM "${schema}"."a"`)).toEqual([{ n: 0 }]);
  });
});
