/**
 * `file_format: parquet` through the Airbyte front end: append_dedup and overwrite give the same tables as
 * gzip CSV, including the `_airbyte_*` columns and `_airbyte_meta.changes` from NULLed values.
 */
import { describe, expect, it } from "vitest";
import { uniqueSchema, withPg } from "./helpers/target.js";
import { type Json, airbyteConfig, catalogOf, runAirbyte, streamComplete } from "./helpers/airbyte.js";

const schemaOf = {
  type: "object",
  properties: { id: { type: "integer" }, v: { type: ["null", "string"] }, n: { type: ["null", "number"] }, o: { type: ["null", "object"] } },
};
const rec = (ns: string, id: number, data: Json) => JSON.stringify({ type: "RECORD", record: { stream: "t", namespace: ns, emitted_at: 1700000000000 + id, data: { id, ...data } } });

/** Rows without the per-run columns (raw id, extracted_at, loaded ids differ between runs). */
async function stable(ns: string): Promise<Json[]> {
  return withPg(async (c) => {
    const r = await c.query(`SELECT id::text, v, n::text, o::text, _airbyte_meta::text AS meta, _airbyte_generation_id::text AS gen FROM "${ns}"."t" ORDER BY id`);
    return r.rows as Json[];
  });
}

describe("Airbyte with Parquet staging", () => {
  for (const mode of ["append_dedup", "overwrite"] as const) {
    it(`${mode}: same table as CSV`, async () => {
      const out: Json[][] = [];
      // Parquet twice: as encoded row groups (the unit path) and row by row (encode_workers 0).
      for (const [tag, more] of [
        ["csv", { file_format: "csv_gzip" }],
        ["pq", { file_format: "parquet" }],
        ["pqline", { file_format: "parquet", encode_workers: 0 }],
      ] as const) {
        const ns = uniqueSchema(`ab_pq_${mode}_${tag}`);
        const catalog = catalogOf({ name: "t", namespace: ns, schema: schemaOf, mode, primaryKey: [["id"]], cursor: ["id"] });
        const input = [
          rec(ns, 1, { v: "a", n: 1.5, o: { k: [1] } }),
          rec(ns, 2, { v: "", n: "not a number", o: null }),
          rec(ns, 1, { v: "a2", n: null, o: { k: "x" } }),
          rec(ns, 3, { v: null, n: 3, o: {} }),
          streamComplete("t", ns),
        ];
        const r = await runAirbyte("write", { config: airbyteConfig(ns, more), catalog, input });
        expect(r.code, JSON.stringify(r.traces)).toBe(0);
        out.push(await stable(ns));
      }
      expect(out[1]).toEqual(out[0]);
      expect(out[2]).toEqual(out[0]);
      expect(out[1]!.length).toBe(mode === "append_dedup" ? 3 : 4);
      expect(JSON.stringify(out[1])).toMatch(/NULLED/);
    });
  }
});
