import { describe, expect, it } from "vitest";
import pg from "pg";
import { connectClients, useLocalRedshift } from "./shared.js";
import { errorOf, gatewayClient, uniq } from "./test-helpers.js";

const h = useLocalRedshift({ slices: 6 });
const { gateway: c, direct: d } = connectClients(h);

const colTypes = async (t: string) =>
  (await d.query(`SELECT column_name AS n, data_type AS t, character_maximum_length AS len FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`, [t])).rows;

describe("TLS", () => {
  it("verifies the gateway certificate against the CA for 127.0.0.1 and localhost", async () => {
    for (const host of ["127.0.0.1", "localhost"]) {
      const cl = gatewayClient({ config: { ...h.rs.config, host } });
      await cl.connect();
      expect((await cl.query("SELECT 1 AS one")).rows[0].one).toBe(1);
      await cl.end();
    }
  });
  it("rejects a client that trusts a different CA", async () => {
    const cl = new pg.Client({ ...h.rs.pg, port: h.rs.gateway.port, ssl: { ca: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", rejectUnauthorized: true } });
    await expect(cl.connect()).rejects.toThrow();
  });
  it("also accepts plain connections and passes parameters through the extended protocol", async () => {
    const cl = new pg.Client({ ...h.rs.pg, port: h.rs.gateway.port });
    await cl.connect();
    expect((await cl.query("SELECT $1::int + 1 AS v", [41])).rows[0].v).toBe(42);
    await cl.end();
  });
});

describe("DDL", () => {
  it("accepts and ignores ENCODE, DISTSTYLE, DISTKEY, SORTKEY; TEXT and bare VARCHAR become VARCHAR(256); SUPER is 'super'", async () => {
    const t = uniq("ddl");
    await c.query(
      `CREATE TABLE IF NOT EXISTS "public"."${t}" ("a" BIGINT ENCODE az64 DISTKEY, "b" VARCHAR(300) ENCODE lzo, "c" SUPER, "d" TIMESTAMPTZ, "e" DOUBLE PRECISION, "f" BOOLEAN, "g" DATE, "h" NUMERIC(38,9), "i" TIME, "j" TEXT, "k" VARCHAR, "l" CHARACTER VARYING(70000 - 69000), "m" VARCHAR(MAX)) DISTSTYLE KEY COMPOUND SORTKEY("a", "d")`.replace("70000 - 69000", "1000"),
    );
    const cols = await colTypes(t);
    expect(cols.find((x) => x.n === "j")).toMatchObject({ t: "character varying", len: 256 });
    expect(cols.find((x) => x.n === "k")).toMatchObject({ t: "character varying", len: 256 });
    expect(cols.find((x) => x.n === "l")).toMatchObject({ len: 1000 });
    expect(cols.find((x) => x.n === "m")).toMatchObject({ len: 65535 });
    expect(cols.find((x) => x.n === "c")).toMatchObject({ t: "super" });
    expect(cols.find((x) => x.n === "h")).toMatchObject({ t: "numeric" });
  });

  it("rejects VARCHAR over 65535, arrays, JSONB, UUID", async () => {
    expect((await errorOf(c.query(`CREATE TABLE ${uniq("x")} (a VARCHAR(65536))`))).message).toMatch(/cannot exceed 65535/);
    expect((await errorOf(c.query(`CREATE TABLE ${uniq("x")} (a JSONB)`))).message).toMatch(/unsupported type "jsonb"/);
    expect((await errorOf(c.query(`CREATE TABLE ${uniq("x")} (a UUID)`))).message).toMatch(/unsupported type "uuid"/);
    expect((await errorOf(c.query(`CREATE TABLE ${uniq("x")} (a INTEGER[])`))).message).toMatch(/unsupported type/);
    expect((await errorOf(c.query(`ALTER TABLE x ADD COLUMN a VARCHAR(70000)`))).message).toMatch(/cannot exceed/);
  });

  it("NUMERIC precision above 38 is rejected", async () => {
    expect((await errorOf(c.query(`CREATE TABLE ${uniq("x")} (n NUMERIC(39,2))`))).message).toMatch(/between 1 and 38/);
    await c.query(`CREATE TABLE ${uniq("x")} (n NUMERIC(38,37), m DECIMAL(10))`);
  });

  it("PRIMARY KEY / UNIQUE are informational: duplicates load silently", async () => {
    const t = uniq("pk");
    await c.query(`CREATE TABLE ${t} (id BIGINT PRIMARY KEY, u VARCHAR(5) UNIQUE NOT NULL, CONSTRAINT k2 UNIQUE (u), PRIMARY KEY (id))`);
    await c.query(`INSERT INTO ${t} VALUES (1, 'a'), (1, 'a')`);
    expect((await d.query(`SELECT count(*)::int AS n FROM ${t}`)).rows[0].n).toBe(2);
    const e = await errorOf(c.query(`INSERT INTO ${t} VALUES (2, NULL)`));
    expect(e.code).toBe("23502"); // NOT NULL is enforced, as in Redshift
  });

  it("IDENTITY(seed, step) generates values", async () => {
    const t = uniq("ident");
    await c.query(`CREATE TABLE ${t} (id BIGINT IDENTITY(100, 5), v VARCHAR(5))`);
    await c.query(`INSERT INTO ${t} (v) VALUES ('a'), ('b')`);
    expect((await c.query(`SELECT id FROM ${t} ORDER BY id`)).rows.map((r) => r.id)).toEqual(["100", "105"]);
  });

  it("one ADD COLUMN per ALTER TABLE", async () => {
    const t = uniq("add");
    await c.query(`CREATE TABLE ${t} (a INTEGER)`);
    await c.query(`ALTER TABLE ${t} ADD COLUMN "b" VARCHAR(256)`);
    const e = await errorOf(c.query(`ALTER TABLE ${t} ADD COLUMN c INTEGER, ADD COLUMN d INTEGER`));
    expect(e.message).toMatch(/one action per statement/);
    expect((await colTypes(t)).map((x) => x.n)).toEqual(["a", "b"]);
  });

  it("ALTER COLUMN TYPE only grows a VARCHAR, outside a transaction", async () => {
    const t = uniq("alt");
    await c.query(`CREATE TABLE ${t} (c VARCHAR(256), n INTEGER)`);
    await c.query(`ALTER TABLE ${t} ALTER COLUMN "c" TYPE VARCHAR(1024)`);
    expect((await colTypes(t))[0]).toMatchObject({ len: 1024 });
    expect((await errorOf(c.query(`ALTER TABLE ${t} ALTER COLUMN c TYPE VARCHAR(10)`))).message).toMatch(/greater or equal/);
    expect((await errorOf(c.query(`ALTER TABLE ${t} ALTER COLUMN n TYPE BIGINT`))).message).toMatch(/only for VARCHAR/);
    await c.query("BEGIN");
    const e = await errorOf(c.query(`ALTER TABLE ${t} ALTER COLUMN c TYPE VARCHAR(2048)`));
    expect(e.message).toBe("ALTER TABLE ALTER COLUMN cannot run inside a transaction block");
    await c.query("ROLLBACK");
    expect((await colTypes(t))[0]).toMatchObject({ len: 1024 });
  });
});

describe("identifiers", () => {
  it("quoted identifiers fold to lowercase", async () => {
    const t = uniq("Fold");
    await c.query(`CREATE TABLE "${t}" ("UserId" INTEGER, "Name" VARCHAR(5))`);
    await c.query(`INSERT INTO "${t}" ("USERID", "name") VALUES (1, 'x')`);
    expect((await colTypes(t.toLowerCase())).map((x) => x.n)).toEqual(["userid", "name"]);
    expect((await c.query(`SELECT "UserID" FROM ${t}`)).rows[0].userid).toBe(1);
  });

  it("names that collide after folding collide, as in Redshift", async () => {
    const e = await errorOf(c.query(`CREATE TABLE ${uniq("col")} ("userId" INTEGER, "userid" INTEGER)`));
    expect(e.code).toBe("42701");
  });

  it("names longer than 63 bytes work through the extended protocol too, catalog parameters included", async () => {
    const long = `c${"é".repeat(40)}`; // 81 bytes
    const t = uniq("x");
    await c.query({ text: `CREATE TABLE ${t} ("${long}" INTEGER)` });
    await c.query({ text: `INSERT INTO ${t} VALUES ($1)`, values: [3] });
    const r = await c.query({ text: `SELECT $1::int AS ${long}, "${long}" AS "${long}x" FROM ${t}`, values: [1] });
    expect(r.fields.map((f) => f.name)).toEqual([long, `${long}x`]);
    expect(r.rows).toEqual([{ [long]: 1, [`${long}x`]: 3 }]);
    const cat = await c.query(`SELECT column_name FROM information_schema.columns WHERE table_name = $1 AND column_name = $2`, [t, long]);
    expect(cat.rows).toEqual([{ column_name: long }]);
    expect((await c.query(`SELECT 1 AS ${"c".repeat(63)}`)).rows).toHaveLength(1);
  });
});

describe("VARCHAR bytes", () => {
  it("VARCHAR(n) counts UTF-8 bytes on INSERT with Redshift's error", async () => {
    const t = uniq("vb");
    await c.query(`CREATE TABLE ${t} (s VARCHAR(3))`);
    await c.query(`INSERT INTO ${t} VALUES ('abc'), ('é')`);
    const e = await errorOf(c.query(`INSERT INTO ${t} VALUES ('éé')`));
    expect(e.message).toBe("value too long for type character varying(3)");
    const e2 = await errorOf(c.query(`INSERT INTO ${t} VALUES ($1)`, ["日本"]));
    expect(e2.code).toBe("22001");
    expect((await c.query(`SELECT s FROM ${t} ORDER BY s`)).rows.map((r) => r.s)).toEqual(["abc", "é"]);
  });
});

describe("transactions", () => {
  it("TRUNCATE commits the open transaction", async () => {
    const a = uniq("tra");
    const b = uniq("trb");
    await c.query(`CREATE TABLE ${a} (x INTEGER); CREATE TABLE ${b} (x INTEGER); INSERT INTO ${b} VALUES (1)`);
    await c.query("BEGIN");
    await c.query(`INSERT INTO ${a} VALUES (1)`);
    await c.query(`TRUNCATE ${b}`);
    await c.query("ROLLBACK"); // nothing left to roll back: the INSERT was committed by TRUNCATE
    expect((await d.query(`SELECT count(*)::int AS n FROM ${a}`)).rows[0].n).toBe(1);
    expect((await d.query(`SELECT count(*)::int AS n FROM ${b}`)).rows[0].n).toBe(0);
  });

  it("no ON CONFLICT, no writable CTEs", async () => {
    const t = uniq("oc");
    await c.query(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY)`);
    const e = await errorOf(c.query(`INSERT INTO ${t} VALUES (1) ON CONFLICT DO NOTHING`));
    expect(e.code).toBe("42601");
    const e2 = await errorOf(c.query(`WITH x AS (DELETE FROM ${t} RETURNING *) SELECT * FROM x`));
    expect(e2.code).toBe("0A000");
  });

  it("a gateway-side error inside a transaction aborts it, as a server error would", async () => {
    await c.query("BEGIN");
    await errorOf(c.query(`INSERT INTO x VALUES (1) ON CONFLICT DO NOTHING`));
    const e = await errorOf(c.query("SELECT 1"));
    expect(e.code).toBe("25P02");
    await c.query("ROLLBACK");
  });

  it("MERGE with several source rows per target row fails with Redshift's message", async () => {
    const t = uniq("mm");
    await c.query(`CREATE TABLE ${t} (id INTEGER, v INTEGER); INSERT INTO ${t} VALUES (1, 0); CREATE TEMP TABLE s_${t} (id INTEGER, v INTEGER); INSERT INTO s_${t} VALUES (1, 1), (1, 2)`);
    const e = await errorOf(c.query(`MERGE INTO ${t} USING s_${t} s ON ${t}.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.v)`));
    expect(e.message).toBe("Found multiple matches to update the same tuple.");
  });
});

describe("functions and system views", () => {
  it("SUPER with JSON_PARSE, JSON_SERIALIZE, IS_VALID_JSON", async () => {
    const r = await c.query(`SELECT JSON_SERIALIZE(JSON_PARSE('{"a": [1, "x, y: z"], "b": null}')) AS s, IS_VALID_JSON('{"a":1}') AS ok, IS_VALID_JSON('{a') AS bad, IS_VALID_JSON_ARRAY('[1]') AS arr`);
    expect(r.rows[0]).toEqual({ s: '{"a":[1,"x, y: z"],"b":null}', ok: true, bad: false, arr: true });
    const e = await errorOf(c.query(`SELECT JSON_PARSE('{oops')`));
    expect(e.code).toBe("22P02");
  });

  it("TO_HEX of a BIGINT is lower-case hex without leading zeros; LPAD pads on the left and cuts a longer string (the row id expression)", async () => {
    // Redshift: TO_HEX(2147676847) = '8002f2af' (Database Developer Guide, "TO_HEX function"); LPAD
    // truncates string1 when it is longer than length ("LPAD and RPAD functions").
    const r = await c.query(
      `SELECT TO_HEX(2147676847::BIGINT) AS a, TO_HEX(0::BIGINT) AS z, LPAD(TO_HEX(255::BIGINT), 12, '0') AS p, LPAD('abcdef', 3, '0') AS cut, ` +
        `'0123abcd-ef01-8234-a567-' || LPAD(TO_HEX(281474976710655::BIGINT), 12, '0') AS id`,
    );
    expect(r.rows[0]).toEqual({ a: "8002f2af", z: "0", p: "0000000000ff", cut: "abc", id: "0123abcd-ef01-8234-a567-ffffffffffff" });
  });

  it("GETDATE() and SYSDATE are timestamps without time zone", async () => {
    const r = await c.query(`SELECT GETDATE() AS g, SYSDATE AS s, pg_typeof(GETDATE())::text AS tg, pg_typeof(SYSDATE)::text AS ts`);
    expect(r.rows[0].tg).toBe("timestamp without time zone");
    expect(r.rows[0].ts).toBe("timestamp without time zone");
  });

  it("stv_slices has the configured number of slices", async () => {
    expect((await c.query(`SELECT count(*)::int AS n FROM stv_slices`)).rows[0].n).toBe(6);
  });

  it("pg_table_def and svv_table_info describe tables", async () => {
    const t = uniq("sys");
    await c.query(`CREATE TABLE ${t} (id BIGINT NOT NULL, v VARCHAR(33), j SUPER)`);
    const def = await c.query(`SELECT "column", type, "notnull" FROM pg_table_def WHERE tablename = '${t}' ORDER BY "column"`);
    expect(def.rows).toEqual([
      { column: "id", type: "bigint", notnull: true },
      { column: "j", type: "super", notnull: false },
      { column: "v", type: "character varying(33)", notnull: false },
    ]);
    expect((await c.query(`SELECT * FROM svv_table_info WHERE "table" = '${t}'`)).rows).toHaveLength(0); // empty tables are not listed
    await c.query(`INSERT INTO ${t} VALUES (1, 'a', JSON_PARSE('{}'))`);
    const info = await c.query(`SELECT schema, tbl_rows::int AS rows, max_varchar FROM svv_table_info WHERE "table" = '${t}'`);
    expect(info.rows[0]).toEqual({ schema: "public", rows: 1, max_varchar: 33 });
  });
});
