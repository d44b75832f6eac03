/**
 * Issue 14 item 2: the streams that used to stay on the main thread now go through the encode workers —
 * Singer `add_metadata_columns`, `hard_delete`, records that start a stream's versions, and the Airbyte
 * `write` command (append, overwrite, append_dedup). Each run is compared with `encode_workers: 0` on
 * the same input: same table contents (the per-run values — received/batched times, sequence, raw ids —
 * are checked for what they promise instead), same STATEs, and the rows really came from the workers.
 */
import { describe, expect, it } from "vitest";
import { configFor, record, runSinger, schemaMsg, uniqueSchema, withPg } from "./helpers/target.js";
import { type Json, airbyteConfig, catalogOf, globalState, runAirbyte, streamComplete, streamState } from "./helpers/airbyte.js";
import { trackEncodePaths } from "./helpers/encode-paths.js";

const jsonl = (msgs: unknown[]) => msgs.map((m) => (typeof m === "string" ? m : JSON.stringify(m))).join("\n") + "\n";
const fail = (r: { stderr: string[] }) => r.stderr.join("\n");

const seen = trackEncodePaths();

/** Every column but `except`, as text, ordered by `orderBy`. */
async function dump(schema: string, table: string, except: string[], orderBy: string): Promise<Record<string, unknown>[]> {
  return withPg(async (c) => {
    const cols = (
      await c.query("SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY column_name", [schema, table])
    ).rows
      .map((x) => x.column_name as string)
      .filter((col) => !except.includes(col));
    const select = cols.map((col) => `"${col}"::text AS "${col}"`).join(", ");
    return (await c.query(`SELECT ${select} FROM "${schema}"."${table}" AS src ORDER BY ${orderBy}`)).rows;
  });
}

async function query(sql: string): Promise<Record<string, unknown>[]> {
  return withPg(async (c) => (await c.query(sql)).rows);
}

const PROPS = {
  id: { type: "integer" },
  name: { type: "string" },
  amount: { type: ["null", "integer"] },
  obj: { type: "object" },
};

/** ~200 bytes of JSON; every 17th carries a value an integer column cannot hold (NULLed, recorded). */
function row(i: number, variant = ""): Record<string, unknown> {
  return {
    id: i,
    name: `n${i}${variant} "q", \\ é ${"x".repeat(60 + (i % 40))}`,
    amount: i % 17 === 0 ? "not a number" : i % 7 === 0 ? null : i * 3,
    obj: { i, tags: ["a", i % 5] },
  };
}

/** Singer's per-run columns: compared by what they promise, not by value. */
const SDC_RUN_COLUMNS = ["_sdc_received_at", "_sdc_batched_at", "_sdc_sequence"];

/**
 * The per-run columns of a Singer metadata table, in input order (`orderBy`): times within the run and
 * never going back, sequences strictly increasing from the run's start.
 */
async function expectRunColumns(schema: string, table: string, orderBy: string, from: number, to: number): Promise<void> {
  const r = await query(
    `SELECT EXTRACT(EPOCH FROM _sdc_received_at) * 1000 AS received, EXTRACT(EPOCH FROM _sdc_batched_at) * 1000 AS batched, _sdc_sequence::text AS seq FROM "${schema}"."${table}" ORDER BY ${orderBy}`,
  );
  expect(r.length).toBeGreaterThan(0);
  let last = { received: 0, batched: 0, seq: 0n };
  for (const x of r) {
    const received = Number(x.received);
    const batched = Number(x.batched);
    const seq = BigInt(x.seq as string);
    expect(received).toBeGreaterThanOrEqual(from);
    expect(received).toBeLessThanOrEqual(to);
    expect(batched).toBeGreaterThanOrEqual(from);
    expect(batched).toBeLessThanOrEqual(to);
    expect(received).toBeGreaterThanOrEqual(last.received);
    expect(batched).toBeGreaterThanOrEqual(last.batched);
    expect(seq > last.seq).toBe(true);
    // run start (ms) × 10^6 + position
    expect(seq / 1_000_000n >= BigInt(from) && seq / 1_000_000n <= BigInt(to)).toBe(true);
    last = { received, batched, seq };
  }
}

describe("encode workers: Singer metadata columns and hard_delete", () => {
  it("add_metadata_columns: workers and encode_workers 0 load the same rows; per-run columns keep their promises", async () => {
    const msgs: unknown[] = [schemaMsg("t", PROPS), schemaMsg("u", { id: { type: "integer" }, name: { type: "string" } }, [])];
    const states: unknown[] = [];
    for (let i = 1; i <= 20_000; i++) {
      const extracted = { time_extracted: `2024-05-0${(i % 9) + 1}T10:00:00.${String(i % 1000).padStart(3, "0")}Z`, version: 7 };
      // every 10th record updates an earlier key; every 13th is a soft delete (the tap's _sdc_deleted_at)
      const r = i % 10 === 0 ? row(i - 3_001 > 0 ? i - 3_001 : i, "-upd") : row(i);
      if (i % 13 === 0) r._sdc_deleted_at = "2024-06-01T00:00:00Z";
      msgs.push(record("t", r, extracted));
      if (i % 5 === 0) msgs.push(record("u", { id: i, name: `u${i}` }));
      if (i % 4_000 === 0) {
        states.push({ bookmark: i });
        msgs.push({ type: "STATE", value: { bookmark: i } });
      }
    }
    const input = jsonl(msgs);
    const runs: Record<string, { schema: string; seen: typeof seen; from: number; to: number }> = {};
    for (const [name, workers] of [
      ["main", 0],
      ["workers", 2],
    ] as const) {
      const schema = uniqueSchema(`meta_${name}`);
      seen.reset();
      const from = Date.now();
      const r = await runSinger(configFor(schema, { add_metadata_columns: true, encode_workers: workers, batch_size_rows: 7_000 }), input);
      const to = Date.now();
      expect(r.code, fail(r)).toBe(0);
      expect(r.states).toEqual(states);
      runs[name] = { schema, seen: { ...seen }, from, to };
    }
    expect(runs.main!.seen).toEqual({ units: 0, encodedRows: 0, mainThreadRecords: 24_000 });
    expect(runs.workers!.seen).toMatchObject({ encodedRows: 24_000, mainThreadRecords: 0 });
    expect(runs.workers!.seen.units).toBeGreaterThanOrEqual(2);

    const t = await dump(runs.main!.schema, "t", SDC_RUN_COLUMNS, "id");
    expect(t.length).toBeGreaterThan(15_000);
    const deleted = t.find((x) => x.id === "13")!;
    expect(deleted._sdc_deleted_at).toMatch(/^2024-06-01 00:00:00/);
    expect(deleted._sdc_extracted_at).toMatch(/^2024-05-05 10:00:00.013/);
    expect(deleted._sdc_table_version).toBe("7");
    expect(JSON.parse(t.find((x) => x.id === "17")!._sdc_value_changes as string)).toEqual([
      expect.objectContaining({ field: "amount", change: "NULLED" }),
    ]);
    expect(t.find((x) => x.id === "1")!._sdc_value_changes).toBeNull();
    expect(await dump(runs.workers!.schema, "t", SDC_RUN_COLUMNS, "id")).toEqual(t);
    const u = await dump(runs.main!.schema, "u", SDC_RUN_COLUMNS, "id");
    expect(u).toHaveLength(4_000);
    expect(await dump(runs.workers!.schema, "u", SDC_RUN_COLUMNS, "id")).toEqual(u);

    for (const run of Object.values(runs)) {
      // u is unkeyed and its ids rise with the input: its rows in input order
      await expectRunColumns(run.schema, "u", "id", run.from, run.to);
      await expectRunColumns(run.schema, "t", "_sdc_sequence", run.from, run.to);
    }
  });

  it("hard_delete: rows whose latest record carries _sdc_deleted_at are gone, the same with and without workers", async () => {
    const msgs: unknown[] = [schemaMsg("t", PROPS)];
    for (let i = 1; i <= 15_000; i++) msgs.push(record("t", row(i)));
    // every 3rd key deleted later; every 9th deleted and then sent again (the later record wins: it lives)
    for (let i = 3; i <= 15_000; i += 3) msgs.push(record("t", { ...row(i, "-del"), _sdc_deleted_at: "2024-06-01T00:00:00Z" }));
    for (let i = 9; i <= 15_000; i += 9) msgs.push(record("t", row(i, "-back")));
    const input = jsonl(msgs);
    const schemas: string[] = [];
    for (const workers of [0, 2]) {
      const schema = uniqueSchema(`hard_${workers}`);
      seen.reset();
      const r = await runSinger(configFor(schema, { hard_delete: true, encode_workers: workers }), input);
      expect(r.code, fail(r)).toBe(0);
      if (workers > 0) expect(seen).toMatchObject({ encodedRows: msgs.length - 1, mainThreadRecords: 0 });
      schemas.push(schema);
    }
    const expected = await dump(schemas[0]!, "t", SDC_RUN_COLUMNS, "id");
    expect(expected).toHaveLength(15_000 - 5_000 + 1_666);
    expect(expected.some((x) => x.id === "3")).toBe(false);
    expect(expected.find((x) => x.id === "9")!.name).toMatch(/^n9-back/);
    expect(await dump(schemas[1]!, "t", SDC_RUN_COLUMNS, "id")).toEqual(expected);
  });

  it("hard_delete: a delete marker its column cannot hold fails the run naming line, stream and field (NULL would load the deleted row as live)", async () => {
    // A time past what Parquet's TIMESTAMP holds (CSV takes it), and one that is no time at all.
    const props = { id: { type: "integer" }, v: { type: ["null", "string"] } };
    const cases: [string, string, string][] = [
      ["parquet", "294250-01-01T00:00:00Z", "a date-time up to 294247-01-10"],
      ["csv_gzip", "not a time", "an ISO 8601 date-time"],
    ];
    for (const [format, deletedAt, expected] of cases) {
      const input = jsonl([
        { ...schemaMsg("t", props), key_properties: ["id"] },
        record("t", { id: 1, v: "a" }),
        record("t", { id: 2, v: "b" }),
        { type: "STATE", value: { n: 1 } },
        record("t", { id: 2, v: "b", _sdc_deleted_at: "2024-01-01T00:00:00Z" }),
        record("t", { id: 1, v: "a", _sdc_deleted_at: deletedAt }),
        { type: "STATE", value: { n: 2 } },
      ]);
      for (const workers of [0, 2]) {
        const schema = uniqueSchema(`hard_bad_${workers}`);
        const r = await runSinger(configFor(schema, { hard_delete: true, file_format: format, encode_workers: workers }), input);
        expect(r.code, fail(r)).toBe(1);
        expect(r.stderr.join("\n")).toMatch(new RegExp(`line 6 \\(stream "t"\\): field "_sdc_deleted_at": expected ${expected.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
        // Nothing of the failing batch: no STATE after it, neither delete applied (the first batch may
        // or may not have committed before the failure).
        expect(r.states).not.toContainEqual({ n: 2 });
        const left = await withPg(async (c) => (await c.query(`SELECT id::text AS id FROM "${schema}"."t" ORDER BY 1`)).rows.map((x) => x.id as string));
        expect([[], ["1", "2"]], `${format}, workers ${workers}: ${left.join()}`).toContainEqual(left);
      }
    }
  });

  it("a record with a version on a stream without versions goes to the main thread, which starts the stream's versions; the rest stays on the workers", async () => {
    const schema = uniqueSchema("ver_workers");
    const msgs: unknown[] = [schemaMsg("t", PROPS, [])];
    for (let i = 1; i <= 15_000; i++) msgs.push(record("t", row(i), { version: 4 }));
    msgs.push({ type: "ACTIVATE_VERSION", stream: "t", version: 4 });
    const r = await runSinger(configFor(schema, { encode_workers: 2 }), jsonl(msgs));
    expect(r.code, fail(r)).toBe(0);
    const versions = await query(`SELECT _sdc_table_version::text AS v, COUNT(*) AS n FROM "${schema}"."t" GROUP BY 1`);
    expect(versions).toEqual([{ v: "4", n: "15000" }]);
    expect(seen.mainThreadRecords).toBeGreaterThanOrEqual(1);
    expect(seen.encodedRows).toBeGreaterThanOrEqual(14_000);
    expect(seen.encodedRows + seen.mainThreadRecords).toBe(15_000);
  });
});

describe("encode workers: Airbyte write", () => {
  it("append, overwrite and append_dedup: same tables and STATEs (destinationStats) as encode_workers 0, rows encoded by the workers", async () => {
    const schemaOf = {
      type: "object",
      properties: { id: { type: "integer" }, updated_at: { type: "string", format: "date-time" }, name: { type: "string" }, amount: { type: ["null", "integer"] }, obj: { type: "object" } },
    };
    const rec = (stream: string, i: number, variant = "") => {
      const r = row(i, variant);
      const meta = i % 101 === 0 ? { meta: { changes: [{ field: "name", change: "TRUNCATED", reason: "SOURCE_FIELD_SIZE_LIMITATION" }] } } : {};
      return JSON.stringify({
        type: "RECORD",
        record: { stream, emitted_at: 1_700_000_000_000 + i, data: { ...r, updated_at: `2024-01-01T00:00:${String(i % 60).padStart(2, "0")}Z` }, ...meta },
      });
    };
    const input: string[] = [];
    for (let i = 1; i <= 12_000; i++) {
      input.push(rec("a", i));
      if (i % 2 === 0) input.push(rec("o", i));
      // every 4th record of d updates an earlier key
      input.push(i % 4 === 0 ? rec("d", Math.max(1, i - 2_001), "-upd") : rec("d", i));
      if (i % 3_000 === 0) input.push(streamState("a", undefined, { a: i }), streamState("d", undefined, { d: i }));
      if (i % 5_000 === 0) input.push(globalState({ g: i }), JSON.stringify({ type: "LOG", log: { level: "INFO", message: "hi" } }));
    }
    input.push(streamComplete("o"), streamState("o", undefined, { o: "done" }));
    const catalog = catalogOf(
      { name: "a", schema: schemaOf, mode: "append", syncId: 42 },
      { name: "o", schema: schemaOf, mode: "overwrite", generationId: 3, syncId: 42 },
      { name: "d", schema: schemaOf, mode: "append_dedup", primaryKey: [["id"]], cursor: ["updated_at"], syncId: 42 },
    );
    const runs: { schema: string; states: Json[]; seen: typeof seen }[] = [];
    for (const workers of [0, 2]) {
      const schema = uniqueSchema(`ab_workers_${workers}`);
      seen.reset();
      const r = await runAirbyte("write", { config: airbyteConfig(schema, { encode_workers: workers }), catalog, input });
      expect(r.code, JSON.stringify(r.traces)).toBe(0);
      runs.push({ schema, states: r.states, seen: { ...seen } });
    }
    const [main, workers] = [runs[0]!, runs[1]!];
    const records = 12_000 + 6_000 + 12_000;
    expect(main.seen).toEqual({ units: 0, encodedRows: 0, mainThreadRecords: records });
    expect(workers.seen).toMatchObject({ encodedRows: records, mainThreadRecords: 0 });
    expect(workers.seen.units).toBeGreaterThanOrEqual(2);
    expect(main.states.length).toBe(4 * 2 + 2 + 1);
    expect(workers.states).toEqual(main.states);

    for (const table of ["a", "o", "d"]) {
      const expected = await dump(main.schema, table, ["_airbyte_raw_id"], "id, _airbyte_extracted_at");
      expect(expected.length, table).toBeGreaterThan(5_000);
      expect(await dump(workers.schema, table, ["_airbyte_raw_id"], "id, _airbyte_extracted_at"), table).toEqual(expected);
    }
    // Raw ids (made by the load statement, row-id.ts): UUIDs v8 sharing the run's prefix, unique across
    // the run's tables, their last 12 hex digits the row's ordinal: on the main thread, the record's
    // position in the input (1, 2, …), so they follow the input's order.
    for (const run of runs) {
      const all = (
        await query(`SELECT _airbyte_raw_id AS id FROM "${run.schema}"."a" UNION ALL SELECT _airbyte_raw_id FROM "${run.schema}"."o" UNION ALL SELECT _airbyte_raw_id FROM "${run.schema}"."d"`)
      ).map((r) => r.id as string);
      for (const id of all) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(new Set(all).size).toBe(all.length);
      expect(new Set(all.map((id) => id.slice(0, 24))).size).toBe(1);
    }
    const inOrder = (await query(`SELECT id, _airbyte_raw_id AS r FROM "${main.schema}"."a" ORDER BY _airbyte_extracted_at`)).map((x) => x.r as string);
    const ordinals = inOrder.map((r) => Number.parseInt(r.slice(24), 16));
    // a (i), o (even i), d (i) interleaved: record i of a is the input's record 1 + (i - 1) × 2.5 (rounded down)
    expect(ordinals.slice(0, 5)).toEqual([1, 3, 6, 8, 11]);
    expect(ordinals.every((o, k) => k === 0 || o > ordinals[k - 1]!)).toBe(true);
    const metaOf = async (schema: string, id: number) =>
      JSON.parse((await query(`SELECT _airbyte_meta::text AS m FROM "${schema}"."a" WHERE id = ${id}`))[0]!.m as string) as Json;
    // upstream changes first, then this row's own (amount NULLed at 17 × 101 = 1717)
    const meta = await metaOf(workers.schema, 1717);
    expect(meta.sync_id).toBe(42);
    expect((meta.changes as Json[]).map((c) => c.change)).toEqual(["TRUNCATED", "NULLED"]);
    expect(await metaOf(main.schema, 1717)).toEqual(meta);
  });
});
