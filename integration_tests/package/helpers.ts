/** Shared by the packaging tests: run a command, a small Singer / Airbyte load, and the rows it left. */
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configFor, uniqueSchema } from "../helpers/target.js";

export const ROOT = join(import.meta.dirname, "../..");

export interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to completion (25 min at most: npm installs on a busy 2-core machine took 9); rejects
 * with its output when it fails. Asynchronous on purpose: a spawnSync blocks the vitest worker for
 * minutes, and vitest then fails the run ("Timeout calling onTaskUpdate") although every test passed.
 */
export function run(cmd: string, args: string[], opts: { cwd: string; input?: string; env?: NodeJS.ProcessEnv }): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 1_500_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      if (status === 0) resolve({ status, stdout, stderr });
      else reject(new Error(`${cmd} ${args.join(" ")} (in ${opts.cwd}) exited ${status ?? signal}\n${stdout}\n${stderr}`));
    });
    child.stdin.end(opts.input ?? "");
  });
}

export const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), `tr-${prefix}-`));

/** A config file for the stand-in with a fresh schema; returns its path and the schema. */
export function standInConfig(dir: string): { path: string; schema: string } {
  const schema = uniqueSchema("pkg");
  const path = join(dir, "config.json");
  writeFileSync(path, JSON.stringify(configFor(schema)));
  return { path, schema };
}

export const SINGER_INPUT = [
  { type: "SCHEMA", stream: "parcels", key_properties: ["id"], schema: { type: "object", properties: { id: { type: "integer" }, city: { type: "string" } } } },
  { type: "RECORD", stream: "parcels", record: { id: 1, city: "Oslo" } },
  { type: "RECORD", stream: "parcels", record: { id: 2, city: "Lund" } },
  { type: "STATE", value: { parcels: 2 } },
]
  .map((m) => JSON.stringify(m))
  .join("\n");

export const AIRBYTE_CATALOG = {
  streams: [
    {
      stream: { name: "parcels", json_schema: { type: "object", properties: { id: { type: "integer" }, city: { type: "string" } } }, supported_sync_modes: ["full_refresh"] },
      sync_mode: "full_refresh",
      destination_sync_mode: "append",
      primary_key: [],
      cursor_field: [],
      generation_id: 0,
      minimum_generation_id: 0,
      sync_id: 1,
    },
  ],
};

export const AIRBYTE_INPUT = [
  { type: "RECORD", record: { stream: "parcels", emitted_at: 1, data: { id: 1, city: "Oslo" } } },
  { type: "RECORD", record: { stream: "parcels", emitted_at: 2, data: { id: 2, city: "Lund" } } },
  { type: "STATE", state: { type: "STREAM", stream: { stream_descriptor: { name: "parcels" }, stream_state: { n: 2 } } } },
]
  .map((m) => JSON.stringify(m))
  .join("\n");
