/**
 * `npm run demo`: starts the local Redshift stand-in, pipes examples/demo.singer through the built
 * connector (a real child process, as a shell pipeline would run it), prints the loaded tables and the
 * STATE lines it emitted, and stops the stand-in.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { startLocalRedshift } from "../integration_tests/local-redshift/index.js";

const root = join(import.meta.dirname, "..");
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

function table(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return "(no rows)";
  const cols = Object.keys(rows[0]!);
  const cell = (v: unknown) => {
    const s = v === null ? "NULL" : v instanceof Date ? v.toISOString() : typeof v === "object" ? JSON.stringify(v) : String(v);
    return s.length > 48 ? `${s.slice(0, 47)}…` : s;
  };
  const body = rows.map((r) => cols.map((c) => cell(r[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...body.map((b) => b[i]!.length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join(" | ");
  return [line(cols), widths.map((w) => "-".repeat(w)).join("-+-"), ...body.map(line)].join("\n");
}

// DATE as the text Redshift stores, not a local-midnight JavaScript Date.
pg.types.setTypeParser(pg.types.builtins.DATE, (v) => v);

async function main(): Promise<void> {
  const started = Date.now();
  const local = await startLocalRedshift({ quiet: true });
  const dir = mkdtempSync(join(tmpdir(), "target-redshift-demo-"));
  try {
    console.log(bold(`Local Redshift stand-in ready in ${Date.now() - started} ms`) + ` (PostgreSQL + S3 + Redshift gateway on 127.0.0.1:${local.gateway.port})`);
    const configPath = join(dir, "config.json");
    writeFileSync(configPath, JSON.stringify({ ...local.config, schema: "demo" }));
    const input = readFileSync(join(root, "examples/demo.singer"));
    console.log(`\n$ cat examples/demo.singer | target-redshift --config config.json\n`);
    const child = spawn(process.execPath, [join(root, "dist/src/cli.js"), "--config", configPath], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => process.stderr.write(`  ${d.toString().trimEnd().split("\n").join("\n  ")}\n`));
    child.stdin.end(input);
    const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? 1)));
    if (code !== 0) throw new Error(`target-redshift exited with ${code}`);

    console.log(bold("\nSTATE emitted on stdout (each only after the rows before it were committed):"));
    for (const l of out.trim().split("\n")) console.log(`  ${l}`);

    const client = new pg.Client(local.pg);
    await client.connect();
    try {
      for (const t of ["customers", "orders", "page_views"]) {
        const r = await client.query(`SELECT * FROM demo.${t} ORDER BY 1`);
        console.log(bold(`\ndemo.${t} (${r.rowCount} rows)`));
        console.log(table(r.rows));
      }
    } finally {
      await client.end();
    }
    console.log(`\nDone in ${((Date.now() - started) / 1000).toFixed(1)} s. Try it by hand: npm run -s redshift-local`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await local.stop();
  }
}

main().catch((e: Error) => {
  console.error(`demo failed: ${e.message}`);
  process.exit(1);
});
