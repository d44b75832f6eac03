/**
 * Bad input on the Airbyte side, on the stand-in: a clear TRACE ERROR, exit 1, no STATE past the
 * failure, nothing of the failing batch committed, earlier committed batches and their STATE intact.
 */
import { describe, expect, it } from "vitest";
import { tableExists, uniqueSchema } from "./helpers/target.js";
import { type Json, airbyteConfig, catalogOf, globalState, runAirbyte, startAirbyteWrite, tableJson } from "./helpers/airbyte.js";

const schemaOf = { type: "object", properties: { id: { type: "integer" }, v: { type: "string" } } };
const rec = (stream: string, id: number, namespace: string) =>
  JSON.stringify({ type: "RECORD", record: { stream, namespace, emitted_at: 1700000000000 + id, data: { id, v: `v${id}` } } });
const errorOf = (traces: Json[]) => (traces.find((t) => (t.trace as Json).type === "ERROR")?.trace as Json | undefined)?.error as Json | undefined;

describe("Airbyte bad input", () => {
  it("a RECORD for a stream missing from the catalog: TRACE ERROR, exit 1, earlier commits and STATE intact", async () => {
    const ns = uniqueSchema("ab_missing");
    const live = startAirbyteWrite(
      airbyteConfig(ns, { max_batch_age_seconds: 1 }),
      catalogOf({ name: "known", namespace: ns, schema: schemaOf, mode: "append" }),
    );
    live.write([rec("known", 1, ns), globalState({ n: 1 })]);
    const first = await live.nextState();
    expect(((first.state as Json).global as Json).shared_state).toEqual({ n: 1 });
    live.write([rec("known", 2, ns), rec("unknown", 3, ns), globalState({ n: 3 })]);
    live.stdin.end();
    const r = await live.done;
    expect(r.code).toBe(1);
    expect(r.states).toHaveLength(1);
    const error = errorOf(r.traces);
    // As in Airbyte's own CDK: a stream the catalog does not have is the platform's or source's fault.
    expect(error?.failure_type).toBe("system_error");
    expect(String(error?.message)).toMatch(/unknown/);
    expect((await tableJson(ns, "known")).map((x) => x.id)).toEqual([1]);
  });

  it("append_dedup with CDC: an _ab_cdc_deleted_at its column cannot hold fails naming line, stream and field (NULL would load the deleted row as live); on both paths", async () => {
    const schema = { type: "object", properties: { id: { type: "integer" }, v: { type: "string" }, _ab_cdc_deleted_at: { type: ["null", "string"], format: "date-time" } } };
    for (const workers of [0, 2]) {
      const ns = uniqueSchema(`ab_cdc_bad_${workers}`);
      const line = (id: number, deleted?: string) =>
        JSON.stringify({ type: "RECORD", record: { stream: "t", namespace: ns, emitted_at: 1700000000000 + id, data: { id, v: `v${id}`, ...(deleted ? { _ab_cdc_deleted_at: deleted } : {}) } } });
      const r = await runAirbyte("write", {
        config: airbyteConfig(ns, { encode_workers: workers }),
        catalog: catalogOf({ name: "t", namespace: ns, schema, mode: "append_dedup", primaryKey: [["id"]] }),
        input: [line(1), line(2), line(2, "2024-01-01T00:00:00Z"), line(1, "no time at all"), globalState({ n: 1 })],
      });
      expect(r.code).toBe(1);
      expect(r.states).toHaveLength(0);
      const error = errorOf(r.traces);
      expect(String(error?.message)).toMatch(/line 4 \(stream "t", namespace "ab_cdc_bad_[^"]+"\): field "_ab_cdc_deleted_at": expected an ISO 8601 date-time, got "no time at all"/);
      expect(await tableExists(ns, "t") ? (await tableJson(ns, "t")).length : 0).toBe(0);
    }
  });

  it("append_dedup with CDC: a delete marker too big for its column (a 70,000-character string, VARCHAR or SUPER) fails the run, whatever string_overflow says; on both paths", async () => {
    const marker = "d".repeat(70_000);
    const variants: [string, Json, Json][] = [
      ["VARCHAR, string_overflow null", { type: ["null", "string"] }, { string_overflow: "null" }],
      ["VARCHAR, truncate", { type: ["null", "string"] }, {}],
      ["SUPER (no type)", {}, {}],
    ];
    for (const [label, markerSchema, settings] of variants) {
      for (const workers of [0, 2]) {
        const ns = uniqueSchema(`ab_cdc_big_${workers}`);
        const schema = { type: "object", properties: { id: { type: "integer" }, _ab_cdc_deleted_at: markerSchema } };
        const line = (id: number, deleted?: unknown) =>
          JSON.stringify({ type: "RECORD", record: { stream: "t", namespace: ns, emitted_at: 1700000000000 + id, data: { id, ...(deleted === undefined ? {} : { _ab_cdc_deleted_at: deleted }) } } });
        const r = await runAirbyte("write", {
          config: airbyteConfig(ns, { encode_workers: workers, ...settings }),
          catalog: catalogOf({ name: "t", namespace: ns, schema, mode: "append_dedup", primaryKey: [["id"]] }),
          input: [line(1), line(1, markerSchema.type ? marker : { why: marker }), globalState({ n: 1 })],
        });
        expect(r.code, `${label}, workers ${workers}`).toBe(1);
        expect(String(errorOf(r.traces)?.message), label).toMatch(/line 2 \(stream "t", namespace "[^"]+"\): field "_ab_cdc_deleted_at": expected a (string of at most|document whose strings are at most) 65535 bytes/);
        expect(await tableExists(ns, "t") ? (await tableJson(ns, "t")).length : 0).toBe(0);
      }
    }
  });

  it("an emitted_at that is no finite number (1e400, a string, missing): TRACE ERROR naming line and stream, exit 1, earlier commits and STATE intact; on both paths", async () => {
    for (const workers of [0, 2]) {
      for (const [bad, why] of [
        ["1e400", /line 4: RECORD of stream "t" whose emitted_at is too large to be epoch milliseconds/],
        ['"1700000000000"', /line 4: RECORD of stream "t" without a numeric emitted_at/],
        [undefined, /line 4: RECORD of stream "t" without a numeric emitted_at/],
      ] as const) {
        const ns = uniqueSchema("ab_emitted");
        const live = startAirbyteWrite(
          airbyteConfig(ns, { max_batch_age_seconds: 1, encode_workers: workers }),
          catalogOf({ name: "t", namespace: ns, schema: schemaOf, mode: "append" }),
        );
        live.write([rec("t", 1, ns), globalState({ n: 1 })]);
        await live.nextState();
        live.write([rec("t", 2, ns), `{"type":"RECORD","record":{"stream":"t","namespace":"${ns}"${bad === undefined ? "" : `,"emitted_at":${bad}`},"data":{"id":3}}}`, globalState({ n: 3 })]);
        live.stdin.end();
        const r = await live.done;
        expect(r.code, `${bad}, workers ${workers}`).toBe(1);
        expect(r.states).toHaveLength(1);
        expect(String(errorOf(r.traces)?.message)).toMatch(why);
        expect((await tableJson(ns, "t")).map((x) => x.id)).toEqual([1]);
      }
    }
  });

  it("an invalid catalog is a config_error naming what is wrong", async () => {
    const ns = uniqueSchema("ab_badcat");
    const r = await runAirbyte("write", {
      config: airbyteConfig(ns),
      catalog: { streams: [{ stream: { name: "s", json_schema: schemaOf }, sync_mode: "incremental", destination_sync_mode: "upsert_everything" }] },
      input: [rec("s", 1, ns)],
    });
    expect(r.code).toBe(1);
    const error = errorOf(r.traces);
    expect(error?.failure_type).toBe("config_error");
    expect(String(error?.message)).toMatch(/destination_sync_mode/);
    expect(r.states).toEqual([]);
    expect(await tableExists(ns, "s")).toBe(false);
  });

  it("an invalid config is a config_error naming the field, without secrets", async () => {
    const ns = uniqueSchema("ab_badcfg");
    const secret = "hunter2-very-secret";
    const r = await runAirbyte("write", {
      config: { ...airbyteConfig(ns), port: "not-a-port", password: secret },
      catalog: catalogOf({ name: "s", namespace: ns, schema: schemaOf, mode: "append" }),
      input: [rec("s", 1, ns)],
    });
    expect(r.code).toBe(1);
    const error = errorOf(r.traces);
    expect(error?.failure_type).toBe("config_error");
    expect(String(error?.message)).toMatch(/port/);
    expect(JSON.stringify(r.messages) + r.stderr.join("\n")).not.toContain(secret);
  });

  it("invalid JSON mid-stream: non-protocol line skipped with a warning, the sync goes on", async () => {
    const ns = uniqueSchema("ab_garbage");
    const r = await runAirbyte("write", {
      config: airbyteConfig(ns),
      catalog: catalogOf({ name: "s", namespace: ns, schema: schemaOf, mode: "append" }),
      input: [rec("s", 1, ns), "this is not json", rec("s", 2, ns), globalState({ n: 2 })],
    });
    expect(r.code, JSON.stringify(r.traces)).toBe(0);
    expect(r.logs.some((l) => /not .*protocol|skipped/i.test(String((l.log as Json).message)))).toBe(true);
    expect((await tableJson(ns, "s")).length).toBe(2);
  });
});
