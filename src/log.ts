/**
 * The Logger every room writes to, and its Singer format (one text line a message on stderr). The
 * Airbyte door formats the same calls as LOG messages (`airbyte/errors.ts`). Imports nothing of ours, so
 * any room may log without depending on the room that prints.
 */

/** One log call: level, a human sentence, and optional structured fields (printed as JSON). */
export type Logger = (level: "debug" | "info" | "warn" | "error", message: string, extra?: Record<string, unknown>) => void;

/**
 * Singer's log format: `<ISO time> <LEVEL> <message> [<extra as JSON>]`, each line passed through
 * `scrub` (which removes secrets) before it reaches `write`.
 */
export function stderrLogger(write: (line: string) => void, scrub: (s: string) => string): Logger {
  return (level, message, extra) => {
    const tail = extra && Object.keys(extra).length > 0 ? ` ${JSON.stringify(extra)}` : "";
    write(scrub(`${new Date().toISOString()} ${level.toUpperCase()} ${message}${tail}`));
  };
}
