import { describe, expect, it } from "vitest";
import { castExpression, evolveColumn, migrateColumnSql } from "../../../src/redshift/type-evolution.js";
import type { ColumnType } from "../../../src/redshift/types.js";

const T = (kind: ColumnType["kind"], extra: Partial<ColumnType> = {}): ColumnType => ({ kind, ...extra });

describe("evolveColumn", () => {
  it("keeps a column that holds the new values", () => {
    expect(evolveColumn(T("bigint"), T("integer"))).toEqual({ action: "keep" });
    expect(evolveColumn(T("double"), T("bigint"))).toEqual({ action: "keep" });
    expect(evolveColumn(T("varchar", { length: 10 }), T("bigint"))).toEqual({ action: "keep" });
    expect(evolveColumn(T("super"), T("varchar"))).toEqual({ action: "keep" });
    expect(evolveColumn(T("varchar"), T("super"))).toEqual({ action: "keep" });
    expect(evolveColumn(T("timestamptz"), T("date"))).toEqual({ action: "keep" });
    expect(evolveColumn(T("varchar", { length: 10 }), T("varchar", { length: 400 }))).toEqual({ action: "keep" });
  });
  it("widens along the lattice", () => {
    expect(evolveColumn(T("integer"), T("bigint"))).toEqual({ action: "migrate", to: T("bigint") });
    expect(evolveColumn(T("real"), T("double"))).toEqual({ action: "migrate", to: T("double") });
    expect(evolveColumn(T("bigint"), T("varchar", { length: 256 }))).toEqual({ action: "migrate", to: T("varchar", { length: 256 }) });
    expect(evolveColumn(T("boolean"), T("bigint"))).toEqual({ action: "migrate", to: T("varchar", { length: 256 }) });
    expect(evolveColumn(T("bigint"), T("super"))).toEqual({ action: "migrate", to: T("super") });
    expect(evolveColumn(T("date"), T("super"))).toEqual({ action: "migrate", to: T("varchar", { length: 256 }) });
    expect(evolveColumn(T("numeric", { precision: 10, scale: 2 }), T("numeric", { precision: 10, scale: 4 }))).toEqual({
      action: "migrate",
      to: T("numeric", { precision: 12, scale: 4 }),
    });
  });
});

describe("evolution never narrows digits", () => {
  it("an exact column asked to hold floats becomes NUMERIC(38,s) keeping its integer digits, never DOUBLE", () => {
    expect(evolveColumn(T("bigint"), T("double"))).toEqual({ action: "migrate", to: T("numeric", { precision: 38, scale: 19 }) });
    expect(evolveColumn(T("integer"), T("real"))).toEqual({ action: "migrate", to: T("numeric", { precision: 38, scale: 28 }) });
    expect(evolveColumn(T("numeric", { precision: 20, scale: 2 }), T("double"))).toEqual({ action: "migrate", to: T("numeric", { precision: 38, scale: 20 }) });
    expect(evolveColumn(T("numeric", { precision: 38, scale: 10 }), T("double"))).toEqual({ action: "keep" });
  });
  it("integers into NUMERIC keep the integer digits of both", () => {
    expect(evolveColumn(T("bigint"), T("numeric", { precision: 38, scale: 10 }))).toEqual({ action: "migrate", to: T("numeric", { precision: 38, scale: 10 }) });
    expect(evolveColumn(T("bigint"), T("numeric", { precision: 20, scale: 0 }))).toEqual({ action: "migrate", to: T("numeric", { precision: 20, scale: 0 }) });
    expect(evolveColumn(T("bigint"), T("numeric", { precision: 10, scale: 0 }))).toEqual({ action: "keep" });
    expect(evolveColumn(T("numeric", { precision: 10, scale: 2 }), T("bigint"))).toEqual({ action: "migrate", to: T("numeric", { precision: 21, scale: 2 }) });
    expect(evolveColumn(T("numeric", { precision: 30, scale: 10 }), T("numeric", { precision: 38, scale: 0 }))).toEqual({
      action: "migrate",
      to: T("numeric", { precision: 38, scale: 0 }),
    });
  });
  it("a float column is kept", () => {
    expect(evolveColumn(T("double"), T("numeric", { precision: 38, scale: 10 }))).toEqual({ action: "keep" });
  });
});

describe("zones are never added or dropped", () => {
  it("TIMESTAMP and TIMETZ tables keep their types", () => {
    expect(evolveColumn(T("timestamp"), T("timestamptz"))).toEqual({ action: "keep" });
    expect(evolveColumn(T("timestamptz"), T("timestamp"))).toEqual({ action: "keep" });
    expect(evolveColumn(T("timetz"), T("time"))).toEqual({ action: "keep" });
    expect(evolveColumn(T("time"), T("timetz"))).toEqual({ action: "keep" });
    expect(evolveColumn(T("date"), T("timestamp"))).toEqual({ action: "migrate", to: T("timestamp") });
  });
});

describe("migration SQL (golden)", () => {
  it("add, cast, drop, rename", () => {
    expect(migrateColumnSql('"s"."t"', "n", T("bigint"), T("varchar", { length: 256 }))).toEqual([
      'ALTER TABLE "s"."t" ADD COLUMN "n__tr_migrating" VARCHAR(256)',
      'UPDATE "s"."t" SET "n__tr_migrating" = CAST("n" AS VARCHAR(256))',
      'ALTER TABLE "s"."t" DROP COLUMN "n"',
      'ALTER TABLE "s"."t" RENAME COLUMN "n__tr_migrating" TO "n"',
    ]);
  });
  it("casts booleans and SUPER through text", () => {
    expect(castExpression("b", T("boolean"), T("varchar"))).toBe(`CASE WHEN "b" THEN 'true' WHEN NOT "b" THEN 'false' END`);
    expect(castExpression("b", T("boolean"), T("super"))).toBe(`JSON_PARSE(CASE WHEN "b" THEN 'true' WHEN NOT "b" THEN 'false' END)`);
    expect(castExpression("n", T("bigint"), T("super"))).toBe(`JSON_PARSE(CAST("n" AS VARCHAR(64)))`);
    expect(castExpression("j", T("super"), T("varchar"))).toBe(`JSON_SERIALIZE("j")`);
  });
});
