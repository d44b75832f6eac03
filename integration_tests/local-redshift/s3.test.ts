import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { useLocalRedshift } from "./shared.js";
import { startS3 } from "./s3.js";
import { s3Client } from "./test-helpers.js";

const h = useLocalRedshift();

describe("S3 (s3rver) gotchas handled by the stand-in", () => {
  it("ListObjectsV2 pagination works on Node 20 (s3rver runs with the OpenSSL legacy provider)", async () => {
    const s3 = s3Client(h.rs);
    for (let i = 0; i < 5; i++) await s3.send(new PutObjectCommand({ Bucket: h.rs.s3.bucket, Key: `page/k${i}`, Body: "x" }));
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const r = await s3.send(new ListObjectsV2Command({ Bucket: h.rs.s3.bucket, Prefix: "page/", MaxKeys: 2, ContinuationToken: token }));
      keys.push(...(r.Contents ?? []).map((c) => c.Key!));
      token = r.NextContinuationToken;
    } while (token);
    expect(keys).toEqual(["page/k0", "page/k1", "page/k2", "page/k3", "page/k4"]);
    s3.destroy();
  });

  it("DeleteObjects of many keys answers 200 and deletes them all", async () => {
    const s3 = s3Client(h.rs);
    const Objects = Array.from({ length: 40 }, (_, i) => ({ Key: `del/a/b/k${i}` }));
    await Promise.all(Objects.map((o) => s3.send(new PutObjectCommand({ Bucket: h.rs.s3.bucket, Key: o.Key, Body: "x" }))));
    const r = await s3.send(new DeleteObjectsCommand({ Bucket: h.rs.s3.bucket, Delete: { Objects } }));
    expect(r.Deleted).toHaveLength(40);
    expect(r.Errors ?? []).toHaveLength(0);
    const left = await s3.send(new ListObjectsV2Command({ Bucket: h.rs.s3.bucket, Prefix: "del/" }));
    expect(left.KeyCount ?? 0).toBe(0);
    s3.destroy();
  });

  it("streamed uploads are stored intact with WHEN_REQUIRED checksums and with the SDK defaults", async () => {
    const defaults = new S3Client({
      endpoint: h.rs.s3.endpoint,
      region: h.rs.s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: h.rs.s3.accessKeyId, secretAccessKey: h.rs.s3.secretAccessKey },
    });
    for (const [name, s3] of [["when_required", s3Client(h.rs)], ["defaults", defaults]] as const) {
      const body = Buffer.from(`payload for ${name}\n`.repeat(1000));
      await s3.send(new PutObjectCommand({ Bucket: h.rs.s3.bucket, Key: `stream/${name}`, Body: Readable.from([body.subarray(0, 5000), body.subarray(5000)]), ContentLength: body.length }));
      const g = await s3.send(new GetObjectCommand({ Bucket: h.rs.s3.bucket, Key: `stream/${name}` }));
      expect(Buffer.from(await g.Body!.transformToByteArray()).equals(body)).toBe(true);
      s3.destroy();
    }
  });

  it("s3rver gone: the proxy answers 500 InternalError as XML naming the cause (clients retry and report it), not a non-XML 502", async () => {
    const s3 = await startS3();
    const client = s3Client({ s3 });
    try {
      await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: "before", Body: "x" }));
      process.kill(s3.s3rverPid!, "SIGKILL");
      await new Promise((r) => setTimeout(r, 200));
      const err = (await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: "after", Body: "x" })).catch((e: unknown) => e)) as Error & { $metadata?: { httpStatusCode?: number } };
      expect(err.name).toBe("InternalError");
      expect(err.$metadata?.httpStatusCode).toBe(500);
      expect(err.message).not.toMatch(/XML parse error|Deserialization error/i);
      // The cause travels with it, and was said on stderr when s3rver went.
      expect(err.message).toMatch(/stand-in: s3rver \(pid \d+\) exited unexpectedly \(code null, signal SIGKILL\)/);
    } finally {
      client.destroy();
      await s3.stop();
    }
  });

  it("a PUT and a DELETE in one prefix at once, 400 times: s3rver stays up (it died of ENOENT when a DELETE removed the directory a PUT was writing into)", async () => {
    const s3 = await startS3();
    const client = s3Client({ s3 });
    try {
      for (let i = 1; i < 400; i++) {
        await Promise.all([
          client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `race/_runs/k${i}.json`, Body: "x" })),
          client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: `race/_runs/k${i - 1}.json` })),
        ]);
      }
      const left = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: "race/" }));
      expect((left.Contents ?? []).map((c) => c.Key)).toEqual(["race/_runs/k399.json"]);
    } finally {
      client.destroy();
      await s3.stop();
    }
  });
});
