// Each fault test file starts its own stand-in: armed faults must never leak into other files' tests.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type pg from "pg";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { useLocalRedshift } from "./shared.js";
import { ROLE, directClient, errorOf, gatewayClient, gz, putManifest, s3Client, uniq } from "./test-helpers.js";

const h = useLocalRedshift();
let d: pg.Client;
beforeAll(async () => {
  d = directClient(h.rs);
  await d.connect();
});
afterAll(async () => {
  await d?.end();
});
afterEach(() => h.rs.faults.reset());

const count = async (t: string) => (await d.query(`SELECT count(*)::int AS n FROM ${t}`)).rows[0].n as number;

describe("S3 faults", () => {
  it("fail the next N requests with 500 InternalError", async () => {
    const s3 = s3Client(h.rs);
    h.rs.faults.s3FailNext(2);
    for (let i = 0; i < 2; i++) {
      const e = await errorOf(s3.send(new PutObjectCommand({ Bucket: h.rs.s3.bucket, Key: "f/a", Body: "x" })) as never);
      expect((e as unknown as { $metadata: { httpStatusCode: number }; name: string }).$metadata.httpStatusCode).toBe(500);
      expect((e as unknown as { name: string }).name).toBe("InternalError");
    }
    await s3.send(new PutObjectCommand({ Bucket: h.rs.s3.bucket, Key: "f/a", Body: "x" }));
    s3.destroy();
  });

  it("503 SlowDown, optionally only for one HTTP method", async () => {
    const s3 = s3Client(h.rs);
    await s3.send(new PutObjectCommand({ Bucket: h.rs.s3.bucket, Key: "f/b", Body: "x" }));
    h.rs.faults.s3SlowDown(1, { method: "PUT" });
    await s3.send(new GetObjectCommand({ Bucket: h.rs.s3.bucket, Key: "f/b" })); // GET unaffected
    const e = (await errorOf(s3.send(new PutObjectCommand({ Bucket: h.rs.s3.bucket, Key: "f/b", Body: "y" })) as never)) as unknown as { name: string; $metadata: { httpStatusCode: number } };
    expect(e.name).toBe("SlowDown");
    expect(e.$metadata.httpStatusCode).toBe(503);
    s3.destroy();
  });

  it("the SDK's own retries absorb a transient 503", async () => {
    const before = h.rs.faults.s3RequestCount();
    h.rs.faults.s3SlowDown(1);
    const { S3Client } = await import("@aws-sdk/client-s3");
    const c3 = new S3Client({
      endpoint: h.rs.s3.endpoint,
      region: h.rs.s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: h.rs.s3.accessKeyId, secretAccessKey: h.rs.s3.secretAccessKey },
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      maxAttempts: 3,
    });
    await c3.send(new PutObjectCommand({ Bucket: h.rs.s3.bucket, Key: "f/c", Body: "x" }));
    expect(h.rs.faults.s3RequestCount() - before).toBe(2);
    c3.destroy();
  });

  it("hang: the request is never answered, the client's timeout fires", async () => {
    const s3 = s3Client(h.rs);
    h.rs.faults.s3HangNext(1);
    const t0 = Date.now();
    const e = await errorOf(s3.send(new PutObjectCommand({ Bucket: h.rs.s3.bucket, Key: "f/h", Body: "x" }), { abortSignal: AbortSignal.timeout(300) }) as never);
    expect(e).toBeTruthy();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    await s3.send(new PutObjectCommand({ Bucket: h.rs.s3.bucket, Key: "f/h", Body: "x" }));
    s3.destroy();
  });

  it("latency delays every request", async () => {
    const s3 = s3Client(h.rs);
    h.rs.faults.s3Latency(150);
    const t0 = Date.now();
    await s3.send(new PutObjectCommand({ Bucket: h.rs.s3.bucket, Key: "f/l", Body: "x" }));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    s3.destroy();
  });
});

describe("SQL faults", () => {
  it("the next COMMIT fails with XX000 1023 and rolls back; the session stays usable", async () => {
    const t = uniq("commit");
    const c = gatewayClient(h.rs);
    await c.connect();
    await c.query(`CREATE TABLE ${t} (id INTEGER)`);
    h.rs.faults.failNextCommit();
    await c.query("BEGIN");
    await c.query(`INSERT INTO ${t} VALUES (1)`);
    const e = await errorOf(c.query("COMMIT"));
    expect(e.code).toBe("XX000");
    expect(e.message).toContain("1023");
    expect(e.message).toMatch(/Serializable isolation violation/);
    expect(await count(t)).toBe(0);
    // retry succeeds
    await c.query(`BEGIN; INSERT INTO ${t} VALUES (1); COMMIT;`);
    expect(await count(t)).toBe(1);
    await c.end();
  });

  it("a COMMIT inside a multi-statement query fails the same way", async () => {
    const t = uniq("commit2");
    const c = gatewayClient(h.rs);
    await c.connect();
    await c.query(`CREATE TABLE ${t} (id INTEGER)`);
    h.rs.faults.failNextCommit();
    const e = await errorOf(c.query(`BEGIN; INSERT INTO ${t} VALUES (1); COMMIT;`));
    expect(e.message).toContain("1023");
    expect(await count(t)).toBe(0);
    expect((await c.query("SELECT 1 AS x")).rows[0].x).toBe(1);
    await c.end();
  });

  it("drop the client connection in the middle of a COPY: nothing is loaded", async () => {
    const t = uniq("dropcopy");
    const c = gatewayClient(h.rs);
    c.on("error", () => {});
    await c.connect();
    await c.query(`CREATE TABLE ${t} (id INTEGER, s VARCHAR(100))`);
    const rows = Array.from({ length: 60000 }, (_, i) => `${i},${"x".repeat(40)}`).join("\n") + "\n";
    const url = await putManifest(h.rs, `drop/${t}`, [gz(rows)]);
    h.rs.faults.dropConnectionDuringNextCopy();
    await c.query("BEGIN");
    const e = await errorOf(c.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' MANIFEST CSV GZIP`));
    expect(e.message).toMatch(/Connection terminated|terminated/i);
    await new Promise((r) => setTimeout(r, 100));
    expect(await count(t)).toBe(0);
    const c2 = gatewayClient(h.rs);
    await c2.connect();
    await c2.query(`COPY ${t} FROM '${url}' IAM_ROLE '${ROLE}' MANIFEST CSV GZIP`);
    expect(await count(t)).toBe(60000);
    await c2.end();
  });

  it("drop the client connection in the middle of a MERGE: the open transaction is rolled back", async () => {
    const t = uniq("dropmerge");
    const setup = gatewayClient(h.rs);
    await setup.connect();
    await setup.query(`CREATE TABLE ${t} (id INTEGER, v INTEGER); INSERT INTO ${t} VALUES (1, 0)`);
    await setup.end();
    const c = gatewayClient(h.rs);
    c.on("error", () => {});
    await c.connect();
    await c.query(`CREATE TEMP TABLE s (id INTEGER, v INTEGER); INSERT INTO s VALUES (1, 1), (2, 2)`);
    h.rs.faults.dropConnectionDuringNextMerge();
    await c.query("BEGIN");
    const e = await errorOf(c.query(`MERGE INTO ${t} USING s ON ${t}.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.v)`));
    expect(e.message).toMatch(/terminated/i);
    await new Promise((r) => setTimeout(r, 200));
    expect((await d.query(`SELECT id, v FROM ${t} ORDER BY id`)).rows).toEqual([{ id: 1, v: 0 }]);
  });

  it("sql latency delays every simple query", async () => {
    const c = gatewayClient(h.rs);
    await c.connect();
    h.rs.faults.sqlLatency(120);
    const t0 = Date.now();
    await c.query("SELECT 1");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(110);
    h.rs.faults.sqlLatency(0);
    await c.end();
  });

  it("dropAllConnections closes every client connection", async () => {
    const c = gatewayClient(h.rs);
    c.on("error", () => {});
    await c.connect();
    h.rs.faults.dropAllConnections();
    await errorOf(c.query("SELECT 1"));
  });
});

describe("COMMIT connection drops", () => {
  it("during COMMIT: the COMMIT never reaches the server, the transaction is rolled back", async () => {
    const t = uniq("dropcommit");
    await d.query(`CREATE TABLE ${t} (id INTEGER)`);
    const c = gatewayClient(h.rs);
    c.on("error", () => {});
    await c.connect();
    h.rs.faults.dropConnectionDuringNextCommit();
    await c.query("BEGIN");
    await c.query(`INSERT INTO ${t} VALUES (1)`);
    const e = await errorOf(c.query("COMMIT"));
    expect(e.message).toMatch(/terminated/i);
    // The backend notices the closed socket and rolls back: wait until its session is gone.
    for (let i = 0; i < 200 && (await d.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query ILIKE '%INSERT INTO ${t}%' AND pid <> pg_backend_pid()`)).rows[0].n > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await count(t)).toBe(0);
  });

  it("after COMMIT: the transaction is committed, the client only sees the connection drop", async () => {
    const t = uniq("lostcommit");
    await d.query(`CREATE TABLE ${t} (id INTEGER)`);
    const c = gatewayClient(h.rs);
    c.on("error", () => {});
    await c.connect();
    h.rs.faults.dropConnectionAfterNextCommit();
    const e = await errorOf(c.query(`BEGIN; INSERT INTO ${t} VALUES (1); COMMIT;`));
    expect(e.message).toMatch(/terminated/i);
    expect(await count(t)).toBe(1);
  });
});

describe("DDL races", () => {
  it("CREATE SCHEMA loses a race: 42P06, and the schema exists afterwards; IF NOT EXISTS gets the catalog's unique violation", async () => {
    const c = gatewayClient(h.rs);
    await c.connect();
    const s1 = uniq("race_s");
    h.rs.faults.raceNextCreateSchema();
    const e1 = await errorOf(c.query(`CREATE SCHEMA ${s1}`));
    expect([e1.code, e1.message]).toEqual(["42P06", `schema "${s1}" already exists`]);
    expect((await d.query(`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = $1`, [s1])).rows[0].n).toBe(1);
    const s2 = uniq("race_s");
    h.rs.faults.raceNextCreateSchema();
    const e2 = await errorOf(c.query(`CREATE SCHEMA IF NOT EXISTS ${s2}`));
    expect(e2.code).toBe("23505");
    expect(e2.message).toContain("pg_namespace_nspname_index");
    // Only the next one: the same statement now succeeds (the schema is there).
    await c.query(`CREATE SCHEMA IF NOT EXISTS ${s2}`);
    await c.end();
  });

  it("CREATE TABLE loses a race: 42P07 (IF NOT EXISTS: 23505 pg_type_typname_nsp_index), the table exists afterwards", async () => {
    const c = gatewayClient(h.rs);
    await c.connect();
    const t1 = uniq("race_t");
    h.rs.faults.raceNextCreateTable();
    const e1 = await errorOf(c.query(`CREATE TABLE public.${t1} (id INTEGER)`));
    expect([e1.code, e1.message]).toEqual(["42P07", `relation "${t1}" already exists`]);
    expect(await count(t1)).toBe(0);
    const t2 = uniq("race_t");
    h.rs.faults.raceNextCreateTable();
    const e2 = await errorOf(c.query(`CREATE TABLE IF NOT EXISTS ${t2} (id INTEGER)`));
    expect(e2.code).toBe("23505");
    expect(e2.message).toContain("pg_type_typname_nsp_index");
    expect(await count(t2)).toBe(0);
    await c.end();
  });

  it("ALTER TABLE ADD COLUMN loses a race inside a transaction: 42701, the transaction is aborted, the column exists", async () => {
    const t = uniq("race_c");
    await d.query(`CREATE TABLE ${t} (id INTEGER)`);
    const c = gatewayClient(h.rs);
    await c.connect();
    h.rs.faults.raceNextAddColumn();
    const e = await errorOf(c.query(`ALTER TABLE ${t} ADD COLUMN v VARCHAR(10)`));
    expect([e.code, e.message]).toEqual(["42701", `column "v" of relation "${t}" already exists`]);
    expect((await d.query(`SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = $1 AND column_name = 'v'`, [t])).rows[0].n).toBe(1);
    h.rs.faults.raceNextAddColumn();
    await c.query("BEGIN");
    await errorOf(c.query(`ALTER TABLE ${t} ADD COLUMN w INTEGER`));
    expect((await errorOf(c.query("SELECT 1"))).code).toBe("25P02");
    await c.query("ROLLBACK");
    await c.end();
  });
});

describe("S3 faults by operation", () => {
  it("s3FailNext with op only hits that operation (DeleteObjects), not a PutObject", async () => {
    const s3 = s3Client(h.rs);
    const { DeleteObjectsCommand } = await import("@aws-sdk/client-s3");
    h.rs.faults.s3FailNext(1, { op: "DeleteObjects" });
    await s3.send(new PutObjectCommand({ Bucket: h.rs.s3.bucket, Key: "op/a", Body: "x" }));
    const e = (await errorOf(s3.send(new DeleteObjectsCommand({ Bucket: h.rs.s3.bucket, Delete: { Objects: [{ Key: "op/a" }] } })) as never)) as unknown as { $metadata: { httpStatusCode: number } };
    expect(e.$metadata.httpStatusCode).toBe(500);
    await s3.send(new DeleteObjectsCommand({ Bucket: h.rs.s3.bucket, Delete: { Objects: [{ Key: "op/a" }] } }));
    s3.destroy();
  });

  it("s3HangNext with op DeleteObjects: that request is never answered, a PutObject still is", async () => {
    const s3 = s3Client(h.rs);
    const { DeleteObjectsCommand } = await import("@aws-sdk/client-s3");
    h.rs.faults.s3HangNext(1, { op: "DeleteObjects" });
    await s3.send(new PutObjectCommand({ Bucket: h.rs.s3.bucket, Key: "op/h", Body: "x" }));
    const e = await errorOf(s3.send(new DeleteObjectsCommand({ Bucket: h.rs.s3.bucket, Delete: { Objects: [{ Key: "op/h" }] } }), { abortSignal: AbortSignal.timeout(300) }) as never);
    expect(String((e as unknown as Error).name)).toMatch(/Abort|Timeout/);
    s3.destroy();
  });

  it("s3DelayNext holds the next PutObject for the given time, then stores it", async () => {
    const s3 = s3Client(h.rs);
    h.rs.faults.s3DelayNext(1, 200, { op: "PutObject" });
    const t0 = Date.now();
    await s3.send(new PutObjectCommand({ Bucket: h.rs.s3.bucket, Key: "op/d", Body: "delayed" }));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    const got = await s3.send(new GetObjectCommand({ Bucket: h.rs.s3.bucket, Key: "op/d" }));
    expect(await got.Body!.transformToString()).toBe("delayed");
    s3.destroy();
  });
});

describe("fault controls over HTTP (faults_url)", () => {
  const post = async (body: unknown) => {
    const r = await fetch(h.rs.faultsUrl, { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };

  it("listens on 127.0.0.1 only", () => {
    expect(new URL(h.rs.faultsUrl).hostname).toBe("127.0.0.1");
    expect(new URL(h.rs.faultsUrl).pathname).toBe("/faults");
  });

  it("arms a fault by method name and args, answers {ok:true}; reset clears it", async () => {
    expect(await post({ fault: "s3FailNext", args: [1, { op: "PutObject" }] })).toEqual({ status: 200, body: { ok: true } });
    const s3 = s3Client(h.rs);
    const e = (await errorOf(s3.send(new PutObjectCommand({ Bucket: h.rs.s3.bucket, Key: "http/a", Body: "x" })) as never)) as unknown as { $metadata: { httpStatusCode: number } };
    expect(e.$metadata.httpStatusCode).toBe(500);
    expect(await post({ fault: "s3FailNext", args: [5] })).toEqual({ status: 200, body: { ok: true } });
    expect(await post({ fault: "reset" })).toEqual({ status: 200, body: { ok: true } });
    await s3.send(new PutObjectCommand({ Bucket: h.rs.s3.bucket, Key: "http/a", Body: "x" }));
    s3.destroy();
  });

  it("s3RequestCount answers its result", async () => {
    const r = await post({ fault: "s3RequestCount" });
    expect(r.status).toBe(200);
    expect(r.body.result).toBe(h.rs.faults.s3RequestCount());
  });

  it("400 with the reason for an unknown fault, bad args, or a body that is not JSON", async () => {
    const unknown = await post({ fault: "dropEverything" });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatch(/unknown fault "dropEverything"; known: .*s3FailNext/);
    const badArgs = await post({ fault: "s3FailNext", args: ["two"] });
    expect(badArgs.status).toBe(400);
    expect(badArgs.body.error).toMatch(/bad args for s3FailNext/);
    const extraKey = await post({ fault: "s3HangNext", args: [1, { verb: "PUT" }] });
    expect(extraKey.status).toBe(400);
    expect(extraKey.body.error).toMatch(/verb/);
    const notJson = await post("{fault:");
    expect(notJson.status).toBe(400);
    expect(notJson.body.ok).toBe(false);
    // Nothing above was armed.
    const s3 = s3Client(h.rs);
    await s3.send(new PutObjectCommand({ Bucket: h.rs.s3.bucket, Key: "http/b", Body: "x" }));
    s3.destroy();
  });

  it("GET lists the faults", async () => {
    const r = await fetch(h.rs.faultsUrl);
    const body = (await r.json()) as { faults: string[] };
    expect(body.faults).toContain("dropConnectionAfterNextCommit");
    expect(body.faults).toContain("raceNextAddColumn");
  });
});
