/**
 * `npm run bench:compare -- --before path/to/old/dist/src/cli.js`: two builds on the same inputs, run in
 * turn (round 1: workload A before, A after, B before, B after, …; then round 2, …), so a machine whose
 * speed drifts over minutes (a shared VM) slows both builds alike. Each run is one `bench/run.ts --runs 1
 * --json` process; the table gives, per workload and mode, the median over the rounds of wall seconds,
 * connector CPU-s per 1M records and peak RSS for each build.
 *   --before CLI (required)  --after CLI (default: this tree's dist/src/cli.js)  --rounds R (3)
 *   --workload list (default: every workload but wide's end-to-end run; see WORKLOADS below)
 *   --out DIR (default .tmp/bench/compare-<time>): every run's JSON, kept
 *   --from DIR: no runs; the table of the JSON files a previous --out holds
 * A JSON file is named <round>-<workload>-<before|after>.json, as bench/run.ts --json writes it.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { median } from "./stats.js";

const root = join(import.meta.dirname, "..");
const { values } = parseArgs({
  options: {
    before: { type: "string" },
    after: { type: "string" },
    rounds: { type: "string", default: "3" },
    workload: { type: "string" },
    out: { type: "string" },
    from: { type: "string" },
  },
});

/** Per workload: bench/run.ts flags, and the modes of each build (baseline does not depend on the build). */
const WORKLOADS: Record<string, { flags: string[]; before: string; after: string }> = {
  singer: { flags: [], before: "baseline,stage,e2e", after: "stage,e2e" },
  // Builds before `write --stage-only` (8eae1fa and older) ignore it and load: a before build's Airbyte
  // runs are end to end only.
  airbyte: { flags: [], before: "baseline,e2e", after: "stage,e2e" },
  metadata: { flags: [], before: "baseline,stage,e2e", after: "stage,e2e" },
  parquet: { flags: [], before: "baseline,stage,e2e", after: "stage,e2e" },
  streams100: { flags: [], before: "baseline,stage,e2e", after: "stage,e2e" },
  streams100seq: { flags: [], before: "baseline,stage,e2e", after: "stage,e2e" },
  numeric: { flags: [], before: "baseline,stage,e2e", after: "stage,e2e" },
  // 200 columns × 100,000 rows: the stand-in's MERGE takes minutes; staging is what the connector does.
  wide: { flags: [], before: "baseline,stage", after: "stage" },
  bigrecords: { flags: ["--records", "500"], before: "baseline,stage,e2e", after: "stage,e2e" },
  hugerecord: { flags: [], before: "stage,e2e", after: "stage,e2e" },
};

interface Row {
  workload: string;
  mode: string;
  records: number;
  wallSeconds: number;
  cpuPer1M: number;
  peakRssMiB: number;
}


function runAll(out: string): void {
  if (!values.before) throw new Error("--before path/to/cli.js is required (or --from DIR)");
  const builds = { before: values.before, after: values.after ?? join(root, "dist/src/cli.js") };
  for (const [name, cli] of Object.entries(builds)) if (!existsSync(cli)) throw new Error(`--${name}: ${cli} not found`);
  const workloads = values.workload?.split(",") ?? Object.keys(WORKLOADS);
  for (const w of workloads) if (!WORKLOADS[w]) throw new Error(`--workload: one of ${Object.keys(WORKLOADS).join(", ")}, got ${w}`);
  mkdirSync(out, { recursive: true });
  const rounds = Number(values.rounds);
  for (let round = 1; round <= rounds; round++) {
    for (const w of workloads) {
      for (const build of ["before", "after"] as const) {
        const spec = WORKLOADS[w]!;
        const args = ["--import", "tsx", join(root, "bench/run.ts"), "--connector", builds[build], "--workload", w, ...spec.flags, "--mode", spec[build], "--runs", "1", "--json"];
        process.stderr.write(`round ${round}/${rounds}: ${w} ${build}\n`);
        const r = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", maxBuffer: 64 << 20 });
        if (r.status !== 0) throw new Error(`${w} ${build} failed (exit ${r.status}):\n${r.stderr.slice(-3000)}`);
        writeFileSync(join(out, `${round}-${w}-${build}.json`), r.stdout);
      }
    }
  }
}

function table(dir: string): void {
  const samples = new Map<string, Row[]>();
  for (const f of readdirSync(dir).filter((x) => x.endsWith(".json"))) {
    const m = /^\d+-(.+)-(before|after)\.json$/.exec(f);
    if (!m) continue;
    const text = readFileSync(join(dir, f), "utf8");
    if (text.trim() === "") continue;
    for (const r of (JSON.parse(text) as { results: Row[] }).results) {
      const build = r.mode.startsWith("baseline") ? "baseline" : m[2]!;
      const key = `${r.workload}\t${r.mode}\t${build}`;
      samples.set(key, [...(samples.get(key) ?? []), r]);
    }
  }
  const med = (key: string) => {
    const xs = samples.get(key);
    if (!xs) return undefined;
    return { n: xs.length, records: xs[0]!.records, wall: median(xs.map((x) => x.wallSeconds)), cpu: median(xs.map((x) => x.cpuPer1M)), rss: median(xs.map((x) => x.peakRssMiB)) };
  };
  // Rows in WORKLOADS order, each workload's modes as bench/run.ts runs them (baseline, stage, end to end).
  const order = Object.keys(WORKLOADS);
  const modeRank = (m: string) => (m.startsWith("baseline") ? 0 : m.startsWith("stage") ? 1 : 2);
  const rows = [...new Set([...samples.keys()].map((k) => k.split("\t").slice(0, 2).join("\t")))].sort((x, y) => {
    const [wx, mx] = x.split("\t") as [string, string];
    const [wy, my] = y.split("\t") as [string, string];
    return order.indexOf(wx) - order.indexOf(wy) || modeRank(mx) - modeRank(my);
  });
  console.log("| workload | run | records | wall s before → after | CPU-s per 1M before → after | peak RSS MiB before → after | runs |");
  console.log("|---|---|---|---|---|---|---|");
  for (const row of rows) {
    const [workload, mode] = row.split("\t") as [string, string];
    const base = med(`${workload}\t${mode}\tbaseline`);
    if (base) {
      console.log(`| ${workload} | ${mode} | ${base.records.toLocaleString("en")} | ${base.wall.toFixed(2)} | ${base.cpu.toFixed(2)} | ${Math.round(base.rss)} | ${base.n} |`);
      continue;
    }
    const b = med(`${workload}\t${mode}\tbefore`);
    const a = med(`${workload}\t${mode}\tafter`);
    const pair = (f: (x: NonNullable<typeof a>) => string) => `${b ? f(b) : "–"} → ${a ? f(a) : "–"}`;
    console.log(
      `| ${workload} | ${mode} | ${(a ?? b)!.records.toLocaleString("en")} | ${pair((x) => x.wall.toFixed(2))} | ${pair((x) => x.cpu.toFixed(2))} | ${pair((x) => String(Math.round(x.rss)))} | ${b?.n ?? 0} / ${a?.n ?? 0} |`,
    );
  }
}

const dir = values.from ?? values.out ?? join(root, ".tmp/bench", `compare-${new Date().toISOString().replace(/[:.]/g, "-")}`);
if (!values.from) runAll(dir);
table(dir);
