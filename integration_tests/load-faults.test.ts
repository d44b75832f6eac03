/**
 * The Singer load path under warehouse faults, on its own stand-in (armed faults must not leak into other
 * files' tests): a serialization conflict at COMMIT is retried whole (rule 29); a connection lost during
 * COPY, MERGE or COMMIT re-runs the batch's load on a fresh session, and the load journal keeps a COMMIT
 * whose answer was lost from being applied twice; S3 faults end in one error naming the object.
 */
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { useLocalRedshift } from "./local-redshift/shared.js";
import { spawnSync } from "node:child_process";
import { hostname } from "node:os";
import { ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { runSinger, startSinger } from "./helpers/target.js";
import { s3Client } from "./local-redshift/test-helpers.js";

const h = useLocalRedshift();
afterEach(() => h.rs.faults.reset());

const lines = (...msgs: unknown[]) => msgs.map((m) => JSON.stringify(m)).join("\n") + "\n";
const input = (schema: string) =>
  lines(
    { type: "SCHEMA", stream: "t", key_properties: ["id"], schema: { properties: { id: { type: "integer" } } } },
    { type: "RECORD", stream: "t", record: { id: 1 } },
    { type: "RECORD", stream: "t", record: { id: 2 } },
    { type: "STATE", value: { schema } },
  );

/** Staged objects left in the bucket by runs of this file (every run here uses the default prefix). */
async function leftovers(): Promise<string[]> {
  const c = s3Client(h.rs);
  try {
    const r = await c.send(new ListObjectsV2Command({ Bucket: h.rs.s3.bucket, Prefix: "target-redshift/" }));
    return (r.Contents ?? []).map((o) => o.Key!);
  } finally {
    c.destroy();
  }
}

async function ids(schema: string): Promise<number[]> {
  const c = new pg.Client(h.rs.pg);
  await c.connect();
  try {
    return (await c.query(`SELECT id FROM "${schema}"."t" ORDER BY id`)).rows.map((x) => Number(x.id));
  } finally {
    await c.end();
  }
}

describe("warehouse faults", () => {
  it("a 1023 serialization failure at COMMIT is retried and the batch commits once", async () => {
    const schema = "fault_retry";
    h.rs.faults.failNextCommit(2);
    const r = await runSinger({ ...h.rs.config, schema }, input(schema));
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(r.stderr.join("\n")).toMatch(/load of batch 1 of stream "t" into fault_retry\.t failed .*1023.*retrying in \d+ ms \(attempt 2 of 5\)/);
    expect(await ids(schema)).toEqual([1, 2]);
    expect(r.states).toEqual([{ schema }]);
  });

  it("conflicts past the retry budget fail the run: nothing committed, no STATE", async () => {
    const schema = "fault_exhausted";
    h.rs.faults.failNextCommit(10);
    const r = await runSinger({ ...h.rs.config, schema }, input(schema));
    expect(r.code).toBe(1);
    expect(r.stderr.join("\n")).toMatch(/1023/);
    expect(r.states).toEqual([]);
    expect(await ids(schema)).toEqual([]);
    expect(await leftovers(), "the failed batch's staged objects").toEqual([]);
  });

  for (const [moment, arm] of [
    ["COPY", () => h.rs.faults.dropConnectionDuringNextCopy()],
    ["MERGE", () => h.rs.faults.dropConnectionDuringNextMerge()],
    ["COMMIT (never applied)", () => h.rs.faults.dropConnectionDuringNextCommit()],
  ] as const) {
    it(`a connection dropped during ${moment}: the batch is loaded again on a fresh session, once`, async () => {
      const schema = `fault_drop_${moment.split(" ")[0]!.toLowerCase()}`;
      arm();
      const r = await runSinger({ ...h.rs.config, schema, retry_base_delay_ms: 10 }, input(schema));
      expect(r.code, r.stderr.join("\n")).toBe(0);
      expect(r.stderr.join("\n")).toMatch(/load of batch 1 of stream "t" into fault_drop_\w+\.t: connection lost .*attempt 2 of 5/);
      expect(await ids(schema)).toEqual([1, 2]);
      expect(r.states).toEqual([{ schema }]);
    });
  }

  it("a COMMIT applied whose answer is lost is not applied again (append stream: no duplicates)", async () => {
    const schema = "fault_commit_lost";
    h.rs.faults.dropConnectionAfterNextCommit();
    const append = input(schema).replace('"key_properties":["id"]', '"key_properties":[]');
    const r = await runSinger({ ...h.rs.config, schema, retry_base_delay_ms: 10 }, append);
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(r.stderr.join("\n")).toMatch(/the load journal shows the COMMIT was applied/);
    expect(await ids(schema)).toEqual([1, 2]);
    expect(r.states).toEqual([{ schema }]);
    const c = new pg.Client(h.rs.pg);
    await c.connect();
    try {
      const j = await c.query(`SELECT stream, batch_number, row_count, target_table FROM "${schema}"._target_redshift_load_journal`);
      expect(j.rows).toEqual([{ stream: "t", batch_number: "1", row_count: "2", target_table: `${schema}.t` }]);
    } finally {
      await c.end();
    }
  });

  it("connections lost on every attempt: one error naming stream and table, nothing committed, no STATE", async () => {
    const schema = "fault_drop_always";
    for (let i = 0; i < 3; i++) h.rs.faults.dropConnectionDuringNextMerge();
    const r = await runSinger({ ...h.rs.config, schema, retry_attempts: 3, retry_base_delay_ms: 10 }, input(schema));
    expect(r.code).toBe(1);
    const errors = r.stderr.filter((l) => / ERROR /.test(l));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/load of batch 1 of stream "t" into fault_drop_always\.t \(after 3 attempts\) failed: Connection terminated/);
    expect(r.states).toEqual([]);
    expect(await ids(schema)).toEqual([]);
  });

  it("a failure on one stream still prints the STATE that another stream's committed batch covers", async () => {
    const schema = "fault_state_on_failure";
    const r = await runSinger(
      { ...h.rs.config, schema, batch_size_rows: 1, invalid_value: "fail", encode_workers: 0 },
      lines(
        { type: "SCHEMA", stream: "a", key_properties: ["id"], schema: { properties: { id: { type: "integer" } } } },
        { type: "SCHEMA", stream: "b", key_properties: ["id"], schema: { properties: { id: { type: "integer" }, d: { type: "string", format: "date-time" } } } },
        { type: "RECORD", stream: "a", record: { id: 1 } },
        { type: "STATE", value: { after: "a1" } },
        { type: "RECORD", stream: "b", record: { id: 1, d: "not a date" } },
        { type: "STATE", value: { after: "b1" } },
      ),
    );
    expect(r.code).toBe(1);
    expect(r.stderr.join("\n")).toMatch(/line 5 \(stream "b"\)/);
    // a's batch was committing while b's record failed: its STATE goes out before the run exits.
    expect(r.states).toEqual([{ after: "a1" }]);
  });

  it("S3 answering 500 on every PUT: one error naming bucket and key after the retries, no raw SDK lines, nothing left", async () => {
    const schema = "fault_s3_500";
    h.rs.faults.s3FailNext(1000, { method: "PUT" });
    const r = await runSinger({ ...h.rs.config, schema, retry_attempts: 3, retry_base_delay_ms: 10 }, input(schema));
    h.rs.faults.reset();
    expect(r.code).toBe(1);
    const text = r.stderr.join("\n");
    expect(text).toMatch(/attempt 2 of 3/);
    expect(text).toMatch(/attempt 3 of 3/);
    const errors = r.stderr.filter((l) => / ERROR /.test(l));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(new RegExp(`stream "t": S3 PUT of s3://${h.rs.s3.bucket}/target-redshift/s0-t/[^ ]+/batch-000001/part-0000\\.csv\\.gz failed after 3 attempts: .*HTTP 500`));
    // The SDK's own lines come through our logger (timestamp, level, "AWS SDK:"), never raw.
    for (const l of r.stderr.filter((x) => /non-retryable streaming request/.test(x))) expect(l).toMatch(/^\S+Z DEBUG AWS SDK: /);
    expect(r.states).toEqual([]);
    expect(await leftovers()).toEqual([]);
  });

  it("a hung S3 PUT is aborted at s3_request_timeout_seconds and retried; the load completes", async () => {
    const schema = "fault_s3_hang_put";
    h.rs.faults.s3HangNext(1, { method: "PUT" });
    const r = await runSinger({ ...h.rs.config, schema, s3_request_timeout_seconds: 1, retry_base_delay_ms: 10 }, input(schema));
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(r.stderr.join("\n")).toMatch(/S3 PUT of .* failed \(no answer within 1 s \(s3_request_timeout_seconds\)\); retrying in \d+ ms \(attempt 2 of 5\)/);
    expect(await ids(schema)).toEqual([1, 2]);
  });

  it("a hung DeleteObjects after the last STATE is aborted and retried: the process ends, nothing left", async () => {
    const schema = "fault_s3_hang_delete";
    h.rs.faults.s3HangNext(1, { method: "POST" });
    const r = await runSinger({ ...h.rs.config, schema, s3_request_timeout_seconds: 1, retry_base_delay_ms: 10 }, input(schema));
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(r.stderr.join("\n")).toMatch(/S3 DeleteObjects of .* failed \(no answer within 1 s/);
    expect(r.states).toEqual([{ schema }]);
    expect(await leftovers()).toEqual([]);
  });

  it("a run sweeps staged objects of dead runs (marker names a gone process), never a live run's", async () => {
    const c = s3Client(h.rs);
    const prefix = "sweep-test/";
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    const deadPid = Number(dead.stdout);
    const put = (Key: string, Body: string) => c.send(new PutObjectCommand({ Bucket: h.rs.s3.bucket, Key, Body }));
    const marker = (runId: string, pid: number) => put(`${prefix}_runs/${runId}.json`, JSON.stringify({ runId, host: hostname(), pid, startedAt: new Date().toISOString() }));
    try {
      await marker("deadrun", deadPid);
      await put(`${prefix}s0-t/deadrun/batch-000001/part-0000.csv.gz`, "x");
      await marker("liverun", process.pid);
      await put(`${prefix}s0-t/liverun/batch-000001/part-0000.csv.gz`, "x");
      await put(`${prefix}s0-t/nomarker/batch-000001/part-0000.csv.gz`, "x");
      const list = async () => ((await c.send(new ListObjectsV2Command({ Bucket: h.rs.s3.bucket, Prefix: prefix }))).Contents ?? []).map((o) => o.Key!.slice(prefix.length)).sort();
      // Default age (1440 min): the dead run's files are too fresh to sweep.
      const fresh = await runSinger({ ...h.rs.config, schema: "sweep_a", s3_key_prefix: prefix }, input("sweep_a"));
      expect(fresh.code, fresh.stderr.join("\n")).toBe(0);
      expect(await list()).toContain("s0-t/deadrun/batch-000001/part-0000.csv.gz");
      const r = await runSinger({ ...h.rs.config, schema: "sweep_b", s3_key_prefix: prefix, staging_sweep_age_minutes: 0 }, input("sweep_b"));
      expect(r.code, r.stderr.join("\n")).toBe(0);
      expect(r.stderr.join("\n")).toMatch(/removed 2 staged objects left by runs no longer alive/);
      expect(await list()).toEqual(["_runs/liverun.json", "s0-t/liverun/batch-000001/part-0000.csv.gz", "s0-t/nomarker/batch-000001/part-0000.csv.gz"]);
    } finally {
      c.destroy();
    }
  });

  it("DDL raced by another session (schema, table, column created first): the catalog is read again and the load goes on", async () => {
    const schema = "fault_ddl_race";
    h.rs.faults.raceNextCreateSchema();
    h.rs.faults.raceNextCreateTable();
    const r = await runSinger({ ...h.rs.config, schema }, input(schema));
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(await ids(schema)).toEqual([1, 2]);
    h.rs.faults.raceNextAddColumn();
    const more = lines(
      { type: "SCHEMA", stream: "t", key_properties: ["id"], schema: { properties: { id: { type: "integer" }, extra: { type: "string" } } } },
      { type: "RECORD", stream: "t", record: { id: 3, extra: "x" } },
      { type: "STATE", value: { schema } },
    );
    const r2 = await runSinger({ ...h.rs.config, schema }, more);
    expect(r2.code, r2.stderr.join("\n")).toBe(0);
    expect(await ids(schema)).toEqual([1, 2, 3]);
  });

  it("two runs loading the same new schema, table and columns at once both succeed (DDL races tolerated)", async () => {
    for (let round = 0; round < 4; round++) {
      const schema = `race_${round}`;
      const run = (who: string) =>
        runSinger(
          { ...h.rs.config, schema, encode_workers: 0 },
          lines(
            { type: "SCHEMA", stream: "t", key_properties: ["id"], schema: { properties: { id: { type: "integer" }, shared: { type: "string" }, [who]: { type: "string" } } } },
            ...Array.from({ length: 50 }, (_, i) => ({ type: "RECORD", stream: "t", record: { id: i, shared: `${who}${i}`, [who]: "x".repeat(300) } })),
            { type: "STATE", value: { who } },
          ),
        );
      const [a, b] = await Promise.all([run("a"), run("b")]);
      expect(a.code, a.stderr.join("\n")).toBe(0);
      expect(b.code, b.stderr.join("\n")).toBe(0);
      expect(await ids(schema)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    }
  });

  // A tap that stays quiet after a batch goes out: the failed load must end the run, not wait for its
  // next line. Both input paths: encode workers, and line by line (validate_records).
  for (const [path, extra] of [
    ["encode workers", {}],
    ["line by line", { validate_records: true }],
  ] as const) {
    it(`a load failing while stdin stays open ends the run with exit 1 (${path})`, async () => {
      const schema = `fault_quiet_${path.replace(/ /g, "_")}`;
      h.rs.faults.failNextCommit(10);
      const run = startSinger({ ...h.rs.config, schema, max_batch_age_seconds: 1, ...extra });
      run.stdin.write(input(schema)); // the age trigger loads it; stdin is never ended
      const r = await Promise.race([run.done, new Promise<undefined>((resolve) => setTimeout(resolve, 30_000))]);
      run.stdin.end();
      expect(r, "the failed run waited for more input").toBeDefined();
      expect(r!.code).toBe(1);
      expect(r!.stderr.join("\n")).toMatch(/1023/);
      expect(r!.states).toEqual([]);
      expect(await ids(schema)).toEqual([]);
    });
  }

  it("S3 answering 503 SlowDown a few times: the upload is retried and the load completes", async () => {
    const schema = "fault_s3_slowdown";
    h.rs.faults.s3SlowDown(2, { method: "PUT" });
    const r = await runSinger({ ...h.rs.config, schema }, input(schema));
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(await ids(schema)).toEqual([1, 2]);
  });
});
