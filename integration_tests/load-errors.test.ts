/**
 * The load layer on its own, with staged files made by hand (the encoders never produce bad rows, so
 * this is how a COPY failure is provoked): COPY failure diagnosis and the loaded-row-count check.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../src/config/index.js";
import { LoadError, Warehouse } from "../src/load/warehouse.js";
import { S3Stager } from "../src/stage/s3-stager.js";
import { connectorSettings } from "../src/engine/settings.js";
import { configFor, count, uniqueSchema } from "./helpers/target.js";

const schema = uniqueSchema("loaderr");
const table = { schema, table: "t" };
let warehouse: Warehouse;
let stager: S3Stager;
let dir: string;

beforeAll(async () => {
  const settings = connectorSettings(parseConfig(configFor(schema), { onWarning: () => {} }));
  warehouse = new Warehouse(settings.connection, settings.load, () => {});
  stager = new S3Stager(settings.s3);
  dir = mkdtempSync(join(tmpdir(), "tr-loaderr-"));
  await warehouse.prepareTable(table, [
    { name: "id", type: { kind: "bigint" } },
    { name: "name", type: { kind: "varchar", length: 256 } },
  ]);
});

afterAll(async () => {
  await warehouse.end();
  stager.destroy();
  rmSync(dir, { recursive: true, force: true });
});

async function stage(name: string, csv: string) {
  const path = join(dir, `${name}.csv.gz`);
  const body = gzipSync(csv);
  writeFileSync(path, body);
  return stager.upload(stager.batchPrefix("t", name, 1), [{ path, bytes: body.length, rows: csv.split("\n").filter(Boolean).length }]);
}

const request = (staged: Awaited<ReturnType<typeof stage>>) => ({
  table,
  columns: ["id", "name"],
  keys: [],
  staged,
  widths: new Map<string, number>(),
  dedup: false,
});

describe("COPY failure diagnosis", () => {
  it("names the staged file, line, column and reason, and commits nothing", async () => {
    const staged = await stage("bad", '1,"ok"\nnot-a-number,"x"\n');
    const error = await warehouse.load(request(staged)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LoadError);
    const message = (error as LoadError).message;
    expect(message).toMatch(/Load into table '.*' failed/);
    expect(message).toContain(staged.manifestUrl.replace("manifest.json", "part-0000.csv.gz"));
    expect(message).toMatch(/line 2, column id/);
    expect(message).toMatch(/not-a-number|invalid/i);
    expect((error as LoadError).details.length).toBeGreaterThan(0);
    expect(await count(schema, "t")).toBe(0);
  });
});

describe("loaded row count", () => {
  it("a COPY that loads fewer rows than were staged fails the batch before commit", async () => {
    const staged = await stage("short", '1,"a"\n2,"b"\n');
    const error = await warehouse.load({ ...request(staged), staged: { ...staged, rows: 3 } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LoadError);
    expect((error as Error).message).toMatch(/COPY loaded 2 rows .* but 3 were staged; nothing was committed/);
    expect(await count(schema, "t")).toBe(0);
  });

  it("a matching count commits", async () => {
    const staged = await stage("good", '1,"a"\n2,"b"\n');
    expect(await warehouse.load(request(staged))).toEqual({ loaded: 2, inserted: 2, updated: 0, deleted: 0 });
    expect(await count(schema, "t")).toBe(2);
  });
});
