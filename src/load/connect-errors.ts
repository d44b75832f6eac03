/**
 * One translation of a failed login into a message a user can act on, shared by `check` and every run:
 * it names host:port, database, user and TLS mode, says what went wrong in plain words and how to fix it.
 */
import { type ErrorKind, TargetError } from "../errors.js";

/** Where a connection attempt went: what every connection message names. */
export interface ConnectTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  ssl: boolean;
  sslVerify: boolean;
  /** the user and password come from IAM authentication (the fix for a refused login differs) */
  iam?: boolean;
}

/** The stage of a login that failed, in `check`'s words. */
export type ConnectStage = "connect" | "TLS" | "authentication" | "password";

/**
 * A login that failed, explained; `cause` holds the driver's error, `code` its errno or SQLSTATE. Its
 * kind (src/errors.ts) is decided here, once: `transient` when the network failed (nothing listening,
 * no answer, the connection closed during login: running again later may succeed), `config` for
 * everything only the user can fix (DNS name, TLS, refused credentials, unknown database, no password).
 */
export class ConnectionError extends TargetError {
  override name = "ConnectionError";
  constructor(
    readonly stage: ConnectStage,
    message: string,
    options: { cause?: unknown; kind?: ErrorKind; code?: string } = {},
  ) {
    super(options.kind ?? (stage === "connect" ? "transient" : "config"), message, { cause: options.cause, code: options.code });
  }
}

export function describeTarget(t: ConnectTarget): string {
  const tls = t.ssl ? (t.sslVerify ? "TLS on, certificate verified" : "TLS on, certificate not verified") : "TLS off";
  return `${t.host}:${t.port}, database ${t.database}, user ${t.user}, ${tls}`;
}

function codeOf(e: unknown): string {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === "string" ? c : "";
}

function textOf(e: unknown): string {
  if (e instanceof AggregateError && e.errors.length > 0) return e.errors.map(textOf).join("; ");
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

/** Node's AggregateError (several addresses tried) carries the codes on its members. */
function codesOf(e: unknown): string[] {
  const own = codeOf(e);
  const inner = e instanceof AggregateError ? e.errors.map(codeOf) : [];
  return [own, ...inner].filter((c) => c !== "");
}

const CERTIFICATE =
  /certificate|self[- ]signed|CERT_|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS_CERT_ALTNAME_INVALID|Hostname\/IP does not match/i;

/**
 * `e` (a pg or socket error from a login) → ConnectionError. Covers: nothing listening (ECONNREFUSED),
 * DNS (ENOTFOUND / EAI_AGAIN), no answer (timeouts), the server not speaking TLS, an untrusted certificate,
 * the server demanding TLS, refused credentials (SQLSTATE 28P01 / 28000), an unknown database (3D000).
 */
export function explainConnectError(e: unknown, t: ConnectTarget): ConnectionError {
  if (e instanceof ConnectionError) return e;
  const codes = codesOf(e);
  const text = textOf(e);
  const has = (c: string) => codes.includes(c);
  const where = describeTarget(t);
  const raw = `${text}${codes[0] && !text.includes(codes[0]) ? ` (${codes[0]})` : ""}`;
  const make = (stage: ConnectStage, what: string, fix: string, kind?: ErrorKind) =>
    new ConnectionError(stage, `cannot log in to Redshift (${where}): ${what}: ${fix} [${raw}]`, { cause: e, kind, code: codes[0] });
  if (has("ECONNREFUSED")) {
    return make("connect", `nothing listens on ${t.host}:${t.port}`, "check host and port (Redshift's default is 5439) and that the cluster is running");
  }
  if (has("ENOTFOUND") || has("EAI_AGAIN") || has("EAI_NONAME")) {
    // EAI_AGAIN is the resolver failing for now, not the name being wrong: worth running again.
    return make("connect", `the host name ${t.host} does not resolve (DNS)`, "check host: it is the endpoint without port or database", has("EAI_AGAIN") && !has("ENOTFOUND") ? "transient" : "config");
  }
  if (has("ETIMEDOUT") || has("EHOSTUNREACH") || has("ENETUNREACH") || /timeout expired|timed out/i.test(text)) {
    return make(
      "connect",
      `no answer from ${t.host}:${t.port}`,
      "a firewall or security group drops the connection; allow this machine's address on the cluster's port, or make the cluster publicly accessible",
    );
  }
  if (/does not support SSL/i.test(text)) {
    return make("TLS", "the server does not speak TLS", "set ssl false only for local servers (Redshift always speaks TLS: check host and port)");
  }
  if (CERTIFICATE.test(text) || codes.some((c) => CERTIFICATE.test(c))) {
    return make(
      "TLS",
      "the server's certificate is not trusted",
      "give its certificate authority in ssl_ca (for Redshift, the Amazon Trust Services bundle), or set ssl_verify false to skip the check (the connection can then be intercepted)",
    );
  }
  if (/EPROTO|wrong version number|ERR_SSL|\bSSL\b|\bTLS\b/i.test(`${text} ${codes.join(" ")}`)) {
    return make("TLS", "the TLS handshake failed", "check that host and port lead to Redshift, and ssl / ssl_ca");
  }
  if (has("28P01") || has("28000")) {
    if (!t.ssl && /encryption|SSL/i.test(text)) {
      return make("TLS", "the server requires TLS", "set ssl true");
    }
    return t.iam
      ? make(
          "authentication",
          "the temporary IAM credentials were refused",
          "check that the database user exists (or set auto_create_user), that db_groups exist, and that the credentials were issued for this database",
        )
      : make("authentication", "user or password refused", "check user and password (or use iam_auth)");
  }
  if (has("3D000")) {
    return make("authentication", `database ${t.database} does not exist`, "check database");
  }
  if (has("ECONNRESET") || /Connection terminated/i.test(text)) {
    return make("connect", "the server closed the connection during login", "check that host and port lead to Redshift, and the TLS settings (ssl)");
  }
  return make("connect", "the login failed", "check host, port, database, user and TLS settings", "config");
}

/** Raised before any connection when no password is set and IAM authentication is off. */
export function missingPasswordError(t: ConnectTarget): ConnectionError {
  return new ConnectionError(
    "password",
    `no password for user ${t.user} (${describeTarget(t)}): set password in the config, or iam_auth true to log in with temporary IAM credentials`,
  );
}
