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

  for (const [fault, applied] of [
    ["dropConnectionDuringNextCommit", false],
    ["loseNextCommitAnswer", true],
  ] as const) {
    it(`${fault}: the client loses its connection at COMMIT; the insert is ${applied ? "applied" : "rolled back"}`, async () => {
      const t = uniq(applied ? "commitlost" : "commitdrop");
      await d.query(`CREATE TABLE ${t} (id INTEGER)`);
      const c = gatewayClient(h.rs);
      c.on("error", () => {});
      await c.connect();
      h.rs.faults[fault]();
      await c.query("BEGIN");
      await c.query(`INSERT INTO ${t} VALUES (1)`);
      const e = await errorOf(c.query("COMMIT"));
      expect(e.message).toMatch(/terminated/i);
      await new Promise((r) => setTimeout(r, 200));
      expect((await d.query(`SELECT COUNT(*)::int AS n FROM ${t}`)).rows[0].n).toBe(applied ? 1 : 0);
    });
  }

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
