/**
 * --stage-only: batches are encoded, compressed and staged in S3 exactly as in a real run, nothing is
 * loaded — so no STATE is released (a scheduler would otherwise skip data that never reached the table),
 * and the log says "staged", never "committed".
 */
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { configFor, runSinger, standIn, tableExists, uniqueSchema } from "./helpers/target.js";
import { catalogOf, runAirbyte, streamComplete } from "./helpers/airbyte.js";

/** The keys under `prefix` in the stand-in's bucket, without the prefix. */
async function stagedKeys(prefix: string): Promise<string[]> {
  const { s3 } = standIn();
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  try {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
    return (listed.Contents ?? []).map((o) => o.Key!.slice(prefix.length));
  } finally {
    client.destroy();
  }
}

describe("--stage-only", () => {
  it("stages gzip parts and a manifest in S3, creates no table, releases no STATE", async () => {
    const schema = uniqueSchema("stageonly");
    const prefix = `stage-only-test/${schema}/`;
    const input =
      [
        { type: "SCHEMA", stream: "t", key_properties: ["id"], schema: { properties: { id: { type: "integer" } } } },
        { type: "RECORD", stream: "t", record: { id: 1 } },
        { type: "STATE", value: { done: true } },
      ]
        .map((m) => JSON.stringify(m))
        .join("\n") + "\n";
    const r = await runSinger(configFor(schema, { s3_key_prefix: prefix, purge_staging_files: false }), input, ["--stage-only"]);
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(r.states).toEqual([]);
    expect(r.stderr.join("\n")).toMatch(/staged 1 rows for .*t \(--stage-only: not loaded\)/);
    expect(r.stderr.join("\n")).not.toMatch(/committed/);
    expect(await tableExists(schema, "t")).toBe(false);
    const keys = await stagedKeys(prefix);
    expect(keys).toEqual([expect.stringMatching(/^s0-t\/.+\/batch-000001\/manifest\.json$/), expect.stringMatching(/^s0-t\/.+\/batch-000001\/part-0000\.csv\.gz$/)]);
  });

  it("Airbyte write: stages the records with their _airbyte_* columns, creates no table, releases no STATE", async () => {
    const schema = uniqueSchema("stageonlyab");
    const prefix = `stage-only-test/${schema}/`;
    const json = { type: "object", properties: { id: { type: "integer" } } };
    const r = await runAirbyte("write", {
      config: configFor(schema, { s3_key_prefix: prefix, purge_staging_files: false }),
      catalog: catalogOf({ name: "t", schema: json, mode: "append_dedup", primaryKey: [["id"]] }),
      input: [
        JSON.stringify({ type: "RECORD", record: { stream: "t", emitted_at: 1, data: { id: 1 } } }),
        JSON.stringify({ type: "STATE", state: { type: "STREAM", stream: { stream_descriptor: { name: "t" }, stream_state: { n: 1 } } } }),
      ],
      args: ["--stage-only"],
    });
    expect(r.code, r.stdout.join("\n")).toBe(0);
    expect(r.states).toEqual([]);
    expect(r.traces).toEqual([]);
    const logs = JSON.stringify(r.logs);
    expect(logs).toMatch(/staged 1 rows for .*t \(--stage-only: not loaded\)/);
    expect(logs).toMatch(/--stage-only: nothing loaded, no STATE emitted/);
    expect(logs).not.toMatch(/committed/);
    expect(await tableExists(schema, "t")).toBe(false);
    const keys = await stagedKeys(prefix);
    expect(keys).toEqual([expect.stringMatching(/\/batch-000001\/manifest\.json$/), expect.stringMatching(/\/batch-000001\/part-0000\.csv\.gz$/)]);
  });

  it("write, overwrite and minimum generations: the log says nothing was replaced or removed (nothing was loaded)", async () => {
    const schema = uniqueSchema("stageonlygen");
    const json = { type: "object", properties: { id: { type: "integer" } } };
    const r = await runAirbyte("write", {
      config: configFor(schema),
      catalog: catalogOf(
        { name: "o", schema: json, mode: "overwrite", generationId: 2, minimumGenerationId: 2 },
        { name: "d", schema: json, mode: "append_dedup", primaryKey: [["id"]], generationId: 5, minimumGenerationId: 3 },
        { name: "u", schema: json, mode: "overwrite", generationId: 3, minimumGenerationId: 3 },
      ),
      input: [
        JSON.stringify({ type: "RECORD", record: { stream: "o", emitted_at: 1, data: { id: 1 } } }),
        JSON.stringify({ type: "RECORD", record: { stream: "d", emitted_at: 1, data: { id: 1 } } }),
        JSON.stringify({ type: "RECORD", record: { stream: "u", emitted_at: 1, data: { id: 1 } } }),
        streamComplete("o"),
        streamComplete("d"),
      ],
      args: ["--stage-only"],
    });
    expect(r.code, r.stdout.join("\n")).toBe(0);
    const logs = r.logs.map((l) => (l as { log: { message: string } }).log.message).join("\n");
    expect(logs).toMatch(new RegExp(`--stage-only: ${schema}\\.o not replaced \\(nothing was loaded\\)`));
    expect(logs).toMatch(new RegExp(`--stage-only: no rows of generations below 3 removed from ${schema}\\.d \\(nothing was loaded\\)`));
    expect(logs).toMatch(new RegExp(`stream u ended without a COMPLETE status: ${schema}\\.u keeps its previous data$`, "m"));
    expect(logs).not.toMatch(/replaced .* with this sync's data|rows wait in|removed \d+ rows/);
    expect(await tableExists(schema, "o")).toBe(false);
  });

  it("Singer overwrite: the log says the table was not replaced", async () => {
    const schema = uniqueSchema("stageonlyow");
    const input =
      [
        { type: "SCHEMA", stream: "t", key_properties: ["id"], schema: { properties: { id: { type: "integer" } } } },
        { type: "RECORD", stream: "t", record: { id: 1 } },
      ]
        .map((m) => JSON.stringify(m))
        .join("\n") + "\n";
    const r = await runSinger(configFor(schema, { load_method: "overwrite" }), input, ["--stage-only"]);
    expect(r.code, r.stderr.join("\n")).toBe(0);
    const text = r.stderr.join("\n");
    expect(text).toMatch(new RegExp(`--stage-only: ${schema}\\.t not replaced \\(nothing was loaded\\)`));
    expect(text).not.toMatch(/replaced .* with this run's records/);
  });

  it("--stage-only and --dry-run exclude each other, for write too", async () => {
    const r = await runAirbyte("write", { args: ["--stage-only", "--dry-run"] });
    expect(r.code).toBe(2);
    expect(r.stderr.join("\n")).toMatch(/--stage-only and --dry-run exclude each other/);
  });
});
