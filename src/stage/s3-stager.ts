/**
 * Puts a batch's parts and its manifest in S3, and removes them after the load. The manifest lists every
 * part as mandatory (rule 16) so COPY fails on a missing file instead of loading less, and carries each
 * part's content_length (required for Parquet, harmless for CSV).
 */
import { createReadStream } from "node:fs";
import {
  DeleteObjectsCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import type { StagedPart } from "./part-writer.js";

export interface S3Settings {
  bucket: string;
  keyPrefix: string;
  region: string;
  endpointUrl?: string;
  forcePathStyle: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
}

export interface StagedBatch {
  manifestUrl: string;
  /** every object written for the batch, manifest included */
  keys: string[];
  rows: number;
  bytes: number;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function parallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(workers);
}

export function s3ClientConfig(s: S3Settings): S3ClientConfig {
  const cfg: S3ClientConfig = {
    region: s.region,
    forcePathStyle: s.forcePathStyle,
    // Checksums only when the API requires them: with the SDK's default (WHEN_SUPPORTED), streamed
    // uploads use aws-chunked framing, which S3-compatible servers such as s3rver store verbatim.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: 5,
  };
  if (s.endpointUrl) cfg.endpoint = s.endpointUrl;
  if (s.accessKeyId && s.secretAccessKey) {
    cfg.credentials = {
      accessKeyId: s.accessKeyId,
      secretAccessKey: s.secretAccessKey,
      ...(s.sessionToken ? { sessionToken: s.sessionToken } : {}),
    };
  }
  return cfg;
}

export class S3Stager {
  readonly client: S3Client;

  constructor(readonly settings: S3Settings) {
    this.client = new S3Client(s3ClientConfig(settings));
  }

  url(key: string): string {
    return `s3://${this.settings.bucket}/${key}`;
  }

  /** `prefix/stream/run-id/batch-n/` */
  batchPrefix(streamPath: string, runId: string, batchNumber: number): string {
    let p = this.settings.keyPrefix;
    if (p.length > 0 && !p.endsWith("/")) p += "/";
    return `${p}${streamPath}/${runId}/batch-${String(batchNumber).padStart(6, "0")}/`;
  }

  async put(key: string, body: string | Buffer): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.settings.bucket, Key: key, Body: body }));
  }

  async upload(prefix: string, parts: readonly StagedPart[], concurrency = 4): Promise<StagedBatch> {
    const keys: string[] = [];
    const entries: { url: string; mandatory: true; meta: { content_length: number } }[] = [];
    // The local file's format names the object: gzip CSV or Parquet (PartWriter / ParquetPartWriter).
    const parquet = parts.length > 0 && parts.every((p) => p.path.endsWith(".parquet"));
    const ext = parquet ? ".parquet" : ".csv.gz";
    const named = parts.map((p, i) => ({ part: p, key: `${prefix}part-${String(i).padStart(4, "0")}${ext}` }));
    await parallel(named, concurrency, async ({ part, key }) => {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.settings.bucket,
          Key: key,
          Body: createReadStream(part.path),
          ContentLength: part.bytes,
          ContentType: parquet ? "application/vnd.apache.parquet" : "application/gzip",
        }),
      );
    });
    for (const { part, key } of named) {
      keys.push(key);
      entries.push({ url: this.url(key), mandatory: true, meta: { content_length: part.bytes } });
    }
    const manifestKey = `${prefix}manifest.json`;
    await this.put(manifestKey, JSON.stringify({ entries }));
    keys.push(manifestKey);
    return {
      manifestUrl: this.url(manifestKey),
      keys,
      rows: parts.reduce((n, p) => n + p.rows, 0),
      bytes: parts.reduce((n, p) => n + p.bytes, 0),
    };
  }

  /** Deletes staged objects; a failure here never fails a committed load, it is only reported. */
  async remove(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const slice = keys.slice(i, i + 1000);
      const command = new DeleteObjectsCommand({
        Bucket: this.settings.bucket,
        Delete: { Objects: slice.map((Key) => ({ Key })), Quiet: true },
      });
      try {
        await this.client.send(command);
      } catch {
        // S3-compatible servers can answer 500 to a racing DeleteObjects after deleting; one retry settles it.
        await this.client.send(command);
      }
    }
  }

  destroy(): void {
    this.client.destroy();
  }
}
