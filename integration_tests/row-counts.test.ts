/**
 * Counts that mean rows: each committed batch and the end-of-run summary report the target rows inserted,
 * updated and deleted after dedup (from the load statements' own results), beside the records received.
 */
import { describe, expect, it } from "vitest";
import { configFor, count, record, runSinger, schemaMsg, uniqueSchema } from "./helpers/target.js";

const lines = (...msgs: unknown[]) => msgs.map((m) => JSON.stringify(m)).join("\n") + "\n";
const basic = { id: { type: "integer" }, name: { type: ["null", "string"] } };
const deletable = { ...basic, _sdc_deleted_at: { type: ["null", "string"], format: "date-time" } };

/** The fields of every "committed batch" line and of the summary line, from a Singer run's stderr. */
function counts(stderr: string[]) {
  const fields = (l: string) => JSON.parse(l.slice(l.indexOf(" {") + 1)) as Record<string, number>;
  const batches = stderr.filter((l) => l.includes(" committed batch ")).map(fields).map((f) => [f.records, f.inserted, f.updated, f.deleted]);
  const summaries = stderr.filter((l) => l.includes(" summary: stream ")).map(fields).map((f) => [f.records, f.inserted, f.updated, f.deleted]);
  return { batches, summaries };
}

describe.each(["merge", "delete_insert"])("rows inserted / updated / deleted (upsert_strategy %s)", (strategy) => {
  it("in-batch duplicates count once: 5 records of 3 keys insert 3 rows", async () => {
    const schema = uniqueSchema("cdup");
    const ids = [1, 2, 1, 3, 2];
    const r = await runSinger(configFor(schema, { upsert_strategy: strategy }), lines(schemaMsg("t", basic), ...ids.map((id) => record("t", { id }))));
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(counts(r.stderr)).toEqual({ batches: [[5, 3, 0, 0]], summaries: [[5, 3, 0, 0]] });
    expect(r.stderr.join("\n")).toMatch(/summary: stream t → \S+\.t: 5 records; 3 rows inserted, 0 updated, 0 deleted; 1 batches, \d+ files, \d+ bytes staged/);
  });

  it("across batches and runs: a key seen before is an update", async () => {
    const schema = uniqueSchema("cacross");
    const cfg = configFor(schema, { upsert_strategy: strategy, batch_size_rows: 3 });
    // batches: [1,2,2] → 2 inserted; [3,1,4] → 2 inserted, 1 updated; [4] → 1 updated
    const r1 = await runSinger(cfg, lines(schemaMsg("t", basic), ...[1, 2, 2, 3, 1, 4, 4].map((id) => record("t", { id }))));
    expect(r1.code, r1.stderr.join("\n")).toBe(0);
    expect(counts(r1.stderr)).toEqual({ batches: [[3, 2, 0, 0], [3, 2, 1, 0], [1, 0, 1, 0]], summaries: [[7, 4, 2, 0]] });
    const r2 = await runSinger(cfg, lines(schemaMsg("t", basic), ...[4, 5].map((id) => record("t", { id }))));
    expect(counts(r2.stderr)).toEqual({ batches: [[2, 1, 1, 0]], summaries: [[2, 1, 1, 0]] });
    expect(await count(schema, "t")).toBe(5);
  });

  it("hard deletes count the rows removed; a delete of an absent key removes none", async () => {
    const schema = uniqueSchema("cdel");
    const cfg = configFor(schema, { upsert_strategy: strategy, hard_delete: true });
    expect((await runSinger(cfg, lines(schemaMsg("t", deletable), ...[1, 2, 3].map((id) => record("t", { id }))))).code).toBe(0);
    const gone = "2024-01-01T00:00:00Z";
    const r = await runSinger(
      cfg,
      lines(
        schemaMsg("t", deletable),
        record("t", { id: 2, _sdc_deleted_at: gone }),
        record("t", { id: 9, _sdc_deleted_at: gone }),
        record("t", { id: 1, name: "new" }),
        record("t", { id: 4 }),
      ),
    );
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(counts(r.stderr)).toEqual({ batches: [[4, 1, 1, 1]], summaries: [[4, 1, 1, 1]] });
    expect(await count(schema, "t")).toBe(3);
  });
});

describe("append", () => {
  it("a keyless stream inserts every record, duplicates included", async () => {
    const schema = uniqueSchema("capp");
    const r = await runSinger(configFor(schema, { batch_size_rows: 2 }), lines(schemaMsg("t", basic, []), ...[1, 1, 2].map((id) => record("t", { id }))));
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(counts(r.stderr)).toEqual({ batches: [[2, 2, 0, 0], [1, 1, 0, 0]], summaries: [[3, 3, 0, 0]] });
  });
});
