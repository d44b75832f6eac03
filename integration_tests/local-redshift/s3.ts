// S3 for the stand-in: s3rver (child process) behind an in-process HTTP proxy that injects faults
// and replaces s3rver's racy DeleteObjects with sequential single deletes.
import { fork, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Leftover, removeDirSync, track } from "./reaper.js";

export interface S3Fault {
  kind: "error" | "hang" | "delay";
  status?: number;
  code?: string;
  /** kind "delay": how long the request is held before it goes on, in ms. */
  ms?: number;
  remaining: number;
  /** Only requests whose method matches, e.g. "PUT". */
  method?: string;
  /** Only requests of this S3 operation, e.g. "PutObject", "DeleteObjects" (see s3Operation). */
  op?: string;
}

/**
 * The S3 API operation of a path-style request, named as in the S3 API reference
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations_Amazon_Simple_Storage_Service.html).
 * Covers what an S3 client of a loader sends; anything else is "Other".
 */
export function s3Operation(method: string, rawUrl: string, headers: http.IncomingHttpHeaders): string {
  const url = new URL(rawUrl, "http://x");
  const q = url.searchParams;
  const hasKey = url.pathname.replace(/^\/+/, "").includes("/") && !/^[^/]+\/$/.test(url.pathname.replace(/^\/+/, ""));
  switch (method) {
    case "PUT":
      if (!hasKey) return "CreateBucket";
      if (q.has("partNumber") && q.has("uploadId")) return headers["x-amz-copy-source"] ? "UploadPartCopy" : "UploadPart";
      return headers["x-amz-copy-source"] ? "CopyObject" : "PutObject";
    case "POST":
      if (q.has("delete")) return "DeleteObjects";
      if (q.has("uploads")) return "CreateMultipartUpload";
      if (q.has("uploadId")) return "CompleteMultipartUpload";
      return "Other";
    case "DELETE":
      if (!hasKey) return "DeleteBucket";
      return q.has("uploadId") ? "AbortMultipartUpload" : "DeleteObject";
    case "GET":
      if (!hasKey) return q.get("list-type") === "2" ? "ListObjectsV2" : q.has("uploads") ? "ListMultipartUploads" : "ListObjects";
      return q.has("uploadId") ? "ListParts" : "GetObject";
    case "HEAD":
      return hasKey ? "HeadObject" : "HeadBucket";
    default:
      return "Other";
  }
}

export interface S3Handle {
  endpoint: string; // the fault proxy: what clients use
  directEndpoint: string; // s3rver itself: what the COPY emulation reads from
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  faults: S3Fault[];
  latencyMs: { value: number };
  requestCount: { value: number };
  /** s3rver's process (a fault test may kill it: the proxy must then answer as S3 does) */
  s3rverPid: number | undefined;
  stop(): Promise<void>;
}

const here = path.dirname(fileURLToPath(import.meta.url));

function xmlError(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>local-redshift</RequestId></Error>`;
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function xmlUnescape(s: string): string {
  return s
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_m, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&amp;/g, "&");
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * Connections to s3rver are not kept alive. Node's global agent keeps them (Node 19+), and a request sent
 * on an idle connection just as s3rver's keep-alive timeout closes it can fail with ECONNRESET / "socket
 * hang up". (The suites that failed with every S3 request had another cause: s3rver crashing, see
 * KindLock.) A fresh loopback connection per request costs next to nothing.
 */
const s3rverAgent = new http.Agent({ keepAlive: false });

/**
 * What S3 answers when it fails inside: 500 InternalError, as XML (clients parse it and retry, as they do
 * against S3). Used when s3rver cannot be reached or breaks off; a response already under way is cut off
 * instead (the client sees a broken connection, which it also retries).
 */
function upstreamFailed(res: http.ServerResponse, err: Error, log: (l: string) => void, gone?: string): void {
  log(`s3: s3rver request failed: ${err.message}${gone ? ` (${gone})` : ""}`);
  if (res.headersSent) {
    res.destroy(err);
    return;
  }
  res.writeHead(500, { "content-type": "application/xml" });
  // S3's wording, then the stand-in's cause: a test that fails on it shows why.
  res.end(xmlError("InternalError", xmlEscape(`We encountered an internal error. Please try again. (stand-in: ${gone ?? err.message})`)));
}

function directRequest(base: string, method: string, pathAndQuery: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(base + pathAndQuery, { method, agent: s3rverAgent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** aws-chunked: "<hex size>[;chunk-signature=..]\r\n<data>\r\n" ... "0\r\n" [trailers] "\r\n". */
export function decodeAwsChunked(b: Buffer): Buffer {
  const out: Buffer[] = [];
  let off = 0;
  while (off < b.length) {
    const eol = b.indexOf("\r\n", off);
    if (eol < 0) break;
    const size = parseInt(b.toString("latin1", off, eol).split(";")[0]!, 16);
    if (!Number.isFinite(size) || size === 0) break;
    out.push(b.subarray(eol + 2, eol + 2 + size));
    off = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}

/**
 * Requests that change s3rver's files: "write" (PutObject, UploadPart, CopyObject, multipart create and
 * complete, CreateBucket) or "delete" (DeleteObject, DeleteObjects). Reads are neither.
 */
function mutationOf(method: string, url: URL): "write" | "delete" | undefined {
  if (method === "DELETE" || (method === "POST" && url.searchParams.has("delete"))) return "delete";
  if (method === "PUT" || method === "POST") return "write";
  return undefined;
}

/**
 * Lets requests of one kind run together and keeps the two kinds apart, in arrival order. s3rver stores an
 * object as a file in its key's directory and removes a directory that a DELETE leaves empty; a PUT into
 * that directory at the same moment then opens a file in a directory that is gone, and s3rver dies of the
 * unhandled ENOENT (seen in CI: the `_runs/` markers of two runs). S3 has no such race, so the stand-in
 * must not either.
 */
class KindLock {
  private kind: string | undefined;
  private active = 0;
  private readonly waiting: { kind: string; admit: () => void }[] = [];

  /** Resolves when `kind` may run; call the returned function once the request is over (idempotent). */
  acquire(kind: string): Promise<() => void> {
    if (this.waiting.length === 0 && (this.active === 0 || this.kind === kind)) {
      this.kind = kind;
      this.active++;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve) => this.waiting.push({ kind, admit: () => resolve(this.releaser()) }));
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--this.active === 0) this.next();
    };
  }

  /** Admits the first waiter and every waiter of its kind right behind it. */
  private next(): void {
    const first = this.waiting[0];
    this.kind = first?.kind;
    while (this.waiting.length > 0 && this.waiting[0]!.kind === this.kind) {
      this.active++;
      this.waiting.shift()!.admit();
    }
  }
}

export function encodeKey(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}

export async function startS3(options: { log?: (l: string) => void } = {}): Promise<S3Handle> {
  const log = options.log ?? (() => {});
  // Registered before the dir and the child exist (see startPostgres: a signal before track() installs
  // the handlers kills the process by its default action and leaves them behind).
  const leftover: Leftover = { pids: [], dirs: [] };
  const forget = track(leftover);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "local-redshift-s3-"));
  leftover.dirs!.push(dir);
  const bucket = "local-redshift";
  const child: ChildProcess = fork(path.join(here, "s3rver-child.mjs"), [dir, bucket], {
    execArgv: ["--openssl-legacy-provider", "--no-warnings"],
    stdio: ["ignore", "ignore", "pipe", "ipc"],
  });
  leftover.pids!.push({ pid: child.pid, signal: "SIGKILL" });
  let childErr = "";
  child.stderr?.on("data", (d: Buffer) => (childErr += d.toString()));
  const s3rverPort = await new Promise<number>((resolve, reject) => {
    child.once("message", (m: { port: number }) => resolve(m.port));
    child.once("exit", (code) => reject(new Error(`s3rver exited ${code}: ${childErr}`)));
  }).catch((err: unknown) => {
    removeDirSync(dir);
    forget();
    throw err;
  });
  const direct = `http://127.0.0.1:${s3rverPort}`;
  // s3rver dying under a running stand-in turns every S3 request into a 500: say once, loudly, how it
  // ended and what it printed, so the failing tests' cause is in their output.
  let stopping = false;
  let gone: string | undefined;
  child.once("exit", (code, signal) => {
    if (stopping) return;
    gone = `s3rver (pid ${child.pid}) exited unexpectedly (code ${code}, signal ${signal})${childErr.trim() ? `: ${childErr.trim().slice(-2000)}` : ""}`;
    process.stderr.write(`[local-redshift] ${gone}\n`);
  });

  const faults: S3Fault[] = [];
  const latencyMs = { value: 0 };
  const requestCount = { value: 0 };
  const hanging = new Set<http.ServerResponse>();

  const takeFault = (method: string, op: string): S3Fault | undefined => {
    const f = faults.find((x) => x.remaining > 0 && (!x.method || x.method === method) && (!x.op || x.op === op));
    if (!f) return undefined;
    f.remaining--;
    if (f.remaining <= 0) faults.splice(faults.indexOf(f), 1);
    return f;
  };

  const writesAndDeletes = new KindLock();
  const server = http.createServer(async (req, res) => {
    requestCount.value++;
    try {
      if (latencyMs.value > 0) await new Promise((r) => setTimeout(r, latencyMs.value));
      const fault = takeFault(req.method ?? "GET", s3Operation(req.method ?? "GET", req.url ?? "/", req.headers));
      if (fault?.kind === "delay") await new Promise((r) => setTimeout(r, fault.ms ?? 0));
      if (fault?.kind === "hang") {
        // Swallow the request and never answer: the client's own timeout must fire.
        req.resume();
        hanging.add(res);
        res.on("close", () => hanging.delete(res));
        return;
      }
      if (fault?.kind === "error") {
        await readBody(req);
        const status = fault.status ?? 500;
        const code = fault.code ?? (status === 503 ? "SlowDown" : "InternalError");
        const msg = status === 503 ? "Please reduce your request rate." : "We encountered an internal error. Please try again.";
        res.writeHead(status, { "content-type": "application/xml" });
        res.end(xmlError(code, msg));
        return;
      }
      const url = new URL(req.url ?? "/", "http://x");
      const mutation = mutationOf(req.method ?? "GET", url);
      if (mutation) {
        const release = await writesAndDeletes.acquire(mutation);
        // A client that went away while this waited frees its turn at once.
        if (res.closed || res.destroyed) release();
        else res.once("close", release);
      }
      if (req.method === "POST" && url.searchParams.has("delete")) {
        // s3rver deletes the keys of one DeleteObjects concurrently and can answer 500 although every
        // object is gone; deleting one by one avoids the race and gives the documented response.
        const body = (await readBody(req)).toString("utf8");
        const keys = [...body.matchAll(/<Key>([\s\S]*?)<\/Key>/g)].map((m) => xmlUnescape(m[1] ?? ""));
        const quiet = /<Quiet>\s*true\s*<\/Quiet>/i.test(body);
        const bucketPath = url.pathname.replace(/\/+$/, "");
        let out = '<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">';
        for (const key of keys) {
          const r = await directRequest(direct, "DELETE", `${bucketPath}/${encodeKey(key)}`);
          if (r.status >= 300 && r.status !== 404) out += `<Error><Key>${xmlEscape(key)}</Key><Code>InternalError</Code><Message>status ${r.status}</Message></Error>`;
          else if (!quiet) out += `<Deleted><Key>${xmlEscape(key)}</Key></Deleted>`;
        }
        out += "</DeleteResult>";
        res.writeHead(200, { "content-type": "application/xml" });
        res.end(out);
        return;
      }
      const sha = String(req.headers["x-amz-content-sha256"] ?? "");
      if (sha.startsWith("STREAMING-") || String(req.headers["content-encoding"] ?? "").includes("aws-chunked")) {
        // s3rver stores aws-chunked bodies verbatim (chunk sizes, signatures and checksum trailers end up
        // inside the object). Decode here and forward the plain bytes; the signature covered the framed
        // body, so the request goes on unsigned (s3rver does not require authentication).
        const body = decodeAwsChunked(await readBody(req));
        const headers = { ...req.headers };
        for (const h of ["authorization", "x-amz-content-sha256", "x-amz-decoded-content-length", "x-amz-trailer", "transfer-encoding", "x-amz-sdk-checksum-algorithm"]) delete headers[h];
        for (const k of Object.keys(headers)) if (k.startsWith("x-amz-checksum-")) delete headers[k];
        const enc = String(headers["content-encoding"] ?? "").split(",").map((x) => x.trim()).filter((x) => x && x !== "aws-chunked");
        if (enc.length) headers["content-encoding"] = enc.join(",");
        else delete headers["content-encoding"];
        headers["content-length"] = String(body.length);
        const up = http.request({ host: "127.0.0.1", port: s3rverPort, method: req.method, path: req.url, headers, agent: s3rverAgent }, (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        });
        up.on("error", (err) => upstreamFailed(res, err, log, gone));
        up.end(body);
        return;
      }
      const upstream = http.request(
        { host: "127.0.0.1", port: s3rverPort, method: req.method, path: req.url, headers: req.headers, agent: s3rverAgent },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on("error", (err) => upstreamFailed(res, err, log, gone));
      req.pipe(upstream);
    } catch (err) {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/xml" });
      res.end(xmlError("InternalError", String(err)));
    }
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const proxyPort = typeof addr === "object" && addr ? addr.port : 0;
  log(`s3 on http://127.0.0.1:${proxyPort} (s3rver on ${s3rverPort}), bucket ${bucket}`);

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      stopping = true;
      for (const r of hanging) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (child.exitCode === null && child.signalCode === null) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => child.kill("SIGKILL"), 3000);
          child.once("exit", () => {
            clearTimeout(t);
            resolve();
          });
          child.kill("SIGTERM");
        });
      }
      removeDirSync(dir);
      forget();
    })());

  return {
    endpoint: `http://127.0.0.1:${proxyPort}`,
    directEndpoint: direct,
    bucket,
    region: "us-east-1",
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    faults,
    latencyMs,
    requestCount,
    s3rverPid: child.pid,
    stop,
  };
}

/** Reads S3 the way Redshift's COPY would, straight from s3rver (client-side faults do not apply). */
export class S3Reader {
  constructor(private readonly base: string) {}

  async get(bucket: string, key: string): Promise<Buffer | undefined> {
    const r = await directRequest(this.base, "GET", `/${bucket}/${encodeKey(key)}`);
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw new Error(`S3 GET s3://${bucket}/${key} answered ${r.status}`);
    return r.body;
  }

  async exists(bucket: string, key: string): Promise<boolean> {
    const r = await directRequest(this.base, "HEAD", `/${bucket}/${encodeKey(key)}`);
    return r.status === 200;
  }

  async list(bucket: string, prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    for (;;) {
      const q = new URLSearchParams({ "list-type": "2", prefix, "max-keys": "1000" });
      if (token) q.set("continuation-token", token);
      const r = await directRequest(this.base, "GET", `/${bucket}?${q.toString()}`);
      if (r.status !== 200) throw new Error(`S3 ListObjectsV2 s3://${bucket}/${prefix} answered ${r.status}: ${r.body.toString()}`);
      const xml = r.body.toString("utf8");
      for (const m of xml.matchAll(/<Contents>[\s\S]*?<Key>([\s\S]*?)<\/Key>/g)) keys.push(xmlUnescape(m[1] ?? ""));
      const next = /<NextContinuationToken>([\s\S]*?)<\/NextContinuationToken>/.exec(xml);
      if (!/<IsTruncated>true<\/IsTruncated>/.test(xml) || !next) break;
      token = xmlUnescape(next[1] ?? "");
    }
    return keys;
  }
}
