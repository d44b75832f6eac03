/**
 * Progress lines every progress_interval_seconds, the end-of-run summary, --log-level / LOG_LEVEL and
 * --log-format json. Inputs are paced (the test holds stdin open until a progress line shows up), so no
 * assertion depends on how long anything took.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { main } from "../src/cli.js";
import { configFor, record, runSinger, schemaMsg, startSinger, uniqueSchema, writeLines } from "./helpers/target.js";

const lines = (...msgs: unknown[]) => msgs.map((m) => JSON.stringify(m)).join("\n") + "\n";
const basic = { id: { type: "integer" }, name: { type: ["null", "string"] } };

/** Polls until `find` returns something (or fails after 20 s: a hang, not a timing assertion). */
async function eventually<T>(find: () => T | undefined): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const v = find();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("gave up waiting");
}

const fieldsOf = (l: string) => JSON.parse(l.slice(l.indexOf(" {") + 1)) as Record<string, unknown>;

describe("progress lines", () => {
  it("Singer: one line per active stream on stderr with received, committed, records/s, staged bytes, batches in flight", async () => {
    const schema = uniqueSchema("prog");
    const run = startSinger(configFor(schema, { progress_interval_seconds: 1, max_batch_age_seconds: 0 }));
    await writeLines(run.stdin, [schemaMsg("a", basic), schemaMsg("b", basic), ...[1, 2, 3].map((id) => record("a", { id }))]);
    const line = await eventually(() => run.stderr.find((l) => l.includes(" progress: stream a:")));
    expect(line).toMatch(/ INFO progress: stream a: 3 records received, 0 committed \(0 inserted, 0 updated, 0 deleted\), \d+ records\/s, 0 bytes staged, 0 batches in flight/);
    expect(fieldsOf(line)).toMatchObject({ stream: "a", received: 3, committed: 0, stagedBytes: 0, batchesInFlight: 0 });
    expect(typeof fieldsOf(line).recordsPerSecond).toBe("number");
    // b has received nothing: not active, no line
    expect(run.stderr.some((l) => l.includes(" progress: stream b:"))).toBe(false);
    run.stdin.end(lines(record("a", { id: 1, name: "again" })));
    const r = await run.done;
    expect(r.code, r.stderr.join("\n")).toBe(0);
    const summary = r.stderr.find((l) => l.includes(" summary: stream a "));
    expect(summary).toBeDefined();
    expect(fieldsOf(summary!)).toMatchObject({ stream: "a", table: `${schema}.a`, records: 4, inserted: 3, updated: 0, deleted: 0, batches: 1 });
    expect(fieldsOf(summary!).files).toBeGreaterThan(0);
    expect(fieldsOf(summary!).bytes).toBeGreaterThan(0);
  });

  it("progress_interval_seconds 0: no progress lines", async () => {
    const schema = uniqueSchema("noprog");
    const run = startSinger(configFor(schema, { progress_interval_seconds: 0, max_batch_age_seconds: 1 }));
    await writeLines(run.stdin, [schemaMsg("a", basic), record("a", { id: 1 }), { type: "STATE", value: { n: 1 } }]);
    // the STATE comes after an age-triggered commit, more than a second later
    expect(await run.nextLine()).toBe('{"n":1}');
    run.stdin.end();
    const r = await run.done;
    expect(r.stderr.filter((l) => l.includes("progress:"))).toEqual([]);
  });

  it("summary counts values changed, by field and by reason", async () => {
    const schema = uniqueSchema("sumchg");
    const r = await runSinger(configFor(schema), lines(schemaMsg("t", { id: { type: "integer" }, n: { type: "integer" } }), record("t", { id: 1, n: 1e300 }), record("t", { id: 2, n: "x" })));
    expect(r.code, r.stderr.join("\n")).toBe(0);
    const f = fieldsOf(r.stderr.find((l) => l.includes(" summary: stream t "))!);
    expect(f.changesByReason).toEqual({ DESTINATION_SERIALIZATION_ERROR: 2 });
    expect(r.stderr.find((l) => l.includes(" summary: stream t "))).toMatch(/; 2 values changed/);
  });

  it("Airbyte: progress lines and the summary are LOG messages on stdout", async () => {
    const schema = uniqueSchema("abprog");
    const dir = mkdtempSync(join(tmpdir(), "tr-prog-"));
    const config = join(dir, "config.json");
    const catalog = join(dir, "catalog.json");
    writeFileSync(config, JSON.stringify(configFor(schema, { progress_interval_seconds: 1, max_batch_age_seconds: 0 })));
    writeFileSync(
      catalog,
      JSON.stringify({
        streams: [
          {
            stream: { name: "users", json_schema: { type: "object", properties: basic }, supported_sync_modes: ["full_refresh"] },
            sync_mode: "full_refresh",
            destination_sync_mode: "append",
          },
        ],
      }),
    );
    const stdin = new PassThrough();
    const out: Record<string, unknown>[] = [];
    const done = main(["write", "--config", config, "--catalog", catalog], { stdin, stdout: (l) => out.push(JSON.parse(l)), stderr: () => undefined });
    const rec = (id: number) => JSON.stringify({ type: "RECORD", record: { stream: "users", data: { id }, emitted_at: 1 } });
    stdin.write(`${rec(1)}\n${rec(2)}\n`);
    const logText = (m: Record<string, unknown>) => (m.type === "LOG" ? String((m.log as { message: string }).message) : "");
    const progress = await eventually(() => out.map(logText).find((t) => t.startsWith("progress: stream users:")));
    expect(progress).toMatch(/^progress: stream users: 2 records received, 0 committed/);
    stdin.end();
    expect(await done).toBe(0);
    rmSync(dir, { recursive: true, force: true });
    expect(out.map(logText).find((t) => t.startsWith("summary: stream users "))).toMatch(/: 2 records; 2 rows inserted, 0 updated, 0 deleted; 1 batches/);
  });
});

describe("log level and format", () => {
  it("--log-format json: every stderr line is one JSON object with time, level, message, fields", async () => {
    const schema = uniqueSchema("json");
    const r = await runSinger(configFor(schema), lines(schemaMsg("t", basic), record("t", { id: 1 })), ["--log-format", "json"]);
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(r.stderr.length).toBeGreaterThan(2);
    const parsed = r.stderr.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const p of parsed) {
      expect(Object.keys(p)).toEqual(["time", "level", "message", "fields"]);
      expect(new Date(p.time as string).toISOString()).toBe(p.time);
    }
    const summary = parsed.find((p) => String(p.message).startsWith("summary: stream t "));
    expect(summary).toMatchObject({ level: "info", fields: { stream: "t", records: 1, inserted: 1 } });
  });

  it("--log-level warn drops info lines; errors still print", async () => {
    const schema = uniqueSchema("lvl");
    const r = await runSinger(configFor(schema), lines(schemaMsg("t", basic), record("t", { id: 1 }), "not json"), ["--log-level", "warn"]);
    expect(r.code).toBe(1);
    expect(r.stderr.some((l) => / INFO /.test(l))).toBe(false);
    expect(r.stderr.some((l) => / ERROR line 3: /.test(l))).toBe(true);
  });

  it("LOG_LEVEL=error from the environment; --log-level wins over it; a bad level is a usage error", async () => {
    const schema = uniqueSchema("env");
    const dir = mkdtempSync(join(tmpdir(), "tr-lvl-"));
    const config = join(dir, "config.json");
    writeFileSync(config, JSON.stringify(configFor(schema)));
    const run = async (args: string[], env: Record<string, string>) => {
      const stdin = new PassThrough();
      stdin.end(lines(schemaMsg("t", basic), record("t", { id: 1 })));
      const err: string[] = [];
      const code = await main(["--config", config, ...args], { stdin, stdout: () => undefined, stderr: (l) => err.push(l), env });
      return { code, err };
    };
    const quiet = await run([], { LOG_LEVEL: "ERROR" });
    expect(quiet).toEqual({ code: 0, err: [] });
    const loud = await run(["--log-level", "info"], { LOG_LEVEL: "error" });
    expect(loud.err.some((l) => l.includes(" summary: stream t "))).toBe(true);
    const bad = await run([], { LOG_LEVEL: "verbose" });
    expect(bad.code).toBe(2);
    expect(bad.err.join("\n")).toMatch(/LOG_LEVEL must be debug, info, warn or error, got "verbose"/);
    expect((await run(["--log-format", "xml"], {})).code).toBe(2);
    rmSync(dir, { recursive: true, force: true });
  });
});
