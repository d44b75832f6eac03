import { mkdtemp, writeFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseConfig, validateConfig } from "../../../src/config/index.js";
import { loadSpec } from "../../../src/config/spec.js";
import { jsonErrorLocation, jsonErrorOffset } from "../../../src/config/json-error.js";

const base = { host: "cluster.example.com", database: "dev", user: "loader", s3_bucket: "staging-bucket" };

function errorOf(raw: unknown): ConfigError {
  try {
    parseConfig(raw, { onWarning: () => {} });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("parseConfig defaults", () => {
  it("applies every spec default and keeps given values", () => {
    const cfg = parseConfig({ ...base, port: 5440 });
    expect(cfg).toMatchObject({
      port: 5440,
      schema: "public",
      ssl: true,
      ssl_verify: true,
      s3_key_prefix: "target-redshift/",
      s3_region: "us-east-1",
      s3_force_path_style: false,
      file_format: "csv_gzip",
      batch_size_rows: 100000,
      batch_size_bytes: 67108864,
      max_batch_age_seconds: 300,
      upsert_strategy: "merge",
      type_mapping: {},
      lower_case: true,
      skip_schema_creation: false,
      stream_mapping: {},
      add_metadata_columns: false,
      hard_delete: false,
      purge_staging_files: true,
      validate_records: false,
      string_overflow: "truncate",
      invalid_value: "null",
    });
  });

  it("applies every default the spec declares (none forgotten in the test above)", () => {
    const cfg = parseConfig(base) as Record<string, unknown>;
    for (const [name, prop] of Object.entries(loadSpec().properties)) {
      if (prop.default !== undefined) expect(cfg[name], name).toEqual(prop.default);
    }
  });

  it("does not share default objects between parses or mutate the input", () => {
    const input = { ...base };
    const a = parseConfig(input);
    const b = parseConfig(input);
    expect(a.type_mapping).not.toBe(b.type_mapping);
    expect(input).toEqual(base);
  });

  it("treats null and blank optional settings as unset", () => {
    const cfg = parseConfig({ ...base, password: null, ssl_ca: "", port: null, s3_key_prefix: "" });
    expect(cfg.password).toBeUndefined();
    expect(cfg.ssl_ca).toBeUndefined();
    expect(cfg.port).toBe(5439);
    // "" is a meaningful prefix (bucket root), so a setting with a default keeps it.
    expect(cfg.s3_key_prefix).toBe("");
  });

  it("normalises type_mapping values and accepts the documented types", () => {
    const cfg = parseConfig({
      ...base,
      type_mapping: { string: "varchar( 1000 )", number: "numeric(38, 9)", object: "super", datetime: "TimestampTZ", integer: "double  precision", date: "DATE", time: "TIMETZ", boolean: "BOOLEAN", array: "VARCHAR(MAX)" },
    });
    expect(cfg.type_mapping).toEqual({
      string: "VARCHAR(1000)",
      number: "NUMERIC(38,9)",
      object: "SUPER",
      datetime: "TIMESTAMPTZ",
      integer: "DOUBLE PRECISION",
      date: "DATE",
      time: "TIMETZ",
      boolean: "BOOLEAN",
      array: "VARCHAR(MAX)",
    });
  });

  it("accepts max_batch_age_seconds 0 (age trigger off)", () => {
    expect(parseConfig({ ...base, max_batch_age_seconds: 0 }).max_batch_age_seconds).toBe(0);
  });
});

describe("parseConfig errors", () => {
  it("names a wrongly typed field and the expected type", () => {
    const e = errorOf({ ...base, port: "abc" });
    expect(e.message).toContain('config.port: expected integer, got "abc"');
    expect(e.issues).toEqual([{ path: "config.port", message: 'expected integer, got "abc"' }]);
  });

  it("names each missing required field", () => {
    const e = errorOf({ database: "dev" });
    expect(e.message).toContain('config: missing required field "host"');
    expect(e.message).toContain('config: missing required field "user"');
    expect(e.message).toContain('config: missing required field "s3_bucket"');
    expect(e.message).toMatch(/^Invalid configuration \(3 problems\):/);
  });

  it("reports every problem at once, in spec order", () => {
    const e = errorOf({ ...base, upsert_strategy: "upsert", port: 0, file_format: "json", batch_size_bytes: 10 });
    expect(e.issues.map((i) => i.path)).toEqual(["config.port", "config.file_format", "config.batch_size_bytes", "config.upsert_strategy"]);
    expect(e.message).toContain('config.file_format: expected one of "csv_gzip", "parquet", got "json"');
    expect(e.message).toContain("config.port: expected integer >= 1, got 0");
    expect(e.message).toContain("config.batch_size_bytes: expected integer >= 1024, got 10");
  });

  it("rejects negative max_batch_age_seconds and non-integer batch sizes", () => {
    expect(errorOf({ ...base, max_batch_age_seconds: -1 }).message).toContain("config.max_batch_age_seconds: expected integer >= 0, got -1");
    expect(errorOf({ ...base, batch_size_rows: 1.5 }).message).toContain("config.batch_size_rows: expected integer, got 1.5");
  });

  it("explains patterns in words", () => {
    const e = errorOf({ ...base, copy_iam_role_arn: "role/x", s3_bucket: "Bad_Bucket", s3_region: "mars", s3_endpoint_url: "localhost:9000" });
    expect(e.message).toContain('config.copy_iam_role_arn: expected IAM role ARN such as arn:aws:iam::123456789012:role/RedshiftCopy, got "role/x"');
    expect(e.message).toContain("config.s3_bucket: expected S3 bucket name");
    expect(e.message).toContain('config.s3_region: expected AWS region code such as us-east-1, got "mars"');
    expect(e.message).toContain('config.s3_endpoint_url: expected http:// or https:// URL, got "localhost:9000"');
  });

  it("rejects TEXT and size-less types with the reason", () => {
    const e = errorOf({ ...base, type_mapping: { string: "TEXT", object: "varchar", number: "NUMERIC" } });
    expect(e.message).toContain('config.type_mapping.string: "TEXT" is not allowed: Redshift silently turns it into VARCHAR(256)');
    expect(e.message).toContain('config.type_mapping.object: "VARCHAR" is not allowed: Redshift silently turns it into VARCHAR(256)');
    expect(e.message).toContain('config.type_mapping.number: "NUMERIC" is not allowed: Redshift silently turns it into NUMERIC(18,0)');
  });

  it("checks type sizes and unknown types", () => {
    const e = errorOf({ ...base, type_mapping: { string: "VARCHAR(70000)", number: "NUMERIC(40,2)", integer: "DECIMAL(10,12)", boolean: "CHAR(0)", date: "JSONB" } });
    expect(e.message).toContain("config.type_mapping.string: \"VARCHAR(70000)\": VARCHAR length must be 1-65535 bytes");
    expect(e.message).toContain("config.type_mapping.number: \"NUMERIC(40,2)\": precision must be 1-38");
    expect(e.message).toContain("config.type_mapping.integer: \"DECIMAL(10,12)\": scale must be at most the precision");
    expect(e.message).toContain("config.type_mapping.boolean: \"CHAR(0)\": CHAR length must be 1-4096");
    expect(e.message).toContain('config.type_mapping.date: expected a Redshift type such as VARCHAR(1000)');
  });

  it("rejects unknown keys inside objects we define, once each", () => {
    const e = errorOf({ ...base, type_mapping: { strng: "SUPER" }, stream_mapping: { "public-users": { tbl: "users" }, orders: {} } });
    expect(e.issues).toEqual([
      { path: "config.type_mapping.strng", message: expect.stringContaining("unknown key; expected one of string, integer, number") },
      { path: 'config.stream_mapping["public-users"].tbl', message: "unknown key; expected one of schema, table" },
      { path: "config.stream_mapping.orders", message: "expected an object with at least one of schema, table, got {}" },
    ]);
  });

  it("accepts a valid stream_mapping", () => {
    const cfg = parseConfig({ ...base, stream_mapping: { "public-users": { schema: "crm", table: "users" }, orders: { table: "o" } } });
    expect(cfg.stream_mapping["public-users"]).toEqual({ schema: "crm", table: "users" });
  });

  it("checks AWS credential pairs", () => {
    expect(errorOf({ ...base, aws_access_key_id: "AKIAEXAMPLE" }).message).toContain(
      "config.aws_secret_access_key: required when aws_access_key_id is set",
    );
    expect(errorOf({ ...base, aws_session_token: "tok-en-value" }).message).toContain(
      "config.aws_session_token: needs aws_access_key_id and aws_secret_access_key",
    );
    expect(parseConfig({ ...base, aws_access_key_id: "AKIAEXAMPLE", aws_secret_access_key: "s3cr3tkey" }).aws_access_key_id).toBe("AKIAEXAMPLE");
  });

  it("rejects a config that is not an object", () => {
    for (const raw of [[1], "x", null, 42]) expect(errorOf(raw).message).toContain("config: expected a JSON object");
  });

  it("never includes a secret's value in an error", () => {
    const e = errorOf({ ...base, password: 1234567, aws_access_key_id: "AKIAEXAMPLEKEY", aws_secret_access_key: ["hunter2-secret"], port: "hunter2-secret" });
    expect(e.message).toContain("config.password: expected string, got a number (value hidden)");
    expect(e.message).toContain("config.aws_secret_access_key: expected string, got an array");
    expect(e.message).not.toContain("1234567");
    expect(e.message).not.toContain("AKIAEXAMPLEKEY");
    // The password of a valid config pasted into another field is masked as well.
    const e2 = errorOf({ ...base, password: "hunter2-secret", port: "hunter2-secret" });
    expect(e2.message).not.toContain("hunter2-secret");
    expect(e2.message).toContain('config.port: expected integer, got "**********"');
  });
});

describe("warnings", () => {
  it("warns about unknown fields, drops them, and does not fail", () => {
    const warnings: string[] = [];
    const cfg = parseConfig({ ...base, airbyte_internal: 1, target_schema_typo: "x" }, { onWarning: (w) => warnings.push(w) });
    expect(warnings).toEqual(['config: unknown field "airbyte_internal" ignored', 'config: unknown field "target_schema_typo" ignored']);
    expect(cfg).not.toHaveProperty("airbyte_internal");
  });

  it("warns when TLS verification is off or ssl_ca is unused", () => {
    expect(validateConfig({ ...base, ssl_verify: false }).warnings).toEqual([expect.stringContaining("config.ssl_verify is false")]);
    expect(validateConfig({ ...base, ssl: false, ssl_verify: false, ssl_ca: "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n" }).warnings).toEqual([
      "config.ssl_ca is ignored because ssl is false",
    ]);
    expect(validateConfig(base).warnings).toEqual([]);
  });
});

describe("loadConfig", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "config-test-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("loads and validates a file", async () => {
    const path = join(dir, "ok.json");
    await writeFile(path, JSON.stringify({ ...base, password: "pw-12345" }));
    const cfg = await loadConfig(path);
    expect(cfg.port).toBe(5439);
    expect(cfg.password).toBe("pw-12345");
  });

  it("names the path of a missing file", async () => {
    const path = join(dir, "missing.json");
    await expect(loadConfig(path)).rejects.toThrow(new ConfigError(`Cannot read config file ${path}: file not found`));
  });

  it("names the path and location of invalid JSON without quoting the content", async () => {
    const path = join(dir, "bad.json");
    await writeFile(path, '{\n  "host": "h",\n  "password": hunter2-secret\n}');
    const err = (await loadConfig(path).then(
      () => undefined,
      (e: unknown) => e,
    )) as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(new RegExp(`^Config file ${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is not valid JSON at line 3, column \\d+$`));
    expect(err.message).not.toContain("hunter2");
  });

  it("reports an empty file and a directory clearly", async () => {
    const path = join(dir, "empty.json");
    await writeFile(path, "  \n");
    await expect(loadConfig(path)).rejects.toThrow(`Config file ${path} is empty`);
    await expect(loadConfig(dir)).rejects.toThrow(`Cannot read config file ${dir}: it is a directory`);
  });

  it("names the file in validation errors", async () => {
    const path = join(dir, "invalid.json");
    await writeFile(path, JSON.stringify({ ...base, port: "abc" }));
    await expect(loadConfig(path)).rejects.toThrow(`Invalid configuration in ${path}:\n  config.port: expected integer, got "abc"`);
  });
});

describe("jsonErrorOffset", () => {
  it("agrees with JSON.parse on valid input", () => {
    for (const ok of ['{"a":[1,-2.5e3,true,false,null,"x\\u00e9\\n"]}', " [] ", '"s"', "0"]) {
      expect(() => JSON.parse(ok)).not.toThrow();
      expect(jsonErrorOffset(ok), ok).toBeUndefined();
    }
  });

  it("points at the first bad character", () => {
    expect(jsonErrorOffset('{"a":1,}')).toBe(7);
    expect(jsonErrorOffset('{"a" 1}')).toBe(5);
    expect(jsonErrorOffset("[1 2]")).toBe(3);
    expect(jsonErrorOffset('{"a":tru}')).toBe(8);
    expect(jsonErrorOffset("{} x")).toBe(3);
    expect(jsonErrorOffset('{"a":"unterminated')).toBe(18);
    expect(jsonErrorLocation('{\n  "a": 01\n}')).toBe(" at line 2, column 9");
  });
});

describe("IAM authentication settings", () => {
  const iam = { host: "c1.abc.us-west-2.redshift.amazonaws.com", database: "dev", s3_bucket: "staging-bucket", iam_auth: true };

  it("accepts a cluster with db_user, a cluster alone (WithIAM) and a workgroup, without user or password", () => {
    expect(parseConfig({ ...iam, cluster_identifier: "c1", db_user: "loader", db_groups: ["g"], auto_create_user: true }).iam_auth).toBe(true);
    expect(parseConfig({ ...iam, cluster_identifier: "c1" }).iam_duration_seconds).toBe(900);
    expect(parseConfig({ ...iam, workgroup_name: "wg" }).workgroup_name).toBe("wg");
  });

  it("names each wrong combination", () => {
    expect(errorOf(iam).message).toContain("config.iam_auth: needs cluster_identifier (provisioned cluster, with db_user or as the caller's IAM identity) or workgroup_name (Serverless)");
    expect(errorOf({ ...iam, cluster_identifier: "c", workgroup_name: "w" }).message).toContain("not both");
    expect(errorOf({ ...iam, cluster_identifier: "c", db_user: "u", password: "pw-12345" }).message).toContain("config.password: must be absent with iam_auth true");
    expect(errorOf({ ...iam, workgroup_name: "w", db_user: "u" }).message).toContain("config.db_user: not used by Serverless GetCredentials");
    expect(errorOf({ ...iam, cluster_identifier: "c", db_groups: ["g"] }).message).toContain("config.db_groups: needs db_user");
    expect(errorOf({ ...iam, cluster_identifier: "c", iam_duration_seconds: 60 }).message).toContain("config.iam_duration_seconds: expected integer >= 900");
  });

  it("without iam_auth, needs user and refuses IAM-only settings", () => {
    const { iam_auth: _, ...plain } = iam;
    expect(errorOf(plain).message).toContain('config: missing required field "user" (unless iam_auth is true)');
    expect(errorOf({ ...plain, user: "u", cluster_identifier: "c" }).message).toContain("config.cluster_identifier: used only with iam_auth true");
  });
});

describe("default_target_schema (the Meltano SDK's name for schema)", () => {
  it("becomes schema when schema is not given", () => {
    expect(parseConfig({ ...base, default_target_schema: "raw_data" }).schema).toBe("raw_data");
  });

  it("is accepted alongside an equal schema", () => {
    expect(parseConfig({ ...base, schema: "raw_data", default_target_schema: "raw_data" }).schema).toBe("raw_data");
  });

  it("refuses a schema that differs, naming both", () => {
    expect(errorOf({ ...base, schema: "crm", default_target_schema: "raw_data" }).message).toContain(
      'config.default_target_schema: is "raw_data" but schema is "crm"; give one of them',
    );
  });

  it("left blank (null, as Meltano sends unset settings) keeps the schema default", () => {
    expect(parseConfig({ ...base, default_target_schema: null }).schema).toBe("public");
  });
});
