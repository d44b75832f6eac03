/**
 * Errors typed by what should happen next, decided once where the error is caught (the warehouse for pg
 * errors, the stager for S3 errors), never re-derived later from message text. The doors map the kind to
 * their protocol: Airbyte's failure_type, the Singer exit code. The shape follows Airbyte's CDK
 * (AirbyteTracedException with a FailureType) and dlt (DestinationTerminalException /
 * DestinationTransientException). A leaf: imports nothing of ours.
 */

/**
 * - config: only the user can fix it (credentials, permissions, a missing bucket or database).
 * - transient: running again later may succeed (network, 5xx, throttling — after our own retries).
 * - input: the data sent cannot be loaded as it is (a record, a message).
 * - system: a fault of the loader or something unforeseen.
 */
export type ErrorKind = "config" | "transient" | "system" | "input";

export class TargetError extends Error {
  override name = "TargetError";
  /** the provider's code when there is one: SQLSTATE, S3 error code, Node errno */
  readonly code: string | undefined;
  /** the provider's detail (pg's DETAIL field), if any */
  readonly detail: string | undefined;

  /** @param message one sentence naming what failed (stream, table, bucket/key) and why; no secrets. */
  constructor(
    readonly kind: ErrorKind,
    message: string,
    options: { cause?: unknown; code?: string; detail?: string } = {},
  ) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.code = options.code;
    this.detail = options.detail;
  }
}

/** The first TargetError on the cause chain of `e` (depth ≤ 8), if any. */
export function targetErrorOf(e: unknown): TargetError | undefined {
  for (let cur = e, depth = 0; cur && depth < 8; cur = (cur as { cause?: unknown }).cause, depth++) {
    if (cur instanceof TargetError) return cur;
  }
  return undefined;
}

/** Node's socket errnos that mean the network path failed, not the request. */
const NETWORK_ERRNOS = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ENETDOWN", "ECONNABORTED"]);

/** True for a Node socket errno that a retry on a fresh connection may get past. */
export function isNetworkErrno(code: string | undefined): boolean {
  return code !== undefined && NETWORK_ERRNOS.has(code);
}

/**
 * The run was stopped from outside: a signal (SIGTERM → exit 143, SIGINT → 130, POSIX 128 + signal
 * number) or a reader that went away (EPIPE on stdout → 141, as SIGPIPE would). Transient: running again
 * from the last STATE printed continues where this run stopped.
 */
export class StoppedError extends TargetError {
  override name = "StoppedError";
  constructor(
    readonly reason: string,
    readonly exitCode: number,
  ) {
    super("transient", `stopped: ${reason}`);
  }
}

/** How a run was asked to load (a dry run and --stage-only load nothing and print no STATE). */
export interface RunMode {
  dryRun?: boolean;
  stageOnly?: boolean;
}

/**
 * What a run that loads nothing is called in its log lines ("--stage-only", "dry run"), or undefined for a
 * run that loads: lines about tables replaced or rows removed must not claim what such a run never did.
 */
export function loadsNothing(mode: RunMode): string | undefined {
  return mode.stageOnly ? "--stage-only" : mode.dryRun ? "dry run" : undefined;
}

/** What a stop still lets happen, for the warning logged when it begins. */
export function whileStopping(mode: RunMode): string {
  if (mode.dryRun) return "dry run: nothing is written and no STATE is printed";
  if (mode.stageOnly) return "--stage-only: batches under way are staged, nothing is loaded and no STATE is printed";
  return "loads under way finish and their STATEs are printed";
}

/** Where to start again after a stop, for the last error line. */
export function afterStopping(mode: RunMode): string {
  if (mode.dryRun) return "dry run: nothing was written";
  if (mode.stageOnly) return "--stage-only: nothing was loaded and no STATE was printed";
  return "rerun from the last STATE printed";
}

/**
 * A RangeError from V8 running out of stack: what a value nested deeper than a recursive step can walk
 * raises (JSON.parse itself takes any depth).
 */
export function isStackOverflow(e: unknown): boolean {
  return e instanceof RangeError && e.message.includes("call stack");
}

/** What a line's error says when its value was nested too deep to handle. */
export const TOO_DEEP = "a value nested too deeply to handle (thousands of levels; the JavaScript stack ran out)";
