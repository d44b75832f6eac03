import { describe, expect, it } from "vitest";
import { connectorSettings, cpuQuota, defaultEncodeWorkers } from "../../../src/engine/settings.js";
import { parseConfig } from "../../../src/config/index.js";
import { copyFromManifest } from "../../../src/redshift/sql.js";

describe("encode workers default", () => {
  it("reads a cgroup v2 cpu.max quota, rounded up", () => {
    expect(cpuQuota("100000 100000\n")).toBe(1);
    expect(cpuQuota("150000 100000")).toBe(2);
    expect(cpuQuota("50000 100000")).toBe(1);
    expect(cpuQuota("400000 100000")).toBe(4);
  });

  it("no quota: unlimited, unreadable or malformed", () => {
    expect(cpuQuota("max 100000")).toBeUndefined();
    expect(cpuQuota(undefined)).toBeUndefined();
    expect(cpuQuota("")).toBeUndefined();
    expect(cpuQuota("garbage")).toBeUndefined();
    expect(cpuQuota("0 100000")).toBeUndefined();
  });

  it("is between 1 and 4 on this machine", () => {
    const n = defaultEncodeWorkers();
    expect(n).toBeGreaterThanOrEqual(1);
    expect(n).toBeLessThanOrEqual(4);
  });
});

describe("COPY authorization, REGION and IAM settings from the config", () => {
  const base = { host: "c1.abc123.us-west-2.redshift.amazonaws.com", database: "dev", user: "u", password: "pw-1234", s3_bucket: "staging-bucket" };

  it("without role or keys: the default credential chain; s3_region becomes COPY's REGION", () => {
    const s = connectorSettings(parseConfig({ ...base, s3_region: "eu-west-1" }));
    expect(s.load.copyAuth).toEqual({ defaultChain: true });
    expect(s.load.region).toBe("eu-west-1");
    expect(connectorSettings(parseConfig({ ...base, copy_iam_role_arn: "arn:aws:iam::123456789012:role/R" })).load.copyAuth).toEqual({ iamRoleArn: "arn:aws:iam::123456789012:role/R" });
  });

  it("COPY SQL: temporary keys with SESSION_TOKEN and REGION for CSV; no REGION for Parquet (rule 18)", () => {
    const o = { table: "s", columns: ["id"], manifestUrl: "s3://b/m.json", auth: { accessKeyId: "AK", secretAccessKey: "SK", sessionToken: "TOK" }, region: "eu-west-1" };
    expect(copyFromManifest({ ...o, format: "csv_gzip" })).toBe(
      `COPY "s" ("id") FROM 's3://b/m.json' ACCESS_KEY_ID 'AK' SECRET_ACCESS_KEY 'SK' SESSION_TOKEN 'TOK' MANIFEST FORMAT AS CSV QUOTE AS '"' DELIMITER ',' NULL AS '\\N' GZIP TIMEFORMAT 'auto' DATEFORMAT 'auto' REGION 'eu-west-1' STATUPDATE OFF COMPUPDATE OFF`,
    );
    expect(copyFromManifest({ ...o, format: "parquet" })).not.toContain("REGION");
  });

  it("IAM: region from the host unless redshift_region is set; keys reused for the AWS call", () => {
    const iam = { ...base, user: undefined, password: undefined, iam_auth: true, cluster_identifier: "c1", db_user: "loader", aws_access_key_id: "AKIAEXAMPLE", aws_secret_access_key: "secret-1234" };
    const s = connectorSettings(parseConfig(iam));
    expect(s.connection.iam).toMatchObject({ clusterIdentifier: "c1", dbUser: "loader", region: "us-west-2", durationSeconds: 900, credentials: { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "secret-1234" } });
    expect(connectorSettings(parseConfig({ ...iam, redshift_region: "eu-central-1" })).connection.iam?.region).toBe("eu-central-1");
    expect(connectorSettings(parseConfig(base)).connection.iam).toBeUndefined();
  });
});
