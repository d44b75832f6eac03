// Shared by the stand-in's own tests: real clients against the real stand-in.
import zlib from "node:zlib";
import pg from "pg";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { LocalRedshift } from "./index.js";

export function gatewayClient(rs: Pick<LocalRedshift, "config">, extra: Partial<pg.ClientConfig> = {}): pg.Client {
  const c = rs.config;
  return new pg.Client({
    host: c.host as string,
    port: c.port as number,
    user: c.user as string,
    password: c.password as string,
    database: c.database as string,
    ssl: c.ssl ? { ca: c.ssl_ca as string, rejectUnauthorized: true, servername: c.host as string } : false,
    ...extra,
  });
}

export function directClient(rs: Pick<LocalRedshift, "pg">): pg.Client {
  return new pg.Client(rs.pg);
}

export function s3Client(rs: Pick<LocalRedshift, "s3">): S3Client {
  return new S3Client({
    endpoint: rs.s3.endpoint,
    region: rs.s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: rs.s3.accessKeyId, secretAccessKey: rs.s3.secretAccessKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: 1,
  });
}

export async function put(rs: Pick<LocalRedshift, "s3">, key: string, body: Buffer | string): Promise<string> {
  const s3 = s3Client(rs);
  await s3.send(new PutObjectCommand({ Bucket: rs.s3.bucket, Key: key, Body: typeof body === "string" ? Buffer.from(body) : body }));
  s3.destroy();
  return `s3://${rs.s3.bucket}/${key}`;
}

export const gz = (s: string): Buffer => zlib.gzipSync(Buffer.from(s, "utf8"));

let seq = 0;
export const uniq = (p: string): string => `${p}_${process.pid}_${++seq}`;

/** Uploads parts and a manifest listing them; returns the manifest URL. */
export async function putManifest(rs: Pick<LocalRedshift, "s3">, prefix: string, parts: Array<Buffer | string>, opts: { mandatory?: boolean; extraEntries?: string[]; contentLength?: boolean } = {}): Promise<string> {
  const entries: Array<{ url: string; mandatory: boolean; meta?: { content_length: number } }> = [];
  for (let i = 0; i < parts.length; i++) {
    const body = parts[i]!;
    const url = await put(rs, `${prefix}/part-${i}`, body);
    entries.push({ url, mandatory: opts.mandatory ?? true, ...(opts.contentLength ? { meta: { content_length: Buffer.byteLength(body) } } : {}) });
  }
  for (const url of opts.extraEntries ?? []) entries.push({ url, mandatory: true });
  return put(rs, `${prefix}/manifest.json`, JSON.stringify({ entries }));
}

export const ROLE = "arn:aws:iam::000000000000:role/local-redshift";

export async function errorOf(p: Promise<unknown>): Promise<pg.DatabaseError> {
  try {
    await p;
  } catch (e) {
    return e as pg.DatabaseError;
  }
  throw new Error("expected the query to fail");
}
