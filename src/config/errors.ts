import { TargetError } from "../errors.js";

/** One problem with one setting; `path` is how the user would point at it (config.port, config.type_mapping.string). */
export interface ConfigIssue {
  path: string;
  message: string;
}

/**
 * Every way a config can be unusable ends up here, so the CLI (exit code + message) and the Airbyte
 * front end (TRACE ERROR, failure_type config_error) handle one class. Messages never contain a
 * secret's value: callers build them from redacted descriptions only.
 */
export class ConfigError extends TargetError {
  override name = "ConfigError";
  readonly issues: readonly ConfigIssue[];

  constructor(message: string, issues: readonly ConfigIssue[] = []) {
    super("config", message);
    this.issues = issues;
  }

  static fromIssues(issues: readonly ConfigIssue[], source?: string): ConfigError {
    const where = source ? ` in ${source}` : "";
    const head = issues.length === 1 ? `Invalid configuration${where}:` : `Invalid configuration${where} (${issues.length} problems):`;
    return new ConfigError([head, ...issues.map((i) => `  ${i.path}: ${i.message}`)].join("\n"), issues);
  }
}
