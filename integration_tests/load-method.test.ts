/**
 * load_method (the Meltano SDK's setting): upsert (default), append-only (every record a row, keys or
 * not) and overwrite (this run's records replace the table in one swap at the end of a successful run).
 */
import { describe, expect, it } from "vitest";
import { columns, configFor, record, rows, runSinger, schemaMsg, startSinger, tableExists, uniqueSchema, writeLines } from "./helpers/target.js";

const lines = (...msgs: unknown[]) => msgs.map((m) => (typeof m === "string" ? m : JSON.stringify(m))).join("\n") + "\n";
const basic = { id: { type: "integer" }, name: { type: ["null", "string"] } };
const state = (value: unknown) => ({ type: "STATE", value });
const ids = async (schema: string) => (await rows(schema, "t", "id, name")).map((r) => [Number(r.id), r.name]);

describe("load_method", () => {
  it("upsert (default): one row per key", async () => {
    const schema = uniqueSchema("lmup");
    const r = await runSinger(configFor(schema), lines(schemaMsg("t", basic), record("t", { id: 1, name: "a" }), record("t", { id: 1, name: "b" })));
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(await ids(schema)).toEqual([[1, "b"]]);
  });

  it("append-only keeps every record of a keyed stream, across batches and runs (history table)", async () => {
    const schema = uniqueSchema("lmapp");
    const cfg = configFor(schema, { load_method: "append-only", batch_size_rows: 2 });
    const input = lines(schemaMsg("t", basic), record("t", { id: 1, name: "a" }), record("t", { id: 1, name: "b" }), record("t", { id: 2, name: "c" }));
    for (let run = 0; run < 2; run++) {
      const r = await runSinger(cfg, input);
      expect(r.code, r.stderr.join("\n")).toBe(0);
      expect(r.stderr.join("\n")).not.toMatch(/updated, [1-9]|[1-9]\d* updated/);
    }
    expect(await ids(schema)).toEqual([[1, "a"], [1, "a"], [1, "b"], [1, "b"], [2, "c"], [2, "c"]]);
  });

  it("overwrite replaces the table with this run's records; the STATE goes out only after the swap", async () => {
    const schema = uniqueSchema("lmow");
    expect((await runSinger(configFor(schema), lines(schemaMsg("t", basic), ...[1, 2, 3].map((id) => record("t", { id }))))).code).toBe(0);
    const r = await runSinger(
      configFor(schema, { load_method: "overwrite", batch_size_rows: 1 }),
      lines(schemaMsg("t", basic), record("t", { id: 4, name: "x" }), state({ n: 1 }), record("t", { id: 4, name: "y" }), record("t", { id: 5 }), state({ n: 3 })),
    );
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(await ids(schema)).toEqual([[4, "y"], [5, null]]);
    // Only the last STATE, after the swap: earlier ones covered rows a failure would have dropped.
    expect(r.states).toEqual([{ n: 3 }]);
    expect(await tableExists(schema, "t_tr_overwrite")).toBe(false);
    expect(r.stderr.join("\n")).toMatch(new RegExp(`summary: stream t → ${schema}\\.t: 3 records; 2 rows inserted, 1 updated`));
  });

  it("overwrite that fails mid-run leaves the old table untouched, no side table and no STATE", async () => {
    const schema = uniqueSchema("lmowfail");
    expect((await runSinger(configFor(schema), lines(schemaMsg("t", basic), ...[1, 2, 3].map((id) => record("t", { id }))))).code).toBe(0);
    const run = startSinger(configFor(schema, { load_method: "overwrite", batch_size_rows: 1 }));
    await writeLines(run.stdin, [schemaMsg("t", basic), record("t", { id: 7 }), record("t", { id: 8 }), state({ n: 2 })]);
    // Both batches committed into the side table before the failure.
    for (let i = 0; i < 200 && !run.stderr.some((l) => l.includes("committed batch 2 of stream t")); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await tableExists(schema, "t_tr_overwrite")).toBe(true);
    run.stdin.end("{not json\n");
    const r = await run.done;
    expect(r.code).toBe(1);
    expect(r.states).toEqual([]);
    expect(await ids(schema)).toEqual([[1, null], [2, null], [3, null]]);
    expect(await tableExists(schema, "t_tr_overwrite")).toBe(false);
  });

  it("overwrite of a table with more columns than the new schema: the table ends with the new schema's columns", async () => {
    const schema = uniqueSchema("lmowcols");
    const wide = { ...basic, extra: { type: ["null", "string"] }, more: { type: ["null", "integer"] } };
    expect((await runSinger(configFor(schema), lines(schemaMsg("t", wide), record("t", { id: 1, name: "a", extra: "e", more: 5 })))).code).toBe(0);
    const r = await runSinger(configFor(schema, { load_method: "overwrite" }), lines(schemaMsg("t", { id: { type: "integer" } }), record("t", { id: 9 })));
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(Object.keys(await columns(schema, "t"))).toEqual(["id"]);
    expect((await rows(schema, "t")).map((x) => Number(x.id))).toEqual([9]);
  });

  it("overwrite of a stream that sent a SCHEMA but no records empties its table", async () => {
    const schema = uniqueSchema("lmowempty");
    expect((await runSinger(configFor(schema), lines(schemaMsg("t", basic), record("t", { id: 1 })))).code).toBe(0);
    const r = await runSinger(configFor(schema, { load_method: "overwrite" }), lines(schemaMsg("t", basic), state({ done: true })));
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(await rows(schema, "t")).toEqual([]);
    expect(r.states).toEqual([{ done: true }]);
  });

  it("an unknown load_method is a config error", async () => {
    const r = await runSinger(configFor(uniqueSchema("lmbad"), { load_method: "replace" }), lines(schemaMsg("t", basic)));
    expect(r.code).toBe(1);
    expect(r.stderr.join("\n")).toMatch(/load_method/);
  });
});
