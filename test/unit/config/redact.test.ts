import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { parseConfig, REDACTED, Redactor, redactConfig, secretFieldNames } from "../../../src/config/index.js";

const base = { host: "cluster.example.com", database: "dev", user: "loader", s3_bucket: "staging-bucket" };
const secrets = {
  password: "p@ss word/1\"x",
  aws_access_key_id: "AKIAIOSFODNN7EXAMPLE",
  aws_secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  aws_session_token: "FwoGZXIvYXdzEJr//////////wEaDOKEN",
};

describe("secretFieldNames", () => {
  it("is derived from airbyte_secret in the spec", () => {
    expect([...secretFieldNames].sort()).toEqual(["aws_access_key_id", "aws_secret_access_key", "aws_session_token", "password"]);
  });
});

describe("redactConfig", () => {
  it("masks every secret that is set and leaves the rest", () => {
    const cfg = parseConfig({ ...base, ...secrets });
    const red = redactConfig(cfg);
    for (const name of secretFieldNames) expect(red[name as keyof typeof red]).toBe(REDACTED);
    expect(red.host).toBe(base.host);
    expect(red.port).toBe(5439);
    expect(cfg.password).toBe(secrets.password); // the original is untouched
    expect(JSON.stringify(red)).not.toMatch(/EXAMPLE|p@ss/);
  });

  it("does not invent secrets that are not set", () => {
    expect(redactConfig(parseConfig(base))).not.toHaveProperty("password");
  });
});

describe("Redactor", () => {
  const r = Redactor.fromConfig({ ...base, ...secrets });

  it("masks every occurrence in free text", () => {
    const text = `login ${secrets.password} failed; key=${secrets.aws_access_key_id} again ${secrets.aws_access_key_id}`;
    expect(r.redact(text)).toBe(`login ${REDACTED} failed; key=${REDACTED} again ${REDACTED}`);
  });

  it("masks JSON-escaped and URL-encoded forms", () => {
    expect(r.redact(JSON.stringify({ msg: `pw is ${secrets.password}` }))).toBe(JSON.stringify({ msg: `pw is ${REDACTED}` }));
    expect(r.redact(`postgres://loader:${encodeURIComponent(secrets.password)}@host/dev`)).toBe(`postgres://loader:${REDACTED}@host/dev`);
  });

  it("masks a secret that contains another secret whole", () => {
    const nested = new Redactor(["abcd", "xxabcdxx"]);
    expect(nested.redact("1 xxabcdxx 2 abcd")).toBe(`1 ${REDACTED} 2 ${REDACTED}`);
  });

  it("ignores values shorter than 4 characters and non-strings", () => {
    const short = Redactor.fromConfig({ password: "abc", aws_access_key_id: 12345 });
    expect(short.active).toBe(false);
    expect(short.redact("abc 12345")).toBe("abc 12345");
  });

  it("treats regex metacharacters literally", () => {
    const meta = new Redactor(["a.b*c(d)"]);
    expect(meta.redact("aXbbc(d) a.b*c(d)")).toBe(`aXbbc(d) ${REDACTED}`);
  });

  it("redacts deep values and errors", () => {
    const trace = { type: "TRACE", trace: { error: { message: `auth ${secrets.password}`, stack_trace: [secrets.aws_session_token] } } };
    expect(r.redactValue(trace)).toEqual({ type: "TRACE", trace: { error: { message: `auth ${REDACTED}`, stack_trace: [REDACTED] } } });
    const err = r.redactError(new Error(`bad key ${secrets.aws_secret_access_key}`));
    expect(err.message).toBe(`bad key ${REDACTED}`);
    expect(err.stack).not.toContain(secrets.aws_secret_access_key);
    expect(r.redactError(`thrown ${secrets.password}`).message).toBe(`thrown ${REDACTED}`);
  });

  it("wrap() redacts a stream even when a secret is split across writes", async () => {
    const sink = new PassThrough();
    const chunks: string[] = [];
    sink.on("data", (c: Buffer) => chunks.push(c.toString()));
    const w = r.wrap(sink);
    const key = secrets.aws_access_key_id;
    w.write(`first ${key.slice(0, 6)}`);
    w.write(`${key.slice(6)} line\nsecond line ${secrets.password}`);
    await new Promise<void>((resolve) => w.end(resolve));
    expect(chunks.join("")).toBe(`first ${REDACTED} line\nsecond line ${REDACTED}`);
  });

  it("wrapWrite() redacts each written line", () => {
    const out: string[] = [];
    r.wrapWrite((s) => out.push(s))(`x ${secrets.aws_secret_access_key}\n`);
    expect(out).toEqual([`x ${REDACTED}\n`]);
  });

  it("is fast enough for every log line", () => {
    const line = "2024-01-01T00:00:00Z INFO loaded batch 17 of stream public-users: 100000 rows in 2.3 s ".repeat(2);
    const start = performance.now();
    for (let i = 0; i < 100_000; i++) r.redact(line);
    const perLineUs = ((performance.now() - start) * 1000) / 100_000;
    expect(perLineUs).toBeLessThan(20);
  });
});

describe("Redactor.add", () => {
  it("masks secrets obtained after start (IAM passwords, chain credentials) from then on", () => {
    const r = Redactor.fromConfig({ password: "config-secret" });
    expect(r.redact("pw issued-pass-1234")).toBe("pw issued-pass-1234");
    r.add("issued-pass-1234");
    expect(r.redact("config-secret issued-pass-1234")).toBe(`${REDACTED} ${REDACTED}`);
  });
});
