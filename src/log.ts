/**
 * The Logger every room writes to, and its Singer formats (one line a message on stderr: text, or one
 * JSON object). The Airbyte door formats the same calls as LOG messages (`airbyte/errors.ts`). Imports
 * nothing of ours, so any room may log without depending on the room that prints.
 */

export type LogLevel = "debug" | "info" | "warn" | "error";

/** One log call: level, a human sentence, and optional structured fields. */
export type Logger = (level: LogLevel, message: string, extra?: Record<string, unknown>) => void;

export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];
export const LOG_FORMATS = ["text", "json"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LogOptions {
  /** messages below this level are dropped (default info) */
  level?: LogLevel;
  /** Singer only: `text` (default) or `json` */
  format?: LogFormat;
}

/** A level name as users write it (`INFO`, `warning`), or undefined when it is none. */
export function parseLogLevel(s: string | undefined): LogLevel | undefined {
  const l = s?.trim().toLowerCase();
  if (l === "warning") return "warn";
  return (LOG_LEVELS as readonly string[]).includes(l ?? "") ? (l as LogLevel) : undefined;
}

/** True when a message at `level` passes the threshold `min`. */
export function levelEnabled(level: LogLevel, min: LogLevel): boolean {
  return LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(min);
}

/** Every string inside `v` passed through `scrub` (secrets may sit in field values, not only in the text). */
function scrubDeep(v: unknown, scrub: (s: string) => string): unknown {
  if (typeof v === "string") return scrub(v);
  if (Array.isArray(v)) return v.map((x) => scrubDeep(x, scrub));
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = scrubDeep(x, scrub);
    return out;
  }
  return v;
}

/**
 * Singer's log lines, each passed through `scrub` (which removes secrets) before it reaches `write`:
 * - text: `<ISO time> <LEVEL> <message> [<fields as JSON>]`;
 * - json: one object a line, `{"time", "level", "message", "fields"}` (fields `{}` when none), with
 *   secrets removed from the message and from every string in the fields.
 */
export function stderrLogger(write: (line: string) => void, scrub: (s: string) => string, options: LogOptions = {}): Logger {
  const min = options.level ?? "info";
  if (options.format === "json") {
    return (level, message, extra) => {
      if (!levelEnabled(level, min)) return;
      write(JSON.stringify({ time: new Date().toISOString(), level, message: scrub(message), fields: scrubDeep(extra ?? {}, scrub) }));
    };
  }
  return (level, message, extra) => {
    if (!levelEnabled(level, min)) return;
    const tail = extra && Object.keys(extra).length > 0 ? ` ${JSON.stringify(extra)}` : "";
    write(scrub(`${new Date().toISOString()} ${level.toUpperCase()} ${message}${tail}`));
  };
}
