/**
 * The Airbyte commands beyond the conformance files: STREAM-scoped states, overwrite that fails or ends
 * without COMPLETE, generation cleanup, non-protocol lines, errors as TRACE, check step by step, and the
 * real process's exit codes.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runProcess, tableExists, uniqueSchema, withPg } from "./helpers/target.js";
import { type Json, airbyteConfig, catalogOf, globalState, runAirbyte, startAirbyteWrite, streamComplete, streamState, tableJson } from "./helpers/airbyte.js";

const schemaOf = { type: "object", properties: { id: { type: "integer" }, v: { type: "string" } } };
const rec = (stream: string, id: number, v = `v${id}`, namespace?: string) =>
  JSON.stringify({ type: "RECORD", record: { stream, ...(namespace ? { namespace } : {}), emitted_at: 1700000000000 + id, data: { id, v } } });
const ids = (rows: Json[]) => rows.map((r) => r.id as number).sort((a, b) => a - b);

describe("write", () => {
  it("STREAM states wait for their own stream only and count that stream's records", async () => {
    const ns = uniqueSchema("ab_scope");
    const catalog = catalogOf({ name: "a", namespace: ns, schema: schemaOf, mode: "append" }, { name: "b", namespace: ns, schema: schemaOf, mode: "append" });
    const input = [
      rec("a", 1, "x", ns),
      rec("b", 1, "x", ns),
      rec("a", 2, "x", ns),
      streamState("a", ns, { a: 2 }),
      rec("b", 2, "x", ns),
      streamState("b", ns, { b: 2 }),
      streamState("a", ns, { a: 2 }),
      rec("a", 3, "x", ns),
      globalState({ all: 1 }),
    ];
    const r = await runAirbyte("write", { config: airbyteConfig(ns), catalog, input });
    expect(r.code, JSON.stringify(r.traces)).toBe(0);
    const summary = r.states.map((s) => {
      const st = s.state as Json;
      return [st.type, ((st.stream as Json | undefined)?.stream_state as Json | undefined) ?? (st.global as Json).shared_state, (st.destinationStats as Json).recordCount];
    });
    expect(summary).toEqual([
      ["STREAM", { a: 2 }, 2],
      ["STREAM", { b: 2 }, 2],
      ["STREAM", { a: 2 }, 0],
      ["GLOBAL", { all: 1 }, 5],
    ]);
    expect(ids(await tableJson(ns, "a"))).toEqual([1, 2, 3]);
    expect(ids(await tableJson(ns, "b"))).toEqual([1, 2]);
  });

  it("LEGACY states are global; logs are LOG messages on stdout; non-protocol lines are skipped", async () => {
    const ns = uniqueSchema("ab_legacy");
    const catalog = catalogOf({ name: "t", schema: schemaOf, mode: "append" });
    const input = [rec("t", 1), "this is not json", "[1,2]", JSON.stringify({ type: "STATE", state: { data: { cursor: 1 } } })];
    const r = await runAirbyte("write", { config: airbyteConfig(ns), catalog, input });
    expect(r.code).toBe(0);
    expect(r.garbage).toEqual([]);
    expect(r.states).toEqual([{ type: "STATE", state: { data: { cursor: 1 }, destinationStats: { recordCount: 1 } } }]);
    const logText = r.logs.map((l) => (l.log as Json).message as string).join("\n");
    expect(logText).toMatch(/not an Airbyte message/);
    expect(r.logs.every((l) => ["INFO", "WARN", "DEBUG", "ERROR"].includes((l.log as Json).level as string))).toBe(true);
  });

  it("overwrite: a stream that ends without COMPLETE, or a failed sync, keeps the old data", async () => {
    const ns = uniqueSchema("ab_over_keep");
    // Every sync of a truncate refresh has its own generation.
    const gen = (g: number) => catalogOf({ name: "t", schema: schemaOf, mode: "overwrite", generationId: g });
    const config = airbyteConfig(ns);
    expect((await runAirbyte("write", { config, catalog: gen(1), input: [rec("t", 1), rec("t", 2), streamComplete("t")] })).code).toBe(0);
    expect(ids(await tableJson(ns, "t"))).toEqual([1, 2]);

    const incomplete = await runAirbyte("write", { config, catalog: gen(2), input: [rec("t", 3)] });
    expect(incomplete.code).toBe(0);
    expect(ids(await tableJson(ns, "t"))).toEqual([1, 2]);

    const failed = await runAirbyte("write", {
      config,
      catalog: gen(3),
      input: [rec("t", 4), JSON.stringify({ type: "RECORD", record: { stream: "t", emitted_at: 1, data: "not an object" } }), streamComplete("t")],
    });
    expect(failed.code).toBe(1);
    expect(failed.traces).toHaveLength(1);
    expect(((failed.traces[0]!.trace as Json).error as Json).failure_type).toBe("system_error");
    expect(ids(await tableJson(ns, "t"))).toEqual([1, 2]);

    expect((await runAirbyte("write", { config, catalog: gen(4), input: [rec("t", 5), streamComplete("t")] })).code).toBe(0);
    expect(ids(await tableJson(ns, "t"))).toEqual([5]);
  });

  it("a STATE comes out only once its records are committed and queryable, while input continues", async () => {
    const ns = uniqueSchema("ab_live");
    const live = startAirbyteWrite(airbyteConfig(ns, { max_batch_age_seconds: 1 }), catalogOf({ name: "t", schema: schemaOf, mode: "append" }));
    live.write([rec("t", 1), rec("t", 2), globalState({ n: 2 })]);
    const first = await live.nextState();
    expect((first!.state as Json).destinationStats).toEqual({ recordCount: 2 });
    expect(ids(await tableJson(ns, "t"))).toEqual([1, 2]);
    live.write([rec("t", 3), globalState({ n: 3 })]);
    expect(((await live.nextState())!.state as Json).destinationStats).toEqual({ recordCount: 1 });
    expect(ids(await tableJson(ns, "t"))).toEqual([1, 2, 3]);
    live.stdin.end();
    expect((await live.done).code).toBe(0);
  });

  it("overwrite resumes a failed attempt of the same generation (acknowledged rows are not sent again)", async () => {
    const ns = uniqueSchema("ab_resume");
    const config = airbyteConfig(ns, { max_batch_age_seconds: 1 });
    const gen = (g: number) => catalogOf({ name: "t", schema: schemaOf, mode: "overwrite", generationId: g });
    await runAirbyte("write", { config, catalog: gen(1), input: [rec("t", 1), streamComplete("t")] });

    const attempt1 = startAirbyteWrite(config, gen(2));
    attempt1.write([rec("t", 10), globalState({ after: 10 })]);
    expect(await attempt1.nextState()).toBeDefined();
    attempt1.write(["{\"type\":\"RECORD\",\"record\":{\"stream\":\"t\"}}"]);
    attempt1.stdin.end();
    expect((await attempt1.done).code).toBe(1);
    expect(ids(await tableJson(ns, "t"))).toEqual([1]);
    expect(await tableExists(ns, "t_airbyte_tmp")).toBe(true);

    expect((await runAirbyte("write", { config, catalog: gen(2), input: [rec("t", 11), streamComplete("t")] })).code).toBe(0);
    expect(ids(await tableJson(ns, "t"))).toEqual([10, 11]);

    // A leftover of another generation is not resumed.
    const attempt3 = await runAirbyte("write", { config, catalog: gen(3), input: [rec("t", 20)] });
    expect(attempt3.code).toBe(0);
    expect((await runAirbyte("write", { config, catalog: gen(4), input: [rec("t", 30), streamComplete("t")] })).code).toBe(0);
    expect(ids(await tableJson(ns, "t"))).toEqual([30]);
  });

  it("a stream whose schema declares no properties keeps each record whole in _airbyte_data", async () => {
    const ns = uniqueSchema("ab_free");
    const catalog = catalogOf({ name: "free", schema: { type: "object" }, mode: "append" });
    const input = [JSON.stringify({ type: "RECORD", record: { stream: "free", emitted_at: 1, data: { a: 1, nested: { b: ["x"] } } } })];
    expect((await runAirbyte("write", { config: airbyteConfig(ns), catalog, input })).code).toBe(0);
    expect((await tableJson(ns, "free")).map((r) => r._airbyte_data)).toEqual([{ a: 1, nested: { b: ["x"] } }]);
  });

  it("an empty overwrite sync that completes empties the table; append creates empty tables", async () => {
    const ns = uniqueSchema("ab_empty");
    const config = airbyteConfig(ns);
    const over = catalogOf({ name: "t", schema: schemaOf, mode: "overwrite", generationId: 1 });
    await runAirbyte("write", { config, catalog: over, input: [rec("t", 1), streamComplete("t")] });
    expect((await runAirbyte("write", { config, catalog: over, input: [streamComplete("t")] })).code).toBe(0);
    expect(await tableJson(ns, "t")).toEqual([]);
    const app = catalogOf({ name: "e", schema: schemaOf, mode: "append" });
    expect((await runAirbyte("write", { config, catalog: app, input: [] })).code).toBe(0);
    expect(await tableExists(ns, "e")).toBe(true);
  });

  it("generations: rows below minimum_generation_id go at the end of a complete sync", async () => {
    const ns = uniqueSchema("ab_gen");
    const config = airbyteConfig(ns);
    const gen = (g: number, min: number) => catalogOf({ name: "t", schema: schemaOf, mode: "append", generationId: g, minimumGenerationId: min });
    await runAirbyte("write", { config, catalog: gen(1, 0), input: [rec("t", 1)] });
    await runAirbyte("write", { config, catalog: gen(2, 0), input: [rec("t", 2)] });
    // Not complete: nothing retired yet.
    await runAirbyte("write", { config, catalog: gen(3, 2), input: [rec("t", 3)] });
    expect(ids(await tableJson(ns, "t"))).toEqual([1, 2, 3]);
    expect((await runAirbyte("write", { config, catalog: gen(3, 2), input: [rec("t", 4), streamComplete("t")] })).code).toBe(0);
    const rows = await tableJson(ns, "t");
    expect(ids(rows)).toEqual([2, 3, 4]);
    // A truncate refresh (minimum == current) keeps only this sync's rows.
    expect((await runAirbyte("write", { config, catalog: gen(4, 4), input: [rec("t", 5), streamComplete("t")] })).code).toBe(0);
    expect((await tableJson(ns, "t")).map((r) => [r.id, r._airbyte_generation_id])).toEqual([[5, 4]]);
  });

  it("errors are TRACE ERRORs with a failure type, non-zero exit and no secret", async () => {
    const ns = uniqueSchema("ab_err");
    const secret = "Sup3r-S3cret-Passw0rd!";
    const badCatalog = await runAirbyte("write", { config: airbyteConfig(ns), catalog: { streams: [{ stream: { name: "x", json_schema: {} }, destination_sync_mode: "upsert" }] } });
    expect(badCatalog.code).toBe(1);
    expect(((badCatalog.traces[0]!.trace as Json).error as Json).failure_type).toBe("config_error");
    expect(((badCatalog.traces[0]!.trace as Json).error as Json).message).toMatch(/destination_sync_mode/);

    const badAuth = await runAirbyte("write", { config: airbyteConfig(ns, { password: secret }), catalog: catalogOf({ name: "t", schema: schemaOf, mode: "append" }), input: [rec("t", 1)] });
    expect(badAuth.code).toBe(1);
    const error = (badAuth.traces[0]!.trace as Json).error as Json;
    expect(error.failure_type).toBe("config_error");
    for (const k of ["message", "internal_message", "stack_trace"]) expect(typeof error[k]).toBe("string");
    expect(JSON.stringify(badAuth.messages)).not.toContain(secret);

    const copyDenied = await runAirbyte("write", {
      config: airbyteConfig(ns, { copy_iam_role_arn: "arn:aws:iam::000000000000:role/not#allowed" }),
      catalog: catalogOf({ name: "t", schema: schemaOf, mode: "append" }),
      input: [rec("t", 1), globalState({ s: 1 })],
    });
    expect(copyDenied.code).toBe(1);
    expect(copyDenied.states).toEqual([]);
    const copyError = (copyDenied.traces[0]!.trace as Json).error as Json;
    expect(copyError.failure_type).toBe("config_error");
    expect(copyError.internal_message).toMatch(/IAM role/);

    const unknownStream = await runAirbyte("write", { config: airbyteConfig(ns), catalog: catalogOf({ name: "t", schema: schemaOf, mode: "append" }), input: [rec("other", 1)] });
    expect(unknownStream.code).toBe(1);
    expect(((unknownStream.traces[0]!.trace as Json).error as Json).internal_message).toMatch(/not in the configured catalog/);
  });
});

describe("check", () => {
  const status = (r: { messages: Json[] }) => r.messages.find((m) => m.type === "CONNECTION_STATUS")?.connectionStatus as Json;

  it("succeeds against the stand-in, exercising every step", async () => {
    const ns = uniqueSchema("ab_check");
    const r = await runAirbyte("check", { config: airbyteConfig(ns) });
    expect(r.code).toBe(0);
    expect(status(r)).toEqual({ status: "SUCCEEDED" });
    expect(await withPg(async (c) => (await c.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [ns])).rowCount)).toBe(1);
  });

  it("names the step that fails: authentication, connect, TLS, create schema, create table, S3 put, COPY", async () => {
    const ns = uniqueSchema("ab_check_fail");
    const secret = "Wr0ng-Passw0rd-Value";
    const auth = await runAirbyte("check", { config: airbyteConfig(ns, { password: secret }) });
    expect(auth.code).toBe(0);
    expect(status(auth).status).toBe("FAILED");
    expect(status(auth).message).toMatch(/^authentication failed/);
    expect(JSON.stringify(auth.messages)).not.toContain(secret);

    const port = await runAirbyte("check", { config: airbyteConfig(ns, { port: 1 }) });
    expect(status(port).message).toMatch(/^connect failed/);

    const bucket = await runAirbyte("check", { config: airbyteConfig(ns, { s3_bucket: "no-such-bucket-for-check" }) });
    expect(status(bucket).status).toBe("FAILED");
    expect(status(bucket).message).toMatch(/^S3 put failed/);

    const copy = await runAirbyte("check", { config: airbyteConfig(ns, { copy_iam_role_arn: "arn:aws:iam::000000000000:role/not#allowed" }) });
    expect(status(copy).status).toBe("FAILED");
    expect(status(copy).message).toMatch(/^COPY from S3 failed/);

    const { ssl_ca: _ca, ...untrusted } = airbyteConfig(ns);
    const tls = await runAirbyte("check", { config: { ...untrusted, ssl: true, ssl_verify: true } });
    expect(status(tls).message).toMatch(/^TLS failed/);

    const noSchema = await runAirbyte("check", { config: airbyteConfig(`${ns}_absent`, { skip_schema_creation: true }) });
    expect(status(noSchema).message).toMatch(/^create table failed/);

    // A user without CREATE on the database.
    const role = `ab_check_limited_${process.pid}`;
    await withPg(async (c) => {
      await c.query(`DROP ROLE IF EXISTS ${role}`);
      await c.query(`CREATE ROLE ${role} LOGIN PASSWORD 'limited-pass-1'`);
    });
    const limited = await runAirbyte("check", { config: airbyteConfig(`${ns}_limited`, { user: role, password: "limited-pass-1" }) });
    expect(status(limited).message).toMatch(/^create schema failed .*permission denied/);

    const invalid = await runAirbyte("check", { config: { host: "h" } });
    expect(status(invalid).status).toBe("FAILED");
    expect(status(invalid).message).toMatch(/database|user|s3_bucket/);
  });
});

describe("the real process", () => {
  const run = (args: string[], input = "") => runProcess(args, input);

  it("spec exits 0 with one SPEC message; a failed write exits non-zero with a TRACE ERROR", async () => {
    const spec = await run(["spec"]);
    expect(spec.code).toBe(0);
    const msg = JSON.parse(spec.stdout.trim()) as Json;
    expect(msg.type).toBe("SPEC");
    expect((msg.spec as Json).supported_destination_sync_modes).toEqual(["overwrite", "append", "append_dedup"]);

    const ns = uniqueSchema("ab_proc");
    const dir = mkdtempSync(join(tmpdir(), "tr-ab-proc-"));
    writeFileSync(join(dir, "config.json"), JSON.stringify(airbyteConfig(ns)));
    writeFileSync(join(dir, "catalog.json"), JSON.stringify(catalogOf({ name: "t", schema: schemaOf, mode: "append" })));
    const ok = await run(["write", "--config", join(dir, "config.json"), "--catalog", join(dir, "catalog.json")], [rec("t", 1), globalState({ s: 1 })].join("\n") + "\n");
    expect(ok.code, ok.stdout).toBe(0);
    const out = ok.stdout.trim().split("\n").map((l) => JSON.parse(l) as Json);
    expect(out.filter((m) => m.type === "STATE")).toHaveLength(1);
    const bad = await run(["write", "--config", join(dir, "config.json"), "--catalog", join(dir, "missing.json")]);
    expect(bad.code).toBe(1);
    const trace = bad.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Json)
      .find((m) => m.type === "TRACE");
    expect(((trace!.trace as Json).error as Json).failure_type).toBe("config_error");
  });
});
