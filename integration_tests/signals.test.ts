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
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { catalogOf, streamState } from "./helpers/airbyte.js";

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

  it("SIGTERM during --dry-run: the messages say nothing was written (not to rerun from a STATE), exit 143", async () => {
    const schema = "sig_dry";
    const p = startTarget(config(schema), ["--dry-run"]);
    p.send(schemaMsg, ...recs(1, 100), { type: "STATE", value: { upto: 100 } }, ...recs(101, 150));
    expect(await p.waitFor(/dry run/)).toBeDefined();
    p.child.kill("SIGTERM");
    const exit = await p.exited;
    const err = p.stderr.join("\n");
    expect(exit.code, err).toBe(143);
    expect(p.stdout).toEqual([]);
    expect(err).toMatch(/SIGTERM received: reading no more input; dry run: nothing is written and no STATE is printed/);
    expect(err).toMatch(/exiting with 143 \(dry run: nothing was written\)/);
    expect(err).not.toMatch(/rerun from the last STATE/);
  });

  it("Airbyte write, SIGTERM while the source is quiet: the committed STATE is out, then a TRACE ERROR, exit 143, nothing staged left", async () => {
    const schema = "sig_airbyte";
    const dir = mkdtempSync(join(tmpdir(), "sig-airbyte-"));
    try {
      const catalog = join(dir, "catalog.json");
      const props = { type: "object", properties: { id: { type: "integer" } } };
      writeFileSync(catalog, JSON.stringify(catalogOf({ name: "t", namespace: schema, schema: props, mode: "append_dedup", primaryKey: [["id"]], cursor: ["id"] })));
      const rec = (id: number) => ({ type: "RECORD", record: { stream: "t", namespace: schema, emitted_at: 1_700_000_000_000 + id, data: { id } } });
      const p = startTarget(config(schema), ["write", "--catalog", catalog]);
      p.send(...Array.from({ length: 100 }, (_, i) => rec(i + 1)), streamState("t", schema, { upto: 100 }), ...Array.from({ length: 50 }, (_, i) => rec(i + 101)));
      expect(await p.waitFor(/"upto":100/)).toBeDefined();
      p.child.kill("SIGTERM");
      const exit = await p.exited;
      const out = p.stdout.map((l) => JSON.parse(l) as { type: string; state?: { stream?: { stream_state: unknown } }; trace?: { error?: { message: string } }; log?: { message: string } });
      expect(exit.code, p.stdout.join("\n")).toBe(143);
      expect(out.filter((m) => m.type === "STATE").map((m) => m.state!.stream!.stream_state)).toEqual([{ upto: 100 }]);
      expect(out.at(-1)!.type).toBe("TRACE");
      expect(out.at(-1)!.trace!.error!.message).toMatch(/SIGTERM/);
      expect(out.some((m) => m.type === "LOG" && /reading no more input; loads under way finish/.test(m.log!.message))).toBe(true);
      expect(await count(`${schema}`)).toBe(100);
      expect(await staged(`${schema}/`)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
