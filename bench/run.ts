/**
 * `npm run bench` — what a deployment pays on this machine: wall time, the connector's CPU seconds
 * (user + sys of its process, every thread) also per 1M records, and peak RSS (a benchmark, not a test).
 *   --workload singer,numeric,… or all (singer): which inputs and settings, see WORKLOADS
 *   --records N (the workload's own; 1,000,000 for most)  --streams S (1)  --runs R (1; medians of R)
 *   --mode all|baseline|stage|e2e|lines (all: baseline, stage, e2e)  --json
 *   --file-format csv_gzip|parquet (csv_gzip)  --workers N: encode_workers for the stage and e2e runs
 *   --connector PATH: the cli.js to run (default: this tree's dist/src/cli.js), to compare builds
 *   BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" (environment): node options for the connector's
 *   process (profiles of every thread, --trace-gc, …)
 * Each run is a separate process reading the generated file on stdin; wall time is measured here, CPU
 * and peak RSS by the process itself (bench/usage.mjs, loaded with --import).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, openSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startLocalRedshift, type LocalRedshift } from "../integration_tests/local-redshift/index.js";
import { airbyteCatalog, generate, type Shape } from "./generate.js";
import { median } from "./stats.js";

const root = join(import.meta.dirname, "..");
const { values } = parseArgs({
  options: {
    records: { type: "string" },
    streams: { type: "string", default: "1" },
    mode: { type: "string", default: "all" },
    json: { type: "boolean", default: false },
    "file-format": { type: "string", default: "csv_gzip" },
    workers: { type: "string" },
    workload: { type: "string", default: "singer" },
    runs: { type: "string", default: "1" },
    connector: { type: "string" },
  },
});

interface Workload {
  shape: Shape;
  records: number;
  streams?: number;
  config?: Record<string, unknown>;
  airbyte?: boolean;
}
/** Issue 14 item 5: the paths a deployment takes. */
const WORKLOADS: Record<string, Workload> = {
  singer: { shape: "standard", records: 1_000_000 },
  airbyte: { shape: "airbyte", records: 1_000_000, airbyte: true },
  metadata: { shape: "standard", records: 1_000_000, config: { add_metadata_columns: true } },
  parquet: { shape: "standard", records: 1_000_000, config: { file_format: "parquet" } },
  streams100: { shape: "standard", records: 1_000_000, streams: 100 },
  // The same records, each stream's in one run (most taps emit streams one after the other).
  streams100seq: { shape: "sequential", records: 1_000_000, streams: 100 },
  wide: { shape: "wide", records: 100_000 },
  bigrecords: { shape: "bigrecords", records: 2_000 },
  hugerecord: { shape: "hugerecord", records: 1 },
  numeric: { shape: "numeric", records: 1_000_000, config: { type_mapping: { number: "NUMERIC(38,10)" } } },
};
const workloads = values.workload === "all" ? Object.keys(WORKLOADS) : values.workload!.split(",");
for (const w of workloads) if (!WORKLOADS[w]) throw new Error(`--workload: one of ${Object.keys(WORKLOADS).join(", ")} or all, got ${w}`);
const runs = Number(values.runs);
const cli = values.connector ?? join(import.meta.dirname, "..", "dist/src/cli.js");
const fileFormat = values["file-format"]!;
if (fileFormat !== "csv_gzip" && fileFormat !== "parquet") throw new Error(`--file-format: csv_gzip or parquet, got ${fileFormat}`);
const modes = values.mode === "all" ? ["baseline", "stage", "e2e"] : values.mode!.split(",");

interface Result {
  workload: string;
  mode: string;
  records: number;
  streams: number;
  wallSeconds: number;
  recordsPerSecond: number;
  mbPerSecond: number;
  cpuSeconds: number;
  cpuPer1M: number;
  peakRssMiB: number;
  vsBaseline?: number;
  cpuVsBaseline?: number;
}

function run(args: string[], input: string | number): Promise<{ wall: number; stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { stdio: [typeof input === "number" ? input : openSync(input, "r"), "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ wall: Number(process.hrtime.bigint() - started) / 1e9, stdout, stderr, code: code ?? 1 }));
  });
}

function connectorUsage(stderr: string): { cpuSeconds: number; peakRssMiB: number } {
  const line = stderr.split("\n").find((l) => l.startsWith("BENCH_USAGE "));
  if (!line) throw new Error(`no usage line from the connector:\n${stderr.slice(-2000)}`);
  return JSON.parse(line.slice("BENCH_USAGE ".length)) as { cpuSeconds: number; peakRssMiB: number };
}


async function main(): Promise<void> {
  const dataDir = join(root, ".tmp", "bench");
  const results: Result[] = [];
  let local: LocalRedshift | undefined;
  const work = mkdtempSync(join(tmpdir(), "tr-bench-"));
  // An interrupted bench must not leave the stand-in's servers behind.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      void (local?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
    });
  }
  const inputs: { workload: string; records: number; streams: number; bytes: number }[] = [];
  try {
    for (const name of workloads) {
      const w = WORKLOADS[name]!;
      const records = values.records === undefined ? w.records : Number(values.records);
      const streams = w.streams ?? Number(values.streams);
      const file = await generate(dataDir, records, streams, w.shape);
      const bytes = statSync(file).size;
      inputs.push({ workload: name, records, streams, bytes });
      const measured = async (mode: string, once: () => Promise<{ wall: number; cpuSeconds: number; peakRssMiB: number }>) => {
        const samples = [];
        for (let i = 0; i < runs; i++) samples.push(await once());
        const wall = median(samples.map((x) => x.wall));
        const cpu = median(samples.map((x) => x.cpuSeconds));
        results.push({
          workload: name,
          mode,
          records,
          streams,
          wallSeconds: Number(wall.toFixed(2)),
          recordsPerSecond: Math.round(records / wall),
          mbPerSecond: Number((bytes / 1e6 / wall).toFixed(1)),
          cpuSeconds: Number(cpu.toFixed(2)),
          cpuPer1M: Number(((cpu * 1e6) / records).toFixed(2)),
          peakRssMiB: Math.round(median(samples.map((x) => x.peakRssMiB))),
        });
        // Every sample, as it is measured, so an interrupted bench still leaves its figures.
        if (runs > 1) {
          process.stderr.write(
            `${name} ${mode}: wall ${samples.map((x) => x.wall.toFixed(2)).join(" / ")} s, CPU ${samples.map((x) => x.cpuSeconds.toFixed(2)).join(" / ")} s, peak RSS ${samples.map((x) => Math.round(x.peakRssMiB)).join(" / ")} MiB\n`,
          );
        }
      };
      if (modes.includes("lines")) {
        const r = await run([join(root, "bench/lines.mjs"), file], file);
        process.stderr.write(r.stdout);
      }
      if (modes.includes("baseline")) {
        await measured("baseline (JSON.parse)", async () => {
          const r = await run([join(root, "bench/baseline.mjs"), file], file);
          const u = JSON.parse(r.stdout) as { cpuSeconds: number; peakRssMiB: number };
          return { wall: r.wall, ...u };
        });
      }
      for (const mode of modes.filter((m) => m === "e2e" || m === "stage")) {
        local ??= await startLocalRedshift({ quiet: true });
        const stand = local;
        const label = mode === "stage" ? "stage-only (to S3)" : "end-to-end (upsert)";
        await measured(label, async () => {
          const schema = `bench_${name}_${mode}_${Date.now()}`;
          const configPath = join(work, `${mode}.json`);
          const workers = values.workers === undefined ? {} : { encode_workers: Number(values.workers) };
          writeFileSync(configPath, JSON.stringify({ ...stand.config, schema, file_format: fileFormat, ...workers, ...w.config }));
          const door = w.airbyte ? ["write", "--catalog", writeJson(work, "catalog.json", airbyteCatalog(streams))] : [];
          const args = [...(process.env.BENCH_NODE_ARGS?.split(" ").filter(Boolean) ?? []), "--import", join(root, "bench/usage.mjs"), cli, ...door, "--config", configPath, ...(mode === "stage" ? ["--stage-only"] : [])];
          const r = await run(args, file);
          if (r.code !== 0) throw new Error(`${name} ${mode} run failed (exit ${r.code}):\n${r.stderr.slice(-3000)}${r.stdout.slice(-3000)}`);
          return { wall: r.wall, ...connectorUsage(r.stderr) };
        });
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
    await local?.stop();
  }
  for (const name of workloads) {
    const base = results.find((r) => r.workload === name && r.mode.startsWith("baseline"));
    if (!base) continue;
    for (const r of results.filter((x) => x.workload === name)) {
      r.vsBaseline = Number((r.wallSeconds / base.wallSeconds).toFixed(2));
      r.cpuVsBaseline = Number((r.cpuSeconds / base.cpuSeconds).toFixed(2));
    }
  }
  if (values.json) {
    console.log(JSON.stringify({ inputs, runs, results }, null, 2));
    return;
  }
  for (const i of inputs) console.log(`${i.workload}: ${i.records.toLocaleString("en")} records, ${i.streams} stream(s), ${(i.bytes / 1e6).toFixed(0)} MB input`);
  console.log(runs > 1 ? `medians of ${runs} runs\n` : "");
  const head = ["workload", "run", "wall s", "records/s", "MB/s", "CPU s", "CPU s / 1M", "peak RSS MiB", "× baseline", "CPU × baseline"];
  const rows = results.map((r) => [
    r.workload,
    r.mode,
    r.wallSeconds.toFixed(2),
    r.recordsPerSecond.toLocaleString("en"),
    r.mbPerSecond.toFixed(1),
    r.cpuSeconds.toFixed(2),
    r.cpuPer1M.toFixed(2),
    String(r.peakRssMiB),
    r.vsBaseline?.toFixed(2) ?? "",
    r.cpuVsBaseline?.toFixed(2) ?? "",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  console.log(line(head));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(line(r));
}

function writeJson(dir: string, name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(value));
  return path;
}

main().catch((e: Error) => {
  console.error(`bench failed: ${e.message}`);
  process.exit(1);
});
