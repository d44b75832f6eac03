/**
 * The project's own conformance cases (test/fixtures/<door>/<case>/, format in test/fixtures/README.md),
 * each run through the real connector into the local stand-in and compared with its expected.json. They
 * cover what ../shared/conformance covers, so `npm test` needs nothing outside the clone.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { columns, configFor, runSinger, uniqueSchema, withPg } from "./helpers/target.js";
import { runAirbyte, type Json } from "./helpers/airbyte.js";

const FIXTURES = join(import.meta.dirname, "../test/fixtures");

interface ExpectedRun {
  exit: number | "nonzero";
  states?: unknown[];
  stderr?: string;
}
interface ExpectedTable {
  order_by?: string[];
  rows?: Json[];
  count?: number;
  columns?: Record<string, string>;
  column_count?: number;
  match?: Record<string, string>;
  /** per column, each row's value length in UTF-8 bytes (null for NULL), in order_by order */
  utf8_bytes?: Record<string, (number | null)[]>;
}
interface Expected {
  about: string;
  runs: ExpectedRun[];
  tables?: Record<string, ExpectedTable>;
  absent_tables?: string[];
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, "utf8")) as T;

/** Input files in run order: input.jsonl alone, or run-1.jsonl, run-2.jsonl, … */
function runFiles(dir: string): string[] {
  if (existsSync(join(dir, "input.jsonl"))) return ["input.jsonl"];
  return readdirSync(dir)
    .filter((f) => /^run-\d+\.jsonl$/.test(f))
    .sort((a, b) => Number(a.match(/\d+/)![0]) - Number(b.match(/\d+/)![0]));
}

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;

async function tableRows(schema: string, table: string, orderBy: string[] = []): Promise<Json[]> {
  return withPg(async (c) => {
    await c.query("SET TimeZone = 'UTC'");
    const order = orderBy.length ? ` ORDER BY ${orderBy.map(q).join(", ")}` : "";
    return (await c.query(`SELECT to_jsonb(t) AS j FROM ${q(schema)}.${q(table)} t${order}`)).rows.map((r) => r.j as Json);
  });
}

/** The table's columns and types, or undefined when it does not exist. */
async function tableColumns(schema: string, table: string): Promise<Record<string, string> | undefined> {
  const found = await columns(schema, table);
  return Object.keys(found).length > 0 ? found : undefined;
}

function checkExit(code: number, want: ExpectedRun, log: string): void {
  if (want.exit === "nonzero") expect(code, log).not.toBe(0);
  else expect(code, log).toBe(want.exit);
  if (want.stderr !== undefined) expect(log).toMatch(new RegExp(want.stderr));
}

async function runCase(door: "singer" | "airbyte", dir: string, expected: Expected): Promise<void> {
  const schema = uniqueSchema(`fx_${door[0]}`);
  const extra = existsSync(join(dir, "config.json")) ? readJson<Json>(join(dir, "config.json")) : {};
  const config = configFor(schema, extra);
  const files = runFiles(dir);
  expect(files.length, "a case needs input.jsonl or run-N.jsonl").toBeGreaterThan(0);
  expect(expected.runs, "expected.json lists one outcome per run").toHaveLength(files.length);
  for (const [i, file] of files.entries()) {
    const input = readFileSync(join(dir, file), "utf8");
    const want = expected.runs[i]!;
    if (door === "singer") {
      const r = await runSinger(config, input);
      checkExit(r.code, want, r.stderr.join("\n"));
      if (want.states) expect(r.states).toEqual(want.states);
    } else {
      const own = join(dir, file.replace(/\.jsonl$/, ".catalog.json"));
      const catalog = readFileSync(existsSync(own) ? own : join(dir, "catalog.json"), "utf8");
      const r = await runAirbyte("write", { config, catalog, input });
      const log = [...r.stderr, ...r.logs.map((l) => JSON.stringify(l)), ...r.traces.map((t) => JSON.stringify(t))].join("\n");
      checkExit(r.code, want, log);
      expect(r.garbage, "stdout carries Airbyte messages only").toEqual([]);
      if (want.exit === 0) expect(r.traces.filter((t) => (t.trace as Json).type === "ERROR")).toEqual([]);
      if (want.states) expect(r.states).toEqual(want.states);
    }
  }
  for (const [table, want] of Object.entries(expected.tables ?? {})) {
    const cols = await tableColumns(schema, table);
    expect(cols, `table ${table} exists`).toBeDefined();
    if (want.columns) expect(cols).toMatchObject(want.columns);
    if (want.column_count !== undefined) expect(Object.keys(cols!)).toHaveLength(want.column_count);
    const rows = await tableRows(schema, table, want.order_by);
    if (want.count !== undefined) expect(rows).toHaveLength(want.count);
    if (want.rows) {
      // Each expected row names the columns it checks; the others are not compared.
      expect(rows.map((r, i) => Object.fromEntries(Object.keys(want.rows![i] ?? {}).map((k) => [k, r[k] ?? null])))).toEqual(want.rows);
    }
    for (const [column, lengths] of Object.entries(want.utf8_bytes ?? {})) {
      expect(rows.map((r) => (r[column] == null ? null : Buffer.byteLength(String(r[column]), "utf8")))).toEqual(lengths);
    }
    for (const [column, pattern] of Object.entries(want.match ?? {})) {
      for (const row of rows) expect(String(row[column])).toMatch(new RegExp(pattern));
    }
  }
  for (const table of expected.absent_tables ?? []) expect(await tableColumns(schema, table), `table ${table} absent`).toBeUndefined();
}

for (const door of ["singer", "airbyte"] as const) {
  const root = join(FIXTURES, door);
  const cases = readdirSync(root).filter((d) => existsSync(join(root, d, "expected.json"))).sort();
  describe(`${door} fixtures`, () => {
    it("has cases", () => expect(cases.length).toBeGreaterThan(0));
    for (const name of cases) {
      const dir = join(root, name);
      const expected = readJson<Expected>(join(dir, "expected.json"));
      it(`${name}: ${expected.about}`, () => runCase(door, dir, expected));
    }
  });
}
