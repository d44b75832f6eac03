import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "encode-worker-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A child process encodes four ~1 MiB units of Airbyte records on one encode worker (as Parquet row groups
 * when its third argument says so), under V8's --trace-deopt, and prints the trace (the worker's with it:
 * V8 writes it to the process's stdout).
 */
const CHILD = `
const { EncodePool } = await import(process.argv[2]);
const parquet = process.argv[3] === "parquet";
const pool = new EncodePool(1);
const columns = [["id", { kind: "bigint" }], ["name", { kind: "varchar", length: 256 }], ["amount", { kind: "double" }], ["at", { kind: "timestamptz" }], ["doc", { kind: "super" }]]
  .map(([name, type]) => ({ name, type, property: name }));
pool.setup({ epoch: 1, parquet, policy: { stringOverflow: "truncate", invalidValue: "null" }, envelope: "airbyte", routes: [{ name: "s", namespace: null, id: "s" }],
  streams: [{ id: "s", columns, keyProperties: ["id"], keyColumns: ["id"] }] });
let n = 0;
for (let u = 0; u < 4; u++) {
  const lines = [];
  for (let i = 0; i < 8000; i++, n++) lines.push(JSON.stringify({ type: "RECORD", record: { stream: "s", data: { id: n, name: "name " + n, amount: n / 7, at: "2024-01-02T03:04:05.678Z", doc: { a: [n, "x"] } }, emitted_at: 1700000000000 + n } }));
  const r = await pool.encode(new Uint8Array(Buffer.from(lines.join("\\n") + "\\n")), u, 1, 0);
  pool.recycle(r.output);
}
await pool.close();
console.log("encoded " + n);
`;

function traced(format: "csv" | "parquet"): string {
  const child = join(dir, "child.mjs");
  writeFileSync(child, CHILD);
  const pool = fileURLToPath(new URL("../../../src/encode/encode-pool.ts", import.meta.url));
  const out = execFileSync(process.execPath, ["--trace-deopt", "--import", "tsx", child, pool, format], { encoding: "utf8", maxBuffer: 64 << 20 });
  expect(out).toContain("encoded 32000");
  return out;
}

describe("encode worker: hot code compiled once", () => {
  it("the first result it transfers does not throw away the scanner's optimized code (the ArrayBuffer detaching protector is spent at start)", () => {
    const out = traced("csv");
    // Without detachOnce, every function below that was optimized during the first unit was marked for
    // deoptimization at once when the worker transferred its first result (reason: code dependencies);
    // `copy` also was when a row first widened a text column (columnPlan's width tracker).
    const thrownAway = [...out.matchAll(/marking dependent code .*<SharedFunctionInfo (\w+)>.*reason: code dependencies/g)].map((m) => m[1]);
    const scanner = ["ws", "str", "token", "record", "envelopeObject", "envelopeKey", "num", "sameBytes", "putSlice", "putDoubled", "smallInteger", "writeDigits", "copy"];
    expect(thrownAway.filter((f) => scanner.includes(f!))).toEqual([]);
  });

  it("Parquet row groups: no function of the row group encoder bails out (its row loop apart from what follows it; its value buffers grown early)", () => {
    const out = traced("parquet");
    const bailouts = [...out.matchAll(/\[bailout .*<JSFunction (\w+) /g)].map((m) => m[1]);
    const rowGroup = ["encode", "fill", "put", "putValue", "putUndoubled", "ensure", "int64", "assemble", "timestampFast", "plainDecimal"];
    expect(bailouts.filter((f) => rowGroup.includes(f!))).toEqual([]);
  });
});
