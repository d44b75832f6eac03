/**
 * Puts a batch's parts and its manifest in S3, and removes them after the load. The manifest lists every
 * part as mandatory (rule 16) so COPY fails on a missing file instead of loading less, and carries each
 * part's content_length (required for Parquet, harmless for CSV).
 */
import { createReadStream } from "node:fs";
import { hostname } from "node:os";
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import type { StagedPart } from "./part-writer.js";
import type { StagedBatch } from "../load/warehouse.js";
import { backoffMs, sleep } from "../retry.js";
import { type ErrorKind, TargetError } from "../errors.js";
import type { Logger } from "../log.js";

export interface S3Settings {
  bucket: string;
  keyPrefix: string;
  region: string;
  endpointUrl?: string;
  forcePathStyle: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** deadline of each S3 request, seconds (default 60): aborted then, and retried */
  requestTimeoutSeconds?: number;
  /** tries in all per request, and the first wait (doubled each retry, ±25 % jitter) */
  retry?: { attempts: number; baseDelayMs: number };
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
  return /SlowDown|Throttl|RequestTimeout|TimeoutError|AbortError|ECONNRESET|EPIPE|ETIMEDOUT|ECONNREFUSED|socket hang up/i.test(`${err?.name} ${err?.code} ${(e as Error)?.message}`);
}

/** S3 error codes only the user can fix: credentials, bucket name, permissions (S3 API error responses). */
const CONFIG_S3_ERRORS = new Set(["AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "NoSuchBucket", "InvalidBucketName", "AllAccessDisabled", "ExpiredToken", "InvalidToken", "PermanentRedirect"]);

/** What should happen after an S3 error (after our retries): decided here, carried as TargetError.kind. */
export function kindOfS3Error(e: unknown): ErrorKind {
  const err = e as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  const status = err?.$metadata?.httpStatusCode;
  if (CONFIG_S3_ERRORS.has(err?.name ?? "") || CONFIG_S3_ERRORS.has(err?.Code ?? "") || status === 403 || status === 301) return "config";
  if (/ENOTFOUND/.test(String((e as Error)?.message))) return "config";
  if (isRetryableS3Error(e)) return "transient";
  return "system";
}

/** The SDK's text for an error whose body S3 did not explain (a bare 500 says only "UnknownError"). */
function describeS3Error(e: unknown): string {
  const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = err?.$metadata?.httpStatusCode;
  const name = err?.name && err.name !== "Error" ? `${err.name}: ` : "";
  return `${name}${err?.message ?? String(e)}${status ? ` (HTTP ${status})` : ""}`;
}

export function s3ClientConfig(s: S3Settings, log?: Logger): S3ClientConfig {
  const timeoutMs = (s.requestTimeoutSeconds ?? 60) * 1000;
  const cfg: S3ClientConfig = {
    region: s.region,
    forcePathStyle: s.forcePathStyle,
    // Checksums only when the API requires them: with the SDK's default (WHEN_SUPPORTED), streamed
    // uploads use aws-chunked framing, which S3-compatible servers such as s3rver store verbatim.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    // Retries are ours (S3Stager.send): counted, logged, each with a fresh body stream and a deadline.
    maxAttempts: 1,
    requestHandler: { requestTimeout: timeoutMs, connectionTimeout: Math.min(10_000, timeoutMs) },
    // The SDK's own log lines (e.g. "An error was encountered in a non-retryable streaming request.")
    // go through our logger at debug level, never raw to the console.
    logger: {
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: (...a: unknown[]) => log?.("debug", `AWS SDK: ${a.map(String).join(" ")}`),
      error: (...a: unknown[]) => log?.("debug", `AWS SDK: ${a.map(String).join(" ")}`),
    },
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
  /** Part uploads in flight for the whole run: when many streams seal together their uploads queue here. */
  private readonly uploads = new Limiter(8);
  private readonly timeoutMs: number;
  private readonly retry: { attempts: number; baseDelayMs: number };

  constructor(
    readonly settings: S3Settings,
    private readonly log: Logger = () => undefined,
  ) {
    this.client = new S3Client(s3ClientConfig(settings, log));
    this.timeoutMs = (settings.requestTimeoutSeconds ?? 60) * 1000;
    this.retry = settings.retry ?? { attempts: 5, baseDelayMs: 250 };
  }

  url(key: string): string {
    return `s3://${this.settings.bucket}/${key}`;
  }

  /** `prefix/stream/run-id/batch-n/` */
  batchPrefix(streamPath: string, runId: string, batchNumber: number): string {
    return `${this.prefix()}${streamPath}/${runId}/batch-${String(batchNumber).padStart(6, "0")}/`;
  }

  /** s3_key_prefix, ending in "/" unless empty. */
  prefix(): string {
    let p = this.settings.keyPrefix;
    if (p.length > 0 && !p.endsWith("/")) p += "/";
    return p;
  }

  /**
   * One S3 request with a deadline (s3_request_timeout_seconds) and retries with jittered exponential
   * backoff on throttling, 5xx, timeouts and network errors, each logged. `call` sends a command built
   * afresh for each try (a stream body cannot be sent twice), with the try's abort signal. Throws TargetError naming the operation,
   * the bucket/key and the cause, typed config (credentials, permissions, bucket) or transient.
   */
  async send<T>(op: string, key: string, call: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    const attempts = this.retry.attempts;
    for (let attempt = 1; ; attempt++) {
      try {
        return await call(AbortSignal.timeout(this.timeoutMs));
      } catch (e) {
        const timedOut = (e as Error)?.name === "TimeoutError" || (e as Error)?.name === "AbortError";
        const cause = timedOut ? `no answer within ${this.timeoutMs / 1000} s (s3_request_timeout_seconds)` : describeS3Error(e);
        const kind = timedOut ? "transient" : kindOfS3Error(e);
        if (attempt >= attempts || kind !== "transient") {
          const after = attempt > 1 ? ` after ${attempt} attempts` : "";
          throw new TargetError(kind, `S3 ${op} of ${this.url(key)} failed${after}: ${cause}`, {
            cause: e,
            code: (e as { name?: string })?.name,
          });
        }
        const delay = backoffMs(this.retry.baseDelayMs, attempt);
        this.log("warn", `S3 ${op} of ${this.url(key)} failed (${cause}); retrying in ${delay} ms (attempt ${attempt + 1} of ${attempts})`);
        await sleep(delay);
      }
    }
  }

  async put(key: string, body: string | Buffer): Promise<void> {
    await this.send("PUT", key, (abortSignal) => this.client.send(new PutObjectCommand({ Bucket: this.settings.bucket, Key: key, Body: body }), { abortSignal }));
  }

  /**
   * Uploads a batch's parts and then its manifest. If any upload fails, what was put is removed (best
   * effort) before the error is thrown, so a failed batch leaves nothing behind.
   */
  async upload(prefix: string, parts: readonly StagedPart[]): Promise<StagedBatch> {
    const keys: string[] = [];
    const entries: { url: string; mandatory: true; meta: { content_length: number } }[] = [];
    // The local file's format names the object: gzip CSV or Parquet (PartWriter / ParquetPartWriter).
    const parquet = parts.length > 0 && parts.every((p) => p.path.endsWith(".parquet"));
    const ext = parquet ? ".parquet" : ".csv.gz";
    const named = parts.map((p, i) => ({ part: p, key: `${prefix}part-${String(i).padStart(4, "0")}${ext}` }));
    const contentType = parquet ? "application/vnd.apache.parquet" : "application/gzip";
    const manifestKey = `${prefix}manifest.json`;
    try {
      const results = await Promise.allSettled(named.map(({ part, key }) => this.uploads.run(() => this.putFile(key, part, contentType))));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failed) throw failed.reason;
      for (const { part, key } of named) {
        keys.push(key);
        entries.push({ url: this.url(key), mandatory: true, meta: { content_length: part.bytes } });
      }
      await this.put(manifestKey, JSON.stringify({ entries }));
    } catch (e) {
      await this.remove([...named.map((n) => n.key), manifestKey]).catch(() => undefined);
      throw e;
    }
    keys.push(manifestKey);
    return {
      manifestUrl: this.url(manifestKey),
      keys,
      rows: parts.reduce((n, p) => n + p.rows, 0),
      bytes: parts.reduce((n, p) => n + p.bytes, 0),
    };
  }

  /**
   * Uploads one part file, each try with a fresh stream of it. A stream that fails to read (its file gone:
   * a stopping run removes its spill directory while an upload starts) ends that try with the read error,
   * and is closed when the try ends: the SDK pipes the body without listening for its errors, so an
   * unread stream's 'error' was unhandled and killed the process (exit 1 instead of a clean stop).
   */
  private async putFile(key: string, part: StagedPart, contentType: string): Promise<void> {
    await this.send("PUT", key, async (abortSignal) => {
      const body = createReadStream(part.path);
      const stop = new AbortController();
      const onAbort = () => stop.abort(abortSignal.reason);
      abortSignal.addEventListener("abort", onAbort, { once: true });
      let readError: Error | undefined;
      body.on("error", (e) => {
        readError = e;
        stop.abort(e);
      });
      try {
        return await this.client.send(
          new PutObjectCommand({ Bucket: this.settings.bucket, Key: key, Body: body, ContentLength: part.bytes, ContentType: contentType }),
          { abortSignal: stop.signal },
        );
      } catch (e) {
        throw readError ?? e;
      } finally {
        abortSignal.removeEventListener("abort", onAbort);
        body.destroy();
      }
    });
  }

  /** Deletes staged objects (1,000 keys a request, the DeleteObjects limit), each request with its deadline. */
  async remove(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const slice = keys.slice(i, i + 1000);
      await this.send("DeleteObjects", slice[0]!, (abortSignal) =>
        this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.settings.bucket,
            Delete: { Objects: slice.map((Key) => ({ Key })), Quiet: true },
          }),
          { abortSignal },
        ),
      );
    }
  }

  /** `prefix/_runs/<run id>.json`: says which host and process own the run's staged objects. */
  runMarkerKey(runId: string): string {
    return `${this.prefix()}${RUNS_DIR}/${runId}.json`;
  }

  async putRunMarker(runId: string): Promise<void> {
    await this.put(this.runMarkerKey(runId), JSON.stringify({ runId, host: hostname(), pid: process.pid, startedAt: new Date().toISOString() }));
  }

  async removeRunMarker(runId: string): Promise<void> {
    await this.remove([this.runMarkerKey(runId)]);
  }

  private async list(prefix: string): Promise<{ key: string; modified: number }[]> {
    const out: { key: string; modified: number }[] = [];
    let token: string | undefined;
    do {
      const r = await this.send("ListObjectsV2", prefix, (abortSignal) =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.settings.bucket, Prefix: prefix, ContinuationToken: token }), { abortSignal }),
      );
      for (const o of r.Contents ?? []) out.push({ key: o.Key!, modified: o.LastModified?.getTime() ?? 0 });
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  private async readMarker(key: string): Promise<RunMarker | undefined> {
    try {
      const r = await this.send("GET", key, (abortSignal) => this.client.send(new GetObjectCommand({ Bucket: this.settings.bucket, Key: key }), { abortSignal }));
      return JSON.parse(await r.Body!.transformToString()) as RunMarker;
    } catch {
      return undefined;
    }
  }

  /**
   * Deletes staged objects under the prefix that runs no longer alive left behind (killed, crashed) and
   * that are older than `ageMinutes` (0: any age). A run is gone when its marker names this host and a
   * process that no longer exists; a run of another host is judged by its marker's age alone (only past
   * `ageMinutes`, and never when `ageMinutes` is 0). Objects without a marker are never touched: runs
   * with purge_staging_files off write none (their files are kept on purpose), and a run that cleaned up
   * fully removes its own. Never touches `ownRunId`'s objects. Returns the keys deleted.
   */
  async sweep(ownRunId: string, ageMinutes: number): Promise<string[]> {
    const root = this.prefix();
    const now = Date.now();
    const oldEnough = (ms: number) => now - ms >= ageMinutes * 60_000;
    const objects = await this.list(root);
    const markers = new Map<string, { key: string; modified: number }>();
    const byRun = new Map<string, { key: string; modified: number }[]>();
    for (const o of objects) {
      const rel = o.key.slice(root.length).split("/");
      if (rel[0] === RUNS_DIR && rel.length === 2 && rel[1]!.endsWith(".json")) {
        markers.set(rel[1]!.slice(0, -5), o);
        continue;
      }
      // `<stream>/<run id>/batch-n/<file>`
      if (rel.length !== 4 || !/^batch-\d+$/.test(rel[2]!)) continue;
      const list = byRun.get(rel[1]!) ?? [];
      list.push(o);
      byRun.set(rel[1]!, list);
    }
    const doomed: string[] = [];
    for (const runId of new Set([...byRun.keys(), ...markers.keys()])) {
      if (runId === ownRunId) continue;
      const m = markers.get(runId);
      if (!m) continue;
      const marker = await this.readMarker(m.key);
      const gone = marker && marker.host === hostname() ? !processAlive(marker.pid) : ageMinutes > 0 && oldEnough(m.modified);
      if (!gone) continue;
      const objs = byRun.get(runId) ?? [];
      const old = objs.filter((o) => oldEnough(o.modified));
      doomed.push(...old.map((o) => o.key));
      if (old.length === objs.length) doomed.push(m.key);
    }
    if (doomed.length > 0) await this.remove(doomed);
    return doomed;
  }

  destroy(): void {
    this.client.destroy();
  }
}

const RUNS_DIR = "_runs";

interface RunMarker {
  runId: string;
  host: string;
  pid: number;
  startedAt: string;
}

/** Whether a process of this host exists (signal 0 tests without signalling; EPERM: exists, not ours). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
