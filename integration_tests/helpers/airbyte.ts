/**
 * Runs the Airbyte commands of the real connector in-process (src/cli.ts main) against the local stand-in,
 * and reads Airbyte's conformance files, applying their known quirks here (never in the connector):
 * `//` comment lines and blank lines, records without stream/namespace, and the extra `}` of
 * users_with_generation_id_messages.txt line 4.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { main } from "../../src/cli.js";
import { CONFORMANCE, configFor, withPg } from "./target.js";

export const AIRBYTE = join(CONFORMANCE, "airbyte");

export type Json = Record<string, unknown>;

export interface AirbyteRun {
  code: number;
  messages: Json[];
  states: Json[];
  logs: Json[];
  traces: Json[];
  /** lines that are not JSON: must stay empty, stdout carries Airbyte messages only */
  garbage: string[];
  /** stdout as written (for byte-for-byte checks: parsing would round big numbers) */
  stdout: string[];
  stderr: string[];
}

function collect(code: number, stdout: string[], stderr: string[]): AirbyteRun {
  const messages: Json[] = [];
  const garbage: string[] = [];
  for (const l of stdout) {
    try {
      messages.push(JSON.parse(l) as Json);
    } catch {
      garbage.push(l);
    }
  }
  return {
    code,
    messages,
    states: messages.filter((m) => m.type === "STATE"),
    logs: messages.filter((m) => m.type === "LOG"),
    traces: messages.filter((m) => m.type === "TRACE"),
    garbage,
    stdout,
    stderr,
  };
}

function tempFiles(files: Record<string, unknown>): { paths: Record<string, string>; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "tr-airbyte-"));
  const paths: Record<string, string> = {};
  for (const [name, content] of Object.entries(files)) {
    const p = join(dir, `${name}.json`);
    writeFileSync(p, typeof content === "string" ? content : JSON.stringify(content));
    paths[name] = p;
  }
  return { paths, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs `command` with --config (and --catalog for write) on `input`, in-process. */
export async function runAirbyte(
  command: "spec" | "check" | "write",
  opts: { config?: Json | string; catalog?: Json | string; input?: string | string[]; args?: string[] } = {},
): Promise<AirbyteRun> {
  const files: Record<string, unknown> = {};
  if (opts.config !== undefined) files.config = opts.config;
  if (opts.catalog !== undefined) files.catalog = opts.catalog;
  const { paths, cleanup } = tempFiles(files);
  const stdin = new PassThrough();
  const input = Array.isArray(opts.input) ? opts.input.join("\n") + "\n" : (opts.input ?? "");
  stdin.end(input);
  const stdout: string[] = [];
  const stderr: string[] = [];
  const args: string[] = [command];
  if (paths.config) args.push("--config", paths.config);
  if (paths.catalog) args.push("--catalog", paths.catalog);
  if (opts.args) args.push(...opts.args);
  try {
    const code = await main(args, { stdin, stdout: (l) => stdout.push(l), stderr: (l) => stderr.push(l) });
    return collect(code, stdout, stderr);
  } finally {
    cleanup();
  }
}

/** Config for the stand-in with `schema` as the default schema. */
export const airbyteConfig = (schema: string, extra: Json = {}): Json => configFor(schema, extra);

export interface StreamOptions {
  name: string;
  namespace?: string;
  schema: Json;
  mode: "append" | "overwrite" | "append_dedup";
  primaryKey?: string[][];
  cursor?: string[];
  generationId?: number;
  minimumGenerationId?: number;
  syncId?: number;
}

export function configuredStream(o: StreamOptions): Json {
  return {
    stream: { name: o.name, ...(o.namespace ? { namespace: o.namespace } : {}), json_schema: o.schema, supported_sync_modes: ["full_refresh", "incremental"] },
    sync_mode: o.mode === "append_dedup" ? "incremental" : "full_refresh",
    destination_sync_mode: o.mode,
    primary_key: o.primaryKey ?? [],
    cursor_field: o.cursor ?? [],
    generation_id: o.generationId ?? 0,
    minimum_generation_id: o.minimumGenerationId ?? (o.mode === "overwrite" ? (o.generationId ?? 0) : 0),
    sync_id: o.syncId ?? 0,
  };
}

export const catalogOf = (...streams: StreamOptions[]): Json => ({ streams: streams.map(configuredStream) });

/** Non-empty lines of a conformance file, without `//` comment lines. */
export function conformanceLines(relative: string): string[] {
  return readFileSync(join(AIRBYTE, relative), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.trimStart().startsWith("//"));
}

/** users_with_generation_id_messages.txt line 4 ends with one `}` too many (upstream quirk). */
export function fixUsersWithGenerationLine(line: string, index: number): string {
  if (index !== 3) return line;
  const trimmed = line.trimEnd();
  const fixed = trimmed.endsWith("}") ? trimmed.slice(0, -1) : trimmed;
  JSON.parse(fixed); // the quirk is exactly one brace: anything else means the file changed
  return fixed;
}

/** Typing-deduping messages: the files' records carry no stream/namespace; the harness adds them. */
export function typingDedupingMessages(file: string, stream: string, namespace: string): string[] {
  return conformanceLines(`dat/${file}`).map((l) => {
    const m = JSON.parse(l) as { type: string; record?: Json };
    if (m.type === "RECORD" && m.record) m.record = { ...m.record, stream, namespace };
    return JSON.stringify(m);
  });
}

export const streamComplete = (name: string, namespace?: string): string =>
  JSON.stringify({
    type: "TRACE",
    trace: { type: "STREAM_STATUS", emitted_at: Date.now(), stream_status: { stream_descriptor: { name, ...(namespace ? { namespace } : {}) }, status: "COMPLETE" } },
  });

export const globalState = (shared: unknown): string => JSON.stringify({ type: "STATE", state: { type: "GLOBAL", global: { shared_state: shared } } });

export const streamState = (name: string, namespace: string | undefined, value: unknown): string =>
  JSON.stringify({ type: "STATE", state: { type: "STREAM", stream: { stream_descriptor: { name, ...(namespace ? { namespace } : {}) }, stream_state: value } } });

export function expectedRecords(file: string): Json[] {
  return conformanceLines(`expected/${file}`).map((l) => JSON.parse(l) as Json);
}

/** Every row of a table as JSON (to_jsonb: numbers as numbers, SUPER as its JSON value). */
export async function tableJson(schema: string, table: string): Promise<Json[]> {
  return withPg(async (c) => (await c.query(`SELECT to_jsonb(t) AS j FROM "${schema}"."${table}" t`)).rows.map((r) => r.j as Json));
}

const TIMESTAMPISH = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/;

/** One comparable value: timestamps as epoch ms (formats differ: `…00.000000Z` vs `…00+00:00`). */
function canonical(v: unknown): unknown {
  if (v === undefined || v === null) return null;
  if (typeof v === "string" && TIMESTAMPISH.test(v)) {
    const ms = Date.parse(v.replace(" ", "T"));
    if (!Number.isNaN(ms)) return `ts:${ms}`;
  }
  if (Array.isArray(v)) return v.map(canonical);
  if (typeof v === "object") {
    // jsonb reorders keys; the expected files do not.
    const o = v as Json;
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, canonical(o[k])]));
  }
  return v;
}

/** Rows projected on `columns` (missing → null), canonicalised and sorted: a multiset to compare. */
export function project(records: readonly Json[], columns: readonly string[]): string[] {
  return records
    .map((r) => JSON.stringify(Object.fromEntries(columns.map((c) => [c, canonical(r[c])]))))
    .sort();
}

export function tdSchema(): Json {
  return JSON.parse(readFileSync(join(AIRBYTE, "dat/schema.json"), "utf8")) as Json;
}

export const TD_DATA_COLUMNS = ["id1", "id2", "updated_at", "_ab_cdc_deleted_at", "name", "address", "age", "registration_date"];

export interface LiveAirbyteWrite {
  stdin: PassThrough;
  write(lines: readonly string[]): void;
  /** resolves with the next STATE message, or undefined after `timeoutMs` */
  nextState(timeoutMs?: number): Promise<Json | undefined>;
  done: Promise<AirbyteRun>;
}

/** `write` with a stdin the test feeds over time (to observe when STATEs come out). */
export function startAirbyteWrite(config: Json, catalog: Json): LiveAirbyteWrite {
  const { paths, cleanup } = tempFiles({ config, catalog });
  const stdin = new PassThrough();
  const stdout: string[] = [];
  const stderr: string[] = [];
  let seen = 0;
  let wake: (() => void) | undefined;
  const done = main(["write", "--config", paths.config!, "--catalog", paths.catalog!], {
    stdin,
    stdout: (l) => {
      stdout.push(l);
      wake?.();
    },
    stderr: (l) => stderr.push(l),
  })
    .then((code) => collect(code, stdout, stderr))
    .finally(cleanup);
  return {
    stdin,
    write: (lines) => void stdin.write(lines.map((l) => `${l}\n`).join("")),
    async nextState(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        while (seen < stdout.length) {
          const m = JSON.parse(stdout[seen++]!) as Json;
          if (m.type === "STATE") return m;
        }
        const left = deadline - Date.now();
        if (left <= 0) return undefined;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    },
    done,
  };
}
