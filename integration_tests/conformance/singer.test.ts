/**
 * The Meltano SDK's standard target test streams (shared/conformance/singer), each with the outcome the
 * conformance README lists, run through the real connector into the local stand-in.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CONFORMANCE, columns, configFor, count, rows, runSinger, tableExists, uniqueSchema } from "../helpers/target.js";

const read = (name: string) => readFileSync(join(CONFORMANCE, "singer", `${name}.singer`), "utf8");

async function load(name: string, extra: Record<string, unknown> = {}, schema = uniqueSchema(name.slice(0, 20))) {
  const result = await runSinger(configFor(schema, extra), read(name));
  return { ...result, schema };
}

describe("Singer conformance", () => {
  it("array_data: 4 rows, fruits kept as an array in SUPER", async () => {
    const r = await load("array_data");
    expect(r.code, r.stderr.join("\n")).toBe(0);
    const data = await rows(r.schema, "test_array_data", "id");
    expect(data).toHaveLength(4);
    expect(Array.isArray(data[0]!.fruits)).toBe(true);
    expect((await columns(r.schema, "test_array_data")).fruits).toBe("super");
  });

  it("camelcase: lowercased names, 2 rows", async () => {
    const r = await load("camelcase");
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(await count(r.schema, "testcamelcase")).toBe(2);
    expect(Object.keys(await columns(r.schema, "testcamelcase"))).toEqual(expect.arrayContaining(["id", "clientname"]));
  });

  it("camelcase_complex_schema: table with all 15 columns, no records", async () => {
    const r = await load("camelcase_complex_schema");
    expect(r.code, r.stderr.join("\n")).toBe(0);
    const cols = await columns(r.schema, "forecastingtypetocategory");
    expect(Object.keys(cols)).toHaveLength(15);
    expect(cols.createddate).toBe("character varying(256)"); // anyOf with a plain-string member
    expect(cols.isdeleted).toBe("boolean");
    expect(await count(r.schema, "forecastingtypetocategory")).toBe(0);
  });

  it("duplicate_records: upsert to 2 rows, last wins", async () => {
    const r = await load("duplicate_records");
    expect(r.code, r.stderr.join("\n")).toBe(0);
    const data = await rows(r.schema, "test_duplicate_records", "id");
    expect(data.map((d) => [Number(d.id), Number(d.metric)])).toEqual([
      [1, 100],
      [2, 20],
    ]);
  });

  it("duplicate_records with DELETE+INSERT: same result", async () => {
    const r = await load("duplicate_records", { upsert_strategy: "delete_insert" });
    expect(r.code, r.stderr.join("\n")).toBe(0);
    const data = await rows(r.schema, "test_duplicate_records", "id");
    expect(data.map((d) => Number(d.metric))).toEqual([100, 20]);
  });

  it("encoded_string_data: 11 / 11 / 6 rows, text intact, real NUL removed", async () => {
    const r = await load("encoded_string_data");
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(await count(r.schema, "test_strings")).toBe(11);
    expect(await count(r.schema, "test_strings_in_objects")).toBe(11);
    expect(await count(r.schema, "test_strings_in_arrays")).toBe(6);
    const info = (await rows(r.schema, "test_strings", "id")).map((x) => x.info as string);
    const source = read("encoded_string_data")
      .split("\n")
      .filter((l) => l.includes('"test_strings"') && l.includes("RECORD"))
      .map((l) => (JSON.parse(l) as { record: { info: string } }).record.info.replace(/\u0000/g, ""));
    expect(info.sort()).toEqual(source.sort());
  });

  it("invalid_schema: clear error, non-zero exit", async () => {
    const r = await load("invalid_schema");
    expect(r.code).not.toBe(0);
    expect(r.stderr.join("\n")).toMatch(/line 1 \(stream "test_invalid_schema"\): invalid SCHEMA message: schema: expected an object schema with "properties"/);
    expect(r.states).toEqual([]);
  });

  it("multiple_state_messages: 6 + 6 rows, every state emitted, the trailing record loaded", async () => {
    const r = await load("multiple_state_messages");
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(await count(r.schema, "test_multiple_state_messages_a")).toBe(6);
    expect(await count(r.schema, "test_multiple_state_messages_b")).toBe(6);
    expect(r.states.at(-1)).toEqual({ test_multiple_state_messages_a: 5, test_multiple_state_messages_b: 6 });
    expect(r.states.length).toBeGreaterThanOrEqual(1);
  });

  it("no_primary_keys / no_primary_keys_append: append only, 16 rows after pk, append, pk, append", async () => {
    const schema = uniqueSchema("nopk");
    for (const name of ["no_primary_keys", "no_primary_keys_append", "no_primary_keys", "no_primary_keys_append"]) {
      const r = await load(name, {}, schema);
      expect(r.code, r.stderr.join("\n")).toBe(0);
    }
    expect(await count(schema, "test_no_pk")).toBe(16);
  });

  it("optional_attributes: 4 rows, a missing field is NULL", async () => {
    const r = await load("optional_attributes");
    expect(r.code, r.stderr.join("\n")).toBe(0);
    const data = await rows(r.schema, "test_optional_attributes", "id");
    expect(data).toHaveLength(4);
    expect(data.some((d) => d.optional === null)).toBe(true);
  });

  it("pk_updates: 2 rows", async () => {
    const r = await load("pk_updates");
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(await count(r.schema, "example_stream")).toBe(2);
  });

  it("record_before_schema: clear error, non-zero exit, no STATE", async () => {
    const r = await load("record_before_schema");
    expect(r.code).not.toBe(0);
    expect(r.stderr.join("\n")).toMatch(/line 1: RECORD for stream "test_record_before_schema" before any SCHEMA/);
    expect(r.states).toEqual([]);
  });

  it("record_missing_fields: 2 rows, empty state handled", async () => {
    const r = await load("record_missing_fields");
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(await count(r.schema, "record_missing_fields")).toBe(2);
    expect(r.states).toEqual([{}]);
  });

  it("record_missing_key_property: clear error naming the key, non-zero exit", async () => {
    const r = await load("record_missing_key_property");
    expect(r.code).not.toBe(0);
    expect(r.stderr.join("\n")).toMatch(/line 2 \(stream "test_record_missing_key_property"\): record .* lacks key property "id"/);
    expect(await tableExists(r.schema, "test_record_missing_key_property")).toBe(true);
    expect(await count(r.schema, "test_record_missing_key_property")).toBe(0);
  });

  it("record_missing_required_property: loaded by default (validate_records off)", async () => {
    const r = await load("record_missing_required_property");
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(await count(r.schema, "test_record_missing_required_property")).toBe(1);
  });

  it("record_missing_required_property: rejected with validate_records on", async () => {
    const r = await load("record_missing_required_property", { validate_records: true });
    expect(r.code).not.toBe(0);
    expect(r.stderr.join("\n")).toMatch(/line 2 \(stream "test_record_missing_required_property"\): record does not match its schema: record: missing required property "id"/);
    expect(await count(r.schema, "test_record_missing_required_property")).toBe(0);
  });

  it("schema_no_properties: 2 tables × 2 rows, schemaless object as SUPER", async () => {
    const r = await load("schema_no_properties");
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(await count(r.schema, "test_object_schema_with_properties")).toBe(2);
    expect(await count(r.schema, "test_object_schema_no_properties")).toBe(2);
    expect((await columns(r.schema, "test_object_schema_no_properties")).object_store).toBe("super");
  });

  it("schema_updates: 6 rows, row 1 has the later columns NULL", async () => {
    const r = await load("schema_updates");
    expect(r.code, r.stderr.join("\n")).toBe(0);
    const data = await rows(r.schema, "test_schema_updates", "id");
    expect(data).toHaveLength(6);
    const first = data[0]!;
    const later = Object.keys(data.at(-1)!).filter((k) => data.at(-1)![k] !== null && first[k] === null);
    expect(later.length).toBeGreaterThan(0);
  });

  it("special_chars_in_attributes: 1 row in a normalised table", async () => {
    const r = await load("special_chars_in_attributes");
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(await count(r.schema, "test_specialchars_in_attributes")).toBe(1);
  });

  it("user_location_data then user_location_upsert_data: 8 / 5 / 5 rows", async () => {
    const schema = uniqueSchema("userloc");
    for (const name of ["user_location_data", "user_location_upsert_data"]) {
      const r = await load(name, {}, schema);
      expect(r.code, r.stderr.join("\n")).toBe(0);
    }
    expect(await count(schema, "test_users")).toBe(8);
    expect(await count(schema, "test_locations")).toBe(5);
    expect(await count(schema, "test_user_in_location")).toBe(5);
  });
});
