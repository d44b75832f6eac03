/**
 * IAM database authentication: temporary database credentials from the Redshift API, refreshed before
 * they expire. Three calls (AWS Redshift API reference; rules 31):
 * - provisioned, named user: `redshift:GetClusterCredentials` (ClusterIdentifier, DbUser, DbName,
 *   DbGroups, AutoCreate, DurationSeconds 900–3600) → DbUser `IAM:<user>` (`IAMA:<user>` when auto-created);
 * - provisioned, the caller's IAM identity: `redshift:GetClusterCredentialsWithIAM` (ClusterIdentifier,
 *   DbName, DurationSeconds) → DbUser `IAM:<iam user>` / `IAMR:<role>`;
 * - Serverless: `redshift-serverless:GetCredentials` (workgroupName, dbName, durationSeconds) → camelCase
 *   dbUser / dbPassword / expiration.
 * The returned user name is used exactly as returned: Redshift knows the session by that name.
 */
// The SDK clients are loaded on first use: a run without IAM authentication does not pay their start-up.
import type { RedshiftClient } from "@aws-sdk/client-redshift";
import type { RedshiftServerlessClient } from "@aws-sdk/client-redshift-serverless";
import { type ErrorKind, TargetError, isNetworkErrno } from "../errors.js";

/** AWS keys given in the config (the SDK's AwsCredentialIdentity shape). */
export interface AwsKeys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface IamAuthSettings {
  /** provisioned cluster; with dbUser → GetClusterCredentials, without → GetClusterCredentialsWithIAM */
  clusterIdentifier?: string;
  /** Serverless workgroup → GetCredentials */
  workgroupName?: string;
  dbUser?: string;
  dbGroups?: readonly string[];
  autoCreate?: boolean;
  /** lifetime asked for, seconds (900–3600; AWS's default is 900) */
  durationSeconds?: number;
  database: string;
  /** AWS region of the cluster or workgroup; undefined → parsed from the host, else the SDK's own resolution */
  region?: string;
  /** a different API endpoint (VPC endpoint, or a local stand-in) */
  endpointUrl?: string;
  /** explicit keys; absent → the AWS default credential chain */
  credentials?: AwsKeys;
}

export interface DatabaseCredentials {
  user: string;
  password: string;
  /** when the password stops being accepted for new logins */
  expiresAt: Date;
}

/**
 * A failed AWS call for database credentials: names the API operation, the resource and the region.
 * Kind `transient` when the call never got an answer it could act on (socket errno, HTTP 5xx, throttling:
 * running again later may succeed), else `config` (keys, IAM permission, region, cluster or workgroup name).
 */
export class IamAuthError extends TargetError {
  override name = "IamAuthError";
  constructor(
    readonly operation: string,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(iamFailureKind(options.cause), message, { cause: options.cause, code: awsCodeOf(options.cause) });
  }
}

function awsCodeOf(e: unknown): string | undefined {
  const err = e as { code?: unknown; name?: unknown } | null | undefined;
  if (typeof err?.code === "string") return err.code;
  return typeof err?.name === "string" && err.name !== "Error" ? err.name : undefined;
}

/** AWS SDK v3 marks throttling and 5xx answers with $retryable / $fault "server" (smithy ServiceException). */
function iamFailureKind(cause: unknown): ErrorKind {
  for (let cur = cause, depth = 0; cur && depth < 5; cur = (cur as { cause?: unknown }).cause, depth++) {
    const err = cur as { code?: unknown; $fault?: unknown; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
    if (isNetworkErrno(typeof err.code === "string" ? err.code : undefined)) return "transient";
    if (err.$fault === "server" || err.$retryable || (err.$metadata?.httpStatusCode ?? 0) >= 500) return "transient";
  }
  return "config";
}

/**
 * The region in a Redshift endpoint host name: `<cluster>.<id>.<region>.redshift.amazonaws.com` and
 * `<workgroup>.<account>.<region>.redshift-serverless.amazonaws.com` (also `.amazonaws.com.cn`).
 * Undefined for any other host (custom domain names, localhost).
 */
export function regionFromHost(host: string): string | undefined {
  const m = /\.([a-z]{2}(?:-[a-z]+)+-\d+)\.redshift(?:-serverless)?\.amazonaws\.com(?:\.cn)?$/i.exec(host.trim());
  return m?.[1]?.toLowerCase();
}

/** Which API call these settings make (for messages and logs). */
export function iamOperation(s: IamAuthSettings): string {
  if (s.workgroupName) return "redshift-serverless:GetCredentials";
  return s.dbUser ? "redshift:GetClusterCredentials" : "redshift:GetClusterCredentialsWithIAM";
}

function describeAwsError(e: unknown): string {
  const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = err?.$metadata?.httpStatusCode;
  const name = err?.name && err.name !== "Error" ? err.name : undefined;
  const text = err?.message || String(e);
  return [text, name && !text.includes(name) ? name : undefined, status ? `HTTP ${status}` : undefined].filter(Boolean).join("; ");
}

export type CredentialFetcher = () => Promise<DatabaseCredentials>;

/** Database credentials from the Redshift API, refreshed before they expire. */
export type IamCredentialSource = RefreshingCredentials<DatabaseCredentials>;

/** One call to the API the settings name. Throws IamAuthError naming the operation, resource and region. */
export function awsCredentialFetcher(s: IamAuthSettings): CredentialFetcher {
  const operation = iamOperation(s);
  const clientConfig = {
    ...(s.region ? { region: s.region } : {}),
    ...(s.endpointUrl ? { endpoint: s.endpointUrl } : {}),
    ...(s.credentials ? { credentials: s.credentials } : {}),
    maxAttempts: 3,
  };
  const resource = s.workgroupName ? `workgroup ${s.workgroupName}` : `cluster ${s.clusterIdentifier}`;
  const where = `${resource}, database ${s.database}${s.dbUser ? `, db user ${s.dbUser}` : ""}, region ${s.region ?? "from the AWS environment"}`;
  const fail = (e: unknown): never => {
    const hint = /region/i.test(describeAwsError(e)) && !s.region ? " — set redshift_region" : " — check the AWS keys (or the default credential chain) and their IAM permission for this call";
    throw new IamAuthError(operation, `IAM authentication failed at ${operation} (${where}): ${describeAwsError(e)}${hint}`, { cause: e });
  };
  const expect = <T>(v: T | undefined, field: string): T => {
    if (v === undefined || v === null || v === "") throw new IamAuthError(operation, `IAM authentication failed at ${operation} (${where}): the answer has no ${field}`);
    return v;
  };
  if (s.workgroupName) {
    let client: RedshiftServerlessClient | undefined;
    return async () => {
      const { GetCredentialsCommand, RedshiftServerlessClient } = await import("@aws-sdk/client-redshift-serverless");
      client ??= new RedshiftServerlessClient(clientConfig);
      const r = await client
        .send(new GetCredentialsCommand({ workgroupName: s.workgroupName, dbName: s.database, durationSeconds: s.durationSeconds }))
        .catch(fail);
      return { user: expect(r.dbUser, "dbUser"), password: expect(r.dbPassword, "dbPassword"), expiresAt: expect(r.expiration, "expiration") };
    };
  }
  let client: RedshiftClient | undefined;
  return async () => {
    const { GetClusterCredentialsCommand, GetClusterCredentialsWithIAMCommand, RedshiftClient } = await import("@aws-sdk/client-redshift");
    client ??= new RedshiftClient(clientConfig);
    const r = s.dbUser
      ? await client
          .send(
            new GetClusterCredentialsCommand({
              ClusterIdentifier: s.clusterIdentifier,
              DbUser: s.dbUser,
              DbName: s.database,
              DbGroups: s.dbGroups && s.dbGroups.length > 0 ? [...s.dbGroups] : undefined,
              AutoCreate: s.autoCreate,
              DurationSeconds: s.durationSeconds,
            }),
          )
          .catch(fail)
      : await client
          .send(new GetClusterCredentialsWithIAMCommand({ ClusterIdentifier: s.clusterIdentifier, DbName: s.database, DurationSeconds: s.durationSeconds }))
          .catch(fail);
    return { user: expect(r.DbUser, "DbUser"), password: expect(r.DbPassword, "DbPassword"), expiresAt: expect(r.Expiration, "Expiration") };
  };
}

/**
 * Caches credentials and fetches new ones when fewer than `refreshMarginMs` (default 5 min, or a quarter
 * of the lifetime when that is shorter) remain before `expiresAt` (undefined: never expires). Concurrent
 * askers share one fetch. `onIssued` sees every credential set (to mask its secrets in logs).
 * With IAM auth each new connection asks for a password, so a long run keeps logging in after the first
 * credentials expired; open sessions are not affected by expiry.
 */
export class RefreshingCredentials<T extends { expiresAt?: Date }> {
  private current?: T;
  private issuedAt = 0;
  private pending?: Promise<T>;
  /** how many times the source was asked (for logs and tests) */
  fetches = 0;

  constructor(
    private readonly fetch: (forceRefresh: boolean) => Promise<T>,
    private readonly options: { onIssued?: (c: T) => void; now?: () => number; refreshMarginMs?: number } = {},
  ) {}

  private now(): number {
    return this.options.now ? this.options.now() : Date.now();
  }

  private fresh(c: T): boolean {
    if (!c.expiresAt) return true;
    const expires = c.expiresAt.getTime();
    const margin = Math.min(this.options.refreshMarginMs ?? 5 * 60_000, Math.max(0, expires - this.issuedAt) / 4);
    return this.now() < expires - margin;
  }

  /** Forgets the cached credentials (the server refused them as expired): the next get() fetches anew. */
  invalidate(): void {
    if (this.current) this.current = { ...this.current, expiresAt: new Date(0) };
  }

  /** Valid credentials, fetching new ones when the cached ones are near expiry; the fetch's errors pass through. */
  async get(): Promise<T> {
    if (this.current && this.fresh(this.current)) return this.current;
    const forceRefresh = this.current !== undefined;
    this.pending ??= (async () => {
      try {
        const issuedAt = this.now();
        const c = await this.fetch(forceRefresh);
        this.fetches++;
        this.issuedAt = issuedAt;
        this.current = c;
        this.options.onIssued?.(c);
        return c;
      } finally {
        this.pending = undefined;
      }
    })();
    return this.pending;
  }
}
