/**
 * `npm run bench` — throughput and memory of the connector on this machine (a benchmark, not a test).
 *   --records N (1,000,000)  --streams S (1)  --mode all|baseline|stage|e2e|lines  --json
 *   --file-format csv_gzip|parquet (csv_gzip): the staged format of the stage and e2e runs
 *   --workers N: encode_workers for the stage and e2e runs (default: the connector's own default)
 * Each run is a separate process reading the generated file on stdin; wall time is measured here,
 * CPU and peak RSS are reported by the process itself.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, openSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startLocalRedshift, type LocalRedshift } from "../integration_tests/local-redshift/index.js";
import { generate } from "./generate.js";

const root = join(import.meta.dirname, "..");
const { values } = parseArgs({
  options: {
    records: { type: "string", default: "1000000" },
    streams: { type: "string", default: "1" },
    mode: { type: "string", default: "all" },
    json: { type: "boolean", default: false },
    "file-format": { type: "string", default: "csv_gzip" },
    workers: { type: "string" },
  },
});
const fileFormat = values["file-format"]!;
if (fileFormat !== "csv_gzip" && fileFormat !== "parquet") throw new Error(`--file-format: csv_gzip or parquet, got ${fileFormat}`);
const records = Number(values.records);
const streams = Number(values.streams);
const modes = values.mode === "all" ? ["baseline", "stage", "e2e"] : values.mode!.split(",");

interface Result {
  mode: string;
  records: number;
  streams: number;
  wallSeconds: number;
  recordsPerSecond: number;
  mbPerSecond: number;
  cpuSeconds: number;
  peakRssMiB: number;
  vsBaseline?: number;
}

function run(args: string[], input: string): Promise<{ wall: number; stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { stdio: [openSync(input, "r"), "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ wall: Number(process.hrtime.bigint() - started) / 1e9, stdout, stderr, code: code ?? 1 }));
  });
}

function connectorUsage(stderr: string): { cpuSeconds: number; peakRssMiB: number } {
  const done = stderr.split("\n").find((l) => l.includes(" done: "));
  const m = done ? /\{.*\}$/.exec(done) : null;
  if (!m) throw new Error(`no summary line from the connector:\n${stderr.slice(-2000)}`);
  return JSON.parse(m[0]) as { cpuSeconds: number; peakRssMiB: number };
}

async function main(): Promise<void> {
  const dataDir = join(root, ".tmp", "bench");
  const file = await generate(dataDir, records, streams);
  const bytes = statSync(file).size;
  const results: Result[] = [];
  let local: LocalRedshift | undefined;
  const work = mkdtempSync(join(tmpdir(), "tr-bench-"));
  const result = (mode: string, wall: number, cpuSeconds: number, peakRssMiB: number): Result => ({
    mode,
    records,
    streams,
    wallSeconds: Number(wall.toFixed(2)),
    recordsPerSecond: Math.round(records / wall),
    mbPerSecond: Number((bytes / 1e6 / wall).toFixed(1)),
    cpuSeconds: Number(cpuSeconds.toFixed(2)),
    peakRssMiB: Math.round(peakRssMiB),
  });
  // An interrupted bench must not leave the stand-in's servers behind.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      void (local?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
    });
  }
  try {
    if (modes.includes("lines")) {
      const r = await run([join(root, "bench/lines.mjs"), file], file);
      process.stderr.write(r.stdout);
    }
    if (modes.includes("baseline")) {
      const r = await run([join(root, "bench/baseline.mjs"), file], file);
      const u = JSON.parse(r.stdout) as { cpuSeconds: number; peakRssMiB: number };
      results.push(result("baseline (JSON.parse)", r.wall, u.cpuSeconds, u.peakRssMiB));
    }
    for (const mode of modes.filter((m) => m === "stage" || m === "e2e")) {
      local ??= await startLocalRedshift({ quiet: true });
      const schema = `bench_${mode}_${Date.now()}`;
      const configPath = join(work, `${mode}.json`);
      const workers = values.workers === undefined ? {} : { encode_workers: Number(values.workers) };
      writeFileSync(configPath, JSON.stringify({ ...local.config, schema, file_format: fileFormat, ...workers }));
      const args = [join(root, "dist/src/cli.js"), "--config", configPath, ...(mode === "stage" ? ["--stage-only"] : [])];
      const r = await run(args, file);
      if (r.code !== 0) throw new Error(`${mode} run failed (exit ${r.code}):\n${r.stderr.slice(-3000)}`);
      const u = connectorUsage(r.stderr);
      const label = mode === "stage" ? "stage-only (to S3)" : "end-to-end (upsert)";
      results.push(result(fileFormat === "parquet" ? `${label}, parquet` : label, r.wall, u.cpuSeconds, u.peakRssMiB));
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
    await local?.stop();
  }
  const base = results.find((r) => r.mode.startsWith("baseline"));
  if (base) for (const r of results) r.vsBaseline = Number((r.wallSeconds / base.wallSeconds).toFixed(2));
  if (values.json) {
    console.log(JSON.stringify({ input: { records, streams, bytes }, results }, null, 2));
    return;
  }
  console.log(`\n${records.toLocaleString("en")} records, ${streams} stream(s), ${(bytes / 1e6).toFixed(0)} MB input\n`);
  const head = ["run", "wall s", "records/s", "MB/s", "CPU s", "peak RSS MiB", "× baseline"];
  const rows = results.map((r) => [r.mode, r.wallSeconds.toFixed(2), r.recordsPerSecond.toLocaleString("en"), r.mbPerSecond.toFixed(1), r.cpuSeconds.toFixed(2), String(r.peakRssMiB), r.vsBaseline?.toFixed(2) ?? ""]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  console.log(line(head));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(line(r));
}

main().catch((e: Error) => {
  console.error(`bench failed: ${e.message}`);
  process.exit(1);
});
