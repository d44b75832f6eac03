/**
 * Issue 11 family 1: numbers land with the digits the tap sent, whatever their size or precision, on
 * every input path (encode workers, the main thread's line path, validation, metadata columns, Parquet,
 * Airbyte, BATCH files), SUPER included. Values a column cannot hold are NULL with a recorded change.
 * The lines are written by hand: JSON.stringify cannot produce these numbers.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { catalogOf, runAirbyte } from "./helpers/airbyte.js";
import { configFor, runSinger, uniqueSchema, withPg } from "./helpers/target.js";

const SCHEMA_LINE = JSON.stringify({
  type: "SCHEMA",
  stream: "t",
  key_properties: ["id"],
  schema: {
    type: "object",
    properties: {
      id: { type: "integer" },
      i: { type: ["null", "integer"] },
      dec: { type: ["null", "number"] },
      obj: { type: ["null", "object"] },
      arr: { type: ["null", "array"] },
      label: { type: ["null", "string"] },
    },
  },
});

/** The record bodies, as sent; `want` is what each column must read back as (PostgreSQL text of it). */
const CASES: { body: string; want: Record<string, string | null> }[] = [
  {
    body: '{"id":99999999999999999,"i":9007199254740993,"dec":123456789.0123456789,"obj":{"x":12345678901234567890,"y":[18446744073709551615,-0.5]},"arr":[12345678901234567890,1.0000000000000000001],"label":"12345678901234567890"}',
    want: { id: "99999999999999999", i: "9007199254740993", dec: "123456789.0123456789", label: "12345678901234567890" },
  },
  {
    body: '{"id":9223372036854775807,"i":-9223372036854775808,"dec":1E-7,"obj":{"n":1e400},"arr":[],"label":null}',
    want: { id: "9223372036854775807", i: "-9223372036854775808", dec: "0.0000001000", label: null },
  },
  {
    body: '{"id":9007199254740993,"i":9223372036854775808,"dec":-0,"obj":null,"arr":null,"label":"x"}',
    want: { id: "9007199254740993", i: null, dec: "0.0000000000", label: "x" },
  },
  {
    body: '{"id":1.5e3,"i":2.0E+2,"dec":1e400,"obj":{},"arr":[-0],"label":"y"}',
    want: { id: "1500", i: "200", dec: null, label: "y" },
  },
  { body: '{"id":-1,"i":123456789012345678901234567890,"dec":-99999999999999999999999999.9999999999,"label":"z"}', want: { id: "-1", i: null, dec: "-99999999999999999999999999.9999999999" } },
];
/** SUPER columns read back as their JSON text (the stand-in keeps numbers as numeric: exact). */
const SUPER_WANT: Record<string, [unknown, unknown]> = {
  "99999999999999999": ['{"x": 12345678901234567890, "y": [18446744073709551615, -0.5]}', "[12345678901234567890, 1.0000000000000000001]"],
};

const recordLine = (body: string) => `{"type":"RECORD","stream":"t","record":${body}}`;

async function tableText(schema: string): Promise<Record<string, string | null>[]> {
  return withPg(async (c) => {
    const cols = (await c.query("SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 't'", [schema])).rows.map(
      (x) => x.column_name as string,
    );
    const select = cols.map((col) => `"${col}"::text AS "${col}"`).join(", ");
    return (await c.query(`SELECT ${select} FROM "${schema}"."t" ORDER BY "id"::numeric`)).rows;
  });
}

function expectExact(table: Record<string, string | null>[]): void {
  expect(table.map((r) => r.id)).toEqual(["-1", "1500", "9007199254740993", "99999999999999999", "9223372036854775807"]);
  for (const c of CASES) {
    const row = table.find((r) => r.id === c.want.id)!;
    for (const [col, value] of Object.entries(c.want)) {
      expect([c.want.id, col, row[col]]).toEqual([c.want.id, col, value]);
    }
  }
  const first = table.find((r) => r.id === "99999999999999999")!;
  const [obj, arr] = SUPER_WANT["99999999999999999"]!;
  expect(JSON.parse(first.obj!.replace(/(\d{16,})/g, '"$1"'))).toEqual(JSON.parse((obj as string).replace(/(\d{16,})/g, '"$1"')));
  expect(first.obj).toContain("12345678901234567890");
  expect(first.obj).toContain("18446744073709551615");
  expect(first.arr).toContain("12345678901234567890");
  expect(first.arr).toContain("1.0000000000000000001");
  expect(arr).toBeDefined();
}

const NUMERIC = { type_mapping: { number: "NUMERIC(38,10)" } };

describe("exact numbers through every Singer path", () => {
  const paths: [string, Record<string, unknown>][] = [
    ["encode workers", { encode_workers: 2 }],
    ["line path (encode_workers 0)", { encode_workers: 0 }],
    ["validate_records", { validate_records: true }],
    ["add_metadata_columns", { add_metadata_columns: true }],
    ["parquet", { file_format: "parquet" }],
  ];
  for (const [name, extra] of paths) {
    it(`${name}: big integers, long decimals and SUPER digits land as sent; what no column holds is NULL and recorded`, async () => {
      const schema = uniqueSchema("exactnum");
      const input = [SCHEMA_LINE, ...CASES.map((c) => recordLine(c.body))].join("\n") + "\n";
      const r = await runSinger(configFor(schema, { ...NUMERIC, ...extra }), input);
      expect(r.code, r.stderr.join("\n")).toBe(0);
      const table = await tableText(schema);
      expectExact(table);
      // 9223372036854775808 and 10^29 in the BIGINT column, 1e400 in NUMERIC: NULL, and said so.
      const log = r.stderr.join("\n");
      expect(log).toMatch(/i: NULLED \(DESTINATION_SERIALIZATION_ERROR\)\D+2/);
      expect(log).toMatch(/dec: NULLED \(DESTINATION_SERIALIZATION_ERROR\)\D+1/);
      if (extra.add_metadata_columns) {
        const over = table.find((x) => x.id === "9007199254740993")!;
        expect(JSON.parse(over._sdc_value_changes!)).toEqual([{ field: "i", change: "NULLED", reason: "DESTINATION_SERIALIZATION_ERROR" }]);
      }
    });
  }

  // Stand-in gap (FIDELITY.md): hyparquet reads a Parquet DECIMAL as a JS number, so 19 significant
  // digits come back as 17. The staged file holds the exact unscaled value (test/unit/encode/parquet.test.ts
  // › a NUMERIC(38,10) of 19 digits…); `.fails` must go when the stand-in reads decimals exactly.
  it("parquet NUMERIC(38,10) keeps 19 significant digits", async () => {
    const schema = uniqueSchema("exactpq");
    const r = await runSinger(configFor(schema, { ...NUMERIC, file_format: "parquet" }), `${SCHEMA_LINE}\n${recordLine(CASES[0]!.body)}\n`);
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect((await tableText(schema))[0]!.dec).toBe("123456789.0123456789");
  });

  it("a BATCH file's records keep their digits too", async () => {
    const schema = uniqueSchema("exactbatch");
    const dir = mkdtempSync(join(tmpdir(), "tr-exact-"));
    const file = join(dir, "part.jsonl");
    writeFileSync(file, CASES.map((c) => c.body).join("\n") + "\n");
    const batch = JSON.stringify({ type: "BATCH", stream: "t", encoding: { format: "jsonl", compression: "none" }, manifest: [`file://${file}`] });
    const r = await runSinger(configFor(schema, NUMERIC), `${SCHEMA_LINE}\n${batch}\n`);
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expectExact(await tableText(schema));
  });

  it("by default (DOUBLE PRECISION) a long decimal is the nearest double and a big integer key keeps every digit", async () => {
    const schema = uniqueSchema("exactdefault");
    const r = await runSinger(configFor(schema), `${SCHEMA_LINE}\n${recordLine(CASES[0]!.body)}\n`);
    expect(r.code, r.stderr.join("\n")).toBe(0);
    const [row] = await tableText(schema);
    expect(row!.id).toBe("99999999999999999");
    expect(Number(row!.dec)).toBe(123456789.0123456789);
  });
});

describe("exact numbers through Airbyte", () => {
  it("append_dedup with a big-integer key, a NUMERIC(38,10) decimal and SUPER digits", async () => {
    const schema = uniqueSchema("exactab");
    const json = JSON.parse(SCHEMA_LINE).schema;
    const catalog = catalogOf({ name: "t", schema: json, mode: "append_dedup", primaryKey: [["id"]], cursor: ["id"] });
    const input = CASES.map((c) => `{"type":"RECORD","record":{"stream":"t","emitted_at":1700000000000,"data":${c.body}}}`);
    const r = await runAirbyte("write", { config: configFor(schema, NUMERIC), catalog, input });
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expectExact(await tableText(schema));
  });
});

describe("STATE keeps its digits", () => {
  // A tap's bookmark is the tap's own data: a 20-digit cursor read back as 2^64's double would make
  // the next run start elsewhere. The STATE text is compared as sent, not re-parsed.
  const bookmark = '{"cursor":12345678901234567890,"at":1E-7,"neg":-0,"small":1.5,"nested":[18446744073709551615,{"n":9007199254740993}]}';
  const written = '{"cursor":12345678901234567890,"at":1E-7,"neg":-0,"small":1.5,"nested":[18446744073709551615,{"n":9007199254740993}]}';
  for (const [name, extra] of [["encode workers", { encode_workers: 2 }], ["line path", { encode_workers: 0 }]] as const) {
    it(`Singer (${name}): the STATE goes out digit for digit`, async () => {
      const schema = uniqueSchema("exactstate");
      const input = [SCHEMA_LINE, recordLine(CASES[0]!.body), `{"type":"STATE","value":${bookmark}}`].join("\n") + "\n";
      const r = await runSinger(configFor(schema, { ...NUMERIC, ...extra }), input);
      expect(r.code, r.stderr.join("\n")).toBe(0);
      expect(r.stdout).toEqual([written]);
    });
  }

  it("Airbyte: a STREAM state is echoed digit for digit, with destinationStats", async () => {
    const schema = uniqueSchema("exactabstate");
    const json = JSON.parse(SCHEMA_LINE).schema;
    const catalog = catalogOf({ name: "t", schema: json, mode: "append_dedup", primaryKey: [["id"]], cursor: ["id"] });
    const input = [
      `{"type":"RECORD","record":{"stream":"t","emitted_at":1700000000000,"data":${CASES[0]!.body}}}`,
      `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"t"},"stream_state":${bookmark}}}}`,
    ];
    const r = await runAirbyte("write", { config: configFor(schema, NUMERIC), catalog, input });
    expect(r.code, r.stderr.join("\n")).toBe(0);
    const stateLines = r.stdout.filter((l) => l.includes('"STATE"'));
    expect(stateLines).toEqual([
      `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"t"},"stream_state":${written}},"destinationStats":{"recordCount":1}}}`,
    ]);
  });
});
