/**
 * --stage-only: batches are encoded, compressed and staged in S3 exactly as in a real run, nothing is
 * loaded — so no STATE is released (a scheduler would otherwise skip data that never reached the table),
 * and the log says "staged", never "committed".
 */
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { configFor, runSinger, standIn, tableExists, uniqueSchema } from "./helpers/target.js";

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
    const { s3 } = standIn();
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    try {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
      const keys = (listed.Contents ?? []).map((o) => o.Key!.slice(prefix.length));
      expect(keys).toEqual([expect.stringMatching(/^s0-t\/.+\/batch-000001\/manifest\.json$/), expect.stringMatching(/^s0-t\/.+\/batch-000001\/part-0000\.csv\.gz$/)]);
    } finally {
      client.destroy();
    }
  });
});
