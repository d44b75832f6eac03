// IAM database authentication through the stand-in's local AWS endpoint, with the official SDK v3 clients
// (what the connector uses) and a real login through the gateway with the issued user and password.
// Its own stand-in: expireIamCredentials() must not affect other files.
import { afterEach, describe, expect, it } from "vitest";
import pg from "pg";
import { GetClusterCredentialsCommand, GetClusterCredentialsWithIAMCommand, RedshiftClient } from "@aws-sdk/client-redshift";
import { GetCredentialsCommand, RedshiftServerlessClient } from "@aws-sdk/client-redshift-serverless";
import { useLocalRedshift } from "./shared.js";
import { gatewayClient, uniq } from "./test-helpers.js";
import type { LocalRedshift } from "./index.js";

const h = useLocalRedshift({ slices: 2 });
afterEach(() => h.rs.faults.reset());

type Keys = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
const keysOf = (rs: LocalRedshift): Keys => ({ accessKeyId: rs.s3.accessKeyId, secretAccessKey: rs.s3.secretAccessKey });

function redshift(rs: LocalRedshift, credentials: Keys = keysOf(rs)): RedshiftClient {
  return new RedshiftClient({ endpoint: rs.aws.endpoint, region: rs.aws.region, credentials, maxAttempts: 1 });
}
function serverless(rs: LocalRedshift, credentials: Keys = keysOf(rs)): RedshiftServerlessClient {
  return new RedshiftServerlessClient({ endpoint: rs.aws.endpoint, region: rs.aws.region, credentials, maxAttempts: 1 });
}

/** Logs in through the gateway (TLS, as the connector does) with exactly the issued user and password. */
async function login(user: string, password: string): Promise<pg.Client> {
  const c = gatewayClient(h.rs, { user, password });
  await c.connect();
  return c;
}

async function loginError(user: string, password: string): Promise<pg.DatabaseError> {
  const c = gatewayClient(h.rs, { user, password });
  c.on("error", () => {});
  try {
    await c.connect();
  } catch (e) {
    return e as pg.DatabaseError;
  }
  await c.end();
  throw new Error(`login as ${user} was accepted`);
}

const sdkError = async (p: Promise<unknown>): Promise<{ name: string; message: string; $metadata: { httpStatusCode?: number } }> => {
  try {
    await p;
  } catch (e) {
    return e as never;
  }
  throw new Error("expected the AWS call to fail");
};

describe("Redshift GetClusterCredentials (AWS Query protocol) with @aws-sdk/client-redshift", () => {
  it("issues IAM:<existing user> and a password the gateway accepts; the session has the user's privileges", async () => {
    const rs = h.rs;
    const client = redshift(rs);
    const t0 = Date.now();
    const out = await client.send(new GetClusterCredentialsCommand({ ClusterIdentifier: rs.aws.clusterIdentifier, DbUser: rs.pg.user, DbName: rs.pg.database, DurationSeconds: 900 }));
    client.destroy();
    expect(out.DbUser).toBe(`IAM:${rs.pg.user}`);
    expect(out.DbPassword).toMatch(/^\S{16,}$/);
    expect(out.Expiration).toBeInstanceOf(Date);
    // 900 s from the call (whole seconds).
    expect(Math.abs(out.Expiration!.getTime() - (t0 + 900_000))).toBeLessThan(5_000);
    const c = await login(out.DbUser!, out.DbPassword!);
    expect((await c.query("SELECT current_user AS u")).rows[0].u).toBe(`IAM:${rs.pg.user}`);
    const t = uniq("iam_t");
    await c.query(`CREATE TABLE ${t} (id INTEGER); INSERT INTO ${t} VALUES (1)`);
    expect((await c.query(`SELECT count(*)::int AS n FROM ${t}`)).rows[0].n).toBe(1);
    await c.end();
    // A wrong password for the same user is refused.
    expect((await loginError(out.DbUser!, "not-the-password")).code).toBe("28P01");
  });

  it("AutoCreate: IAMA:<new user> (lowercased), joins DbGroups, can create tables like the normal user", async () => {
    const rs = h.rs;
    const client = redshift(rs);
    const user = uniq("Loader");
    const out = await client.send(new GetClusterCredentialsCommand({ ClusterIdentifier: rs.aws.clusterIdentifier, DbUser: user, AutoCreate: true, DbGroups: ["etl_writers", "Analysts"] }));
    client.destroy();
    expect(out.DbUser).toBe(`IAMA:${user.toLowerCase()}`);
    const c = await login(out.DbUser!, out.DbPassword!);
    const groups = (await c.query(`SELECT b.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member JOIN pg_roles b ON b.oid = m.roleid WHERE r.rolname = current_user ORDER BY 1`)).rows.map((r) => r.rolname as string);
    expect(groups).toEqual(expect.arrayContaining(["analysts", "etl_writers", user.toLowerCase()]));
    const t = uniq("iama_t");
    await c.query(`CREATE TABLE public.${t} (id INTEGER); INSERT INTO public.${t} VALUES (1)`);
    await c.end();
  });

  it("an unknown user without AutoCreate: the call succeeds (as Redshift's does) but the login is refused", async () => {
    const rs = h.rs;
    const client = redshift(rs);
    const out = await client.send(new GetClusterCredentialsCommand({ ClusterIdentifier: rs.aws.clusterIdentifier, DbUser: uniq("nobody") }));
    client.destroy();
    expect(out.DbUser).toMatch(/^IAM:nobody_/);
    const e = await loginError(out.DbUser!, out.DbPassword!);
    expect(e.code).toBe("28P01");
    expect(e.message).toBe(`password authentication failed for user "${out.DbUser}"`);
  });

  it("a wrong ClusterIdentifier is ClusterNotFoundFault (404); DurationSeconds outside 900-3600 is InvalidParameterValue", async () => {
    const client = redshift(h.rs);
    const e = await sdkError(client.send(new GetClusterCredentialsCommand({ ClusterIdentifier: "no-such-cluster", DbUser: "redshift" })));
    expect(e.name).toBe("ClusterNotFoundFault");
    expect(e.message).toBe("Cluster no-such-cluster not found.");
    expect(e.$metadata.httpStatusCode).toBe(404);
    const d = await sdkError(client.send(new GetClusterCredentialsCommand({ ClusterIdentifier: h.rs.aws.clusterIdentifier, DbUser: "redshift", DurationSeconds: 60 })));
    expect(d.name).toBe("InvalidParameterValue");
    expect(d.$metadata.httpStatusCode).toBe(400);
    client.destroy();
  });

  it("after expiry the same user and password are refused with Redshift's text; a session opened before stays open; new credentials work", async () => {
    const rs = h.rs;
    const client = redshift(rs);
    const out = await client.send(new GetClusterCredentialsCommand({ ClusterIdentifier: rs.aws.clusterIdentifier, DbUser: rs.pg.user }));
    const open = await login(out.DbUser!, out.DbPassword!);
    await rs.faults.expireIamCredentials();
    const e = await loginError(out.DbUser!, out.DbPassword!);
    expect(e.severity).toBe("FATAL");
    expect(e.code).toBe("28000");
    expect(e.message).toBe("IAM Authentication token has expired");
    expect((await open.query("SELECT 1 AS x")).rows[0].x).toBe(1);
    await open.end();
    // Refreshing (a new call) gives credentials that log in again.
    const again = await client.send(new GetClusterCredentialsCommand({ ClusterIdentifier: rs.aws.clusterIdentifier, DbUser: rs.pg.user }));
    client.destroy();
    await (await login(again.DbUser!, again.DbPassword!)).end();
  });

  it("unknown access key: InvalidClientTokenId (403); known key, wrong secret: SignatureDoesNotMatch (403)", async () => {
    const rs = h.rs;
    const input = { ClusterIdentifier: rs.aws.clusterIdentifier, DbUser: rs.pg.user };
    const c1 = redshift(rs, { accessKeyId: "AKIAUNKNOWN000000000", secretAccessKey: rs.s3.secretAccessKey });
    const e1 = await sdkError(c1.send(new GetClusterCredentialsCommand(input)));
    expect([e1.name, e1.$metadata.httpStatusCode]).toEqual(["InvalidClientTokenId", 403]);
    expect(e1.message).toBe("The security token included in the request is invalid.");
    c1.destroy();
    const c2 = redshift(rs, { accessKeyId: rs.s3.accessKeyId, secretAccessKey: "wrong-secret" });
    const e2 = await sdkError(c2.send(new GetClusterCredentialsCommand(input)));
    expect([e2.name, e2.$metadata.httpStatusCode]).toEqual(["SignatureDoesNotMatch", 403]);
    c2.destroy();
  });
});

describe("GetClusterCredentialsWithIAM", () => {
  it("maps the calling identity: long-term keys → IAM:local-redshift, with a session token (assumed role) → IAMR:local-redshift", async () => {
    const rs = h.rs;
    const c1 = redshift(rs);
    const a = await c1.send(new GetClusterCredentialsWithIAMCommand({ ClusterIdentifier: rs.aws.clusterIdentifier, DbName: rs.pg.database, DurationSeconds: 3600 }));
    c1.destroy();
    expect(a.DbUser).toBe(`IAM:${rs.aws.identityName}`);
    expect(a.NextRefreshTime!.getTime()).toBeLessThan(a.Expiration!.getTime());
    await (await login(a.DbUser!, a.DbPassword!)).end();
    const c2 = redshift(rs, { ...keysOf(rs), sessionToken: "local-session-token" });
    const b = await c2.send(new GetClusterCredentialsWithIAMCommand({ ClusterIdentifier: rs.aws.clusterIdentifier }));
    c2.destroy();
    expect(b.DbUser).toBe(`IAMR:${rs.aws.identityName}`);
    const c = await login(b.DbUser!, b.DbPassword!);
    expect((await c.query("SELECT current_user AS u")).rows[0].u).toBe(`IAMR:${rs.aws.identityName}`);
    await c.end();
  });
});

describe("Redshift Serverless GetCredentials (AWS JSON 1.1) with @aws-sdk/client-redshift-serverless", () => {
  it("issues dbUser/dbPassword/expiration for the workgroup; the gateway accepts them, refuses them after expiry", async () => {
    const rs = h.rs;
    const client = serverless(rs);
    const out = await client.send(new GetCredentialsCommand({ workgroupName: rs.aws.workgroupName, dbName: rs.pg.database, durationSeconds: 1800 }));
    expect(out.dbUser).toBe(`IAM:${rs.aws.identityName}`);
    expect(out.expiration).toBeInstanceOf(Date);
    expect(out.nextRefreshTime).toBeInstanceOf(Date);
    const c = await login(out.dbUser!, out.dbPassword!);
    expect((await c.query("SELECT current_user AS u")).rows[0].u).toBe(out.dbUser);
    await c.end();
    await rs.faults.expireIamCredentials();
    expect((await loginError(out.dbUser!, out.dbPassword!)).message).toBe("IAM Authentication token has expired");
    client.destroy();
  });

  it("unknown workgroup: ResourceNotFoundException; unknown key: UnrecognizedClientException; bad duration: ValidationException", async () => {
    const rs = h.rs;
    const client = serverless(rs);
    const e1 = await sdkError(client.send(new GetCredentialsCommand({ workgroupName: "nope" })));
    expect(e1.name).toBe("ResourceNotFoundException");
    const e3 = await sdkError(client.send(new GetCredentialsCommand({ workgroupName: rs.aws.workgroupName, durationSeconds: 7200 })));
    expect(e3.name).toBe("ValidationException");
    client.destroy();
    const bad = serverless(rs, { accessKeyId: "AKIAUNKNOWN000000000", secretAccessKey: "x" });
    const e2 = await sdkError(bad.send(new GetCredentialsCommand({ workgroupName: rs.aws.workgroupName })));
    expect(e2.name).toBe("UnrecognizedClientException");
    expect(e2.message).toBe("The security token included in the request is invalid.");
    bad.destroy();
  });
});

describe("iam_config / iam_serverless_config", () => {
  it("are complete connector configs: the normal config minus user/password, plus the IAM keys that authenticate here", async () => {
    const rs = h.rs;
    const { user: _u, password: _p, ...rest } = rs.config;
    expect(rs.iamConfig).toEqual({
      ...rest,
      iam_auth: true,
      cluster_identifier: rs.aws.clusterIdentifier,
      db_user: rs.pg.user,
      db_groups: [],
      auto_create_user: false,
      iam_duration_seconds: 900,
      redshift_region: rs.aws.region,
      redshift_api_endpoint_url: rs.aws.endpoint,
    });
    const { cluster_identifier: _c, db_user: _d, db_groups: _g, auto_create_user: _a, ...common } = rs.iamConfig;
    expect(rs.iamServerlessConfig).toEqual({ ...common, workgroup_name: rs.aws.workgroupName });
    // Used as a connector would: the keys, region and endpoint of the config, then a login.
    const cfg = rs.iamConfig;
    const client = new RedshiftClient({
      endpoint: cfg.redshift_api_endpoint_url as string,
      region: cfg.redshift_region as string,
      credentials: { accessKeyId: cfg.aws_access_key_id as string, secretAccessKey: cfg.aws_secret_access_key as string },
    });
    const out = await client.send(
      new GetClusterCredentialsCommand({
        ClusterIdentifier: cfg.cluster_identifier as string,
        DbUser: cfg.db_user as string,
        DbName: cfg.database as string,
        DbGroups: cfg.db_groups as string[],
        AutoCreate: cfg.auto_create_user as boolean,
        DurationSeconds: cfg.iam_duration_seconds as number,
      }),
    );
    client.destroy();
    const c = new pg.Client({
      host: cfg.host as string,
      port: cfg.port as number,
      database: cfg.database as string,
      user: out.DbUser,
      password: out.DbPassword,
      ssl: { ca: cfg.ssl_ca as string, rejectUnauthorized: true },
    });
    await c.connect();
    expect((await c.query("SELECT 1 AS x")).rows[0].x).toBe(1);
    await c.end();
  });
});
