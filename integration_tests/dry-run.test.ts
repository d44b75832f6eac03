/**
 * --dry-run: reads the input and the catalog, logs the SQL a run would send (DDL per stream, COPY and the
 * upsert per batch), creates nothing in the database or S3, and releases no STATE.
 */
import { spawnSync } from "node:child_process";
import { hostname } from "node:os";
import { ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { columns, configFor, runSinger, standIn, tableExists, uniqueSchema } from "./helpers/target.js";
import { catalogOf, runAirbyte } from "./helpers/airbyte.js";

function s3Client(): S3Client {
  const { s3 } = standIn();
  return new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
}

async function s3Keys(prefix: string): Promise<string[]> {
  const { s3 } = standIn();
  const client = s3Client();
  try {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
    return (listed.Contents ?? []).map((o) => o.Key!);
  } finally {
    client.destroy();
  }
}

const lines = (msgs: unknown[]) => msgs.map((m) => JSON.stringify(m)).join("\n") + "\n";
const schemaMsg = (props: Record<string, unknown>) => ({ type: "SCHEMA", stream: "t", key_properties: ["id"], schema: { properties: props } });

describe("--dry-run", () => {
  it("Singer: logs DDL and load SQL per batch on stderr; no table, no S3 object, no STATE", async () => {
    const schema = uniqueSchema("dryrun");
    const prefix = `dry-run-test/${schema}/`;
    const input = lines([
      schemaMsg({ id: { type: "integer" }, v: { type: "string" } }),
      { type: "RECORD", stream: "t", record: { id: 1, v: "a" } },
      { type: "RECORD", stream: "t", record: { id: 2, v: "b" } },
      { type: "STATE", value: { s: 1 } },
      { type: "RECORD", stream: "t", record: { id: 3, v: "c" } },
      { type: "STATE", value: { s: 2 } },
    ]);
    const r = await runSinger(configFor(schema, { s3_key_prefix: prefix, batch_size_rows: 2 }), input, ["--dry-run"]);
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(r.stdout).toEqual([]);
    const log = r.stderr.join("\n");
    expect(log).toContain(`dry run: schema ${schema}: CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    expect(log).toMatch(new RegExp(`dry run: table ${schema}\\.t: CREATE TABLE .*"${schema}"\\."t"`));
    // Two batches (2 rows, then 1): each with its COPY and its upsert transaction.
    expect(log.match(/dry run: load of \d rows into \S+: COPY /g)).toHaveLength(2);
    expect(log).toMatch(/dry run: load of 2 rows into \S+: MERGE INTO|dry run: load of 2 rows into \S+: DELETE FROM/);
    expect(log).toMatch(/COPY .* FROM 's3:\/\/[^']+\/dry-run-test\/[^']+manifest\.json' IAM_ROLE /);
    expect(log).toContain("dry run: nothing was written to S3 or the database; 2 STATE messages withheld");
    expect(await tableExists(schema, "t")).toBe(false);
    expect(await s3Keys(prefix)).toEqual([]);
  });

  it("Singer: no load journal, no run marker, and no sweep of a dead run's staged objects", async () => {
    const schema = uniqueSchema("dryrun_sw");
    const prefix = `dry-run-sweep/${schema}/`;
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    const c = s3Client();
    const left = [`${prefix}_runs/deadrun.json`, `${prefix}s0-t/deadrun/batch-000001/part-0000.csv.gz`];
    try {
      await c.send(new PutObjectCommand({ Bucket: standIn().s3.bucket, Key: left[0], Body: JSON.stringify({ runId: "deadrun", host: hostname(), pid: Number(dead.stdout), startedAt: new Date().toISOString() }) }));
      await c.send(new PutObjectCommand({ Bucket: standIn().s3.bucket, Key: left[1], Body: "x" }));
    } finally {
      c.destroy();
    }
    // Age 0: a real run would remove the dead run's objects at once (load-faults.test.ts).
    const r = await runSinger(configFor(schema, { s3_key_prefix: prefix, staging_sweep_age_minutes: 0 }), lines([schemaMsg({ id: { type: "integer" } }), { type: "RECORD", stream: "t", record: { id: 1 } }, { type: "STATE", value: { s: 1 } }]), ["--dry-run"]);
    expect(r.code, r.stderr.join("\n")).toBe(0);
    const log = r.stderr.join("\n");
    expect(log).toContain(`dry run: load journal ${schema}._target_redshift_load_journal: CREATE TABLE IF NOT EXISTS`);
    expect(log).toMatch(/dry run, nothing loaded: 1 rows for \S+\.t, batch 1 of stream t/);
    expect(log).toMatch(/summary \(dry run, nothing loaded\): stream t /);
    expect(log).toMatch(/done: 1 records, dry run, nothing loaded, 1 STATE messages withheld/);
    expect(log).not.toMatch(/committed batch|states emitted|removed \d+ staged objects/);
    expect((await s3Keys(prefix)).sort()).toEqual(left);
    expect(await tableExists(schema, "_target_redshift_load_journal")).toBe(false);
    expect(await tableExists(schema, "t")).toBe(false);
  });

  it("Singer: against an existing table, only the missing column is added (read-only catalog look-up)", async () => {
    const schema = uniqueSchema("dryrun_ex");
    const cfg = configFor(schema);
    const first = await runSinger(cfg, lines([schemaMsg({ id: { type: "integer" } }), { type: "RECORD", stream: "t", record: { id: 1 } }]));
    expect(first.code, first.stderr.join("\n")).toBe(0);
    const r = await runSinger(cfg, lines([schemaMsg({ id: { type: "integer" }, extra: { type: "string" } }), { type: "RECORD", stream: "t", record: { id: 2, extra: "x" } }]), ["--dry-run"]);
    expect(r.code, r.stderr.join("\n")).toBe(0);
    const log = r.stderr.join("\n");
    expect(log).toMatch(/dry run: table \S+\.t: ALTER TABLE .* ADD COLUMN "extra"/);
    expect(log).not.toContain("CREATE TABLE");
    expect(Object.keys(await columns(schema, "t"))).not.toContain("extra");
  });

  it("Airbyte write: the SQL as LOG messages, no STATE message, nothing created", async () => {
    const ns = uniqueSchema("dryrun_ab");
    const catalog = catalogOf({ name: "t", namespace: ns, schema: { type: "object", properties: { id: { type: "integer" } } }, mode: "append" });
    const rec = JSON.stringify({ type: "RECORD", record: { stream: "t", namespace: ns, data: { id: 1 }, emitted_at: 1 } });
    const state = JSON.stringify({ type: "STATE", state: { type: "LEGACY", data: { s: 1 } } });
    const r = await runAirbyte("write", { config: configFor(ns), catalog, input: [rec, state], args: ["--dry-run"] });
    expect(r.code, JSON.stringify(r.traces)).toBe(0);
    expect(r.states).toEqual([]);
    const logText = r.logs.map((l) => JSON.stringify(l)).join("\n");
    expect(logText).toContain("dry run: ");
    expect(logText).toContain("COPY ");
    expect(await tableExists(ns, "t")).toBe(false);
  });
});
