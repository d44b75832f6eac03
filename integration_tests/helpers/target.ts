/**
 * Runs the real connector in-process (src/cli.ts main) against the local stand-in, with stdin fed from a
 * stream the test controls, and gives the test a node-postgres client on the backend to inspect tables.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { once } from "node:events";
import pg from "pg";
import { inject } from "vitest";
import { main } from "../../src/cli.js";

export const CONFORMANCE = join(import.meta.dirname, "../../../shared/conformance");

export function standIn() {
  return inject("localRedshift");
}

let schemaCounter = 0;
/** A schema name unique to this test file run, so files can share the one stand-in. */
export function uniqueSchema(prefix: string): string {
  return `${prefix}_${process.pid}_${++schemaCounter}`.toLowerCase();
}

export function configFor(schema: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...standIn().config, schema, ...extra };
}

export function writeConfig(config: Record<string, unknown>): { path: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "tr-config-"));
  const path = join(dir, "config.json");
  writeFileSync(path, JSON.stringify(config));
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface RunResult {
  code: number;
  stdout: string[];
  stderr: string[];
  /** STATE values as parsed JSON, in emission order */
  states: unknown[];
}

/** Runs the target on `input` (whole text) and waits for it to exit. */
export async function runSinger(config: Record<string, unknown>, input: string, args: string[] = []): Promise<RunResult> {
  const live = startSinger(config, args);
  live.stdin.end(input);
  return live.done;
}

export interface LiveRun {
  stdin: PassThrough;
  stdout: string[];
  stderr: string[];
  /** resolves when a new stdout line arrives */
  nextLine(timeoutMs?: number): Promise<string | undefined>;
  done: Promise<RunResult>;
}

/** Starts the target with a stdin the test writes to over time. */
export function startSinger(config: Record<string, unknown>, args: string[] = []): LiveRun {
  const { path, cleanup } = writeConfig(config);
  const stdin = new PassThrough();
  const stdout: string[] = [];
  const stderr: string[] = [];
  let waiting: ((l: string | undefined) => void) | undefined;
  let seen = 0;
  const io = {
    stdin,
    stdout: (line: string) => {
      stdout.push(line);
      const w = waiting;
      waiting = undefined;
      w?.(line);
    },
    stderr: (line: string) => stderr.push(line),
  };
  const done = main(["--config", path, ...args], io)
    .then((code) => ({ code, stdout, stderr, states: stdout.map((l) => JSON.parse(l) as unknown) }))
    .finally(cleanup);
  return {
    stdin,
    stdout,
    stderr,
    nextLine(timeoutMs = 20_000) {
      if (stdout.length > seen) return Promise.resolve(stdout[seen++]);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiting = undefined;
          resolve(undefined);
        }, timeoutMs);
        waiting = (l) => {
          clearTimeout(timer);
          seen++;
          resolve(l);
        };
      });
    },
    done,
  };
}

export async function writeLines(stream: PassThrough, lines: readonly unknown[]): Promise<void> {
  for (const l of lines) {
    if (!stream.write(`${typeof l === "string" ? l : JSON.stringify(l)}\n`)) await once(stream, "drain");
  }
}

export async function withPg<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(standIn().pg);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function rows(schema: string, table: string, orderBy = "1"): Promise<Record<string, unknown>[]> {
  return withPg(async (c) => (await c.query(`SELECT * FROM "${schema}"."${table}" ORDER BY ${orderBy}`)).rows);
}

export async function count(schema: string, table: string): Promise<number> {
  return withPg(async (c) => Number((await c.query(`SELECT COUNT(*) AS n FROM "${schema}"."${table}"`)).rows[0].n));
}

export async function columns(schema: string, table: string): Promise<Record<string, string>> {
  return withPg(async (c) => {
    const r = await c.query(
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      [schema, table],
    );
    return Object.fromEntries(r.rows.map((x) => [x.name, x.type]));
  });
}

export async function tableExists(schema: string, table: string): Promise<boolean> {
  return withPg(async (c) => (await c.query("SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = $2", [schema, table])).rowCount === 1);
}

/** Singer messages for test inputs. */
export const schemaMsg = (stream: string, properties: Record<string, unknown>, key: string[] = ["id"]) => ({
  type: "SCHEMA",
  stream,
  key_properties: key,
  schema: { type: "object", properties },
});
export const record = (stream: string, rec: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ type: "RECORD", stream, record: rec, ...extra });

/** The real process (`node --import tsx src/cli.ts ARGS`), `input` on its stdin; `env` replaces the environment. */
export function runProcess(args: string[], input = "", env?: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cli = join(import.meta.dirname, "../../src/cli.ts");
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", cli, ...args], { stdio: ["pipe", "pipe", "pipe"], env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}
