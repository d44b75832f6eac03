import { describe, expect, it } from "vitest";

import * as sql from "../../../src/redshift/sql.js";

const t = { schema: "public", table: "users" };

describe("SQL builders (golden)", () => {
  it("quoteLiteral doubles quotes and refuses backslashes", () => {
    expect(sql.quoteLiteral("it's")).toBe("'it''s'");
    expect(() => sql.quoteLiteral("a\\b")).toThrow(/backslash/);
  });

  it("createTable: all columns nullable, no constraints", () => {
    expect(
      sql.createTable(t, [
        { name: "id", type: { kind: "bigint" } },
        { name: "name", type: { kind: "varchar", length: 300 } },
        { name: "payload", type: { kind: "super" } },
        { name: "at", type: { kind: "timestamptz" } },
      ]),
    ).toBe('CREATE TABLE IF NOT EXISTS "public"."users" ("id" BIGINT, "name" VARCHAR(300), "payload" SUPER, "at" TIMESTAMPTZ)');
  });

  it("addColumn and widenVarchar", () => {
    expect(sql.addColumn(t, { name: "select", type: { kind: "boolean" } })).toBe('ALTER TABLE "public"."users" ADD COLUMN "select" BOOLEAN');
    expect(sql.widenVarchar(t, "name", 1024)).toBe('ALTER TABLE "public"."users" ALTER COLUMN "name" TYPE VARCHAR(1024)');
  });

  it("COPY with an IAM role", () => {
    expect(
      sql.copyFromManifest({
        table: "stage_1",
        columns: ["id", "name"],
        manifestUrl: "s3://b/p/manifest.json",
        auth: { iamRoleArn: "arn:aws:iam::1:role/R" },
        format: "csv_gzip",
      }),
    ).toBe(
      `COPY "stage_1" ("id", "name") FROM 's3://b/p/manifest.json' IAM_ROLE 'arn:aws:iam::1:role/R' MANIFEST ` +
        `FORMAT AS CSV QUOTE AS '"' DELIMITER ',' NULL AS '\\N' GZIP TIMEFORMAT 'auto' DATEFORMAT 'auto' STATUPDATE OFF COMPUPDATE OFF`,
    );
  });

  it("COPY from Parquet names no columns (they bind by position to the table's, rule 18)", () => {
    expect(sql.copyFromManifest({ table: "st", columns: ["id", "name"], manifestUrl: "s3://b/m.json", auth: { iamRoleArn: "arn:aws:iam::1:role/R" }, format: "parquet" })).toBe(
      `COPY "st" FROM 's3://b/m.json' IAM_ROLE 'arn:aws:iam::1:role/R' MANIFEST FORMAT AS PARQUET SERIALIZETOJSON STATUPDATE OFF COMPUPDATE OFF`,
    );
  });

  it("the stage table: the staged columns in file order, typed, then the ordinal (no LIKE: no other column, no NOT NULL)", () => {
    expect(
      sql.createStageTable("stage_1", [
        { name: "id", type: { kind: "bigint" } },
        { name: "v", type: { kind: "varchar", length: 300 } },
        { name: "_tr_ordinal", type: { kind: "bigint" } },
      ]),
    ).toBe('CREATE TEMP TABLE "stage_1" ("id" BIGINT, "v" VARCHAR(300), "_tr_ordinal" BIGINT)');
    expect(() => sql.createStageTable("s", [])).toThrow(/at least one column/);
  });

  it("COPY with keys and a region", () => {
    const q = sql.copyFromManifest({
      table: t,
      columns: ["id"],
      manifestUrl: "s3://b/m.json",
      auth: { accessKeyId: "AK", secretAccessKey: "SK", sessionToken: "TOK" },
      format: "csv_gzip",
      region: "eu-west-1",
    });
    expect(q).toContain(`ACCESS_KEY_ID 'AK' SECRET_ACCESS_KEY 'SK' SESSION_TOKEN 'TOK'`);
    expect(q).toContain(`REGION 'eu-west-1'`);
  });

  it("dedupStage keeps the newest row per key", () => {
    expect(sql.dedupStage("stage_1", ["id"], [], "_tr_ordinal")).toBe(
      'DELETE FROM "stage_1" WHERE "_tr_ordinal" IN (SELECT "_tr_ordinal" FROM (SELECT "_tr_ordinal", ROW_NUMBER() OVER ' +
        '(PARTITION BY "id" ORDER BY "_tr_ordinal" DESC) AS rn FROM "stage_1") ranked WHERE rn > 1)',
    );
    expect(sql.dedupStage("s", ["a", "b"], [{ column: "updated_at" }], "o")).toContain(
      'PARTITION BY "a", "b" ORDER BY "updated_at" DESC NULLS LAST, "o" DESC',
    );
  });

  it("MERGE upsert matches keys with plain equality (hash-joinable) when the batch has no NULL key", () => {
    expect(sql.mergeUpsert({ target: t, stage: "stage_1", columns: ["id"], keys: ["id"] }).map((s) => s.sql)).toEqual([
      'SELECT (SELECT COUNT(*) FROM "stage_1") AS staged, (SELECT COUNT(*) FROM "stage_1" AS "src" JOIN "public"."users" AS "dst" ON "dst"."id" = "src"."id") AS matched',
      'MERGE INTO "public"."users" AS "dst" USING "stage_1" AS "src" ON "dst"."id" = "src"."id" ' +
        'WHEN MATCHED THEN UPDATE SET "id" = "src"."id" WHEN NOT MATCHED THEN INSERT ("id") VALUES ("src"."id")',
    ]);
  });

  it("MERGE upsert with NULL-safe key match for a batch with NULL keys", () => {
    expect(sql.mergeUpsert({ target: t, stage: "stage_1", columns: ["id", "name"], keys: ["id"], nullKeys: true }).map((s) => s.sql).slice(1)).toEqual([
      'MERGE INTO "public"."users" AS "dst" USING "stage_1" AS "src" ON ("dst"."id" = "src"."id" OR ("dst"."id" IS NULL AND "src"."id" IS NULL)) ' +
        'WHEN MATCHED THEN UPDATE SET "id" = "src"."id", "name" = "src"."name" WHEN NOT MATCHED THEN INSERT ("id", "name") VALUES ("src"."id", "src"."name")',
    ]);
  });

  it("MERGE with hard deletes deletes first and drops deleted rows from the stage", () => {
    const s = sql.mergeUpsert({ target: t, stage: "st", columns: ["id"], keys: ["id"], deletedColumn: "_sdc_deleted_at", nullKeys: true }).map((x) => x.sql);
    expect(s).toHaveLength(4);
    expect(s[0]).toBe(
      'DELETE FROM "public"."users" USING "st" WHERE ("users"."id" = "st"."id" OR ("users"."id" IS NULL AND "st"."id" IS NULL)) AND "st"."_sdc_deleted_at" IS NOT NULL',
    );
    expect(s[1]).toBe('DELETE FROM "st" WHERE "_sdc_deleted_at" IS NOT NULL');
  });

  it("DELETE+INSERT upsert", () => {
    expect(sql.deleteInsertUpsert({ target: t, stage: "st", columns: ["id", "v"], keys: ["id"] }).map((s) => s.sql)).toEqual([
      'DELETE FROM "public"."users" USING "st" WHERE "users"."id" = "st"."id"',
      'INSERT INTO "public"."users" ("id", "v") SELECT "st"."id", "st"."v" FROM "st"',
    ]);
  });

  it("DELETE+INSERT that keeps newer existing rows", () => {
    const [del, ins] = sql.deleteInsertUpsert({ target: t, stage: "st", columns: ["id"], keys: ["id"], newerBy: [{ column: "c" }] }).map((s) => s.sql);
    expect(del).toContain('AND ("users"."c" IS NULL OR ("st"."c" IS NOT NULL AND "st"."c" >= "users"."c"))');
    expect(ins).toContain('WHERE NOT EXISTS (SELECT 1 FROM "public"."users" AS "existing" WHERE');
    expect(() => sql.mergeUpsert({ target: t, stage: "st", columns: ["id"], keys: ["id"], newerBy: [{ column: "c" }] })).toThrow();
  });

  it("DELETE+INSERT with delete markers: markers first (their count is the rows deleted), then the replace", () => {
    const s = sql.deleteInsertUpsert({ target: t, stage: "st", columns: ["id"], keys: ["id"], deletedColumn: "d", newerBy: [{ column: "c" }] });
    expect(s.map((x) => x.counts)).toEqual(["deleted", undefined, "replaced", "written"]);
    expect(s[0]!.sql).toContain('AND ("users"."c" IS NULL OR ("st"."c" IS NOT NULL AND "st"."c" >= "users"."c")) AND "st"."d" IS NOT NULL');
    expect(s[1]!.sql).toBe('DELETE FROM "st" WHERE "d" IS NOT NULL');
  });

  it("row counts: MERGE from its counting SELECT, DELETE+INSERT from DELETE and INSERT counts", () => {
    const r = (rowCount: number | null, row: Record<string, unknown> = {}) => ({ rowCount, rows: [row] });
    const merge = sql.mergeUpsert({ target: t, stage: "st", columns: ["id"], keys: ["id"], deletedColumn: "d" });
    // Redshift answers COUNT(*) as text; MERGE's own count is ignored.
    expect(sql.rowCountsOf(merge, [r(2), r(3), r(1, { staged: "5", matched: "2" }), r(999)])).toEqual({ inserted: 3, updated: 2, deleted: 2 });
    const di = sql.deleteInsertUpsert({ target: t, stage: "st", columns: ["id"], keys: ["id"] });
    expect(sql.rowCountsOf(di, [r(4), r(10)])).toEqual({ inserted: 6, updated: 4, deleted: 0 });
    expect(sql.rowCountsOf([sql.insertFromStage({ target: t, stage: "st", columns: ["a"] })], [r(7)])).toEqual({ inserted: 7, updated: 0, deleted: 0 });
  });

  describe("columns filled by the load statement: a row id (Airbyte's _airbyte_raw_id), a batch's value (_sdc_batched_at)", () => {
    const rowId = { kind: "row-id", column: "_airbyte_raw_id", prefix: "0123abcd-ef01-8234-a567-", ordinal: "_tr_ordinal" } as const;
    const batched = { kind: "value", column: "_sdc_batched_at", text: "2026-12-01 09:41:51.123+00", type: { kind: "timestamptz" } } as const;
    const cast = "CAST('2026-12-01 09:41:51.123+00' AS TIMESTAMPTZ)";
    const expr = (row: string) => `'0123abcd-ef01-8234-a567-' || LPAD(TO_HEX(${row}"_tr_ordinal"), 12, '0')`;

    it("append: the row id column after the staged ones, from the stage's ordinal", () => {
      expect(sql.insertFromStage({ target: t, stage: "st", columns: ["a"], filled: [rowId], deletedColumn: "d" }).sql).toBe(
        `INSERT INTO "public"."users" ("a", "_airbyte_raw_id") SELECT "a", ${expr("")} FROM "st" WHERE "d" IS NULL`,
      );
      expect(sql.insertFromStage({ target: t, stage: "st", columns: ["a"], filled: [batched, rowId] }).sql).toBe(
        `INSERT INTO "public"."users" ("a", "_sdc_batched_at", "_airbyte_raw_id") SELECT "a", ${cast}, ${expr("")} FROM "st"`,
      );
    });

    it("DELETE+INSERT: qualified by the stage", () => {
      expect(sql.deleteInsertUpsert({ target: t, stage: "st", columns: ["id", "v"], keys: ["id"], filled: [rowId, batched] }).map((s) => s.sql)[1]).toBe(
        `INSERT INTO "public"."users" ("id", "v", "_airbyte_raw_id", "_sdc_batched_at") SELECT "st"."id", "st"."v", ${expr('"st".')}, ${cast} FROM "st"`,
      );
    });

    it("MERGE: a matched row takes the new row's id too, as a staged value would", () => {
      expect(sql.mergeUpsert({ target: t, stage: "st", columns: ["id"], keys: ["id"], filled: [rowId, batched] }).map((s) => s.sql)[1]).toBe(
        'MERGE INTO "public"."users" AS "dst" USING "st" AS "src" ON "dst"."id" = "src"."id" ' +
          `WHEN MATCHED THEN UPDATE SET "id" = "src"."id", "_airbyte_raw_id" = ${expr('"src".')}, "_sdc_batched_at" = ${cast} ` +
          `WHEN NOT MATCHED THEN INSERT ("id", "_airbyte_raw_id", "_sdc_batched_at") VALUES ("src"."id", ${expr('"src".')}, ${cast})`,
      );
    });

    it("a batch's value as its column's type: text as a plain literal, SUPER through JSON_PARSE, the rest CAST", () => {
      expect(sql.typedLiteral("2026-12-01T09:41:51.123Z", { kind: "varchar", length: 30 })).toBe("'2026-12-01T09:41:51.123Z'");
      expect(sql.typedLiteral('"2026-12-01T09:41:51.123Z"', { kind: "super" })).toBe(`JSON_PARSE('"2026-12-01T09:41:51.123Z"')`);
      expect(sql.typedLiteral("2026-12-01 09:41:51.123", { kind: "timestamp" })).toBe("CAST('2026-12-01 09:41:51.123' AS TIMESTAMP)");
      expect(sql.typedLiteral("it's", { kind: "char", length: 4 })).toBe("'it''s'");
      expect(() => sql.typedLiteral("a\\b", { kind: "varchar", length: 9 })).toThrow(/backslash/);
    });

    it("a SUPER column (a table made elsewhere) takes the id as a JSON string", () => {
      expect(sql.rowIdSql({ ...rowId, superColumn: true }, '"s"')).toBe(`JSON_PARSE('"0123abcd-ef01-8234-a567-' || LPAD(TO_HEX("s"."_tr_ordinal"), 12, '0') || '"')`);
    });

    it("refuses a prefix that is not a UUID's first 24 characters (it is pasted into SQL as a literal)", () => {
      for (const prefix of ["", "0123abcd-ef01-8234-a567", "0123ABCD-ef01-8234-a567-", "0123abcd-ef01-8234-a567-'", "x123abcd-ef01-8234-a567-"]) {
        expect(() => sql.rowIdSql({ ...rowId, prefix }), prefix).toThrow(/malformed row id prefix/);
      }
    });
  });

  it("atLeastAsNew compares lexicographically with NULL oldest", () => {
    expect(sql.atLeastAsNew('"s"', '"d"', [{ column: "c" }, { column: "e" }])).toBe(
      '(("s"."c" IS NOT NULL AND ("d"."c" IS NULL OR "s"."c" > "d"."c")) OR (("s"."c" = "d"."c" OR ("s"."c" IS NULL AND "d"."c" IS NULL)) AND ' +
        '("d"."e" IS NULL OR ("s"."e" IS NOT NULL AND "s"."e" >= "d"."e"))))',
    );
  });

  it("append", () => {
    expect(sql.insertFromStage({ target: t, stage: "st", columns: ["a", "b"] }).sql).toBe('INSERT INTO "public"."users" ("a", "b") SELECT "a", "b" FROM "st"');
  });

  it("describeTable quotes names as literals", () => {
    expect(sql.describeTable({ schema: "s'x", table: "t" })).toContain("n.nspname = 's''x' AND c.relname = 't'");
  });
  it("overwrite swap: DROP old + RENAME new, for one transaction", () => {
    expect(sql.replaceTable({ schema: "public", table: "users_airbyte_tmp" }, t)).toEqual([
      'DROP TABLE IF EXISTS "public"."users"',
      'ALTER TABLE "public"."users_airbyte_tmp" RENAME TO "users"',
    ]);
    expect(() => sql.replaceTable({ schema: "other", table: "x" }, t)).toThrow(/same schema/);
  });

  it("generation cleanup deletes older and NULL generations", () => {
    expect(sql.deleteOlderGenerations(t, "_airbyte_generation_id", 7)).toBe(
      'DELETE FROM "public"."users" WHERE "_airbyte_generation_id" IS NULL OR "_airbyte_generation_id" < 7',
    );
    expect(() => sql.deleteOlderGenerations(t, "g", 1.5)).toThrow();
  });
  it("temp table and row count", () => {
    expect(sql.createTempTable("chk", [{ name: "id", type: { kind: "bigint" } }, { name: "note", type: { kind: "varchar", length: 16 } }])).toBe(
      'CREATE TEMP TABLE "chk" ("id" BIGINT, "note" VARCHAR(16))',
    );
    expect(sql.countRows("chk")).toBe('SELECT COUNT(*) AS n FROM "chk"');
    expect(sql.countRows(t)).toBe('SELECT COUNT(*) AS n FROM "public"."users"');
  });
  it("rows of other generations", () => {
    expect(sql.countOtherGenerations(t, "_airbyte_generation_id", 3)).toBe(
      'SELECT COUNT(*) AS n FROM "public"."users" WHERE "_airbyte_generation_id" IS NULL OR "_airbyte_generation_id" <> 3',
    );
  });
});

describe("column comments record the property a column holds (issue 11)", () => {
  it("COMMENT ON COLUMN, read back by propertyOfComment", async () => {
    const { commentColumn, propertyOfComment } = await import("../../../src/redshift/sql.js");
    expect(commentColumn({ schema: "s", table: "t" }, "userid", "UserId's")).toBe(`COMMENT ON COLUMN "s"."t"."userid" IS 'property: UserId''s'`);
    expect(propertyOfComment("property: UserId")).toBe("UserId");
    expect(propertyOfComment("a human's note")).toBeUndefined();
    expect(propertyOfComment(null)).toBeUndefined();
  });
});

describe("load journal", () => {
  const entry = { runId: "20260101T000000-abcd1234", stream: "it's", batch: 3, table: { schema: "s", table: "t" }, rows: 10 };
  it("is created idempotently in the target schema", () => {
    expect(sql.createLoadJournal("s")).toMatch(/^CREATE TABLE IF NOT EXISTS "s"\."_target_redshift_load_journal" \(/);
  });
  it("records and looks up a batch by run, stream and number, literals quoted", () => {
    expect(sql.journalInsert(entry)).toContain(`VALUES ('20260101T000000-abcd1234', 'it''s', 3, 's.t', 10, GETDATE())`);
    expect(sql.journalLookup(entry)).toBe(
      `SELECT COUNT(*) AS n FROM "s"."_target_redshift_load_journal" WHERE run_id = '20260101T000000-abcd1234' AND stream = 'it''s' AND batch_number = 3`,
    );
  });
});
