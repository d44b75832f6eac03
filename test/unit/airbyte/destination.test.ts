/**
 * The Airbyte front end's routing with a recording stand-in for the engine (the real engine and warehouse
 * are exercised in integration_tests/airbyte-*.test.ts): STATE order, scope and counts, skipped lines,
 * stream status, and the SQL that finishes overwrite and generation streams.
 */
import { describe, expect, it } from "vitest";
import { type BatchTicket, CheckpointLedger } from "../../../src/engine/ledger.js";
import type { ConfiguredAirbyteCatalog } from "../../../src/airbyte/messages.js";
import { AirbyteDestination } from "../../../src/airbyte/destination.js";
import type { LoadEngine, StreamDefinition } from "../../../src/engine/engine.js";
import { InputError } from "../../../src/input/read.js";
import * as sql from "../../../src/redshift/sql.js";
import type { TableRef } from "../../../src/redshift/sql.js";
import { type TargetConfig, connectorSettings } from "../../../src/engine/settings.js";

const settings = connectorSettings({ host: "h", database: "d", user: "u", s3_bucket: "b", schema: "dflt", aws_access_key_id: "AKIA", aws_secret_access_key: "secretsecret" } as TargetConfig);
const props = { type: "object", properties: { id: { type: "integer" } } };

class RecordingEngine {
  readonly ledger: CheckpointLedger<string>;
  readonly defined: StreamDefinition[] = [];
  readonly written: { stream: string; data: unknown }[] = [];
  readonly sql: string[] = [];
  private readonly open = new Map<string, BatchTicket>();
  /** tables the fake warehouse already has: name → generation of every row */
  readonly existing = new Map<string, number>();
  /** a run that loads (not --stage-only, not a dry run) */
  readonly settings = { stageOnly: false, dryRun: false };
  readonly warehouse = {
    settings: { skipSchemaCreation: false },
    describe: async (t: { schema: string; table: string }) =>
      this.existing.has(`${t.schema}.${t.table}`) ? { columns: new Map([["_airbyte_generation_id", { kind: "bigint" }]]) } : undefined,
    query: async (s: string) => {
      this.sql.push(s);
      const other = /FROM "(\w+)"\."(\w+)" WHERE .* <> (\d+)$/.exec(s);
      if (other) return { rowCount: 1, rows: [{ n: this.existing.get(`${other[1]}.${other[2]}`) === Number(other[3]) ? 0 : 1 }] };
      return { rowCount: 0, rows: [] };
    },
    transaction: async (statements: readonly string[]) => {
      this.sql.push("BEGIN", ...statements, "COMMIT");
    },
    replaceTable: async (loaded: TableRef, final: TableRef) => {
      this.sql.push("BEGIN", ...sql.replaceTable(loaded, final), "COMMIT");
    },
    dropTable: async (t: TableRef) => {
      this.sql.push(sql.dropTable(t));
    },
  };
  constructor(emit: (s: string) => void) {
    this.ledger = new CheckpointLedger(emit);
  }
  /**
   * The encode-worker path's hooks: no stream is set up for the encoders, so every line comes to the
   * door's handleLine in order, as on the line path (the real engine is covered by integration tests).
   */
  readonly epoch = 0;
  encoderSetup() {
    return { epoch: 0, policy: settings.engine.policy, streams: [] };
  }
  async defineStream(d: StreamDefinition) {
    this.defined.push(d);
  }
  write(stream: string, data: unknown): undefined {
    let t = this.open.get(stream);
    if (!t) this.open.set(stream, (t = this.ledger.openBatch(stream)));
    t.add(this.ledger.nextPosition());
    this.written.push({ stream, data });
    return undefined;
  }
  /** commits one stream's open batch, as a sealed-and-loaded batch would */
  commit(stream: string) {
    const t = this.open.get(stream);
    this.open.delete(stream);
    if (t) this.ledger.commit(t);
  }
  async finish() {
    for (const s of [...this.open.keys()]) this.commit(s);
  }
  async close() {}
  throwIfFailed() {}
}

function setup(catalog: ConfiguredAirbyteCatalog, existing: Record<string, number> = {}, connector = settings) {
  const out: string[] = [];
  const logs: string[] = [];
  let engine!: RecordingEngine;
  const dest = new AirbyteDestination(
    (emit) => {
      engine = new RecordingEngine(emit);
      for (const [k, v] of Object.entries(existing)) engine.existing.set(k, v);
      return engine as unknown as LoadEngine<string>;
    },
    catalog,
    connector,
    (l) => out.push(l),
    (_level, m) => logs.push(m),
  );
  return { dest, out, logs, engine: () => engine };
}

const stream = (name: string, mode: "append" | "overwrite" | "append_dedup" = "append", extra: Record<string, unknown> = {}) => ({
  stream: { name, json_schema: props },
  destination_sync_mode: mode,
  ...extra,
});
const rec = (s: string, id: number) => JSON.stringify({ type: "RECORD", record: { stream: s, emitted_at: 1, data: { id } } });
const st = (s: string | undefined, v: number) =>
  JSON.stringify(
    s === undefined
      ? { type: "STATE", state: { type: "GLOBAL", global: { shared_state: { v } } } }
      : { type: "STATE", state: { type: "STREAM", stream: { stream_descriptor: { name: s }, stream_state: { v } } } },
  );
const complete = (s: string) => JSON.stringify({ type: "TRACE", trace: { type: "STREAM_STATUS", emitted_at: 1, stream_status: { stream_descriptor: { name: s }, status: "COMPLETE" } } });
const input = (...lines: string[]) => [lines.join("\n") + "\n"];

describe("AirbyteDestination", () => {
  it("echoes STATEs in order once committed, with per-scope record counts", async () => {
    const { dest, out } = setup({ streams: [stream("a"), stream("b")] } as ConfiguredAirbyteCatalog);
    await dest.run(input(rec("a", 1), rec("b", 1), st("a", 1), rec("a", 2), st(undefined, 9), st("b", 2)));
    const states = out.map((l) => JSON.parse(l) as { state: { type: string; destinationStats: { recordCount: number } } });
    expect(states.map((s) => [s.state.type, s.state.destinationStats.recordCount])).toEqual([
      ["STREAM", 1],
      ["GLOBAL", 3],
      ["STREAM", 1],
    ]);
  });

  it("a STREAM state waits only for its own stream", async () => {
    // The line path (encode_workers 0): the probe below needs each chunk applied before the next read,
    // and the encode-worker path reads ahead of what it has applied.
    const { dest, out, engine } = setup({ streams: [stream("a"), stream("b")] } as ConfiguredAirbyteCatalog, {}, { ...settings, encodeWorkers: 0 });
    let outAfterCommit = -1;
    let outBeforeCommit = -1;
    await dest.run(
      (async function* () {
        yield `${rec("a", 1)}\n${rec("b", 1)}\n${st("b", 1)}\n`;
        // The destination has processed the chunk when it asks for the next one.
        outBeforeCommit = out.length;
        engine().commit("b");
        outAfterCommit = out.length;
      })(),
    );
    expect(outBeforeCommit).toBe(0);
    expect(outAfterCommit).toBe(1);
  });

  it("skips non-protocol lines with a log; LOG and CONTROL are ignored", async () => {
    const { dest, out, logs, engine } = setup({ streams: [stream("a")] } as ConfiguredAirbyteCatalog);
    await dest.run(input("garbage", "42", JSON.stringify({ type: "LOG", log: { level: "INFO", message: "x" } }), JSON.stringify({ type: "CONTROL", control: { type: "CONNECTOR_CONFIG" } }), rec("a", 1)));
    expect(engine().written).toEqual([{ stream: "a", data: { id: 1 } }]);
    expect(out).toEqual([]);
    expect(logs.filter((l) => l.includes("not an Airbyte message"))).toHaveLength(2);
  });

  it("finds a stream by name and namespace; a record without namespace finds a unique stream of that name", () => {
    const { dest } = setup({ streams: [stream("a"), { ...stream("b"), stream: { name: "b", namespace: "n1", json_schema: props } }] } as ConfiguredAirbyteCatalog);
    expect(dest.planFor("a", undefined)?.id).toBe("a");
    expect(dest.planFor("a", null)?.id).toBe("a");
    expect(dest.planFor("a", "")?.id).toBe("a");
    expect(dest.planFor("a", "other")).toBeUndefined();
    expect(dest.planFor("b", "n1")?.id).toBe("n1.b");
    expect(dest.planFor("b", undefined)?.id).toBe("n1.b");
    expect(dest.planFor("b", "n2")).toBeUndefined();
  });

  it("fails on a malformed RECORD or one for a stream outside the catalog", async () => {
    await expect(setup({ streams: [stream("a")] } as ConfiguredAirbyteCatalog).dest.run(input(rec("zzz", 1)))).rejects.toThrow(/line 1: .*not in the configured catalog/);
    await expect(setup({ streams: [stream("a")] } as ConfiguredAirbyteCatalog).dest.run(input('{"type":"RECORD","record":{"stream":"a"}}'))).rejects.toThrow(InputError);
    await expect(setup({ streams: [stream("a")] } as ConfiguredAirbyteCatalog).dest.run(input('{"type":"STATE","state":{"type":"STREAM"}}'))).rejects.toThrow(/invalid STATE/);
  });

  it("overwrite: load table, swap in one transaction only after COMPLETE", async () => {
    const a = setup({ streams: [stream("t", "overwrite")] } as ConfiguredAirbyteCatalog);
    await a.dest.run(input(rec("t", 1), complete("t")));
    expect(a.engine().defined[0]!.table).toEqual({ schema: "dflt", table: "t_airbyte_tmp" });
    expect(a.engine().sql).toEqual([
      'CREATE SCHEMA IF NOT EXISTS "dflt"',
      "BEGIN",
      'DROP TABLE IF EXISTS "dflt"."t"',
      'ALTER TABLE "dflt"."t_airbyte_tmp" RENAME TO "t"',
      "COMMIT",
    ]);
    const b = setup({ streams: [stream("t", "overwrite")] } as ConfiguredAirbyteCatalog);
    await b.dest.run(input(rec("t", 1)));
    expect(b.engine().sql).toEqual(['CREATE SCHEMA IF NOT EXISTS "dflt"']);
  });

  it("a leftover load table is resumed only by the same generation", async () => {
    const cat = { streams: [stream("t", "overwrite", { generation_id: 7, minimum_generation_id: 7 })] } as ConfiguredAirbyteCatalog;
    const same = setup(cat, { "dflt.t_airbyte_tmp": 7 });
    await same.dest.run(input(rec("t", 1)));
    expect(same.engine().sql.some((q) => q.startsWith("DROP"))).toBe(false);
    const other = setup(cat, { "dflt.t_airbyte_tmp": 6 });
    await other.dest.run(input(rec("t", 1)));
    expect(other.engine().sql).toContain('DROP TABLE IF EXISTS "dflt"."t_airbyte_tmp"');
    const legacy = setup({ streams: [stream("t", "overwrite")] } as ConfiguredAirbyteCatalog, { "dflt.t_airbyte_tmp": 0 });
    await legacy.dest.run(input(rec("t", 1)));
    expect(legacy.engine().sql).toContain('DROP TABLE IF EXISTS "dflt"."t_airbyte_tmp"');
  });

  it("generation cleanup after COMPLETE", async () => {
    const { dest, engine } = setup({ streams: [stream("t", "append", { generation_id: 5, minimum_generation_id: 3 })] } as ConfiguredAirbyteCatalog);
    await dest.run(input(rec("t", 1), complete("t")));
    expect(engine().sql).toEqual(['DELETE FROM "dflt"."t" WHERE "_airbyte_generation_id" IS NULL OR "_airbyte_generation_id" < 3']);
  });
});
