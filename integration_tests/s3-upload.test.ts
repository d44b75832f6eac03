/**
 * S3Stager.upload against the stand-in's S3: a part file that is gone when its upload starts (a stopping
 * run removes its spill directory) fails the upload naming the file; it must not raise an unhandled
 * 'error' on the file stream (that killed the process: exit 1 instead of a clean stop on SIGTERM).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../src/config/index.js";
import { connectorSettings } from "../src/engine/settings.js";
import { S3Stager } from "../src/stage/s3-stager.js";
import { configFor, standIn, uniqueSchema } from "./helpers/target.js";

describe("S3Stager.upload", () => {
  it("a part file gone before its upload: the upload fails naming ENOENT and the file, nothing is left in S3", async () => {
    const schema = uniqueSchema("s3gone");
    const settings = connectorSettings(parseConfig(configFor(schema, { s3_key_prefix: `s3gone/${schema}/` }), { onWarning: () => {} }));
    const stager = new S3Stager(settings.s3);
    const dir = mkdtempSync(join(tmpdir(), "tr-s3gone-"));
    try {
      const there = join(dir, "part-0000.csv.gz");
      writeFileSync(there, "x");
      const gone = join(dir, "part-0001.csv.gz");
      const failed = stager.upload(`s3gone/${schema}/b1/`, [
        { path: there, bytes: 1, rows: 1 },
        { path: gone, bytes: 10, rows: 1 },
      ]);
      await expect(failed).rejects.toThrow(/S3 PUT of s3:\/\/.*part-0001\.csv\.gz failed.*ENOENT.*part-0001\.csv\.gz/);
      const { s3 } = standIn();
      const client = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
      try {
        const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `s3gone/${schema}/` }));
        expect(listed.Contents ?? []).toEqual([]);
      } finally {
        client.destroy();
      }
    } finally {
      stager.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
