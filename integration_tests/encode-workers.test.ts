/**
 * The encode-worker input path (UnitPipeline + EncodePool) end to end against the local stand-in, with
 * inputs big enough (several MB) that ~1 MiB units really go to worker threads: same tables and STATEs
 * as the main-thread paths, schema changes and BATCH files in the middle of units, batch limits split
 * inside encoded blocks, STATE timing, failures and line numbers.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { main } from "../src/cli.js";
import { configFor, count, record, runSinger, schemaMsg, startSinger, uniqueSchema, withPg, writeConfig } from "./helpers/target.js";
import { trackEncodePaths } from "./helpers/encode-paths.js";

const state = (value: unknown) => ({ type: "STATE", value });
const jsonl = (msgs: unknown[]) => msgs.map((m) => (typeof m === "string" ? m : JSON.stringify(m))).join("\n") + "\n";

const PROPS = {
  id: { type: "integer" },
  name: { type: "string" },
  amount: { type: ["null", "integer"] },
  ratio: { type: "number" },
  flag: { type: "boolean" },
  at: { type: "string", format: "date-time" },
  obj: { type: "object" },
  note: { type: ["null", "string"] },
};

/** A record of ~330 bytes of JSON: quotes, commas, backslashes, non-ASCII, NULLs, nested JSON. */
function row(i: number, variant = ""): Record<string, unknown> {
  return {
    id: i,
    name: `n${i}${variant} "q", \\ é ${"x".repeat(120 + (i % 50))}`,
    amount: i % 7 === 0 ? null : i * 3,
    ratio: i / 8,
    flag: i % 3 === 0,
    at: `2024-0${(i % 9) + 1}-1${i % 10}T0${i % 10}:1${i % 6}:2${i % 10}.${i % 1000}Z`,
    obj: { i, tags: ["a", i % 5], nested: { ok: i % 2 === 0, s: `v${variant}` } },
    note: i % 10 === 0 ? null : `note ${i}${variant}`,
  };
}

/** Every column of a table as text, in a stable order (timestamps as stored, SUPER as JSON text). */
async function dump(schema: string, table: string, orderBy = "src.id"): Promise<Record<string, unknown>[]> {
  return withPg(async (c) => {
    const cols = (
      await c.query("SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY column_name", [schema, table])
    ).rows.map((x) => x.column_name as string);
    const select = cols.map((col) => `"${col}"::text AS "${col}"`).join(", ");
    return (await c.query(`SELECT ${select} FROM "${schema}"."${table}" AS src ORDER BY ${orderBy}`)).rows;
  });
}

async function scalar(sql: string): Promise<unknown> {
  return withPg(async (c) => Object.values((await c.query(sql)).rows[0])[0]);
}

/** Count, sum and distinct count of ids: nothing lost, nothing doubled. */
async function idStats(schema: string, table: string): Promise<{ n: number; sum: number; distinct: number }> {
  return withPg(async (c) => {
    const r = (await c.query(`SELECT COUNT(*) AS n, COALESCE(SUM(id), 0) AS sum, COUNT(DISTINCT id) AS distinct FROM "${schema}"."${table}"`)).rows[0];
    return { n: Number(r.n), sum: Number(r.sum), distinct: Number(r.distinct) };
  });
}

const sumTo = (n: number) => (n * (n + 1)) / 2;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `read` gives `want` (or the time is up); returns the last value read. */
async function waitFor<T>(read: () => Promise<T>, want: T, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let v = await read();
  while (v !== want && Date.now() < until) {
    await sleep(100);
    v = await read();
  }
  return v;
}

/**
 * Runs the target in a child process (so a hang cannot stall this file) on `input` handed over as one
 * read; kills it after `timeoutMs`. code is null when it had to be killed.
 */
async function runInChild(config: Record<string, unknown>, input: Buffer, timeoutMs: number) {
  const dir = mkdtempSync(join(tmpdir(), "tr-encode-child-"));
  const { path, cleanup } = writeConfig(config);
  const script = join(dir, "run.mjs");
  const inputPath = join(dir, "input.jsonl");
  writeFileSync(inputPath, input);
  writeFileSync(
    script,
    `import { readFileSync } from "node:fs";
const [cli, config, inputPath] = process.argv.slice(2);
const { main } = await import(cli);
const input = readFileSync(inputPath);
async function* stdin() { yield input; }
const code = await main(["--config", config], { stdin: stdin(), stdout: (l) => process.stdout.write(l + "\\n"), stderr: (l) => process.stderr.write(l + "\\n") });
process.exit(code);
`,
  );
  const cli = pathToFileURL(join(import.meta.dirname, "../src/cli.ts")).href;
  const child = spawn(process.execPath, ["--import", "tsx", script, cli, path, inputPath], { cwd: join(import.meta.dirname, ".."), stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
  clearTimeout(timer);
  cleanup();
  rmSync(dir, { recursive: true, force: true });
  const lines = stdout.split("\n").filter((l) => l.length > 0);
  return { code: killed ? null : code, killed, stdout: lines, stderr: stderr.split("\n"), states: lines.map((l) => JSON.parse(l) as unknown) };
}

/** Runs the target on input fed in reads of `chunkBytes` (64 KiB: what a pipe on stdin gives). */
async function runChunked(config: Record<string, unknown>, input: Buffer, chunkBytes: number) {
  const { path, cleanup } = writeConfig(config);
  const stdout: string[] = [];
  const stderr: string[] = [];
  async function* stdin() {
    for (let at = 0; at < input.length; at += chunkBytes) yield input.subarray(at, at + chunkBytes);
  }
  try {
    const code = await main(["--config", path], { stdin: stdin(), stdout: (l) => stdout.push(l), stderr: (l) => stderr.push(l) });
    return { code, stdout, stderr, states: stdout.map((l) => JSON.parse(l) as unknown) };
  } finally {
    cleanup();
  }
}
const fail = (r: { stderr: string[] }) => r.stderr.join("\n");

const seen = trackEncodePaths();

describe("encode workers: same result as the main thread", () => {
  it("line path, encode_workers 0 and encode_workers 2 load identical tables and emit identical STATEs", async () => {
    const msgs: unknown[] = [schemaMsg("t", PROPS), schemaMsg("u", { id: { type: "integer" }, name: { type: "string" } }, [])];
    const states: unknown[] = [];
    for (let i = 1; i <= 30_000; i++) {
      // every 10th record updates an earlier key (the later one must win), every 5th also feeds an unkeyed stream
      msgs.push(record("t", i % 10 === 0 ? row(i - 5_003 > 0 ? i - 5_003 : i, "-upd") : row(i)));
      if (i % 5 === 0) msgs.push(record("u", { id: i, name: `u${i}` }));
      if (i % 2_500 === 0) {
        states.push({ bookmark: i });
        msgs.push(state({ bookmark: i }));
      }
    }
    const input = jsonl(msgs);
    expect(input.length).toBeGreaterThan(9_000_000);

    const runs: Record<string, { schema: string; seen: typeof seen; states: unknown[] }> = {};
    for (const [name, extra] of [
      ["lines", { validate_records: true }],
      ["noWorkers", { encode_workers: 0 }],
      ["workers", { encode_workers: 2 }],
    ] as const) {
      const schema = uniqueSchema(`same_${name}`);
      seen.reset();
      const r = await runSinger(configFor(schema, extra), input);
      expect(r.code, fail(r)).toBe(0);
      runs[name] = { schema, seen: { ...seen }, states: r.states };
    }
    // 36,000 records: all encoded one by one on the line path (validate_records, or no workers), all
    // encoded in units otherwise
    expect(runs.lines!.seen).toEqual({ units: 0, encodedRows: 0, mainThreadRecords: 36_000 });
    expect(runs.noWorkers!.seen).toEqual({ units: 0, encodedRows: 0, mainThreadRecords: 36_000 });
    expect(runs.workers!.seen).toMatchObject({ encodedRows: 36_000, mainThreadRecords: 0 });
    expect(runs.workers!.seen.units).toBeGreaterThanOrEqual(8);

    for (const run of Object.values(runs)) {
      expect(run.states).toEqual(states);
      // ids: 30,000 records, 3,000 of them updates of earlier ids → every id once
      const t = await idStats(run.schema, "t");
      expect(t.n).toBe(t.distinct);
      expect(await count(run.schema, "u")).toBe(6_000);
    }
    const [lines, noWorkers, workers] = [runs.lines!, runs.noWorkers!, runs.workers!];
    const expected = await dump(lines.schema, "t");
    expect(expected.length).toBeGreaterThan(20_000);
    // an updated key holds the later record's values
    const updated = expected.find((d) => d.id === "4997")!; // record 10,000 updated id 4,997
    expect(updated.name).toMatch(/^n4997-upd "q", \\ é x+$/);
    expect(updated.note).toBe("note 4997-upd");
    expect(JSON.parse(updated.obj as string)).toEqual({ i: 4997, tags: ["a", 2], nested: { ok: false, s: "v-upd" } });
    expect(await dump(noWorkers.schema, "t")).toEqual(expected);
    expect(await dump(workers.schema, "t")).toEqual(expected);
    const u = await dump(lines.schema, "u");
    expect(await dump(noWorkers.schema, "u")).toEqual(u);
    expect(await dump(workers.schema, "u")).toEqual(u);
  });
});

describe("encode workers: schema changes, limits, upserts", () => {
  it("a SCHEMA change deep inside a unit: new column NULL before, filled after; integer widened; nothing lost or doubled", async () => {
    const schema = uniqueSchema("evolve");
    const msgs: unknown[] = [schemaMsg("t", PROPS)];
    for (let i = 1; i <= 15_000; i++) msgs.push(record("t", row(i)));
    msgs.push(state({ at: 15_000 }));
    msgs.push(schemaMsg("t", { ...PROPS, amount: { type: ["null", "number"] }, extra: { type: "string" } }));
    for (let i = 15_001; i <= 30_000; i++) msgs.push(record("t", { ...row(i), amount: i + 0.5, extra: `e${i}` }));
    msgs.push(state({ at: 30_000 }));
    const r = await runSinger(configFor(schema, { encode_workers: 2 }), jsonl(msgs));
    expect(r.code, fail(r)).toBe(0);
    expect(seen.units).toBeGreaterThanOrEqual(8);
    // the records after the change are encoded in units too (the queue was set up again), none by the main thread
    expect(seen).toMatchObject({ encodedRows: 30_000, mainThreadRecords: 0 });
    expect(r.states).toEqual([{ at: 15_000 }, { at: 30_000 }]);
    expect(await idStats(schema, "t")).toEqual({ n: 30_000, sum: sumTo(30_000), distinct: 30_000 });
    const byHalf = await withPg(async (c) =>
      (
        await c.query(
          `SELECT id > 15000 AS after, COUNT(*) AS n, COUNT(extra) AS extras, SUM(amount) AS amounts,
                  SUM(CASE WHEN extra = 'e' || id::text THEN 1 ELSE 0 END) AS matching
           FROM "${schema}"."t" GROUP BY 1 ORDER BY 1`,
        )
      ).rows.map((x) => ({ after: x.after, n: Number(x.n), extras: Number(x.extras), amounts: Number(x.amounts), matching: Number(x.matching) })),
    );
    let before = 0;
    for (let i = 1; i <= 15_000; i++) if (i % 7 !== 0) before += i * 3;
    let after = 0;
    for (let i = 15_001; i <= 30_000; i++) after += i + 0.5;
    expect(byHalf).toEqual([
      { after: false, n: 15_000, extras: 0, amounts: before, matching: 0 },
      { after: true, n: 15_000, extras: 15_000, amounts: after, matching: 15_000 },
    ]);
    expect(await scalar(`SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '${schema}' AND c.relname = 't' AND a.attname = 'amount'`)).toBe("numeric(38,19)"); // never DOUBLE: BIGINT's digits stay
    // the rows around the change are intact
    const edge = await dump(schema, "t");
    expect(edge[14_998]).toMatchObject({ id: "14999", amount: "44997.0000000000000000000", extra: null, note: "note 14999" });
    expect(edge[15_000]).toMatchObject({ id: "15001", amount: "15001.5000000000000000000", extra: "e15001", note: "note 15001" });
  });

  it("batch_size_rows 7,000 over 40,000 records: 6 batches (5 × 7,000 + 5,000), all rows, every STATE", async () => {
    const schema = uniqueSchema("rows7k");
    const msgs: unknown[] = [schemaMsg("t", PROPS)];
    const states: unknown[] = [];
    for (let i = 1; i <= 40_000; i++) {
      msgs.push(record("t", row(i)));
      if (i % 4_000 === 0) {
        msgs.push(state({ n: i }));
        states.push({ n: i });
      }
    }
    const r = await runSinger(configFor(schema, { encode_workers: 2, batch_size_rows: 7_000 }), jsonl(msgs));
    expect(r.code, fail(r)).toBe(0);
    expect(seen.units).toBeGreaterThanOrEqual(10);
    expect(seen).toMatchObject({ encodedRows: 40_000, mainThreadRecords: 0 });
    const log = r.stderr.join("\n");
    expect(log).toMatch(new RegExp(`summary: stream t → ${schema}\\.t: 40000 records; 40000 rows inserted, 0 updated, 0 deleted; 6 batches`));
    expect(log.match(/: 7000 records → 7000 rows inserted/g)).toHaveLength(5);
    expect(log.match(/: 5000 records → 5000 rows inserted/g)).toHaveLength(1);
    expect(log.match(/committed batch \d+ of stream t /g)).toHaveLength(6);
    expect(r.states).toEqual(states);
    expect(await idStats(schema, "t")).toEqual({ n: 40_000, sum: sumTo(40_000), distinct: 40_000 });
  });

  it("batch_size_bytes splits encoded blocks after the row that reaches the limit (as the main thread does)", async () => {
    // Unkeyed (no ordinal), fixed-width rows: 6-digit id, 280-char string → 290 CSV bytes with the newline.
    const props = { id: { type: "integer" }, s: { type: "string" } };
    const msgs: unknown[] = [schemaMsg("b", props, [])];
    for (let i = 0; i < 40_000; i++) msgs.push(record("b", { id: 100_000 + i, s: String(i).padStart(280, "s") }));
    const input = jsonl(msgs);
    const perBatch = Math.ceil(1_000_000 / 290); // 3449
    const full = Math.floor(40_000 / perBatch); // 11
    const rest = 40_000 - full * perBatch; // 2061
    for (const workers of [2, 0]) {
      const schema = uniqueSchema(`bytes${workers}`);
      seen.reset();
      const r = await runSinger(configFor(schema, { encode_workers: workers, batch_size_bytes: 1_000_000 }), input);
      expect(r.code, fail(r)).toBe(0);
      if (workers > 0) expect(seen.units).toBeGreaterThanOrEqual(8);
      // encode_workers 0 is the line path: the same batches from rows encoded one by one
      expect(seen).toMatchObject(workers > 0 ? { encodedRows: 40_000, mainThreadRecords: 0 } : { encodedRows: 0, mainThreadRecords: 40_000 });
      const log = r.stderr.join("\n");
      expect(log).toMatch(new RegExp(`summary: stream b → ${schema}\\.b: 40000 records; 40000 rows inserted, 0 updated, 0 deleted; ${full + 1} batches`));
      expect(log.match(new RegExp(`: ${perBatch} records → ${perBatch} rows inserted`, "g"))).toHaveLength(full);
      expect(log.match(new RegExp(`: ${rest} records → ${rest} rows inserted`, "g"))).toHaveLength(1);
      expect(await idStats(schema, "b")).toEqual({ n: 40_000, sum: 40_000 * 100_000 + sumTo(39_999), distinct: 40_000 });
    }
  });

  it("upsert with duplicate keys spread across units and batches: the latest record per key wins", async () => {
    const schema = uniqueSchema("upsert");
    const props = { id: { type: "integer" }, v: { type: "integer" }, pad: { type: "string" } };
    const msgs: unknown[] = [schemaMsg("t", props)];
    // 40,000 records over 4,000 keys: each key 10 times, ~1 MiB apart; also "1"-style string keys
    for (let i = 0; i < 40_000; i++) {
      const id = i % 4_000;
      msgs.push(record("t", { id: i % 3 === 0 ? String(id) : id, v: i, pad: "p".repeat(250) }));
    }
    msgs.push(state({ done: true }));
    const r = await runSinger(configFor(schema, { encode_workers: 2, batch_size_rows: 7_000 }), jsonl(msgs));
    expect(r.code, fail(r)).toBe(0);
    expect(seen.units).toBeGreaterThanOrEqual(8);
    expect(seen).toMatchObject({ encodedRows: 40_000, mainThreadRecords: 0 });
    expect(r.states).toEqual([{ done: true }]);
    const data = await withPg(async (c) => (await c.query(`SELECT id, v FROM "${schema}"."t" ORDER BY id`)).rows);
    expect(data).toHaveLength(4_000);
    expect(data.every((d, k) => Number(d.id) === k && Number(d.v) === 36_000 + k)).toBe(true);
  });
});

describe("encode workers: STATE", () => {
  // Complete lines left after a big read are handed on when the input goes idle (regression: they waited
  // for the tap's next output, STATE included).
  it("a STATE at the end of a big burst goes out once its rows are committed, without waiting for more input", async () => {
    const schema = uniqueSchema("burst");
    const run = startSinger(configFor(schema, { encode_workers: 2, max_batch_age_seconds: 1 }));
    const msgs: unknown[] = [schemaMsg("t", PROPS)];
    for (let i = 1; i <= 30_000; i++) msgs.push(record("t", row(i)));
    msgs.push(state({ n: 30_000 }));
    run.stdin.write(jsonl(msgs));
    // A hang detector, not a speed check: the regression waited for the tap's next output forever. The
    // bound is generous so a loaded machine (CI, parallel suites) cannot fail a correct build.
    const first = await run.nextLine(60_000);
    const committed = await count(schema, "t").catch(() => -1);
    run.stdin.end();
    const r = await run.done;
    expect(r.code, fail(r)).toBe(0);
    expect({ first: first && JSON.parse(first), committed }).toEqual({ first: { n: 30_000 }, committed: 30_000 });
    expect(r.states).toEqual([{ n: 30_000 }]);
  }, 120_000);

  it("bad input ends the run at once even while the tap keeps stdin open (the reader is not waited for)", async () => {
    const schema = uniqueSchema("openfail");
    const run = startSinger(configFor(schema, { encode_workers: 2 }));
    const msgs: unknown[] = [schemaMsg("t", PROPS)];
    for (let i = 1; i <= 20_000; i++) msgs.push(record("t", row(i)));
    msgs.push("{not json");
    run.stdin.write(jsonl(msgs));
    // stdin is never ended: the run must still finish, with the error.
    const r = await Promise.race([run.done, new Promise<undefined>((resolve) => setTimeout(resolve, 10_000))]);
    expect(r, "the run waited for more input after its failure").toBeDefined();
    expect(r!.code).toBe(1);
    expect(r!.stderr.join("\n")).toContain("line 20002: invalid JSON");
    run.stdin.end();
  });

  it("a STATE inside a unit waits for the batch that holds the records before it (which holds later ones too)", async () => {
    const schema = uniqueSchema("statewait");
    const run = startSinger(configFor(schema, { encode_workers: 2, batch_size_rows: 7_000, max_batch_age_seconds: 0 }));
    // A blank line written on its own is a short read: it makes the pipeline hand on every complete line
    // it holds (see the burst test above for why that is needed).
    const nudge = async () => {
      await sleep(300);
      run.stdin.write("\n");
    };
    const part1: unknown[] = [schemaMsg("t", PROPS)];
    for (let i = 1; i <= 20_000; i++) part1.push(record("t", row(i)));
    part1.push(state({ n: 20_000 })); // needs the batch 14,001–21,000
    for (let i = 20_001; i <= 20_500; i++) part1.push(record("t", row(i)));
    run.stdin.write(jsonl(part1));
    const twoBatches = await waitFor(() => count(schema, "t").catch(() => -1), 14_000);
    await nudge();
    const held = await run.nextLine(2_500);
    const committedWhileHeld = await count(schema, "t");
    const part2: unknown[] = [];
    for (let i = 20_501; i <= 21_000; i++) part2.push(record("t", row(i)));
    run.stdin.write(jsonl(part2));
    await nudge();
    const released = await run.nextLine(10_000);
    const committedAtRelease = await count(schema, "t");
    const part3: unknown[] = [];
    for (let i = 21_001; i <= 40_000; i++) part3.push(record("t", row(i)));
    part3.push(state({ n: 40_000 }));
    run.stdin.end(jsonl(part3));
    const r = await run.done;
    expect(r.code, fail(r)).toBe(0);
    expect(seen.units).toBeGreaterThanOrEqual(8);
    expect(seen).toMatchObject({ encodedRows: 40_000, mainThreadRecords: 0 });
    expect(twoBatches).toBe(14_000);
    expect(held).toBeUndefined();
    expect(committedWhileHeld).toBe(14_000);
    expect(released && JSON.parse(released)).toEqual({ n: 20_000 });
    expect(committedAtRelease).toBe(21_000);
    expect(r.states).toEqual([{ n: 20_000 }, { n: 40_000 }]);
    expect(await idStats(schema, "t")).toEqual({ n: 40_000, sum: sumTo(40_000), distinct: 40_000 });
  });

  it("invalid JSON deep in the input (after a SCHEMA change): exit 1 naming the line, no STATE past it, no row after it", async () => {
    const schema = uniqueSchema("badjson");
    const msgs: unknown[] = [schemaMsg("t", PROPS)];
    const before: unknown[] = [];
    for (let i = 1; i <= 40_000; i++) {
      if (i === 9_001) msgs.push(schemaMsg("t", { ...PROPS, extra: { type: "string" } }));
      msgs.push(record("t", row(i)));
      if (i % 5_000 === 0) {
        msgs.push(state({ n: i }));
        if (i <= 25_000) before.push({ n: i });
      }
      if (i === 25_003) msgs.push('{"type": "RECORD", "stream": "t", "record": {"id": 0,');
    }
    const badLine = msgs.findIndex((m) => typeof m === "string") + 1;
    expect(badLine).toBe(1 + 1 + 25_003 + 5 + 1); // SCHEMA, SCHEMA, records, 5 STATEs, then the line
    // 64 KiB reads, as from a pipe (one big read hangs instead: see the next test)
    const r = await runChunked(configFor(schema, { encode_workers: 2, batch_size_rows: 7_000 }), Buffer.from(jsonl(msgs)), 64 * 1024);
    expect(r.code).toBe(1);
    expect(seen.units).toBeGreaterThanOrEqual(4);
    expect(seen.mainThreadRecords).toBe(0);
    expect(seen.encodedRows).toBeLessThanOrEqual(25_003);
    expect(fail(r)).toMatch(new RegExp(`line ${badLine}: invalid JSON .*\\{"type": "RECORD", "stream": "t", "record": \\{"id": 0,`));
    // committed: whole batches before the bad line, cut at 7,000 rows and at the SCHEMA change (9,000);
    // the batch 23,001–30,000 never fills
    const stats = await idStats(schema, "t");
    expect([0, 7_000, 9_000, 16_000, 23_000]).toContain(stats.n);
    expect(stats).toEqual({ n: stats.n, sum: sumTo(stats.n), distinct: stats.n });
    // states: a prefix of those before the line, each covered by committed rows; never {n: 25000} or later
    expect(r.states).toEqual(before.slice(0, r.states.length));
    for (const s of r.states as { n: number }[]) expect(s.n).toBeLessThanOrEqual(stats.n);
    expect(r.states).not.toContainEqual({ n: 25_000 });
  });

  // A failure while one big read is still being cut into units must end the run (regression: produce()
  // spun on a full slot). Run in a child process so a hang cannot stall this file.
  it("invalid JSON early in one big read: exit 1 naming the line (the run must not hang)", async () => {
    const msgs: unknown[] = [schemaMsg("t", PROPS)];
    for (let i = 1; i <= 40_000; i++) {
      msgs.push(record("t", row(i)));
      if (i === 3_000) msgs.push("{not json");
    }
    // 60 s: a hang detector (the regression spun forever), generous for a loaded machine.
    const r = await runInChild(configFor(uniqueSchema("spin"), { encode_workers: 2 }), Buffer.from(jsonl(msgs)), 60_000);
    expect(r.killed).toBe(false);
    expect(r.code).toBe(1);
    expect(r.stderr.join("\n")).toMatch(/line 3002: invalid JSON .*\{not json/);
    expect(r.states).toEqual([]);
  }, 120_000);
});

describe("encode workers: BATCH and bad bytes", () => {
  it("a Meltano BATCH file in the middle of a big input: all rows, later records win over BATCH rows, BATCH rows over earlier", async () => {
    const schema = uniqueSchema("batchmid");
    const dir = mkdtempSync(join(tmpdir(), "tr-encode-batch-"));
    const file = join(dir, "part.jsonl");
    // BATCH: ids 15,001–25,000
    writeFileSync(file, Array.from({ length: 10_000 }, (_, k) => JSON.stringify(row(15_001 + k, "-batch"))).join("\n"));
    const msgs: unknown[] = [schemaMsg("t", PROPS)];
    for (let i = 1; i <= 20_000; i++) msgs.push(record("t", row(i)));
    msgs.push(state({ n: "before batch" }));
    msgs.push({ type: "BATCH", stream: "t", encoding: { format: "jsonl" }, manifest: [`file://${file}`] });
    msgs.push(state({ n: "after batch" }));
    for (let i = 22_001; i <= 40_000; i++) msgs.push(record("t", row(i, "-late")));
    msgs.push(state({ n: "end" }));
    const r = await runSinger(configFor(schema, { encode_workers: 2 }), jsonl(msgs));
    rmSync(dir, { recursive: true, force: true });
    expect(r.code, fail(r)).toBe(0);
    expect(seen.units).toBeGreaterThanOrEqual(8);
    // the BATCH file's records are encoded by the main thread, everything else in units
    expect(seen).toMatchObject({ encodedRows: 38_000, mainThreadRecords: 10_000 });
    expect(r.states).toEqual([{ n: "before batch" }, { n: "after batch" }, { n: "end" }]);
    expect(await idStats(schema, "t")).toEqual({ n: 40_000, sum: sumTo(40_000), distinct: 40_000 });
    const kinds = await withPg(async (c) =>
      (
        await c.query(
          `SELECT CASE WHEN note LIKE '%-late' THEN 'late' WHEN note LIKE '%-batch' THEN 'batch' ELSE 'plain' END AS kind,
                  MIN(id) AS lo, MAX(id) AS hi, COUNT(*) AS n
           FROM "${schema}"."t" WHERE id % 10 <> 0 GROUP BY 1 ORDER BY 2`,
        )
      ).rows.map((x) => [x.kind, Number(x.lo), Number(x.hi), Number(x.n)]),
    );
    // ids with id % 10 = 0 have a NULL note; the others tell which record won
    expect(kinds).toEqual([
      ["plain", 1, 14_999, 13_500],
      ["batch", 15_001, 21_999, 6_300],
      ["late", 22_001, 39_999, 16_200],
    ]);
    const names = await withPg(async (c) => (await c.query(`SELECT id, name FROM "${schema}"."t" WHERE id IN (15000, 20000, 22000, 25000) ORDER BY id`)).rows);
    expect(names.map((x) => x.name as string).map((n) => n.split(" ")[0])).toEqual(["n15000", "n20000-batch", "n22000-batch", "n25000-late"]);
  });

  it("invalid UTF-8 deep in the input (and after a SCHEMA change): U+FFFD loaded, the warning names the lines", async () => {
    const schema = uniqueSchema("badutf8");
    const props = { id: { type: "integer" }, name: { type: "string" } };
    const parts: Buffer[] = [Buffer.from(jsonl([schemaMsg("t", props)]))];
    let line = 1;
    const badLines: number[] = [];
    for (let i = 1; i <= 30_000; i++) {
      if (i === 10_000) {
        parts.push(Buffer.from(jsonl([schemaMsg("t", { ...props, more: { type: "string" } })])));
        line++;
      }
      line++;
      if (i === 20_003 || i === 27_777) {
        badLines.push(line);
        parts.push(Buffer.from(`{"type":"RECORD","stream":"t","record":{"id":${i},"name":"bad `), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from(` ${"b".repeat(250)}"}}\n`));
      } else {
        parts.push(Buffer.from(`${JSON.stringify(record("t", { id: i, name: `ok ${i} ${"g".repeat(250)}` }))}\n`));
      }
    }
    const run = startSinger(configFor(schema, { encode_workers: 2 }));
    run.stdin.end(Buffer.concat(parts));
    const r = await run.done;
    expect(r.code, fail(r)).toBe(0);
    expect(seen.units).toBeGreaterThanOrEqual(4);
    expect(seen).toMatchObject({ encodedRows: 30_000, mainThreadRecords: 0 });
    expect(badLines).toEqual([20_005, 27_779]);
    expect(fail(r)).toMatch(/2 input lines were not valid UTF-8; their bad bytes were loaded as U\+FFFD \(lines 20005, 27779\)/);
    expect(await idStats(schema, "t")).toEqual({ n: 30_000, sum: sumTo(30_000), distinct: 30_000 });
    const bad = await withPg(async (c) => (await c.query(`SELECT id, name FROM "${schema}"."t" WHERE name LIKE 'bad %' ORDER BY id`)).rows);
    expect(bad.map((b) => [Number(b.id), b.name])).toEqual([
      [20_003, `bad \uFFFD(\uFFFD ${"b".repeat(250)}`],
      [27_777, `bad \uFFFD(\uFFFD ${"b".repeat(250)}`],
    ]);
  });

  const bigDoc = (i: number) => ({ i, items: Array.from({ length: 20_000 }, (_, k) => `item-${i}-${k}-${"d".repeat(100)}`) });
  function hugeLineInput(): Buffer {
    const msgs: unknown[] = [schemaMsg("t", { id: { type: "integer" }, doc: { type: "object" } })];
    for (let i = 1; i <= 2_000; i++) msgs.push(record("t", { id: i, doc: { small: i } }));
    msgs.push(record("t", { id: 2_001, doc: bigDoc(1) }), record("t", { id: 2_002, doc: bigDoc(2) }));
    for (let i = 2_003; i <= 4_000; i++) msgs.push(record("t", { id: i, doc: { small: i } }));
    msgs.push(state({ n: 4_000 }));
    return Buffer.from(jsonl(msgs));
  }
  async function expectHugeLinesLoaded(schema: string, r: { code: number; stderr: string[]; states: unknown[] }) {
    expect(r.code, fail(r)).toBe(0);
    expect(r.states).toEqual([{ n: 4_000 }]);
    expect(await idStats(schema, "t")).toEqual({ n: 4_000, sum: sumTo(4_000), distinct: 4_000 });
    const docs = await withPg(async (c) => (await c.query(`SELECT id, doc FROM "${schema}"."t" WHERE id IN (2001, 2002, 2003) ORDER BY id`)).rows);
    expect(docs.map((d) => (typeof d.doc === "string" ? JSON.parse(d.doc) : d.doc))).toEqual([bigDoc(1), bigDoc(2), { small: 2_003 }]);
  }

  it("lines longer than a unit (two consecutive 2.4 MB SUPER documents) in 64 KiB reads", async () => {
    // > 2 slots (2 × 1.06 MiB): the slot doubles twice for one line
    expect(JSON.stringify(bigDoc(1)).length).toBeGreaterThan(2_300_000);
    const schema = uniqueSchema("hugelines64k");
    const r = await runChunked(configFor(schema, { encode_workers: 2 }), hugeLineInput(), 64 * 1024);
    await expectHugeLinesLoaded(schema, r);
    expect(seen).toMatchObject({ encodedRows: 4_000, mainThreadRecords: 0 });
  });

  // The unfinished line carried over from a grown slot can be bigger than a normal slot (regression:
  // RangeError when one read held both 2.4 MB lines).
  it("lines longer than a unit (two consecutive 2.4 MB SUPER documents) in one big read", async () => {
    const schema = uniqueSchema("hugelines1");
    const run = startSinger(configFor(schema, { encode_workers: 2 }));
    run.stdin.end(hugeLineInput());
    const r = await run.done;
    await expectHugeLinesLoaded(schema, r);
  });
});
