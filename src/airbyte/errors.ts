/**
 * Airbyte failure classification and output: every failure becomes a TRACE ERROR whose failure_type tells
 * the platform whether to ask the user (config_error), retry (transient_error) or report a bug
 * (system_error). Everything written passes the Redactor.
 */
import { ConfigError, type Redactor } from "../config/index.js";
import { type FailureType, logMessage, traceError } from "./messages.js";
import type { Logger } from "../log.js";
import { isConflict } from "../load/warehouse.js";
import { ConnectionError } from "../load/connect-errors.js";
import { CopyCredentialsError } from "../load/copy-credentials.js";
import { IamAuthError } from "../load/iam-auth.js";

/** SQLSTATE classes and codes that only the user can fix. */
const CONFIG_SQLSTATES = /^(28|3D000|3F000|42501)/;
/** Retrying the sync may succeed. */
const TRANSIENT_SQLSTATES = /^(40001|40P01|53|57P0|08)/;
const TRANSIENT_NODE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);
const CONFIG_NODE_CODES = new Set(["ENOTFOUND"]);
/** S3 errors caused by credentials, bucket name or permissions. */
const CONFIG_S3_ERRORS = new Set(["AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "NoSuchBucket", "InvalidBucketName", "AllAccessDisabled"]);

const COPY_AUTHORIZATION = /not authorized to assume IAM Role|Invalid IAM role|S3ServiceException:\s*Access Denied|InvalidAccessKeyId|SignatureDoesNotMatch|The AWS Access Key Id you provided/i;

function codeOf(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === "string" ? c : undefined;
}

export function classifyFailure(e: unknown): FailureType {
  if (e instanceof ConfigError || e instanceof IamAuthError || e instanceof CopyCredentialsError) return "config_error";
  // A refused login, a certificate or a missing password: only the user can fix them (a refused or
  // timed-out connection falls through to its code below).
  if (e instanceof ConnectionError && e.stage !== "connect") return "config_error";
  for (let cur: unknown = e, depth = 0; cur && depth < 5; cur = (cur as { cause?: unknown }).cause, depth++) {
    const code = codeOf(cur);
    const name = (cur as { name?: unknown }).name;
    const message = cur instanceof Error ? cur.message : "";
    if (typeof name === "string" && CONFIG_S3_ERRORS.has(name)) return "config_error";
    if (code !== undefined) {
      if (CONFIG_NODE_CODES.has(code) || (code.length === 5 && CONFIG_SQLSTATES.test(code))) return "config_error";
      if (TRANSIENT_NODE_CODES.has(code) || (code.length === 5 && TRANSIENT_SQLSTATES.test(code))) return "transient_error";
      // Redshift's serializable isolation violation (rule 29): the same test the loader retries on.
      if (isConflict(cur)) return "transient_error";
    }
    // COPY's own authorization failures arrive as XX000 with S3/IAM wording.
    if (COPY_AUTHORIZATION.test(message)) return "config_error";
    if (/Connection terminated unexpectedly|socket hang up/i.test(message)) return "transient_error";
  }
  return "system_error";
}

/** The message an Airbyte user sees: short, and saying what kind of problem it is. */
function userMessage(type: FailureType, err: Error): string {
  // One line, but every line of it: a config error's detail (which field, what was expected) sits on the
  // lines after the first, and the platform shows only this message to the user.
  const folded = err.message
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .join(" ");
  const first = folded.length > 1000 ? `${folded.slice(0, 999)}…` : folded;
  switch (type) {
    case "config_error":
      return `Configuration problem: ${first}`;
    case "transient_error":
      return `Temporary failure (retrying may succeed): ${first}`;
    default:
      return `target-redshift failed: ${first}`;
  }
}

export function traceErrorLine(e: unknown, redactor: Redactor | undefined): string {
  const err = e instanceof Error ? e : new Error(String(e));
  const type = classifyFailure(err);
  const scrub = (s: string) => (redactor ? redactor.redact(s) : s);
  return traceError({
    message: scrub(userMessage(type, err)),
    internal_message: scrub(err.message),
    stack_trace: scrub(err.stack ?? `${err.name}: ${err.message}`),
    failure_type: type,
  });
}

const LEVELS = { debug: "DEBUG", info: "INFO", warn: "WARN", error: "ERROR" } as const;

/** Logs as Airbyte LOG messages on stdout (the platform reads only stdout), redacted. */
export function airbyteLogger(write: (line: string) => void, scrub: () => (s: string) => string): Logger {
  return (level, message, extra) => {
    const tail = extra && Object.keys(extra).length > 0 ? ` ${JSON.stringify(extra)}` : "";
    write(logMessage(LEVELS[level], scrub()(`${message}${tail}`)));
  };
}
