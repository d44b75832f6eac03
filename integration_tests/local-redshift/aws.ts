// A local AWS endpoint for IAM database authentication: the Redshift API's GetClusterCredentials and
// GetClusterCredentialsWithIAM (AWS Query protocol, API version 2012-12-01) and the Redshift Serverless
// API's GetCredentials (AWS JSON 1.1), answered as AWS does so the official SDK v3 clients work against
// it. Every request must carry a valid SigV4 signature by one of the stand-in's access keys. An issued
// user/password becomes a PostgreSQL login role that expires with the credentials (VALID UNTIL), so the
// gateway accepts exactly that user and password and refuses them afterwards.
// References: https://docs.aws.amazon.com/redshift/latest/APIReference/API_GetClusterCredentials.html,
// …/API_GetClusterCredentialsWithIAM.html, https://docs.aws.amazon.com/redshift-serverless/latest/APIReference/API_GetCredentials.html,
// SigV4: https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import http from "node:http";
import pg from "pg";
import { quoteIdent, quoteLiteral } from "./sql.js";

export interface IamIssued {
  /** The login name as returned by the API, e.g. "IAM:alice", "IAMA:alice", "IAMR:local-redshift". */
  dbUser: string;
  expiresAt: Date;
}

/** What the gateway needs to know about issued credentials (to give Redshift's error on expiry). */
export interface IamStore {
  issued: Map<string, IamIssued>;
}

export interface AwsEndpointOptions {
  /** Access key id → secret access key accepted in SigV4 signatures. */
  keys: Map<string, string>;
  region: string;
  clusterIdentifier: string;
  workgroupName: string;
  /** The IAM user the stand-in's access keys belong to (a session token makes it an assumed role of that name). */
  identityName: string;
  /** A superuser connection config for creating login roles. */
  adminConfig: pg.ClientConfig;
  /** The database user whose privileges auto-created users get (the stand-in's normal user). */
  normalUser: string;
  store: IamStore;
  log: (l: string) => void;
}

export interface AwsEndpoint {
  url: string;
  /** Makes every issued credential expire now (test hook; also the fault expireIamCredentials). */
  expireAll(): Promise<void>;
  stop(): Promise<void>;
}

const REDSHIFT_NS = "http://redshift.amazonaws.com/doc/2012-12-01/";
const MIN_DURATION = 900;
const MAX_DURATION = 3600;
const DEFAULT_DURATION = 900;

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly type: "Sender" | "Receiver" = "Sender",
  ) {
    super(message);
  }
}

const xmlEscape = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

const sha256hex = (b: Buffer | string): string => createHash("sha256").update(b).digest("hex");
const hmac = (key: Buffer | string, data: string): Buffer => createHmac("sha256", key).update(data, "utf8").digest();

/** RFC 3986 encoding as SigV4 requires (encodeURIComponent leaves !'()* alone). */
const uriEncode = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * Checks a request's SigV4 Authorization header against the known keys; returns the access key id and
 * whether a session token came along. Throws ApiError with AWS's codes otherwise.
 */
export function verifySigV4(req: { method: string; url: string; headers: http.IncomingHttpHeaders }, body: Buffer, keys: Map<string, string>, json: boolean): { accessKeyId: string; sessionToken: boolean } {
  const auth = String(req.headers.authorization ?? "");
  const m = /^AWS4-HMAC-SHA256\s+Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) throw new ApiError(json ? 400 : 403, json ? "MissingAuthenticationTokenException" : "MissingAuthenticationToken", "Request is missing Authentication Token");
  const [accessKeyId, date, region, service, terminator] = m[1]!.split("/");
  const secret = keys.get(accessKeyId ?? "");
  if (!secret || terminator !== "aws4_request") {
    throw new ApiError(json ? 400 : 403, json ? "UnrecognizedClientException" : "InvalidClientTokenId", "The security token included in the request is invalid.");
  }
  const amzDate = String(req.headers["x-amz-date"] ?? "");
  const url = new URL(req.url, "http://x");
  const query = [...url.searchParams.entries()]
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const signed = m[2]!.split(";");
  const headerLines = signed.map((h) => {
    const v = req.headers[h];
    const value = Array.isArray(v) ? v.join(",") : (v ?? "");
    return `${h}:${value.trim().replace(/\s+/g, " ")}\n`;
  });
  const path = url.pathname.split("/").map((seg) => uriEncode(decodeURIComponent(seg))).join("/") || "/";
  const payloadHash = String(req.headers["x-amz-content-sha256"] ?? "") || sha256hex(body);
  const canonical = [req.method, path, query, headerLines.join(""), m[2], payloadHash].join("\n");
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256hex(canonical)].join("\n");
  const kSigning = hmac(hmac(hmac(hmac(`AWS4${secret}`, date!), region!), service!), "aws4_request");
  const expected = Buffer.from(createHmac("sha256", kSigning).update(toSign, "utf8").digest("hex"));
  const given = Buffer.from(m[3]!);
  if (!signed.includes("host") || expected.length !== given.length || !timingSafeEqual(expected, given)) {
    throw new ApiError(
      json ? 400 : 403,
      json ? "InvalidSignatureException" : "SignatureDoesNotMatch",
      "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
    );
  }
  return { accessKeyId: accessKeyId!, sessionToken: req.headers["x-amz-security-token"] !== undefined };
}

function duration(raw: string | number | undefined, json: boolean): number {
  if (raw === undefined || raw === "") return DEFAULT_DURATION;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < MIN_DURATION || n > MAX_DURATION) {
    throw json
      ? new ApiError(400, "ValidationException", `durationSeconds must be between ${MIN_DURATION} and ${MAX_DURATION} seconds.`)
      : new ApiError(400, "InvalidParameterValue", `The duration ${String(raw)} is not valid. Specify a value between ${MIN_DURATION} and ${MAX_DURATION} seconds.`);
  }
  return n;
}

export async function startAwsEndpoint(o: AwsEndpointOptions): Promise<AwsEndpoint> {
  const admin = new pg.Client(o.adminConfig);
  await admin.connect();
  admin.on("error", (e) => o.log(`aws endpoint admin connection error: ${e.message}`));
  // Role DDL one at a time: two calls for the same user must not race on CREATE ROLE.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(f: () => Promise<T>): Promise<T> => {
    const p = chain.then(f, f);
    chain = p.catch(() => {});
    return p;
  };
  const roleExists = async (name: string): Promise<{ superuser: boolean } | undefined> => {
    const r = await admin.query<{ rolsuper: boolean }>("SELECT rolsuper FROM pg_roles WHERE rolname = $1", [name]);
    return r.rows[0] ? { superuser: r.rows[0].rolsuper } : undefined;
  };

  /**
   * Creates or refreshes the login role `login` (password, VALID UNTIL) as a member of `base`. With
   * autoCreate, a missing `base` user is created first (a NOLOGIN member of the normal user); without it
   * no login is made, so the login fails as Redshift's does when DbUser does not exist.
   */
  const issue = (login: string, base: string, autoCreate: boolean, groups: string[], seconds: number): Promise<{ password: string; expiresAt: Date }> =>
    serial(async () => {
      const password = randomBytes(24).toString("base64");
      const expiresAt = new Date(Math.floor(Date.now() / 1000) * 1000 + seconds * 1000);
      let baseRole = await roleExists(base);
      if (!baseRole && autoCreate) {
        await admin.query(`CREATE ROLE ${quoteIdent(base)} NOLOGIN IN ROLE ${quoteIdent(o.normalUser)}`);
        baseRole = { superuser: false };
      }
      if (!baseRole) {
        o.log(`IAM: database user "${base}" does not exist and AutoCreate is false; ${login} will not be able to log in`);
        return { password, expiresAt };
      }
      const attrs = `LOGIN ${baseRole.superuser ? "SUPERUSER" : "NOSUPERUSER"} PASSWORD ${quoteLiteral(password)} VALID UNTIL ${quoteLiteral(expiresAt.toISOString())}`;
      if (await roleExists(login)) await admin.query(`ALTER ROLE ${quoteIdent(login)} ${attrs}`);
      else await admin.query(`CREATE ROLE ${quoteIdent(login)} ${attrs} IN ROLE ${quoteIdent(base)}`);
      for (const g of groups) {
        if (!(await roleExists(g))) await admin.query(`CREATE ROLE ${quoteIdent(g)} NOLOGIN`);
        await admin.query(`GRANT ${quoteIdent(g)} TO ${quoteIdent(login)}`);
      }
      o.store.issued.set(login, { dbUser: login, expiresAt });
      return { password, expiresAt };
    });

  const identity = (sessionToken: boolean) => `${sessionToken ? "IAMR" : "IAM"}:${o.identityName}`;

  const redshiftAction = async (params: URLSearchParams, sessionToken: boolean): Promise<string> => {
    const action = params.get("Action") ?? "";
    if (params.get("Version") !== "2012-12-01") throw new ApiError(400, "InvalidParameterValue", `Version ${params.get("Version") ?? "(missing)"} is not supported; this endpoint speaks 2012-12-01.`);
    const cluster = params.get("ClusterIdentifier");
    const checkCluster = () => {
      if (!cluster) throw new ApiError(400, "InvalidParameterCombination", "Either ClusterIdentifier or CustomDomainName must be specified.");
      if (cluster !== o.clusterIdentifier) throw new ApiError(404, "ClusterNotFound", `Cluster ${cluster} not found.`);
    };
    if (action === "GetClusterCredentials") {
      const dbUser = params.get("DbUser");
      if (!dbUser) throw new ApiError(400, "MissingParameter", "The request must contain the parameter DbUser.");
      checkCluster();
      const seconds = duration(params.get("DurationSeconds") ?? undefined, false);
      const autoCreate = (params.get("AutoCreate") ?? "false").toLowerCase() === "true";
      const groups: string[] = [];
      for (let i = 1; params.has(`DbGroups.DbGroup.${i}`); i++) groups.push(params.get(`DbGroups.DbGroup.${i}`)!);
      // Redshift folds the user and group names to lowercase, as it does unquoted identifiers.
      const base = dbUser.toLowerCase();
      const login = `${autoCreate ? "IAMA" : "IAM"}:${base}`;
      const c = await issue(login, base, autoCreate, groups.map((g) => g.toLowerCase()), seconds);
      return (
        `<GetClusterCredentialsResponse xmlns="${REDSHIFT_NS}"><GetClusterCredentialsResult>` +
        `<DbUser>${xmlEscape(login)}</DbUser><DbPassword>${xmlEscape(c.password)}</DbPassword><Expiration>${c.expiresAt.toISOString()}</Expiration>` +
        `</GetClusterCredentialsResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></GetClusterCredentialsResponse>`
      );
    }
    if (action === "GetClusterCredentialsWithIAM") {
      checkCluster();
      const seconds = duration(params.get("DurationSeconds") ?? undefined, false);
      const login = identity(sessionToken);
      const c = await issue(login, o.identityName, true, [], seconds);
      const nextRefresh = new Date(c.expiresAt.getTime() - 5 * 60 * 1000);
      return (
        `<GetClusterCredentialsWithIAMResponse xmlns="${REDSHIFT_NS}"><GetClusterCredentialsWithIAMResult>` +
        `<DbUser>${xmlEscape(login)}</DbUser><DbPassword>${xmlEscape(c.password)}</DbPassword><Expiration>${c.expiresAt.toISOString()}</Expiration>` +
        `<NextRefreshTime>${nextRefresh.toISOString()}</NextRefreshTime>` +
        `</GetClusterCredentialsWithIAMResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></GetClusterCredentialsWithIAMResponse>`
      );
    }
    throw new ApiError(400, "InvalidAction", `The action ${action || "(none)"} is not valid for this web service.`);
  };

  const serverlessGetCredentials = async (body: Record<string, unknown>, sessionToken: boolean): Promise<unknown> => {
    const wg = body.workgroupName;
    if (typeof wg !== "string" || wg === "") throw new ApiError(400, "ValidationException", "The workgroup name or the custom domain name must be specified.");
    if (wg !== o.workgroupName) throw new ApiError(400, "ResourceNotFoundException", `Workgroup ${wg} not found.`);
    const seconds = duration(body.durationSeconds as number | undefined, true);
    const login = identity(sessionToken);
    const c = await issue(login, o.identityName, true, [], seconds);
    return { dbUser: login, dbPassword: c.password, expiration: c.expiresAt.getTime() / 1000, nextRefreshTime: (c.expiresAt.getTime() - 5 * 60 * 1000) / 1000 };
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const target = String(req.headers["x-amz-target"] ?? "");
      const json = target !== "" || String(req.headers["content-type"] ?? "").includes("amz-json");
      const requestId = randomUUID();
      const fail = (e: unknown) => {
        const err = e instanceof ApiError ? e : new ApiError(500, json ? "InternalServerException" : "InternalFailure", `local AWS endpoint: ${(e as Error).message}`, "Receiver");
        if (!(e instanceof ApiError)) o.log(`aws endpoint error: ${(e as Error).stack ?? String(e)}`);
        if (json) {
          res.writeHead(err.status, { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": requestId, "x-amzn-errortype": err.code });
          res.end(JSON.stringify({ __type: err.code, message: err.message }));
        } else {
          res.writeHead(err.status, { "content-type": "text/xml", "x-amzn-requestid": requestId });
          res.end(
            `<ErrorResponse xmlns="${REDSHIFT_NS}"><Error><Type>${err.type}</Type><Code>${err.code}</Code><Message>${xmlEscape(err.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
          );
        }
      };
      void (async () => {
        if (req.method !== "POST") throw new ApiError(400, json ? "ValidationException" : "InvalidAction", "Only POST is supported by this endpoint.");
        const who = verifySigV4({ method: req.method, url: req.url ?? "/", headers: req.headers }, body, o.keys, json);
        if (json) {
          if (target !== "RedshiftServerless.GetCredentials") throw new ApiError(400, "UnknownOperationException", `Operation ${target || "(none)"} is not supported by this endpoint.`);
          let parsed: unknown;
          try {
            parsed = JSON.parse(body.toString("utf8") || "{}");
          } catch {
            throw new ApiError(400, "SerializationException", "The request body is not valid JSON.");
          }
          const out = await serverlessGetCredentials((parsed ?? {}) as Record<string, unknown>, who.sessionToken);
          res.writeHead(200, { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": requestId });
          res.end(JSON.stringify(out));
          return;
        }
        const params = new URLSearchParams(body.toString("utf8"));
        const xml = await redshiftAction(params, who.sessionToken);
        res.writeHead(200, { "content-type": "text/xml", "x-amzn-requestid": requestId });
        res.end(xml);
      })().catch(fail);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const a = server.address();
  const port = typeof a === "object" && a ? a.port : 0;
  o.log(`AWS endpoint (Redshift GetClusterCredentials[WithIAM], Serverless GetCredentials) on http://127.0.0.1:${port}`);
  return {
    url: `http://127.0.0.1:${port}`,
    expireAll: () =>
      serial(async () => {
        const past = new Date(Date.now() - 1000);
        for (const [login, c] of o.store.issued) {
          c.expiresAt = past;
          await admin.query(`ALTER ROLE ${quoteIdent(login)} VALID UNTIL ${quoteLiteral(past.toISOString())}`);
        }
      }),
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await admin.end().catch(() => {});
    },
  };
}
