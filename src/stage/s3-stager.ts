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
import type { StagedBatch } from "../load/warehouse.js";
import { backoffMs, sleep } from "../retry.js";

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

/** At most `limit` tasks at once, across every caller (first come, first served). */
class Limiter {
  private running = 0;
  private readonly queue: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      this.queue.shift()?.();
    }
  }
}

/** Throttling, server errors, timeouts and network failures: worth another try. Access denied is not. */
export function isRetryableS3Error(e: unknown): boolean {
  const err = e as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  const status = err?.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return true;
  if (status === 429 || err?.$retryable) return true;
  return /SlowDown|Throttl|RequestTimeout|TimeoutError|AbortError|ECONNRESET|EPIPE|ETIMEDOUT|socket hang up/i.test(`${err?.name} ${err?.code} ${(e as Error)?.message}`);
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
    // A request that hangs must fail (and be retried) rather than stall the run.
    requestHandler: { requestTimeout: 120_000, connectionTimeout: 10_000 },
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

/**
 * An S3 error that names the operation, bucket and key (the SDK's own text names neither). The SDK error
 * stays as `cause`, so its name and HTTP status still classify the failure.
 */
export function s3Failure(operation: string, url: string, e: unknown): Error {
  const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = err?.$metadata?.httpStatusCode;
  const what = [err?.name && err.name !== "Error" ? err.name : undefined, status ? `HTTP ${status}` : undefined].filter(Boolean).join(", ");
  return new Error(`S3 ${operation} ${url} failed: ${err?.message || String(e)}${what ? ` (${what})` : ""}`, { cause: e });
}

export class S3Stager {
  readonly client: S3Client;
  /** Part uploads in flight for the whole run: when many streams seal together their uploads queue here. */
  private readonly uploads = new Limiter(8);

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
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.settings.bucket, Key: key, Body: body }));
    } catch (e) {
      throw s3Failure("PutObject", this.url(key), e);
    }
  }

  async upload(prefix: string, parts: readonly StagedPart[]): Promise<StagedBatch> {
    const keys: string[] = [];
    const entries: { url: string; mandatory: true; meta: { content_length: number } }[] = [];
    // The local file's format names the object: gzip CSV or Parquet (PartWriter / ParquetPartWriter).
    const parquet = parts.length > 0 && parts.every((p) => p.path.endsWith(".parquet"));
    const ext = parquet ? ".parquet" : ".csv.gz";
    const named = parts.map((p, i) => ({ part: p, key: `${prefix}part-${String(i).padStart(4, "0")}${ext}` }));
    const contentType = parquet ? "application/vnd.apache.parquet" : "application/gzip";
    await Promise.all(named.map(({ part, key }) => this.uploads.run(() => this.putFile(key, part, contentType))));
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

  /**
   * Uploads one part file. The SDK cannot retry a request whose body is a stream it has consumed, so
   * retries (throttling, 5xx, timeouts, dropped connections) happen here, each with a fresh stream.
   */
  private async putFile(key: string, part: StagedPart, contentType: string, attempts = 5): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.settings.bucket,
            Key: key,
            Body: createReadStream(part.path),
            ContentLength: part.bytes,
            ContentType: contentType,
          }),
          { abortSignal: AbortSignal.timeout(300_000) },
        );
        return;
      } catch (e) {
        if (attempt >= attempts || !isRetryableS3Error(e)) throw s3Failure("PutObject", this.url(key), e);
        await sleep(backoffMs(200, attempt));
      }
    }
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
