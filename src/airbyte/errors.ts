/**
 * Airbyte failure classification and output: every failure becomes a TRACE ERROR whose failure_type tells
 * the platform whether to ask the user (config_error), retry (transient_error) or report a bug
 * (system_error). Everything written passes the Redactor.
 */
import type { Redactor } from "../config/index.js";
import { type FailureType, logMessage, traceError } from "./messages.js";
import { type LogLevel, type Logger, levelEnabled } from "../log.js";
import { type ErrorKind, targetErrorOf } from "../errors.js";
import { kindOfPgError } from "../load/warehouse.js";

/** Airbyte's failure_type for each kind of TargetError (Airbyte protocol, AirbyteTraceMessage.error). */
const FAILURE_TYPES: Record<ErrorKind, FailureType> = {
  config: "config_error",
  transient: "transient_error",
  // Airbyte's protocol has no type for bad input; a malformed message from the platform's source is
  // not something the user can fix in the destination's config, so it is reported as a system error.
  input: "system_error",
  system: "system_error",
};

/**
 * The kind was decided where the error was caught (warehouse, stager, config, input) and travels as a
 * TargetError; only an error that reached here untranslated (a pg error from a path that does not wrap,
 * such as `check`'s own queries) is typed here, by the warehouse's one rule for pg errors.
 */
export function classifyFailure(e: unknown): FailureType {
  const known = targetErrorOf(e);
  return FAILURE_TYPES[known ? known.kind : kindOfPgError(e)];
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

/** Logs as Airbyte LOG messages on stdout (the platform reads only stdout), redacted; below `min`, nothing. */
export function airbyteLogger(write: (line: string) => void, scrub: () => (s: string) => string, min: LogLevel = "info"): Logger {
  return (level, message, extra) => {
    if (!levelEnabled(level, min)) return;
    const tail = extra && Object.keys(extra).length > 0 ? ` ${JSON.stringify(extra)}` : "";
    write(logMessage(LEVELS[level], scrub()(`${message}${tail}`)));
  };
}
