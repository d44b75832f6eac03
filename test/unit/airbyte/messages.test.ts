import { describe, expect, it } from "vitest";
import {
  AirbyteMessage,
  ConfiguredAirbyteCatalog,
  RecordMessage,
  StateMessage,
  TraceMessage,
  recordProblem,
  resolveWellKnownTypes,
  upstreamChanges,
} from "../../../src/airbyte/messages.js";
import { JsonNumber } from "../../../src/input/json.js";

describe("Airbyte messages", () => {
  it("hand check of RECORD agrees with the zod schema on the usual shapes", () => {
    const good = { type: "RECORD", record: { stream: "s", emitted_at: 1, data: { a: 1 }, extra: true }, other: 1 };
    expect(recordProblem(good)).toBeUndefined();
    expect(RecordMessage.safeParse(good).success).toBe(true);
    const bad: Record<string, unknown>[] = [
      { type: "RECORD" },
      { type: "RECORD", record: [] },
      { type: "RECORD", record: { emitted_at: 1, data: {} } },
      { type: "RECORD", record: { stream: "s", emitted_at: 1, data: [] } },
      { type: "RECORD", record: { stream: "s", data: {} } },
      { type: "RECORD", record: { stream: "s", emitted_at: "1", data: {} } },
      { type: "RECORD", record: { stream: "s", emitted_at: JSON.parse("1e400"), data: {} } },
      { type: "RECORD", record: { stream: "s", emitted_at: 1, data: {}, namespace: 3 } },
    ];
    for (const m of bad) {
      expect(recordProblem(m), JSON.stringify(m)).toBeDefined();
      expect(RecordMessage.safeParse(m).success, JSON.stringify(m)).toBe(false);
    }
    expect(recordProblem({ type: "RECORD", record: { stream: "s", emitted_at: 1, data: {} } })).toBeUndefined();
    expect(recordProblem({ type: "RECORD", record: { stream: "s", emitted_at: -Infinity, data: {} } })).toBe('RECORD of stream "s" whose emitted_at is too large to be epoch milliseconds (past ±1.8e308)');
    // Any finite number is a record: metadataValue turns it into an exact date-time or a recorded NULL.
    for (const ms of [1.5, -1.3, 9.3e15, -1e20, 1e300, new JsonNumber("9007199254740993"), new JsonNumber("-1e-400")]) {
      const m = { type: "RECORD", record: { stream: "s", emitted_at: ms, data: {} } };
      expect(recordProblem(m)).toBeUndefined();
      expect(RecordMessage.safeParse(m).success).toBe(true);
    }
    const huge = { type: "RECORD", record: { stream: "s", emitted_at: new JsonNumber("1e400"), data: {} } };
    expect(recordProblem(huge)).toBe('RECORD of stream "s" whose emitted_at is too large to be epoch milliseconds (past ±1.8e308)');
    expect(RecordMessage.safeParse(huge).success).toBe(false);
  });

  it("STATE of every kind, unknown fields kept", () => {
    const legacy = StateMessage.parse({ type: "STATE", state: { data: { x: 1 } } });
    expect(legacy.state.type).toBeUndefined();
    const stream = StateMessage.parse({
      type: "STATE",
      state: { type: "STREAM", stream: { stream_descriptor: { name: "a", namespace: null }, stream_state: { c: 1 } }, sourceStats: { recordCount: 2 } },
    });
    expect(stream.state.sourceStats).toEqual({ recordCount: 2 });
    expect(StateMessage.safeParse({ type: "STATE", state: { type: "GLOBAL", global: { shared_state: {} } } }).success).toBe(true);
    expect(StateMessage.safeParse({ type: "STATE", state: { type: "STREAM" } }).success).toBe(false);
    expect(StateMessage.safeParse({ type: "STATE", state: { type: "GLOBAL" } }).success).toBe(false);
    expect(StateMessage.safeParse({ type: "STATE", state: { type: "OTHER" } }).success).toBe(false);
  });

  it("TRACE STREAM_STATUS, ERROR and future trace types", () => {
    const t = TraceMessage.parse({
      type: "TRACE",
      trace: { type: "STREAM_STATUS", emitted_at: 1, stream_status: { stream_descriptor: { name: "x" }, status: "COMPLETE" } },
    });
    expect(t.trace.stream_status?.status).toBe("COMPLETE");
    expect(TraceMessage.safeParse({ type: "TRACE", trace: { type: "STREAM_STATUS", emitted_at: 1 } }).success).toBe(false);
    expect(TraceMessage.safeParse({ type: "TRACE", trace: { type: "ANALYTICS", emitted_at: 1, analytics: {} } }).success).toBe(true);
    expect(
      TraceMessage.safeParse({ type: "TRACE", trace: { type: "ERROR", emitted_at: 1, error: { message: "m", failure_type: "system_error" } } }).success,
    ).toBe(true);
  });

  it("the union dispatches on type", () => {
    expect(AirbyteMessage.parse({ type: "LOG", log: { level: "INFO", message: "hi" } }).type).toBe("LOG");
    expect(AirbyteMessage.parse({ type: "CONTROL", control: { type: "CONNECTOR_CONFIG", emitted_at: 1, connectorConfig: { config: {} } } }).type).toBe(
      "CONTROL",
    );
    expect(AirbyteMessage.safeParse({ type: "NOPE" }).success).toBe(false);
  });

  it("configured catalog: sync modes, keys, generations", () => {
    const c = ConfiguredAirbyteCatalog.parse({
      streams: [
        {
          stream: { name: "users", json_schema: { properties: {} }, supported_sync_modes: ["full_refresh"] },
          sync_mode: "incremental",
          destination_sync_mode: "append_dedup",
          primary_key: [["id1"], ["id2"]],
          cursor_field: ["updated_at"],
          generation_id: 43,
          minimum_generation_id: 0,
          sync_id: 42,
        },
      ],
    });
    expect(c.streams[0]?.primary_key).toEqual([["id1"], ["id2"]]);
    const bad = ConfiguredAirbyteCatalog.safeParse({ streams: [{ stream: { name: "x", json_schema: {} }, destination_sync_mode: "upsert" }] });
    expect(bad.success).toBe(false);
  });

  it("upstream changes are read defensively", () => {
    expect(upstreamChanges({ meta: { changes: [{ field: "a" }] } })).toEqual([{ field: "a" }]);
    expect(upstreamChanges({ meta: null })).toEqual([]);
    expect(upstreamChanges({ meta: { changes: "x" } })).toEqual([]);
    expect(upstreamChanges({})).toEqual([]);
  });

  it("v0 integers (number + airbyte_type integer) become integers", () => {
    expect(resolveWellKnownTypes({ properties: { a: { type: ["null", "number"], airbyte_type: "integer" }, b: { type: "number", airbyte_type: "big_integer" }, c: { type: "number" } } })).toEqual({
      properties: { a: { type: ["null", "integer"], airbyte_type: "integer" }, b: { type: "integer", airbyte_type: "big_integer" }, c: { type: "number" } },
    });
  });

  it("well-known types become plain JSON Schema", () => {
    expect(
      resolveWellKnownTypes({
        type: "object",
        properties: {
          a: { $ref: "WellKnownTypes.json#/definitions/Integer" },
          b: { $ref: "WellKnownTypes.json#/definitions/TimestampWithTimezone", description: "d" },
          c: { type: "array", items: { $ref: "WellKnownTypes.json#/definitions/String" } },
          d: { $ref: "#/definitions/local" },
        },
      }),
    ).toEqual({
      type: "object",
      properties: {
        a: { type: "integer" },
        b: { type: "string", format: "date-time", airbyte_type: "timestamp_with_timezone", description: "d" },
        c: { type: "array", items: { type: "string" } },
        d: { $ref: "#/definitions/local" },
      },
    });
  });
});
