/**
 * Airbyte's own conformance data (../shared/conformance/airbyte) run through `write` on the stand-in:
 * DestinationAcceptanceTest's exchange_rate and users_with_generation_id, and the typing-deduping syncs
 * compared with the final tables Airbyte's Redshift destination leaves.
 */
import { describe, expect, it } from "vitest";
import { uniqueSchema } from "../helpers/target.js";
import {
  type Json,
  TD_DATA_COLUMNS,
  airbyteConfig,
  catalogOf,
  conformanceLines,
  expectedRecords,
  fixUsersWithGenerationLine,
  project,
  runAirbyte,
  streamComplete,
  tableJson,
  tdSchema,
  typingDedupingMessages,
} from "../helpers/airbyte.js";

const exchangeSchema = (JSON.parse(conformanceLines("messages/exchange_rate_catalog.json").join("\n")) as { streams: { json_schema: Json }[] }).streams[0]!
  .json_schema;
const exchangeMessages = conformanceLines("messages/exchange_rate_messages.txt");
const EXCHANGE_COLUMNS = ["id", "currency", "date", "hkd", "nzd", "usd"];
const exchangeRows = (msgs: readonly string[]) =>
  msgs
    .map((l) => JSON.parse(l) as { type: string; record?: { data: Json; emitted_at: number } })
    .filter((m) => m.type === "RECORD")
    .map((m) => ({ ...Object.fromEntries(Object.entries(m.record!.data).map(([k, v]) => [k.toLowerCase(), v])), _airbyte_extracted_at: new Date(m.record!.emitted_at).toISOString() }));

function expectSuccess(r: { code: number; traces: Json[]; garbage: string[] }): void {
  expect(r.traces.filter((t) => (t.trace as Json).type === "ERROR"), JSON.stringify(r.traces)).toEqual([]);
  expect(r.code).toBe(0);
  expect(r.garbage).toEqual([]);
}

describe("exchange_rate (DestinationAcceptanceTest)", () => {
  it("append: both syncs' rows stay; every STATE echoed in order with its record count", async () => {
    const schema = uniqueSchema("ab_xr_append");
    const catalog = catalogOf({ name: "exchange_rate", schema: exchangeSchema, mode: "append" });
    const config = airbyteConfig(schema);
    const first = await runAirbyte("write", { config, catalog, input: exchangeMessages });
    expectSuccess(first);
    const inputStates = exchangeMessages.map((l) => JSON.parse(l) as Json).filter((m) => m.type === "STATE");
    expect(first.states).toEqual(
      inputStates.map((s, i) => ({ ...s, state: { ...(s.state as Json), destinationStats: { recordCount: [1, 1, 3][i] } } })),
    );
    const second = await runAirbyte("write", { config, catalog, input: exchangeMessages });
    expectSuccess(second);
    const rows = await tableJson(schema, "exchange_rate");
    const all = [...exchangeRows(exchangeMessages), ...exchangeRows(exchangeMessages)];
    expect(project(rows, [...EXCHANGE_COLUMNS, "_airbyte_extracted_at"])).toEqual(project(all, [...EXCHANGE_COLUMNS, "_airbyte_extracted_at"]));
  });

  it("overwrite: only the second sync's rows remain", async () => {
    const schema = uniqueSchema("ab_xr_over");
    const catalog = catalogOf({ name: "exchange_rate", schema: exchangeSchema, mode: "overwrite", generationId: 1 });
    const config = airbyteConfig(schema);
    expectSuccess(await runAirbyte("write", { config, catalog, input: exchangeMessages }));
    expect(await tableJson(schema, "exchange_rate")).toHaveLength(5);
    const secondSync = [
      JSON.stringify({ type: "RECORD", record: { stream: "exchange_rate", emitted_at: 1602637589000, data: { id: 9, currency: "GBP", date: "2020-09-01T00:00:00Z", HKD: 1, NZD: 2 } } }),
      JSON.stringify({ type: "STATE", state: { type: "GLOBAL", global: { shared_state: { start_date: "2020-09-02" } } } }),
      streamComplete("exchange_rate"),
    ];
    const catalog2 = catalogOf({ name: "exchange_rate", schema: exchangeSchema, mode: "overwrite", generationId: 2 });
    const r = await runAirbyte("write", { config, catalog: catalog2, input: secondSync });
    expectSuccess(r);
    expect(r.states).toHaveLength(1);
    const rows = await tableJson(schema, "exchange_rate");
    expect(project(rows, EXCHANGE_COLUMNS)).toEqual(project(exchangeRows(secondSync), EXCHANGE_COLUMNS));
    expect(rows[0]!._airbyte_generation_id).toBe(2);
  });

  it("append_dedup on (id, currency, date, NZD): the latest emitted_at wins, across syncs too", async () => {
    const schema = uniqueSchema("ab_xr_dedup");
    const catalog = catalogOf({ name: "exchange_rate", schema: exchangeSchema, mode: "append_dedup", primaryKey: [["id"], ["currency"], ["date"], ["NZD"]] });
    const config = airbyteConfig(schema);
    expectSuccess(await runAirbyte("write", { config, catalog, input: exchangeMessages }));
    const expected = [
      { id: 1, currency: "USD", date: "2020-08-29T00:00:00Z", nzd: 0.12, hkd: 2.13, usd: null },
      { id: 1, currency: "USD", date: "2020-08-30T00:00:00Z", nzd: 1.14, hkd: 7.15, usd: null },
      { id: 2, currency: "EUR", date: "2020-08-31T00:00:00Z", nzd: 1.14, hkd: 7.99, usd: 10.99 },
      { id: 2, currency: "EUR", date: "2020-09-01T00:00:00Z", nzd: 1.14, hkd: 7.15, usd: 10.16 },
    ];
    expect(project(await tableJson(schema, "exchange_rate"), EXCHANGE_COLUMNS)).toEqual(project(expected, EXCHANGE_COLUMNS));
    const update = JSON.stringify({
      type: "RECORD",
      record: { stream: "exchange_rate", emitted_at: 1702637589000, data: { id: 1, currency: "USD", date: "2020-08-29T00:00:00Z", NZD: 0.12, HKD: 9.99, USD: 1 } },
    });
    const stale = JSON.stringify({
      type: "RECORD",
      record: { stream: "exchange_rate", emitted_at: 1502637589000, data: { id: 2, currency: "EUR", date: "2020-09-01T00:00:00Z", NZD: 1.14, HKD: 0, USD: 0 } },
    });
    expectSuccess(await runAirbyte("write", { config, catalog, input: [update, stale] }));
    expected[0] = { ...expected[0]!, hkd: 9.99, usd: 1 };
    expect(project(await tableJson(schema, "exchange_rate"), EXCHANGE_COLUMNS)).toEqual(project(expected, EXCHANGE_COLUMNS));
  });

  it("unknown fields anywhere are tolerated", async () => {
    const schema = uniqueSchema("ab_xr_unknown");
    const catalog = catalogOf({ name: "exchange_rate", schema: exchangeSchema, mode: "append" });
    const input = [
      JSON.stringify({
        type: "RECORD",
        surprise: 1,
        record: { stream: "exchange_rate", emitted_at: 1602637589000, data: { id: 1, currency: "USD", newFieldString: "Value for new field", newFieldNumber: 3 }, extra: { a: 1 } },
      }),
      JSON.stringify({ type: "STATE", state: { type: "GLOBAL", global: { shared_state: {} }, newStateField: true }, other: "x" }),
      JSON.stringify({ type: "TRACE", trace: { type: "STREAM_STATUS", emitted_at: 1, stream_status: { stream_descriptor: { name: "exchange_rate" }, status: "COMPLETE", reasons: [] }, future: 1 } }),
      JSON.stringify({ type: "SOMETHING_NEW", payload: {} }),
    ];
    const r = await runAirbyte("write", { config: airbyteConfig(schema), catalog, input });
    expectSuccess(r);
    expect(r.states).toEqual([{ type: "STATE", state: { type: "GLOBAL", global: { shared_state: {} }, newStateField: true, destinationStats: { recordCount: 1 } }, other: "x" }]);
    const rows = await tableJson(schema, "exchange_rate");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: 1, currency: "USD" });
    expect(Object.keys(rows[0]!)).not.toContain("newfieldstring");
  });
});

describe("users_with_generation_id", () => {
  it("metadata columns: UUID raw id, extracted_at = emitted_at, generation and sync id, changes passed through", async () => {
    const schema = uniqueSchema("ab_users_gen");
    const catalogText = conformanceLines("messages/users_with_generation_id_configured_catalog.json").join("\n");
    const input = conformanceLines("messages/users_with_generation_id_messages.txt").map(fixUsersWithGenerationLine);
    const r = await runAirbyte("write", { config: airbyteConfig(schema), catalog: catalogText, input });
    expectSuccess(r);
    expect(r.states).toHaveLength(1);
    expect(((r.states[0]!.state as Json).destinationStats as Json).recordCount).toBe(4);
    const rows = (await tableJson(schema, "users")).sort((a, b) => String(a.name).localeCompare(String(b.name)));
    expect(rows).toHaveLength(4);
    const emitted: Record<string, number> = { Fred: 1721428633000, George: 1721428634000, Harry: 1721428635000 };
    for (const row of rows) {
      expect(row._airbyte_raw_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(row._airbyte_generation_id).toBe(10);
      expect((row._airbyte_meta as Json).sync_id).toBe(100);
      const name = row.name as string | null;
      const when = name === null ? 1721428634000 : emitted[name]!;
      expect(Date.parse(row._airbyte_extracted_at as string)).toBe(when);
    }
    expect(new Set(rows.map((r) => r._airbyte_raw_id)).size).toBe(4);
    const byName = Object.fromEntries(rows.map((r) => [String(r.name), r]));
    expect(byName.Fred).toMatchObject({ id: 1, _airbyte_meta: { sync_id: 100, changes: [] } });
    // "two" cannot be a BIGINT: NULL, and the destination says so.
    expect(byName.George!.id).toBeNull();
    expect((byName.George!._airbyte_meta as Json).changes).toEqual([{ field: "id", change: "NULLED", reason: "DESTINATION_SERIALIZATION_ERROR" }]);
    expect((byName.Harry!._airbyte_meta as Json).changes).toEqual([{ field: "name", change: "TRUNCATED", reason: "SOURCE_FIELD_SIZE_LIMITATION" }]);
    expect((byName.null!._airbyte_meta as Json).changes).toEqual([
      { field: "name", change: "NULLED", reason: "SOURCE_SERIALIZATION_ERROR" },
      { field: "id", change: "NULLED", reason: "DESTINATION_SERIALIZATION_ERROR" },
    ]);
  });
});

describe("typing-deduping syncs (final tables equal Airbyte's expected records)", () => {
  const COMPARED = [...TD_DATA_COLUMNS, "_airbyte_extracted_at", "_airbyte_generation_id"];
  const sync = async (
    namespace: string,
    mode: "append" | "overwrite" | "append_dedup",
    file: string,
    schema = tdSchema(),
    cursor = ["updated_at"],
    generation = { id: 43, minimum: mode === "overwrite" ? 43 : 0 },
  ) => {
    const catalog = catalogOf({
      name: "users_final",
      namespace,
      schema,
      mode,
      primaryKey: mode === "append_dedup" ? [["id1"], ["id2"]] : [],
      cursor,
      generationId: generation.id,
      minimumGenerationId: generation.minimum,
      syncId: 42,
    });
    const r = await runAirbyte("write", { config: airbyteConfig(namespace), catalog, input: [...typingDedupingMessages(file, "users_final", namespace), streamComplete("users_final", namespace)] });
    expectSuccess(r);
  };
  const final = async (namespace: string, columns = COMPARED) => project(await tableJson(namespace, "users_final"), columns);
  const expected = (file: string, columns = COMPARED) => project(expectedRecords(file), columns);

  it("append: sync1 then sync2 keeps every record", async () => {
    const ns = uniqueSchema("ab_td_append");
    await sync(ns, "append", "sync1_messages.jsonl");
    expect(await final(ns)).toEqual(expected("sync1_expectedrecords_nondedup_final.jsonl"));
    await sync(ns, "append", "sync2_messages.jsonl");
    expect(await final(ns)).toEqual(expected("sync2_expectedrecords_fullrefresh_append_final.jsonl"));
  });

  it("append_dedup: latest by cursor; the CDC delete removes Bob; upstream meta changes kept", async () => {
    const ns = uniqueSchema("ab_td_dedup");
    await sync(ns, "append_dedup", "sync1_messages.jsonl");
    const withMeta = [...COMPARED, "_airbyte_meta"];
    expect(await final(ns, withMeta)).toEqual(expected("sync1_expectedrecords_dedup_final.jsonl", withMeta));
    await sync(ns, "append_dedup", "sync2_messages.jsonl");
    expect(await final(ns, withMeta)).toEqual(expected("sync2_expectedrecords_incremental_dedup_final.jsonl", withMeta));
  });

  it("overwrite: sync2 replaces sync1", async () => {
    const ns = uniqueSchema("ab_td_over");
    await sync(ns, "overwrite", "sync1_messages.jsonl");
    expect(await final(ns)).toEqual(expected("sync1_expectedrecords_nondedup_final.jsonl"));
    await sync(ns, "overwrite", "sync2_messages.jsonl");
    expect(await final(ns)).toEqual(expected("sync2_expectedrecords_fullrefresh_overwrite_final.jsonl"));
  });

  it("cursor change: old_cursor, then updated_at; a NULL cursor is older than any value", async () => {
    const ns = uniqueSchema("ab_td_cursor");
    const base = tdSchema();
    const props = { ...(base.properties as Json) };
    delete props.updated_at;
    props.old_cursor = { type: "integer" };
    await sync(ns, "append_dedup", "sync1_cursorchange_messages.jsonl", { ...base, properties: props }, ["old_cursor"]);
    const sync1Columns = [...COMPARED.filter((c) => c !== "updated_at"), "old_cursor"];
    expect(await final(ns, sync1Columns)).toEqual(expected("sync1_cursorchange_expectedrecords_dedup_final.jsonl", sync1Columns));
    await sync(ns, "append_dedup", "sync2_messages.jsonl", tdSchema(), ["updated_at"]);
    expect(await final(ns)).toEqual(expected("sync2_cursorchange_expectedrecords_incremental_dedup_final.jsonl"));
  });

  it("dedup: a later sync's newer record replaces the only row (sync1_messages2 → sync2_messages2)", async () => {
    const ns = uniqueSchema("ab_td_dedup2");
    await sync(ns, "append_dedup", "sync1_messages2.jsonl");
    expect(await final(ns)).toEqual(expected("sync1_expectedrecords_dedup_final2.jsonl"));
    await sync(ns, "append_dedup", "sync2_messages2.jsonl");
    expect(await final(ns)).toEqual(expected("sync2_expectedrecords_incremental_dedup_final2.jsonl"));
  });
  it("recordnull: a 65,535-byte string is kept, a longer one is nulled with a DESTINATION_FIELD_SIZE_LIMITATION change", async () => {
    const ns = uniqueSchema("ab_td_null");
    const kept = "x".repeat(65535);
    const input = [
      { emitted_at: 1000, data: { id1: 1, id2: 200, updated_at: "2000-01-01T00:00:00Z", name: kept, address: { city: "San Francisco", state: "CA" } } },
      { emitted_at: 1000, data: { id1: 2, id2: 201, updated_at: "2000-01-01T00:00:00Z", name: "y".repeat(65537), address: { city: "New York", state: "NY" } } },
    ].map((record) => JSON.stringify({ type: "RECORD", record: { ...record, stream: "users_final", namespace: ns } }));
    const catalog = catalogOf({ name: "users_final", namespace: ns, schema: tdSchema(), mode: "append", generationId: 43, syncId: 42 });
    expectSuccess(await runAirbyte("write", { config: airbyteConfig(ns, { string_overflow: "null" }), catalog, input }));
    const rows = await tableJson(ns, "users_final");
    const want = expectedRecords("sync1_recordnull_expectedrecords_final.jsonl").map((r) => (r.name === "PLACE_HOLDER" ? { ...r, name: kept } : r));
    expect(project(rows, COMPARED)).toEqual(project(want, COMPARED));
    const nulled = rows.find((r) => r.id1 === 2)!;
    // Airbyte writes the field as a JSON path ("$.name"); we name the property.
    expect((nulled._airbyte_meta as Json).changes).toEqual([{ field: "name", change: "NULLED", reason: "DESTINATION_FIELD_SIZE_LIMITATION" }]);
  });
  it("sync_null_pk: a NULL key part matches NULL (documented policy), so the latest of the three records remains", async () => {
    const ns = uniqueSchema("ab_td_nullpk");
    await sync(ns, "append_dedup", "sync_null_pk.jsonl");
    const rows = await tableJson(ns, "users_final");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id1: 1, id2: null });
    expect(Date.parse(rows[0]!.updated_at as string)).toBe(Date.parse("2000-01-03T00:00:00Z"));
  });
  it("append with a new generation id keeps both generations", async () => {
    const ns = uniqueSchema("ab_td_newgen");
    await sync(ns, "append", "sync1_messages.jsonl", tdSchema(), [], { id: 43, minimum: 0 });
    await sync(ns, "append", "sync2_messages.jsonl", tdSchema(), [], { id: 44, minimum: 0 });
    expect(await final(ns)).toEqual(expected("sync2_expectedrecords_fullrefresh_append_with_new_gen_id_final.jsonl"));
  });

  it("truncate refresh by generation (append, minimum_generation_id = generation_id = 44) keeps only the new generation", async () => {
    const ns = uniqueSchema("ab_td_truncgen");
    await sync(ns, "append", "sync1_messages.jsonl", tdSchema(), [], { id: 43, minimum: 0 });
    await sync(ns, "append", "sync2_messages.jsonl", tdSchema(), [], { id: 44, minimum: 44 });
    expect(await final(ns)).toEqual(expected("sync2_expectedrecords_fullrefresh_overwrite_with_new_gen_id_final.jsonl"));
  });
});
