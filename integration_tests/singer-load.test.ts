/**
 * The Singer load path beyond the conformance files: STATE timing against live input, flush triggers,
 * schema evolution, VARCHAR widening, metadata columns, deletes, ACTIVATE_VERSION, BATCH, bad input.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { columns, configFor, count, record, rows, runSinger, schemaMsg, startSinger, tableExists, uniqueSchema, writeLines } from "./helpers/target.js";

const state = (value: unknown) => ({ type: "STATE", value });
/** Rows with timestamps and dates as the text PostgreSQL stores (no JavaScript Date rounding to ms). */
async function withPgRows(schema: string): Promise<Record<string, unknown>[]> {
  const { withPg } = await import("./helpers/target.js");
  return withPg(async (c) => {
    const cols = (await c.query("SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 't' ORDER BY ordinal_position", [schema])).rows.map((x) => x.column_name as string);
    const select = cols.map((col) => (col === "obj" || col === "_sdc_value_changes" ? `"${col}"` : `"${col}"::text AS "${col}"`)).join(", ");
    return (await c.query(`SELECT ${select} FROM "${schema}"."t"`)).rows;
  });
}
const lines = (...msgs: unknown[]) => msgs.map((m) => (typeof m === "string" ? m : JSON.stringify(m))).join("\n") + "\n";

const basic = { id: { type: "integer" }, name: { type: ["null", "string"] } };

describe("STATE timing", () => {
  it("a STATE goes out only after the records before it are committed, and they are queryable then", async () => {
    const schema = uniqueSchema("timing");
    const run = startSinger(configFor(schema, { max_batch_age_seconds: 1 }));
    await writeLines(run.stdin, [schemaMsg("t", basic), record("t", { id: 1 }), record("t", { id: 2 }), record("t", { id: 3 }), state({ n: 3 })]);
    expect(JSON.parse((await run.nextLine())!)).toEqual({ n: 3 });
    expect(await count(schema, "t")).toBe(3);
    await writeLines(run.stdin, [record("t", { id: 4 }), record("t", { id: 5 }), state({ n: 5 })]);
    expect(JSON.parse((await run.nextLine())!)).toEqual({ n: 5 });
    expect(await count(schema, "t")).toBe(5);
    run.stdin.end();
    const r = await run.done;
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(r.states).toEqual([{ n: 3 }, { n: 5 }]);
  });

  it("no STATE while its records are only buffered; end of input flushes and releases it", async () => {
    const schema = uniqueSchema("held");
    const run = startSinger(configFor(schema, { max_batch_age_seconds: 0 }));
    await writeLines(run.stdin, [schemaMsg("t", basic), record("t", { id: 1 }), record("t", { id: 2 }), state({ n: 2 })]);
    expect(await run.nextLine(1500)).toBeUndefined();
    expect(await count(schema, "t")).toBe(0);
    run.stdin.end();
    const r = await run.done;
    expect(r.states).toEqual([{ n: 2 }]);
    expect(await count(schema, "t")).toBe(2);
  });

  it("a STATE with nothing pending goes out at once; identical consecutive states once", async () => {
    const schema = uniqueSchema("early");
    const run = startSinger(configFor(schema, { max_batch_age_seconds: 0 }));
    await writeLines(run.stdin, [state({ a: 1 })]);
    expect(JSON.parse((await run.nextLine())!)).toEqual({ a: 1 });
    await writeLines(run.stdin, [state({ a: 1 }), state({ a: 2 })]);
    expect(JSON.parse((await run.nextLine())!)).toEqual({ a: 2 });
    run.stdin.end();
    expect((await run.done).states).toEqual([{ a: 1 }, { a: 2 }]);
  });

  it("batch_size_rows seals full batches and releases the STATE without waiting for input to end", async () => {
    const schema = uniqueSchema("rows");
    const run = startSinger(configFor(schema, { batch_size_rows: 2, max_batch_age_seconds: 0 }));
    await writeLines(run.stdin, [schemaMsg("t", basic), ...[1, 2, 3, 4].map((id) => record("t", { id })), state({ n: 4 })]);
    expect(JSON.parse((await run.nextLine())!)).toEqual({ n: 4 });
    expect(await count(schema, "t")).toBe(4);
    run.stdin.end();
    expect((await run.done).code).toBe(0);
  });

  it("batches of one stream commit in order while the next one is already COPYing: the last update wins", async () => {
    const schema = uniqueSchema("order");
    const updates = Array.from({ length: 20 }, (_, i) => record("t", { id: 1, name: `v${i}` }));
    const r = await runSinger(configFor(schema, { batch_size_rows: 1 }), lines(schemaMsg("t", basic), ...updates, state({ n: 20 })));
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect((await rows(schema, "t")).map((d) => d.name)).toEqual(["v19"]);
    const log = r.stderr.join("\n");
    expect(log.match(/: 1 records → 1 rows inserted, 0 updated, 0 deleted/g)).toHaveLength(1);
    expect(log.match(/: 1 records → 0 rows inserted, 1 updated, 0 deleted/g)).toHaveLength(19);
    expect(r.states).toEqual([{ n: 20 }]);
  });

  it("a failure keeps earlier committed batches and their STATE, emits no STATE past it", async () => {
    const schema = uniqueSchema("fail");
    const run = startSinger(configFor(schema, { max_batch_age_seconds: 1 }));
    await writeLines(run.stdin, [schemaMsg("t", basic), record("t", { id: 1 }), state({ n: 1 })]);
    expect(JSON.parse((await run.nextLine())!)).toEqual({ n: 1 });
    await writeLines(run.stdin, [record("t", { id: 2 }), state({ n: 2 }), "{not json"]);
    run.stdin.end();
    const r = await run.done;
    expect(r.code).toBe(1);
    expect(r.states).toEqual([{ n: 1 }]);
    expect(r.stderr.join("\n")).toMatch(/line 6: invalid JSON .*: \{not json/);
    expect(await count(schema, "t")).toBe(1);
  });
});

describe("bad input", () => {
  const cases: [string, string, RegExp][] = [
    ["invalid JSON", '{"type": "SCHEMA", ', /line 1: invalid JSON/],
    ["no type", '{"stream": "t"}', /line 1: message has no "type"/],
    ["unknown type", '{"type": "BOGUS"}', /line 1: unknown message type "BOGUS"/],
    ["not an object", "[1,2]", /line 1: expected a JSON object message/],
    ["SCHEMA without properties", JSON.stringify({ type: "SCHEMA", stream: "t", schema: {}, key_properties: [] }), /line 1 \(stream "t"\): invalid SCHEMA message/],
    ["key property not in schema", JSON.stringify(schemaMsg("t", basic, ["nope"])), /line 1: stream "t": key properties "nope" are not in the schema/],
    ["RECORD without record", JSON.stringify({ type: "RECORD", stream: "t" }), /line 1: RECORD whose record is not a JSON object/],
  ];
  for (const [name, line, pattern] of cases) {
    it(`${name}: clear error, exit 1, no STATE`, async () => {
      const r = await runSinger(configFor(uniqueSchema("bad")), `${line}\n${JSON.stringify(state({ x: 1 }))}\n`);
      expect(r.code).toBe(1);
      expect(r.stderr.join("\n")).toMatch(pattern);
      expect(r.states).toEqual([]);
    });
  }

  it("an unreadable config names the file", async () => {
    const { main } = await import("../src/cli.js");
    const err: string[] = [];
    const code = await main(["--config", "/nonexistent/config.json"], { stdin: [], stdout: () => {}, stderr: (l) => err.push(l) });
    expect(code).toBe(1);
    expect(err.join("\n")).toMatch(/\/nonexistent\/config.json/);
  });

  it("secrets never appear in the output, even in errors", async () => {
    const secret = "sUp3r-s3cret-pa55word";
    const r = await runSinger(configFor(uniqueSchema("secret"), { password: secret, port: 1 }), lines(schemaMsg("t", basic)));
    expect(r.code).toBe(1);
    expect([...r.stderr, ...r.stdout].join("\n")).not.toContain(secret);
  });
});

describe("schema evolution and values", () => {
  it("a later SCHEMA adds a column; earlier rows keep NULL there", async () => {
    const schema = uniqueSchema("evolve");
    const r = await runSinger(
      configFor(schema),
      lines(
        schemaMsg("t", basic),
        record("t", { id: 1, name: "a" }),
        schemaMsg("t", { ...basic, extra: { type: "boolean" } }),
        record("t", { id: 2, name: "b", extra: true }),
      ),
    );
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(await rows(schema, "t", "id")).toEqual([
      { id: "1", name: "a", extra: null },
      { id: "2", name: "b", extra: true },
    ]);
  });

  it("a string column grows from 10 to 70,000 bytes across batches: widened, then truncated at 65535 bytes", async () => {
    const schema = uniqueSchema("widen");
    const sizes = [10, 300, 5000, 70000];
    const r = await runSinger(
      configFor(schema, { batch_size_rows: 1 }),
      lines(schemaMsg("t", { id: { type: "integer" }, s: { type: "string" } }), ...sizes.map((n, i) => record("t", { id: i, s: "é".repeat(n / 2) }))),
    );
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect((await columns(schema, "t")).s).toBe("character varying(65535)");
    const data = await rows(schema, "t", "id");
    expect(data.map((d) => Buffer.byteLength(d.s as string))).toEqual([10, 300, 5000, 65534]);
    expect(r.stderr.join("\n")).toMatch(/s: TRUNCATED \(DESTINATION_FIELD_SIZE_LIMITATION\)/);
  });

  it("string values with line breaks in a batch that spills and is split into parts: every row, exact (workers and line path)", async () => {
    // ~3.3 MB of CSV: over one 1 MiB chunk (spilled to disk), split into slice-count parts at the end.
    const value = (i: number) => `line1\nline2\r\n"quoted" ${i} ${"x".repeat(1000)}\n`;
    const input = lines(schemaMsg("t", { id: { type: "integer" }, s: { type: "string" } }), ...Array.from({ length: 3_000 }, (_, i) => record("t", { id: i, s: value(i) })));
    for (const workers of [2, 0]) {
      const schema = uniqueSchema(`nlspill${workers}`);
      const r = await runSinger(configFor(schema, { encode_workers: workers }), input);
      expect(r.code, r.stderr.join("\n")).toBe(0);
      const data = await rows(schema, "t", "id");
      expect(data).toHaveLength(3_000);
      for (const d of data) expect(d.s).toBe(value(Number(d.id)));
    }
  });

  it("a column changes from integer to string mid-stream: migrated in place, no value lost", async () => {
    const schema = uniqueSchema("retype");
    const r = await runSinger(
      configFor(schema),
      lines(
        schemaMsg("t", { id: { type: "integer" }, code: { type: "integer" }, flag: { type: "boolean" } }),
        record("t", { id: 1, code: 42, flag: true }),
        schemaMsg("t", { id: { type: "integer" }, code: { type: "string" }, flag: { type: "string" } }),
        record("t", { id: 2, code: "A-7", flag: "maybe" }),
      ),
    );
    expect(r.code, r.stderr.join("\n")).toBe(0);
    const cols = await columns(schema, "t");
    expect(cols.code).toBe("character varying(256)");
    expect(cols.flag).toBe("character varying(256)");
    expect((await rows(schema, "t", "id")).map((d) => [d.code, d.flag])).toEqual([
      ["42", "true"],
      ["A-7", "maybe"],
    ]);
  });

  it("a narrowing schema keeps the wider column and its values", async () => {
    const schema = uniqueSchema("narrow");
    const cfg = configFor(schema);
    expect((await runSinger(cfg, lines(schemaMsg("t", { id: { type: "integer" }, v: { type: "string" } }), record("t", { id: 1, v: "x" })))).code).toBe(0);
    const r = await runSinger(cfg, lines(schemaMsg("t", { id: { type: "integer" }, v: { type: "integer" } }), record("t", { id: 2, v: 5 })));
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect((await columns(schema, "t")).v).toBe("character varying(256)");
    expect((await rows(schema, "t", "id")).map((d) => d.v)).toEqual(["x", "5"]);
  });

  it("a NULL key value upserts NULL-safely across runs (rule 22), with MERGE and DELETE+INSERT", async () => {
    for (const strategy of ["merge", "delete_insert"]) {
      const schema = uniqueSchema("nullkey");
      const cfg = configFor(schema, { upsert_strategy: strategy });
      const keyed = { a: { type: ["null", "integer"] }, b: { type: "string" }, v: { type: "string" } };
      for (const v of ["first", "second"]) {
        const r = await runSinger(cfg, lines(schemaMsg("t", keyed, ["a", "b"]), record("t", { a: null, b: "x", v }), record("t", { a: 1, b: "x", v })));
        expect(r.code, r.stderr.join("\n")).toBe(0);
      }
      expect((await rows(schema, "t", "a")).map((d) => [d.a, d.v])).toEqual([
        ["1", "second"],
        [null, "second"],
      ]);
    }
  });

  it("a property dropped from a newer schema keeps its column; new rows get NULL there", async () => {
    const schema = uniqueSchema("dropped");
    const r = await runSinger(
      configFor(schema),
      lines(schemaMsg("t", { ...basic, gone: { type: "string" } }), record("t", { id: 1, gone: "kept" }), schemaMsg("t", basic), record("t", { id: 2, gone: "ignored" })),
    );
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect((await rows(schema, "t", "id")).map((d) => d.gone)).toEqual(["kept", null]);
  });

  it("invalid UTF-8 in the input is loaded as U+FFFD with a warning naming the line", async () => {
    const schema = uniqueSchema("utf8");
    const bad = Buffer.concat([Buffer.from('{"type":"RECORD","stream":"t","record":{"id":1,"name":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}}\n')]);
    const input = Buffer.concat([Buffer.from(lines(schemaMsg("t", basic))), bad]).toString("latin1");
    const { startSinger } = await import("./helpers/target.js");
    const run = startSinger(configFor(schema));
    run.stdin.end(Buffer.from(input, "latin1"));
    const r = await run.done;
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect((await rows(schema, "t"))[0]!.name).toBe("\uFFFD(");
    expect(r.stderr.join("\n")).toMatch(/1 input lines were not valid UTF-8; their bad bytes were loaded as U\+FFFD \(lines 2\)/);
  });

  it("bare NaN / Infinity from Python taps never fail the sync: NULL and recorded, or a clear error on request", async () => {
    const props = { id: { type: "integer" }, x: { type: "number" }, n: { type: "integer" }, s: { type: "string" } };
    const input = `${JSON.stringify(schemaMsg("t", props))}\n{"type": "RECORD", "stream": "t", "record": {"id": 1, "x": NaN, "n": -Infinity, "s": "NaN is fine here"}}\n{"type": "RECORD", "stream": "t", "record": {"id": 2, "x": Infinity, "n": 3, "s": "ok"}}\n`;
    const schema = uniqueSchema("nan");
    const r = await runSinger(configFor(schema, { add_metadata_columns: true }), input);
    expect(r.code, r.stderr.join("\n")).toBe(0);
    const data = await rows(schema, "t", "id");
    expect(data.map((d) => [d.x, d.n, d.s])).toEqual([
      [null, null, "NaN is fine here"],
      [null, "3", "ok"],
    ]);
    expect(data[0]!._sdc_value_changes).toEqual([
      { field: "x", change: "NULLED", reason: "DESTINATION_SERIALIZATION_ERROR" },
      { field: "n", change: "NULLED", reason: "DESTINATION_SERIALIZATION_ERROR" },
    ]);
    expect(r.stderr.join("\n")).toMatch(/2 input lines carried bare NaN\/Infinity/);

    const strict = await runSinger(configFor(uniqueSchema("nanfail"), { invalid_value: "fail" }), input);
    expect(strict.code).toBe(1);
    expect(strict.stderr.join("\n")).toMatch(/line 2 \(stream "t"\): field "x": expected a finite number, got "NaN"/);
  });

  it("a key with a NUL character fails the run naming line, stream and field (removing it would merge \"x\\u0000y\" and \"xy\"); on both paths", async () => {
    const props = { k: { type: "string" }, v: { type: ["null", "string"] } };
    const input = `${JSON.stringify({ ...schemaMsg("t", props), key_properties: ["k"] })}\n${JSON.stringify(record("t", { k: "xy", v: "a" }))}\n${JSON.stringify(record("t", { k: "x\u0000y", v: "b" }))}\n`;
    for (const workers of [0, 2]) {
      const r = await runSinger(configFor(uniqueSchema(`nulkey${workers}`), { encode_workers: workers }), input);
      expect(r.code).toBe(1);
      expect(r.stderr.join("\n")).toMatch(/line 3 \(stream "t"\): field "k": expected text without NUL characters/);
    }
  });

  it("every value Redshift cannot hold, on the stand-in: fixed by policy, values as expected, changes recorded", async () => {
    const schema = uniqueSchema("hazards");
    const props = {
      id: { type: "integer" },
      obj: { type: "object" },
      dec: { type: "number" },
      ts: { type: "string", format: "date-time" },
      ts_local: { type: "string", format: "date-time" },
      old: { type: "string", format: "date-time" },
      far: { type: "string", format: "date-time" },
      day: { type: "string", format: "date" },
      notdate: { type: "string", format: "date-time" },
      big: { type: "integer" },
    };
    const r = await runSinger(
      configFor(schema, { add_metadata_columns: true, type_mapping: { number: "NUMERIC(38,2)", datetime: "TIMESTAMP" } }),
      lines(
        schemaMsg("t", props),
        record("t", {
          id: 1,
          obj: { inner: "x".repeat(70000) }, // a string inside SUPER over 65535 bytes
          dec: 1e40, // beyond NUMERIC(38,2)
          ts: "2024-05-06T07:08:09.123456789Z", // sub-microsecond
          ts_local: "2024-05-06T23:30:00-02:00", // a non-UTC offset into TIMESTAMP
          old: "0999-01-02T03:04:05Z", // a year below 1000
          far: "300000-01-01T00:00:00Z", // beyond 294276 AD
          day: "2023-02-29", // no such date
          notdate: "yesterday", // not a date-time in a date-time column
          big: 1e19, // outside BIGINT
        }),
      ),
    );
    expect(r.code, r.stderr.join("\n")).toBe(0);
    const [row] = await withPgRows(schema);
    expect(row).toMatchObject({
      obj: null,
      dec: null,
      ts: "2024-05-06 07:08:09.123456",
      ts_local: "2024-05-07 01:30:00",
      old: "0999-01-02 03:04:05",
      far: null,
      day: null,
      notdate: null,
      big: null,
    });
    const changed = (row!._sdc_value_changes as { field: string; change: string }[]).map((c) => `${c.field}:${c.change}`);
    expect(changed.sort()).toEqual(["big:NULLED", "day:NULLED", "dec:NULLED", "far:NULLED", "notdate:NULLED", "obj:NULLED", "ts:TRUNCATED"]);
  });

  it("NULL and the empty string stay distinct; quotes, commas, newlines survive", async () => {
    const schema = uniqueSchema("csv");
    const values = [null, "", "\\N", 'a "quoted", value', "line1\nline2\r\n", "tab\there"];
    const r = await runSinger(configFor(schema), lines(schemaMsg("t", basic), ...values.map((name, id) => record("t", { id, name }))));
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect((await rows(schema, "t", "id")).map((d) => d.name)).toEqual(values);
  });

  it("types: timestamps to UTC, dates, booleans, numbers, nested objects", async () => {
    const schema = uniqueSchema("types");
    const props = {
      id: { type: "integer" },
      at: { type: "string", format: "date-time" },
      day: { type: "string", format: "date" },
      ok: { type: "boolean" },
      x: { type: "number" },
      obj: { type: "object", properties: { a: { type: "integer" } } },
    };
    const r = await runSinger(
      configFor(schema),
      lines(schemaMsg("t", props), record("t", { id: 1, at: "2024-01-02T03:04:05.123456+02:00", day: "2024-02-29", ok: false, x: 1.5, obj: { a: 1, b: [1, "x"] } })),
    );
    expect(r.code, r.stderr.join("\n")).toBe(0);
    const [row] = await rows(schema, "t");
    expect((row!.at as Date).toISOString()).toBe("2024-01-02T01:04:05.123Z");
    expect(row!.ok).toBe(false);
    expect(row!.x).toBe(1.5);
    expect(row!.obj).toEqual({ a: 1, b: [1, "x"] });
  });
});

describe("metadata, deletes, versions, BATCH", () => {
  it("add_metadata_columns fills _sdc_* columns", async () => {
    const schema = uniqueSchema("meta");
    const r = await runSinger(
      configFor(schema, { add_metadata_columns: true }),
      lines(schemaMsg("t", basic), record("t", { id: 1 }, { time_extracted: "2024-05-01T00:00:00Z", version: 7 })),
    );
    expect(r.code, r.stderr.join("\n")).toBe(0);
    const [row] = await rows(schema, "t");
    expect((row!._sdc_extracted_at as Date).toISOString()).toBe("2024-05-01T00:00:00.000Z");
    expect(row!._sdc_received_at).toBeInstanceOf(Date);
    expect(row!._sdc_batched_at).toBeInstanceOf(Date);
    expect(row!._sdc_deleted_at).toBeNull();
    expect(Number(row!._sdc_sequence)).toBeGreaterThan(0);
    expect(Number(row!._sdc_table_version)).toBe(7);
    expect(row!._sdc_value_changes).toBeNull();
  });

  it("_sdc_sequence is distinct and increasing in input order within a run and across runs (exact BIGINT)", async () => {
    const schema = uniqueSchema("seq");
    const cfg = configFor(schema, { add_metadata_columns: true, batch_size_rows: 3 });
    for (const ids of [[1, 2, 3, 4, 5, 6, 7], [8, 9, 10, 11, 12]]) {
      const r = await runSinger(cfg, lines(schemaMsg("t", basic, []), ...ids.map((id) => record("t", { id }))));
      expect(r.code, r.stderr.join("\n")).toBe(0);
    }
    const { withPg } = await import("./helpers/target.js");
    const seq = await withPg(async (c) => (await c.query(`SELECT _sdc_sequence::text AS s FROM "${schema}".t ORDER BY id`)).rows.map((x) => BigInt(x.s as string)));
    expect(seq).toHaveLength(12);
    for (let i = 1; i < seq.length; i++) expect(seq[i]! > seq[i - 1]!, `row ${i + 1}: ${seq[i]} after ${seq[i - 1]}`).toBe(true);
    // Past 2^53: Number arithmetic would have rounded these to multiples of 256.
    expect(seq[0]! > 2n ** 53n).toBe(true);
  });

  it("with metadata columns, each changed value is recorded in _sdc_value_changes", async () => {
    const schema = uniqueSchema("changes");
    const r = await runSinger(
      configFor(schema, { add_metadata_columns: true }),
      lines(schemaMsg("t", { id: { type: "integer" }, s: { type: "string" }, n: { type: "integer" } }), record("t", { id: 1, s: "x".repeat(70000), n: 1e300 })),
    );
    expect(r.code, r.stderr.join("\n")).toBe(0);
    const [row] = await rows(schema, "t");
    expect(row!._sdc_value_changes).toEqual([
      { field: "s", change: "TRUNCATED", reason: "DESTINATION_FIELD_SIZE_LIMITATION" },
      { field: "n", change: "NULLED", reason: "DESTINATION_SERIALIZATION_ERROR" },
    ]);
    expect(row!.n).toBeNull();
  });

  it("hard_delete removes rows whose _sdc_deleted_at is set", async () => {
    const schema = uniqueSchema("hard");
    const cfg = configFor(schema, { hard_delete: true });
    expect((await runSinger(cfg, lines(schemaMsg("t", basic), record("t", { id: 1 }), record("t", { id: 2 })))).code).toBe(0);
    const r = await runSinger(cfg, lines(schemaMsg("t", basic), record("t", { id: 2, _sdc_deleted_at: "2024-01-01T00:00:00Z" }), record("t", { id: 3 })));
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect((await rows(schema, "t", "id")).map((x) => Number(x.id))).toEqual([1, 3]);
  });

  it("ACTIVATE_VERSION: older versions soft-deleted, or removed with hard_delete", async () => {
    for (const hard of [false, true]) {
      const schema = uniqueSchema("version");
      const cfg = configFor(schema, { add_metadata_columns: true, hard_delete: hard });
      const v = (version: number, ids: number[]) => [
        ...ids.map((id) => record("t", { id }, { version })),
        { type: "ACTIVATE_VERSION", stream: "t", version },
      ];
      const r = await runSinger(cfg, lines(schemaMsg("t", basic, []), ...v(1, [1, 2]), ...v(2, [3])));
      expect(r.code, r.stderr.join("\n")).toBe(0);
      const data = await rows(schema, "t", "id");
      if (hard) expect(data.map((x) => Number(x.id))).toEqual([3]);
      else expect(data.map((x) => [Number(x.id), x._sdc_deleted_at === null])).toEqual([[1, false], [2, false], [3, true]]);
    }
  });

  it("Meltano BATCH messages with gzip JSONL files are loaded", async () => {
    const schema = uniqueSchema("batch");
    const dir = mkdtempSync(join(tmpdir(), "tr-batch-"));
    const file = join(dir, "part.jsonl.gz");
    writeFileSync(file, gzipSync([1, 2, 3].map((id) => JSON.stringify({ id, name: `n${id}` })).join("\n")));
    const r = await runSinger(
      configFor(schema),
      lines(schemaMsg("t", basic), { type: "BATCH", stream: "t", encoding: { format: "jsonl", compression: "gzip" }, manifest: [`file://${file}`] }, state({ b: 1 })),
    );
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(await count(schema, "t")).toBe(3);
    expect(r.states).toEqual([{ b: 1 }]);
  });

  it("a BATCH file that cannot be read (missing, or not gzip): exit 1 naming the file, no STATE past it, for gzip and plain", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tr-batch-"));
    const notGzip = join(dir, "plain.jsonl.gz");
    writeFileSync(notGzip, '{"id":1}\n');
    for (const [compression, file, cause] of [
      ["gzip", join(dir, "missing.jsonl.gz"), /ENOENT/],
      ["none", join(dir, "missing.jsonl"), /ENOENT/],
      ["gzip", notGzip, /incorrect header check/],
    ] as const) {
      const schema = uniqueSchema("batchbad");
      const r = await runSinger(
        configFor(schema),
        lines(schemaMsg("t", basic), record("t", { id: 1 }), state({ a: 1 }), { type: "BATCH", stream: "t", encoding: { format: "jsonl", compression }, manifest: [`file://${file}`] }, state({ b: 1 })),
      );
      expect(r.code, `${compression} ${file}`).toBe(1);
      const text = r.stderr.join("\n");
      expect(text).toMatch(cause);
      expect(text).toContain(file);
      expect(r.states).not.toContainEqual({ b: 1 });
    }
  });

  it("a bad record in a BATCH file is named by its own line in the file: invalid JSON, nested too deep, a key its column cannot hold", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tr-batch-"));
    const deep = `${"[".repeat(100_000)}12345678901234567890${"]".repeat(100_000)}`;
    for (const [bad, cause] of [
      ["{oops", /invalid JSON/],
      [`{"id":3,"name":${deep}}`, /a value nested too deeply to handle/],
      ['{"id":"x"}', /field "id": expected/],
    ] as const) {
      // Six lines, the bad one third, read in one chunk (the splitter's count is past it by then).
      const file = join(dir, `b${Math.random().toString(36).slice(2)}.jsonl`);
      writeFileSync(file, ['{"id":1}', '{"id":2}', bad, '{"id":4}', '{"id":5}', '{"id":6}'].join("\n") + "\n");
      const schema = uniqueSchema("batchline");
      const r = await runSinger(
        configFor(schema),
        lines(schemaMsg("t", basic), state({ a: 1 }), { type: "BATCH", stream: "t", encoding: { format: "jsonl", compression: "none" }, manifest: [`file://${file}`] }, state({ b: 1 })),
      );
      expect(r.code, String(cause)).toBe(1);
      const text = r.stderr.join("\n");
      expect(text).toContain(`line 3 (stream "t"): BATCH file file://${file} line 3: `);
      expect(text).toMatch(cause);
      expect(text).not.toMatch(/cannot be read/);
      expect(r.states).not.toContainEqual({ b: 1 });
    }
  });

  it("stream_mapping sends a stream to another schema and table", async () => {
    const schema = uniqueSchema("mapped");
    const other = uniqueSchema("other");
    const r = await runSinger(configFor(schema, { stream_mapping: { "public-users": { schema: other, table: "people" } } }), lines(schemaMsg("public-users", basic), record("public-users", { id: 1 })));
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(await count(other, "people")).toBe(1);
    expect(await tableExists(schema, "public_users")).toBe(false);
  });
});
