// Measures start-up and one COPY of 1M rows (CSV GZIP, 4 parts, manifest) through the gateway.
// Run: npx tsx integration_tests/local-redshift/bench-copy.ts [rows]
import fs from "node:fs";
import zlib from "node:zlib";
import { startLocalRedshift } from "./index.js";
import { ROLE, gatewayClient, put } from "./test-helpers.js";

const rows = Number(process.argv[2] ?? 1_000_000);
const parts = 4;

const t0 = performance.now();
const rs = await startLocalRedshift({ quiet: true });
const startMs = performance.now() - t0;
try {
  const c = gatewayClient(rs);
  await c.connect();
  await c.query(`CREATE TABLE bench ("id" BIGINT, "name" VARCHAR(64), "payload" SUPER, "ts" TIMESTAMPTZ, "amount" NUMERIC(18,2), "ok" BOOLEAN)`);
  const tGen = performance.now();
  const entries: Array<{ url: string; mandatory: boolean }> = [];
  let rawBytes = 0;
  let gzBytes = 0;
  for (let p = 0; p < parts; p++) {
    const lines: string[] = [];
    for (let i = p; i < rows; i += parts) {
      lines.push(`${i},"user ${i} ""quoted""","{""k"":${i},""s"":""v${i % 97}""}",2024-01-01T00:00:${String(i % 60).padStart(2, "0")}.123456Z,${(i % 100000) / 100},${i % 2 === 0 ? "true" : "false"}`);
    }
    const raw = Buffer.from(lines.join("\n") + "\n");
    const gz = zlib.gzipSync(raw, { level: 1 });
    rawBytes += raw.length;
    gzBytes += gz.length;
    entries.push({ url: await put(rs, `bench/part-${p}.csv.gz`, gz), mandatory: true });
  }
  const manifest = await put(rs, "bench/manifest.json", JSON.stringify({ entries }));
  const genMs = performance.now() - tGen;
  await c.query(`CREATE TEMP TABLE stage (LIKE bench)`);
  // CPU time of this session's PostgreSQL backend (Linux /proc; -1 elsewhere).
  const pid = Number((await c.query(`SELECT pg_backend_pid() AS p`)).rows[0].p);
  const backendCpuMs = (): number => {
    try {
      const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
    } catch {
      return -1;
    }
  };
  const cpu0 = backendCpuMs();
  const proc0 = process.cpuUsage();
  const tCopy = performance.now();
  await c.query(`COPY stage FROM '${manifest}' IAM_ROLE '${ROLE}' MANIFEST FORMAT AS CSV QUOTE AS '"' DELIMITER ',' NULL AS '\\N' GZIP TIMEFORMAT 'auto' DATEFORMAT 'auto' STATUPDATE OFF COMPUPDATE OFF`);
  const copyMs = performance.now() - tCopy;
  const copyCpuMs = backendCpuMs() - cpu0;
  const proc1 = process.cpuUsage(proc0);
  // This process is the gateway (and the client, whose share of a COPY is negligible).
  const gatewayCpuMs = (proc1.user + proc1.system) / 1000;
  const n = Number((await c.query(`SELECT pg_last_copy_count() AS n`)).rows[0].n);
  const tMerge = performance.now();
  await c.query(`BEGIN; INSERT INTO bench SELECT * FROM stage; COMMIT;`);
  const insertMs = performance.now() - tMerge;
  const insertCpuMs = backendCpuMs() - cpu0 - copyCpuMs;
  await c.end();
  const result = {
    rows: n,
    parts,
    raw_mb: +(rawBytes / 1e6).toFixed(1),
    gzip_mb: +(gzBytes / 1e6).toFixed(1),
    startup_ms: Math.round(startMs),
    generate_and_upload_ms: Math.round(genMs),
    copy_ms: Math.round(copyMs),
    copy_backend_cpu_ms: Math.round(copyCpuMs),
    copy_gateway_cpu_ms: Math.round(gatewayCpuMs),
    insert_commit_ms: Math.round(insertMs),
    insert_backend_cpu_ms: Math.round(insertCpuMs),
    copy_rows_per_s: Math.round(n / (copyMs / 1000)),
  };
  process.stdout.write(JSON.stringify(result) + "\n");
} finally {
  await rs.stop();
}
