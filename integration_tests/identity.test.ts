/**
 * Issue 11, families 6 and 7: distinct things are never merged, names never crash or leak past 127
 * bytes, and the catalog's schemas are never targets.
 */
import pg from "pg";
import { describe, expect, it } from "vitest";
import { columns, configFor, record, rows, runSinger, schemaMsg, standIn, uniqueSchema } from "./helpers/target.js";

/** Rows read through the gateway: names of 64–127 bytes exist only as Redshift sees them. */
async function viaGateway(sql: string): Promise<Record<string, unknown>[]> {
  const s = standIn();
  const client = new pg.Client({ ...s.pg, host: s.gateway.host, port: s.gateway.port, ssl: s.gateway.caPem ? { ca: s.gateway.caPem } : undefined });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}
import { airbyteConfig, catalogOf, runAirbyte } from "./helpers/airbyte.js";

const lines = (...msgs: unknown[]) => msgs.map((m) => JSON.stringify(m)).join("\n") + "\n";
const state = (value: unknown) => ({ type: "STATE", value });
const keyed = { id: { type: "integer" }, v: { type: ["null", "string"] } };

describe("streams that normalise to one table", () => {
  it("R3 and r3 are refused with an error naming both; nothing of r3 is loaded", async () => {
    const schema = uniqueSchema("id_clash");
    const r = await runSinger(
      configFor(schema),
      lines(schemaMsg("R3", keyed), record("R3", { id: 1, v: "upper" }), state(1), schemaMsg("r3", keyed), record("r3", { id: 1, v: "lower" }), state(2)),
    );
    expect(r.code).toBe(1);
    expect(r.stderr.join("\n")).toMatch(/line 4 \(stream "r3"\): streams "R3" and "r3" would both load into table .*\.r3/);
    expect(r.states).not.toContainEqual(2);
    expect((await rows(schema, "r3", "id")).map((x) => x.v)).not.toContain("lower");
  });
});

describe("key values the key column cannot hold", () => {
  for (const workers of [0, 2]) {
    for (const bad of ["abc", 1.5]) {
      it(`${JSON.stringify(bad)} in an integer key fails naming stream, field and line (encode_workers ${workers}), no STATE past it`, async () => {
        const schema = uniqueSchema("id_key");
        const r = await runSinger(
          configFor(schema, { encode_workers: workers }),
          lines(schemaMsg("t", keyed), record("t", { id: 1, v: "a" }), state(1), record("t", { id: bad, v: "b" }), record("t", { id: "def", v: "c" }), state(2)),
        );
        expect(r.code).toBe(1);
        expect(r.stderr.join("\n")).toMatch(/line 4 \(stream "t"\).*field "id": expected an integer within BIGINT range/);
        expect(r.states).not.toContainEqual(2);
      });
    }
  }
  it("a non-key column keeps the default: NULL and recorded", async () => {
    const schema = uniqueSchema("id_nonkey");
    const r = await runSinger(configFor(schema), lines(schemaMsg("t", { id: { type: "integer" }, n: { type: "integer" } }), record("t", { id: 1, n: "abc" })));
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect((await rows(schema, "t", "id")).map((x) => x.n)).toEqual([null]);
  });
});

describe("internal names", () => {
  it("a property named _tr_ordinal in a keyed stream gets its own column", async () => {
    const schema = uniqueSchema("id_ord");
    const r = await runSinger(configFor(schema), lines(schemaMsg("t", { ...keyed, _tr_ordinal: { type: "integer" } }), record("t", { id: 1, v: "a", _tr_ordinal: 7 }), record("t", { id: 1, v: "b", _tr_ordinal: 8 })));
    expect(r.code, r.stderr.join("\n")).toBe(0);
    const cols = Object.keys(await columns(schema, "t"));
    const ordinal = cols.find((c) => c.startsWith("_tr_ordinal_"));
    expect(ordinal).toMatch(/^_tr_ordinal_[0-9a-f]{8}$/);
    expect((await rows(schema, "t", "id")).map((x) => [x.v, x[ordinal!]])).toEqual([["b", "8"]]);
  });

  it("a schema that declares _sdc_deleted_at gets no second _sdc_deleted_at_<hash>", async () => {
    const schema = uniqueSchema("id_sdc");
    const r = await runSinger(
      configFor(schema, { add_metadata_columns: true }),
      lines(schemaMsg("t", { ...keyed, _sdc_deleted_at: { type: ["null", "string"], format: "date-time" } }), record("t", { id: 1, v: "a", _sdc_deleted_at: "2024-01-01T00:00:00Z" })),
    );
    expect(r.code, r.stderr.join("\n")).toBe(0);
    const cols = Object.keys(await columns(schema, "t"));
    expect(cols.filter((c) => c.startsWith("_sdc_deleted_at"))).toEqual(["_sdc_deleted_at"]);
    expect((await rows(schema, "t", "id"))[0]!._sdc_deleted_at).not.toBeNull();
  });
});

describe("names cut at code points, internal names within 127 bytes", () => {
  it("a stream name with a non-BMP letter at its 100th character loads (no 'URI malformed')", async () => {
    const schema = uniqueSchema("id_bmp");
    const stream = `${"a".repeat(99)}𝐀𝐀`;
    const r = await runSinger(configFor(schema), lines(schemaMsg(stream, keyed), record(stream, { id: 1, v: "x" }), record(stream, { id: 1, v: "y" })));
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect((await viaGateway(`SELECT v FROM "${schema}"."${stream.toLowerCase()}" ORDER BY id`)).map((x) => x.v)).toEqual(["y"]);
  });

  it("63 × é (126 bytes) as table and column name: keyed load and a type migration work", async () => {
    const schema = uniqueSchema("id_long");
    const name = "é".repeat(63);
    const cfg = configFor(schema);
    const first = await runSinger(cfg, lines(schemaMsg(name, { id: { type: "integer" }, [name]: { type: "integer" } }), record(name, { id: 1, [name]: 5 })));
    expect(first.code, first.stderr.join("\n")).toBe(0);
    const r = await runSinger(cfg, lines(schemaMsg(name, { id: { type: "integer" }, [name]: { type: "string" } }), record(name, { id: 2, [name]: "x" })));
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect((await viaGateway(`SELECT "${name}" AS v FROM "${schema}"."${name}" ORDER BY id`)).map((x) => x.v)).toEqual(["5", "x"]);
  });
});

describe("system schemas are never targets", () => {
  for (const target of ["pg_catalog", "information_schema", "pg_temp_1"]) {
    it(`Singer: schema ${target} is refused`, async () => {
      const r = await runSinger(configFor(target), lines(schemaMsg("t", keyed), record("t", { id: 1 })));
      expect(r.code).toBe(1);
      expect(r.stderr.join("\n")).toMatch(new RegExp(`schema "${target}" is a Redshift system schema`));
    });
  }
  it("Airbyte: a namespace pg_catalog is refused before anything is written", async () => {
    const ns = uniqueSchema("id_ab");
    const catalog = catalogOf({ name: "t", namespace: "pg_catalog", schema: { type: "object", properties: { id: { type: "integer" } } }, mode: "append" });
    const r = await runAirbyte("write", { config: airbyteConfig(ns), catalog, input: [] });
    expect(r.code).not.toBe(0);
    expect(JSON.stringify(r.traces)).toMatch(/pg_catalog.*Redshift system schema/);
  });
});

describe("columns resolve against the columns the table already has", () => {
  it("a rerun that adds userid beside an existing UserId keeps UserId's values in UserId's column", async () => {
    const schema = uniqueSchema("id_cols");
    const cfg = configFor(schema);
    const first = await runSinger(cfg, lines(schemaMsg("t", { id: { type: "integer" }, UserId: { type: "string" } }), record("t", { id: 1, UserId: "from-UserId-1" })));
    expect(first.code, first.stderr.join("\n")).toBe(0);
    const second = await runSinger(
      cfg,
      lines(schemaMsg("t", { id: { type: "integer" }, UserId: { type: "string" }, userid: { type: "string" } }), record("t", { id: 2, UserId: "from-UserId-2", userid: "from-userid" })),
    );
    expect(second.code, second.stderr.join("\n")).toBe(0);
    const cols = Object.keys(await columns(schema, "t"));
    const other = cols.find((c) => c.startsWith("userid_"));
    expect(other).toMatch(/^userid_[0-9a-f]{8}$/);
    // a third run, properties in the other order: the same mapping
    const third = await runSinger(cfg, lines(schemaMsg("t", { id: { type: "integer" }, userid: { type: "string" }, UserId: { type: "string" } }), record("t", { id: 3, UserId: "from-UserId-3", userid: "from-userid-3" })));
    expect(third.code, third.stderr.join("\n")).toBe(0);
    expect((await rows(schema, "t", "id")).map((x) => [x.userid, x[other!]])).toEqual([
      ["from-UserId-1", null],
      ["from-UserId-2", "from-userid"],
      ["from-UserId-3", "from-userid-3"],
    ]);
  });

  it("a column's property survives a type migration", async () => {
    const schema = uniqueSchema("id_mig");
    const cfg = configFor(schema);
    expect((await runSinger(cfg, lines(schemaMsg("t", { id: { type: "integer" }, Amount: { type: "integer" } }), record("t", { id: 1, Amount: 5 })))).code).toBe(0);
    expect((await runSinger(cfg, lines(schemaMsg("t", { id: { type: "integer" }, Amount: { type: "string" } }), record("t", { id: 2, Amount: "x" })))).code).toBe(0);
    const r = await runSinger(cfg, lines(schemaMsg("t", { id: { type: "integer" }, amount: { type: "string" }, Amount: { type: "string" } }), record("t", { id: 3, Amount: "y", amount: "z" })));
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect((await rows(schema, "t", "id")).map((x) => x.amount)).toEqual(["5", "x", "y"]);
  });
});
