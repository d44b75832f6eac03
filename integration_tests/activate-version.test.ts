/**
 * Issue 11, family 5: ACTIVATE_VERSION is honoured for every stream that sends versions, with the
 * default config (no add_metadata_columns): the version columns are added, older versions retired.
 */
import { describe, expect, it } from "vitest";
import { columns, configFor, record, runSinger, schemaMsg, uniqueSchema, withPg } from "./helpers/target.js";

const lines = (...msgs: unknown[]) => msgs.map((m) => JSON.stringify(m)).join("\n") + "\n";
const props = { v: { type: "string" } };
const activate = (version: number) => ({ type: "ACTIVATE_VERSION", stream: "t", version });
/** One FULL_TABLE sync as pipelinewise-tap-postgres sends it: version first (first sync only), records, version last. */
const sync = (version: number, values: string[], announce: boolean) => [
  schemaMsg("t", props, []),
  ...(announce ? [activate(version)] : []),
  ...values.map((v) => record("t", { v }, { version })),
  activate(version),
  { type: "STATE", value: { version } },
];

async function live(schema: string): Promise<string[]> {
  return withPg(async (c) => {
    const cols = await columns(schema, "t");
    const where = "_sdc_deleted_at" in cols ? "WHERE _sdc_deleted_at IS NULL" : "";
    return (await c.query(`SELECT v FROM "${schema}"."t" ${where} ORDER BY v`)).rows.map((r) => r.v as string);
  });
}
async function all(schema: string): Promise<string[]> {
  return withPg(async (c) => (await c.query(`SELECT v FROM "${schema}"."t" ORDER BY v`)).rows.map((r) => r.v as string));
}

describe("ACTIVATE_VERSION with the default config", () => {
  it("a keyless FULL_TABLE stream synced twice holds only the latest sync (a, b then a, c → a, c live; older rows marked)", async () => {
    const schema = uniqueSchema("av_soft");
    const cfg = configFor(schema);
    const first = await runSinger(cfg, lines(...sync(1, ["a", "b"], true)));
    expect(first.code, first.stderr.join("\n")).toBe(0);
    const second = await runSinger(cfg, lines(...sync(2, ["a", "c"], false)));
    expect(second.code, second.stderr.join("\n")).toBe(0);
    expect(await live(schema)).toEqual(["a", "c"]);
    expect(await all(schema)).toEqual(["a", "a", "b", "c"]); // soft delete: the older sync is marked, not removed
    const cols = await columns(schema, "t");
    expect(cols._sdc_table_version).toBe("bigint");
    expect(cols._sdc_deleted_at).toBe("timestamp with time zone");
    expect(cols._sdc_received_at).toBeUndefined(); // only the columns versions need
    expect(second.states).toEqual([{ version: 2 }]);
  });

  it("with hard_delete the older sync's rows are gone", async () => {
    const schema = uniqueSchema("av_hard");
    const cfg = configFor(schema, { hard_delete: true });
    expect((await runSinger(cfg, lines(...sync(1, ["a", "b"], true)))).code).toBe(0);
    const second = await runSinger(cfg, lines(...sync(2, ["a", "c"], false)));
    expect(second.code, second.stderr.join("\n")).toBe(0);
    expect(await all(schema)).toEqual(["a", "c"]);
  });

  it("rows of a table loaded before the stream sent versions are older than its first version", async () => {
    const schema = uniqueSchema("av_before");
    const cfg = configFor(schema);
    expect((await runSinger(cfg, lines(schemaMsg("t", props, []), record("t", { v: "old" })))).code).toBe(0);
    const r = await runSinger(cfg, lines(...sync(5, ["new"], true)));
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(await live(schema)).toEqual(["new"]);
  });

  it("records with a version but no ACTIVATE_VERSION before them (line path): versions still kept", async () => {
    const schema = uniqueSchema("av_late");
    const cfg = configFor(schema, { encode_workers: 0 });
    expect((await runSinger(cfg, lines(...sync(1, ["a", "b"], false)))).code).toBe(0);
    expect(await live(schema)).toEqual(["a", "b"]);
    expect((await runSinger(cfg, lines(...sync(2, ["c"], false)))).code).toBe(0);
    expect(await live(schema)).toEqual(["c"]);
  });

  it("rows loaded this run before the first version cannot be told apart: nothing retired, and the log says so", async () => {
    const schema = uniqueSchema("av_mixed");
    const cfg = configFor(schema);
    expect((await runSinger(cfg, lines(schemaMsg("t", props, []), record("t", { v: "old" })))).code).toBe(0);
    const r = await runSinger(cfg, lines(schemaMsg("t", props, []), record("t", { v: "unversioned" }), { type: "STATE", value: 1 }, activate(3)));
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(await live(schema)).toEqual(["old", "unversioned"]);
    expect(r.stderr.join("\n")).toMatch(/1 rows of this run were loaded before the stream's first version .* no rows retired/);
  });
});
