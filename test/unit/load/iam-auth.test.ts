import { describe, expect, it } from "vitest";
import { type DatabaseCredentials, type IamAuthError, RefreshingCredentials, awsCredentialFetcher, iamOperation, regionFromHost } from "../../../src/load/iam-auth.js";
import { CopyCredentials, CopyCredentialsError } from "../../../src/load/copy-credentials.js";

describe("regionFromHost", () => {
  it("reads the region of provisioned and Serverless endpoints", () => {
    expect(regionFromHost("examplecluster.abc123xyz789.us-west-2.redshift.amazonaws.com")).toBe("us-west-2");
    expect(regionFromHost("wg.123456789012.us-east-1.redshift-serverless.amazonaws.com")).toBe("us-east-1");
    expect(regionFromHost("c.x.cn-north-1.redshift.amazonaws.com.cn")).toBe("cn-north-1");
    expect(regionFromHost("c.x.us-gov-west-1.redshift.amazonaws.com")).toBe("us-gov-west-1");
  });
  it("is undefined for other hosts", () => {
    expect(regionFromHost("localhost")).toBeUndefined();
    expect(regionFromHost("warehouse.example.com")).toBeUndefined();
  });
});

describe("iamOperation", () => {
  it("picks the call from the settings", () => {
    expect(iamOperation({ database: "d", clusterIdentifier: "c", dbUser: "u" })).toBe("redshift:GetClusterCredentials");
    expect(iamOperation({ database: "d", clusterIdentifier: "c" })).toBe("redshift:GetClusterCredentialsWithIAM");
    expect(iamOperation({ database: "d", workgroupName: "w" })).toBe("redshift-serverless:GetCredentials");
  });
});

describe("RefreshingCredentials", () => {
  const issue = (n: number, expiresAt: number): DatabaseCredentials => ({ user: "IAM:u", password: `pw-${n}`, expiresAt: new Date(expiresAt) });

  it("reuses credentials until a quarter of their 900 s lifetime is left, then fetches again (forcing a refresh)", async () => {
    let now = 0;
    const forced: boolean[] = [];
    const seen: string[] = [];
    const src = new RefreshingCredentials(
      async (force) => {
        forced.push(force);
        return issue(forced.length, now + 900_000);
      },
      { now: () => now, onIssued: (c) => seen.push(c.password) },
    );
    expect((await src.get()).password).toBe("pw-1");
    now = 674_000;
    expect((await src.get()).password).toBe("pw-1");
    now = 675_001;
    expect((await src.get()).password).toBe("pw-2");
    expect(forced).toEqual([false, true]);
    expect(seen).toEqual(["pw-1", "pw-2"]);
  });

  it("refreshes short-lived credentials at three quarters of their lifetime", async () => {
    let now = 0;
    let n = 0;
    const src = new RefreshingCredentials(async () => issue(++n, now + 60_000), { now: () => now });
    await src.get();
    now = 44_000;
    expect((await src.get()).password).toBe("pw-1");
    now = 45_001;
    expect((await src.get()).password).toBe("pw-2");
  });

  it("shares one fetch between concurrent askers", async () => {
    let n = 0;
    const src = new RefreshingCredentials(async () => issue(++n, Date.now() + 900_000));
    const all = await Promise.all([src.get(), src.get(), src.get()]);
    expect(all.map((c) => c.password)).toEqual(["pw-1", "pw-1", "pw-1"]);
    expect(src.fetches).toBe(1);
  });
});

describe("awsCredentialFetcher", () => {
  it("names the operation, cluster, database, user and region when the AWS call fails", async () => {
    // Nothing listens on port 9 of the loopback: the SDK's request fails at once.
    const fetch = awsCredentialFetcher({
      database: "dev",
      clusterIdentifier: "c1",
      dbUser: "loader",
      region: "us-west-2",
      endpointUrl: "http://127.0.0.1:9",
      credentials: { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "secret-example" },
    });
    const e = await fetch().then(() => undefined, (x: Error) => x);
    expect(e?.name).toBe("IamAuthError");
    expect(e?.message).toMatch(/^IAM authentication failed at redshift:GetClusterCredentials \(cluster c1, database dev, db user loader, region us-west-2\): /);
    // Nothing answered: running again later may succeed.
    expect((e as IamAuthError | undefined)?.kind).toBe("transient");
  });
});

describe("CopyCredentials", () => {
  it("passes a role or configured keys through untouched", async () => {
    expect(await new CopyCredentials({ iamRoleArn: "arn:aws:iam::1:role/R" }).get()).toEqual({ iamRoleArn: "arn:aws:iam::1:role/R" });
  });

  it("resolves the default chain, with the session token, and again near expiry", async () => {
    let now = 0;
    let n = 0;
    const secrets: string[] = [];
    const c = new CopyCredentials(
      { defaultChain: true },
      {
        now: () => now,
        provider: async () => ({ accessKeyId: `AK${++n}`, secretAccessKey: `SK${n}`, sessionToken: `TOK${n}`, expiresAt: new Date(now + 3_600_000) }),
        onIssued: (x) => secrets.push(x.secretAccessKey, x.sessionToken ?? ""),
      },
    );
    expect(await c.get()).toEqual({ accessKeyId: "AK1", secretAccessKey: "SK1", sessionToken: "TOK1" });
    now = 3_000_000;
    expect((await c.get()).accessKeyId).toBe("AK1");
    now = 3_300_001;
    expect(await c.get()).toEqual({ accessKeyId: "AK2", secretAccessKey: "SK2", sessionToken: "TOK2" });
    expect(secrets).toEqual(["SK1", "TOK1", "SK2", "TOK2"]);
  });

  it("says what to set when the chain finds nothing", async () => {
    const c = new CopyCredentials({ defaultChain: true }, { provider: async () => Promise.reject(new Error("Could not load credentials from any providers")) });
    const e = await c.get().then(() => undefined, (x: Error) => x);
    expect(e).toBeInstanceOf(CopyCredentialsError);
    expect(e?.message).toContain("set copy_iam_role_arn, or aws_access_key_id and aws_secret_access_key");
  });
});
