/**
 * Columns the load statement fills instead of the staged file (FilledColumn in src/redshift/sql.ts):
 * `_airbyte_raw_id`, made from the staged ordinal (src/encode/row-id.ts), and Singer's `_sdc_batched_at`,
 * the batch's open time as a literal of its column's type. Through both upsert strategies, CSV and
 * Parquet staging, both encode paths, and tables made elsewhere with other types for these columns.
 */
import { describe, expect, it } from "vitest";
import { configFor, record, runSinger, schemaMsg, uniqueSchema, withPg } from "./helpers/target.js";
import { type Json, airbyteConfig, catalogOf, runAirbyte, streamState } from "./helpers/airbyte.js";
import { trackEncodePaths } from "./helpers/encode-paths.js";

const seen = trackEncodePaths();
const jsonl = (msgs: unknown[]) => msgs.map((m) => JSON.stringify(m)).join("\n") + "\n";

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

  it("a table made elsewhere whose raw id column is SUPER (the one type evolution does not migrate to VARCHAR): the ids go in as JSON strings", async () => {
    const schema = uniqueSchema("rid_super");
    await withPg(async (c) => {
      await c.query(`CREATE SCHEMA "${schema}"`);
      await c.query(`CREATE TABLE "${schema}"."a" (id BIGINT, v VARCHAR(10), _airbyte_raw_id SUPER)`);
    });
    for (const [mode, strategy] of [["append", "merge"], ["append_dedup", "merge"], ["append_dedup", "delete_insert"]] as const) {
      const r = await runAirbyte("write", {
        config: airbyteConfig(schema, { encode_workers: 0, upsert_strategy: strategy }),
        catalog: catalogOf({ name: "a", schema: schemaOf, mode, primaryKey: mode === "append" ? [] : [["id"]] }),
        input: [rec("a", 1, mode), streamState("a", undefined, { s: 1 })],
      });
      expect(r.code, JSON.stringify(r.traces)).toBe(0);
      expect(r.states).toHaveLength(1);
    }
    const ids = (await query(`SELECT _airbyte_raw_id::text AS raw FROM "${schema}"."a"`)).map((x) => JSON.parse(x.raw as string) as string);
    expect(ids).toHaveLength(1); // appended, then upserted twice on its key
    for (const id of ids) expect(id).toMatch(SHAPE);
  });
});

describe("Singer _sdc_batched_at filled by the load statement", () => {
  const props = { id: { type: "integer" }, v: { type: "string" } };
  const input = (n: number) => jsonl([schemaMsg("t", props), ...Array.from({ length: n }, (_, i) => record("t", { id: i + 1, v: "x" }))]);

  describe.each([
    { format: "csv_gzip", workers: 0 },
    { format: "csv_gzip", workers: 2 },
    { format: "parquet", workers: 0 },
  ])("file_format $format, encode_workers $workers", ({ format, workers }) => {
    it("one time per batch, the batch's open time: the same on each of its rows, within the run, later batches not earlier", async () => {
      const schema = uniqueSchema(`bat_${format}_${workers}`);
      const from = Date.now();
      const r = await runSinger(configFor(schema, { add_metadata_columns: true, file_format: format, encode_workers: workers, batch_size_rows: 4 }), input(10));
      const to = Date.now();
      expect(r.code, r.stderr.join("\n")).toBe(0);
      const rows = await query(`SELECT id, EXTRACT(EPOCH FROM _sdc_batched_at) * 1000 AS at FROM "${schema}"."t" ORDER BY id`);
      const at = rows.map((x) => Number(x.at));
      expect(at).toHaveLength(10);
      // batches of 4, 4, 2 rows
      for (const [a, b] of [[0, 3], [4, 7], [8, 9]] as const) expect(new Set(at.slice(a, b + 1)).size, `rows ${a + 1}–${b + 1}`).toBe(1);
      expect(at[4]!).toBeGreaterThanOrEqual(at[0]!);
      expect(at[8]!).toBeGreaterThanOrEqual(at[4]!);
      for (const t of at) {
        expect(t).toBeGreaterThanOrEqual(from);
        expect(t).toBeLessThanOrEqual(to);
      }
    });
  });

  it("Parquet with add_metadata_columns runs on the encode workers now (the batch's time is no longer written into the rows)", async () => {
    const schema = uniqueSchema("bat_parquet_workers");
    seen.reset();
    const r = await runSinger(configFor(schema, { add_metadata_columns: true, file_format: "parquet", encode_workers: 2 }), input(500));
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(seen).toMatchObject({ encodedRows: 500, mainThreadRecords: 0 });
    const n = await query(`SELECT COUNT(*)::int AS n, COUNT(DISTINCT _sdc_batched_at)::int AS d, COUNT(_sdc_batched_at)::int AS c FROM "${schema}"."t"`);
    expect(n).toEqual([{ n: 500, d: 1, c: 500 }]);
  });

  it("tables made elsewhere: a VARCHAR too narrow is widened and takes the ISO text, SUPER a JSON string, TIMESTAMP the UTC time", async () => {
    const schema = uniqueSchema("bat_types");
    await withPg(async (c) => {
      await c.query(`CREATE SCHEMA "${schema}"`);
      await c.query(`CREATE TABLE "${schema}"."a" (id BIGINT, v VARCHAR(10), _sdc_batched_at VARCHAR(5))`);
      await c.query(`CREATE TABLE "${schema}"."b" (id BIGINT, v VARCHAR(10), _sdc_batched_at SUPER)`);
      await c.query(`CREATE TABLE "${schema}"."c" (id BIGINT, v VARCHAR(10), _sdc_batched_at TIMESTAMP)`);
    });
    const msgs: unknown[] = [];
    for (const t of ["a", "b", "c"]) msgs.push(schemaMsg(t, props), record(t, { id: 1, v: "x" }));
    const from = Date.now();
    const r = await runSinger(configFor(schema, { add_metadata_columns: true, encode_workers: 0 }), jsonl(msgs));
    const to = Date.now();
    expect(r.code, r.stderr.join("\n")).toBe(0);
    const within = (iso: string) => {
      expect(iso).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(Date.parse(iso)).toBeGreaterThanOrEqual(from);
      expect(Date.parse(iso)).toBeLessThanOrEqual(to);
    };
    within((await query(`SELECT _sdc_batched_at AS v FROM "${schema}"."a"`))[0]!.v as string);
    within(JSON.parse((await query(`SELECT _sdc_batched_at::text AS v FROM "${schema}"."b"`))[0]!.v as string) as string);
    const ts = (await query(`SELECT to_char(_sdc_batched_at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS v FROM "${schema}"."c"`))[0]!.v as string;
    within(ts);
  });
});

describe("the stage table holds the staged columns only", () => {
  it.each(["csv_gzip", "parquet"])("a table made by another loader, NOT NULL on the columns the load statement fills (Airbyte's destination makes _airbyte_raw_id NOT NULL): loads (%s)", async (format) => {
    for (const mode of ["append", "append_dedup"] as const) {
      const schema = uniqueSchema(`nn_${format}_${mode}`);
      await withPg(async (c) => {
        await c.query(`CREATE SCHEMA "${schema}"`);
        await c.query(
          `CREATE TABLE "${schema}"."a" ("_airbyte_raw_id" VARCHAR(36) NOT NULL, "_airbyte_extracted_at" TIMESTAMPTZ NOT NULL, "_airbyte_meta" SUPER NOT NULL, "_airbyte_generation_id" BIGINT, "id" BIGINT, "v" VARCHAR(65535))`,
        );
        await c.query(`CREATE TABLE "${schema}"."t" (id BIGINT, v VARCHAR(100), _sdc_batched_at TIMESTAMP NOT NULL)`);
      });
      const catalog = catalogOf({ name: "a", schema: schemaOf, mode, primaryKey: mode === "append" ? [] : [["id"]] });
      const r = await runAirbyte("write", { config: airbyteConfig(schema, { file_format: format, encode_workers: 0 }), catalog, input: [rec("a", 1, "x"), rec("a", 2, "y"), streamState("a", undefined, { s: 1 })] });
      expect(r.code, JSON.stringify(r.traces)).toBe(0);
      expect(r.states).toHaveLength(1);
      expect([...(await idsOf(schema, "a")).entries()].map(([id, [v]]) => [id, v])).toEqual([
        [1, "x"],
        [2, "y"],
      ]);
      const s = await runSinger(configFor(schema, { file_format: format, add_metadata_columns: true, encode_workers: 0 }), jsonl([schemaMsg("t", { id: { type: "integer" }, v: { type: "string" } }), record("t", { id: 1, v: "x" }), { type: "STATE", value: { a: 1 } }]));
      expect(s.code, s.stderr.join("\n")).toBe(0);
      expect(s.states).toEqual([{ a: 1 }]);
      expect(await query(`SELECT id::int AS id, _sdc_batched_at IS NOT NULL AS b FROM "${schema}"."t"`)).toEqual([{ id: 1, b: true }]);
    }
  });

  it.each([0, 2])("Parquet: columns added to the table after the metadata columns, and a column no longer in the schema, still bind to the right values (encode_workers %i)", async (workers) => {
    const schema = uniqueSchema(`pq_order_${workers}`);
    const config = configFor(schema, { file_format: "parquet", add_metadata_columns: true, encode_workers: workers });
    const first = await runSinger(config, jsonl([schemaMsg("t", { id: { type: "integer" }, v: { type: "string" }, gone: { type: "string" } }), record("t", { id: 1, v: "a", gone: "g" })]));
    expect(first.code, first.stderr.join("\n")).toBe(0);
    // The table now ends with the _sdc_* columns; w is added after them, gone leaves the schema.
    const second = await runSinger(config, jsonl([schemaMsg("t", { id: { type: "integer" }, w: { type: "integer" }, v: { type: "string" } }), record("t", { id: 2, v: "b", w: 7 })]));
    expect(second.code, second.stderr.join("\n")).toBe(0);
    expect(await query(`SELECT id::int AS id, v, w::int AS w, gone, _sdc_batched_at IS NOT NULL AS b, _sdc_sequence IS NOT NULL AS q FROM "${schema}"."t" ORDER BY id`)).toEqual([
      { id: 1, v: "a", w: null, gone: "g", b: true, q: true },
      { id: 2, v: "b", w: 7, gone: null, b: true, q: true },
    ]);
  });
});
