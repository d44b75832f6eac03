/**
 * Airbyte under faults: the overwrite swap's COMMIT fails once with Redshift's XX000 "1023" and is retried
 * whole (rule 29); check names S3 get / S3 delete failures. Its own stand-in: armed faults must not leak
 * into other files' tests.
 */
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { useLocalRedshift } from "./local-redshift/shared.js";
import { type Json, catalogOf, globalState, runAirbyte, startAirbyteWrite, streamComplete } from "./helpers/airbyte.js";

const h = useLocalRedshift();
afterEach(() => h.rs.faults.reset());

describe("overwrite swap under faults", () => {
  it("a 1023 serialization failure at the swap's COMMIT is retried and the swap completes", async () => {
    const ns = "ab_fault_swap";
    const schema = { type: "object", properties: { id: { type: "integer" } } };
    const live = startAirbyteWrite({ ...h.rs.config, schema: ns, max_batch_age_seconds: 1 }, catalogOf({ name: "t", schema, mode: "overwrite", generationId: 1 }));
    const rec = (id: number) => JSON.stringify({ type: "RECORD", record: { stream: "t", emitted_at: 1, data: { id } } });
    live.write([rec(1), rec(2), globalState({ n: 2 })]);
    expect(await live.nextState()).toBeDefined();
    // The loads are committed: the next COMMIT is the swap's.
    h.rs.faults.failNextCommit(1);
    live.write([streamComplete("t")]);
    live.stdin.end();
    const r = await live.done;
    expect(r.code, JSON.stringify(r.traces)).toBe(0);
    expect(r.logs.map((l) => (l.log as Json).message as string).join("\n")).toMatch(/swap of .* failed .*1023.*retrying/s);
    const c = new pg.Client(h.rs.pg);
    await c.connect();
    try {
      const rows = (await c.query(`SELECT id FROM "${ns}"."t" ORDER BY id`)).rows.map((x) => Number(x.id));
      expect(rows).toEqual([1, 2]);
      expect((await c.query("SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = 't_airbyte_tmp'", [ns])).rowCount).toBe(0);
    } finally {
      await c.end();
    }
  });
});

describe("check under S3 faults", () => {
  const status = (r: { messages: Json[] }) => r.messages.find((m) => m.type === "CONNECTION_STATUS")?.connectionStatus as Json;

  it("names S3 get and S3 delete when only those fail", async () => {
    const config = { ...h.rs.config, schema: "ab_fault_check" };
    // More failures than the SDK's attempts, so the step really fails.
    h.rs.faults.s3FailNext(20, { method: "GET" });
    const get = await runAirbyte("check", { config });
    expect(status(get).message).toMatch(/^S3 get failed/);
    h.rs.faults.reset();
    h.rs.faults.s3FailNext(20, { method: "POST" });
    const del = await runAirbyte("check", { config });
    expect(status(del).message).toMatch(/^S3 delete failed/);
    h.rs.faults.reset();
    expect(status(await runAirbyte("check", { config })).status).toBe("SUCCEEDED");
  });

  it("names create temp table for a user who may create schemas but not temp tables", async () => {
    const c = new pg.Client(h.rs.pg);
    await c.connect();
    try {
      // Changes this private stand-in's database for good: it runs last in this file.
      await c.query(`REVOKE TEMPORARY ON DATABASE "${h.rs.pg.database}" FROM PUBLIC`);
      await c.query("CREATE ROLE ab_no_temp LOGIN PASSWORD 'no-temp-pass-1'");
      await c.query(`GRANT CREATE ON DATABASE "${h.rs.pg.database}" TO ab_no_temp`);
    } finally {
      await c.end();
    }
    const r = await runAirbyte("check", { config: { ...h.rs.config, schema: "ab_no_temp_schema", user: "ab_no_temp", password: "no-temp-pass-1" } });
    expect(status(r).message).toMatch(/^create temp table failed .*permission denied/);
  });
});
