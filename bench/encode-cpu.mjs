// CPU of the encode step alone (parse + encode of RECORD lines in a UnitEncoder, one thread), per 1M
// records: less sensitive to a busy machine than a whole run. Usage:
//   node bench/encode-cpu.mjs <dist dir> <input file> <standard|numeric|metadata|airbyte|parquet> [rounds]
// metadata: the standard input with the six _sdc_* columns add_metadata_columns stages (_sdc_batched_at
// is filled by the load statement); airbyte: the airbyte input (append_dedup) with the three staged
// _airbyte_* columns (not _airbyte_raw_id), read through the Airbyte envelope; parquet: the
// standard input encoded into Parquet row groups (their pages gzipped), as file_format parquet does.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [dist, file, shape, roundsArg] = process.argv.slice(2);
const { UnitEncoder } = await import(pathToFileURL(join(dist, "src/encode/unit-encoder.js")).href);
const columns = [
  ["id", { kind: "bigint" }],
  ["uuid", { kind: "varchar", length: 256 }],
  ["name", { kind: "varchar", length: 256 }],
  ["email", { kind: "varchar", length: 256 }],
  ["amount", shape === "numeric" ? { kind: "numeric", precision: 38, scale: 10 } : { kind: "double" }],
  ["active", { kind: "boolean" }],
  ["created_at", { kind: "timestamptz" }],
  ["country", { kind: "varchar", length: 256 }],
  ["score", { kind: "bigint" }],
  ["address", { kind: "super" }],
  ...(shape === "numeric" ? [["counter", { kind: "bigint" }]] : []),
].map(([name, type]) => ({ name, type, property: name }));
const ts = { kind: "timestamptz" };
const meta = {
  metadata: [
    ["_sdc_extracted_at", ts, { kind: "message", field: "time_extracted" }],
    ["_sdc_received_at", ts, { kind: "received-at" }],
    ["_sdc_deleted_at", ts, { kind: "record-field", field: "_sdc_deleted_at" }],
    ["_sdc_sequence", { kind: "bigint" }, { kind: "sequence", field: "_sdc_sequence", runStartMs: Date.now() }],
    ["_sdc_table_version", { kind: "bigint" }, { kind: "message", field: "version" }],
    ["_sdc_value_changes", { kind: "super" }, { kind: "value-changes" }],
  ],
  airbyte: [
    ["_airbyte_extracted_at", ts, { kind: "message-epoch-ms", field: "emitted_at" }],
    ["_airbyte_generation_id", { kind: "bigint" }, { kind: "constant", value: 0 }],
    ["_airbyte_meta", { kind: "super" }, { kind: "airbyte-meta", syncId: 0 }],
  ],
}[shape] ?? [];
for (const [name, type, source] of meta) columns.push({ name, type, meta: source });
const enc = new UnitEncoder();
enc.setup({
  epoch: 1,
  policy: { stringOverflow: "truncate", invalidValue: "null" },
  streams: [{ id: "bench_0", columns, keyProperties: ["id"], keyColumns: ["id"] }],
  ...(shape === "parquet" ? { parquet: true } : {}),
  ...(shape === "airbyte" ? { envelope: "airbyte", routes: [{ name: "bench_0", namespace: null, id: "bench_0" }] } : {}),
});
const receivedAt = new Date().toISOString();
const buf = readFileSync(file);
const units = [];
for (let start = buf.indexOf(10) + 1; start < buf.length; ) {
  let end = Math.min(buf.length, start + (1 << 20));
  if (end < buf.length) end = buf.lastIndexOf(10, end) + 1;
  units.push(buf.subarray(start, end));
  start = end;
}
let records = 0;
const rounds = Number(roundsArg ?? 3);
const samples = [];
for (let r = 0; r < rounds; r++) {
  const t = process.cpuUsage();
  let n = 0;
  // As in a run: each unit writes into the output buffers of one the main thread has applied (recycled).
  let spare;
  units.forEach((u, seq) => {
    const packed = enc.encodePacked(u, seq, 1, 0, spare, receivedAt);
    for (const e of packed.events) if (e.kind === "rows") n += e.rows;
    spare = packed.output;
  });
  const c = process.cpuUsage(t);
  records = n;
  samples.push(((c.user + c.system) / 1e6) * (1e6 / n));
}
samples.sort((a, b) => a - b);
console.log(JSON.stringify({ shape, records, cpuPer1M: samples.map((s) => Number(s.toFixed(2))), median: Number(samples[Math.floor(samples.length / 2)].toFixed(2)), min: Number(samples[0].toFixed(2)) }));
