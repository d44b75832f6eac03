/**
 * Stopping the real process: SIGTERM / SIGINT and a reader that closes stdout. The run stops reading,
 * lets loads under way finish, prints the STATEs committed batches cover, removes what it staged and
 * exits 143 / 130 / 141. Own stand-in: the SQL latency armed here must not slow other files.
 */
import pg from "pg";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterEach, describe, expect, it } from "vitest";
import { useLocalRedshift } from "./local-redshift/shared.js";
import { s3Client } from "./local-redshift/test-helpers.js";
import { startTarget } from "./helpers/process.js";

const h = useLocalRedshift();
afterEach(() => h.rs.faults.reset());

const schemaMsg = { type: "SCHEMA", stream: "t", key_properties: ["id"], schema: { properties: { id: { type: "integer" } } } };
const recs = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => ({ type: "RECORD", stream: "t", record: { id: from + i } }));

async function count(schema: string): Promise<number> {
  const c = new pg.Client(h.rs.pg);
  await c.connect();
  try {
    const r = await c.query(`SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS d FROM "${schema}"."t"`);
    expect(r.rows[0].n).toBe(r.rows[0].d);
    return Number(r.rows[0].n);
  } finally {
    await c.end();
  }
}

async function staged(prefix: string): Promise<string[]> {
  const c = s3Client(h.rs);
  try {
    const r = await c.send(new ListObjectsV2Command({ Bucket: h.rs.s3.bucket, Prefix: prefix }));
    return (r.Contents ?? []).map((o) => o.Key!);
  } finally {
    c.destroy();
  }
}

const config = (schema: string) => ({ ...h.rs.config, schema, s3_key_prefix: `${schema}/`, batch_size_rows: 100, max_batch_age_seconds: 0 });

describe("signals", () => {
  for (const [signal, exitCode] of [
    ["SIGTERM", 143],
    ["SIGINT", 130],
  ] as const) {
    it(`${signal} while the tap is quiet: the committed batch's STATE is out, the open batch is dropped, exit ${exitCode}`, async () => {
      const schema = `sig_quiet_${signal.toLowerCase()}`;
      const p = startTarget(config(schema));
      p.send(schemaMsg, ...recs(1, 100), { type: "STATE", value: { upto: 100 } }, ...recs(101, 150), { type: "STATE", value: { upto: 150 } });
      expect(await p.waitFor(/"upto":100/)).toBeDefined();
      const sent = Date.now();
      p.child.kill(signal);
      const exit = await p.exited;
      expect(exit.code, p.stderr.join("\n")).toBe(exitCode);
      expect(p.stdout.map((l) => JSON.parse(l))).toEqual([{ upto: 100 }]);
      expect(p.stderr.join("\n")).toMatch(new RegExp(`stopped: ${signal} received; exiting with ${exitCode}`));
      expect(await count(schema)).toBe(100);
      expect(await staged(`${schema}/`)).toEqual([]);
      console.log(`${signal} while quiet: exit ${exit.code} after ${exit.at - sent} ms`);
    });
  }

  it("SIGTERM during a load: the run ends consistent — rows match the last STATE printed, nothing staged left", async () => {
    const schema = "sig_load";
    h.rs.faults.sqlLatency(300);
    const p = startTarget(config(schema));
    p.send(schemaMsg, ...recs(1, 100), { type: "STATE", value: { upto: 100 } }, ...recs(101, 200), { type: "STATE", value: { upto: 200 } });
    expect(await p.waitFor(/created table/)).toBeDefined();
    const sent = Date.now();
    p.child.kill("SIGTERM");
    const exit = await p.exited;
    expect(exit.code, p.stderr.join("\n")).toBe(143);
    const states = p.stdout.map((l) => JSON.parse(l) as { upto: number });
    const covered = states.at(-1)?.upto ?? 0;
    // Which batches committed depends on timing; that the table holds exactly what the STATE says does not.
    h.rs.faults.reset();
    const n = await count(schema).catch(() => 0);
    expect(n).toBeGreaterThanOrEqual(covered);
    expect(n - covered).toBeLessThanOrEqual(100);
    expect(await staged(`${schema}/`)).toEqual([]);
    console.log(`SIGTERM during load: exit ${exit.code} after ${exit.at - sent} ms, states ${JSON.stringify(states)}, rows ${n}`);
  });

  it("stdout closed by its reader: the run stops as for a signal (exit 141), nothing staged left", async () => {
    const schema = "sig_epipe";
    const p = startTarget(config(schema));
    p.send(schemaMsg, ...recs(1, 100), { type: "STATE", value: { upto: 100 } });
    expect(await p.waitFor(/"upto":100/)).toBeDefined();
    p.child.stdout.destroy();
    p.send(...recs(101, 200), { type: "STATE", value: { upto: 200 } });
    const exit = await p.exited;
    expect(exit.code, p.stderr.join("\n")).toBe(141);
    expect(p.stderr.join("\n")).toMatch(/stopped: stdout closed by its reader \(EPIPE\)/);
    expect(await staged(`${schema}/`)).toEqual([]);
  });
});
