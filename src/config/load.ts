import { readFile } from "node:fs/promises";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { ConfigError, type ConfigIssue } from "./errors.js";
import { jsonErrorLocation } from "./json-error.js";
import { Redactor } from "./redact.js";
import { normaliseRedshiftType, redshiftTypeProblem } from "./redshift-types.js";
import { loadSpec, settingsInfo, type ConnectorSpecSchema, type SettingInfo } from "./spec.js";
import type { ResolvedConfig } from "./types.js";

export interface ParseOptions {
  /** Where the config came from, for messages (a file path). */
  source?: string;
  /** Receives non-fatal findings (unknown fields, TLS verification off). Default: one line each on stderr. */
  onWarning?: (message: string) => void;
}

export interface ParsedConfig {
  config: ResolvedConfig;
  warnings: string[];
}

interface Compiled {
  spec: ConnectorSpecSchema;
  settings: Map<string, SettingInfo>;
  validate: ValidateFunction;
}

let compiled: Compiled | undefined;

/** Compiled on first use and kept: ajv compilation costs milliseconds, validation microseconds. */
function compiledSpec(): Compiled {
  if (compiled) return compiled;
  const spec = loadSpec();
  const ajv = new Ajv({ allErrors: true, useDefaults: true, verbose: true, strict: true });
  // Airbyte UI annotations; declared so strict mode still catches real typos in the spec.
  ajv.addKeyword({ keyword: "airbyte_secret", schemaType: "boolean" });
  ajv.addKeyword({ keyword: "order", schemaType: "number" });
  ajv.addKeyword({ keyword: "pattern_descriptor", schemaType: "string" });
  compiled = { spec, settings: new Map(settingsInfo(spec).map((s) => [s.name, s])), validate: ajv.compile(spec) };
  return compiled;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** JSON pointer → how a user writes it: /stream_mapping/public-users/table → config.stream_mapping["public-users"].table */
function displayPath(pointer: string, extra?: string): string {
  const segments = pointer === "" ? [] : pointer.slice(1).split("/").map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
  if (extra !== undefined) segments.push(extra);
  return "config" + segments.map((s) => (IDENTIFIER.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`)).join("");
}

function describe(value: unknown, secret: boolean): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (secret) return `a ${typeof value} (value hidden)`;
  if (typeof value === "string") return JSON.stringify(value.length > 80 ? value.slice(0, 77) + "..." : value);
  return String(value);
}

function issueFor(e: ErrorObject, c: Compiled): ConfigIssue | undefined {
  const top = e.instancePath.split("/")[1];
  const secret = top !== undefined && c.settings.get(top)?.secret === true;
  const got = describe(e.data, secret);
  const path = displayPath(e.instancePath);
  const p = e.params as Record<string, unknown>;
  const schema = (e.parentSchema ?? {}) as Record<string, unknown>;
  switch (e.keyword) {
    case "required":
      return { path, message: `missing required field ${JSON.stringify(p["missingProperty"])}` };
    case "type":
      return { path, message: `expected ${String(p["type"]).replace(",", " or ")}, got ${got}` };
    case "enum":
      return { path, message: `expected one of ${(p["allowedValues"] as unknown[]).map((v) => JSON.stringify(v)).join(", ")}, got ${got}` };
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum":
      return { path, message: `expected ${String(schema["type"] ?? "number")} ${String(p["comparison"])} ${String(p["limit"])}, got ${got}` };
    case "minLength":
      return { path, message: p["limit"] === 1 ? `expected a non-empty string, got ${got}` : `expected at least ${String(p["limit"])} characters, got ${got}` };
    case "maxLength":
      return { path, message: `expected at most ${String(p["limit"])} characters, got ${got}` };
    case "pattern": {
      // type_mapping values get a dedicated explanation from the Redshift checks below.
      if (e.instancePath.startsWith("/type_mapping/")) return undefined;
      const what = typeof schema["pattern_descriptor"] === "string" ? schema["pattern_descriptor"] : `a string matching /${String(p["pattern"])}/`;
      return { path, message: `expected ${what}, got ${got}` };
    }
    case "additionalProperties": {
      const allowed = Object.keys((schema["properties"] ?? {}) as object);
      return {
        path: displayPath(e.instancePath, String(p["additionalProperty"])),
        message: `unknown key; expected one of ${allowed.join(", ")}`,
      };
    }
    case "minProperties": {
      const allowed = Object.keys((schema["properties"] ?? {}) as object);
      return { path, message: `expected an object with at least one of ${allowed.join(", ")}, got {}` };
    }
    default:
      return { path, message: e.message ?? `failed ${e.keyword}` };
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * Meltano and Airbyte UIs send `null` or "" for settings left blank. Treating those as "not set"
 * lets defaults apply and keeps optional fields' patterns from rejecting an empty box. Required
 * fields and fields with a default keep their value ("" is a meaningful s3_key_prefix).
 */
function dropBlanks(cfg: Record<string, unknown>, c: Compiled): void {
  for (const [key, value] of Object.entries(cfg)) {
    const info = c.settings.get(key);
    if (info === undefined || info.required) continue;
    if (value === null || (value === "" && !info.hasDefault)) delete cfg[key];
  }
}

/** The Redshift- and AWS-specific rules JSON Schema cannot express. */
function crossFieldChecks(cfg: Record<string, unknown>, c: Compiled, issues: ConfigIssue[], warnings: string[]): void {
  const mapping = cfg["type_mapping"];
  const mappable = c.settings.get("type_mapping")?.schema.properties ?? {};
  if (isPlainObject(mapping)) {
    for (const [key, value] of Object.entries(mapping)) {
      // Unknown keys are already reported by the schema; one message per mistake is enough.
      if (typeof value !== "string" || !(key in mappable)) continue;
      const problem = redshiftTypeProblem(value);
      if (problem) issues.push({ path: displayPath(`/type_mapping/${key}`), message: problem });
    }
  }
  const hasKey = typeof cfg["aws_access_key_id"] === "string";
  const hasSecret = typeof cfg["aws_secret_access_key"] === "string";
  if (hasKey !== hasSecret) {
    const [given, missing] = hasKey ? ["aws_access_key_id", "aws_secret_access_key"] : ["aws_secret_access_key", "aws_access_key_id"];
    issues.push({
      path: `config.${missing}`,
      message: `required when ${given} is set (give both, or neither to use the AWS default credential chain)`,
    });
  }
  if (typeof cfg["aws_session_token"] === "string" && !(hasKey && hasSecret)) {
    issues.push({ path: "config.aws_session_token", message: "needs aws_access_key_id and aws_secret_access_key as well" });
  }
  iamChecks(cfg, issues);
  const endpoint = cfg["s3_endpoint_url"];
  if (typeof endpoint === "string" && URL.canParse(endpoint) === false) {
    issues.push({ path: "config.s3_endpoint_url", message: `expected a URL, got ${JSON.stringify(endpoint)}` });
  }
  if (cfg["ssl"] === false) {
    if (cfg["ssl_ca"] !== undefined) warnings.push("config.ssl_ca is ignored because ssl is false");
  } else if (cfg["ssl_verify"] === false) {
    warnings.push("config.ssl_verify is false: the server certificate is not checked, so the connection can be intercepted");
  }
}

/** IAM database authentication: which call it makes must be decidable, and a password would be ignored. */
function iamChecks(cfg: Record<string, unknown>, issues: ConfigIssue[]): void {
  const iamOnly = ["cluster_identifier", "db_user", "db_groups", "auto_create_user", "workgroup_name"].filter((k) => cfg[k] !== undefined && cfg[k] !== false);
  if (cfg["iam_auth"] !== true) {
    if (typeof cfg["user"] !== "string") issues.push({ path: "config", message: 'missing required field "user" (unless iam_auth is true)' });
    for (const k of iamOnly) issues.push({ path: `config.${k}`, message: "used only with iam_auth true" });
    return;
  }
  const cluster = typeof cfg["cluster_identifier"] === "string";
  const workgroup = typeof cfg["workgroup_name"] === "string";
  if (cluster === workgroup) {
    issues.push({
      path: "config.iam_auth",
      message: cluster
        ? "give cluster_identifier (provisioned) or workgroup_name (Serverless), not both"
        : "needs cluster_identifier (provisioned cluster, with db_user or as the caller's IAM identity) or workgroup_name (Serverless)",
    });
  }
  if (cfg["password"] !== undefined) issues.push({ path: "config.password", message: "must be absent with iam_auth true (the password is issued by the Redshift API)" });
  if (workgroup) {
    for (const k of ["db_user", "db_groups", "auto_create_user"]) {
      if (cfg[k] !== undefined && cfg[k] !== false) issues.push({ path: `config.${k}`, message: "not used by Serverless GetCredentials (the user is the caller's IAM identity)" });
    }
  } else if (cluster && cfg["db_user"] === undefined) {
    for (const k of ["db_groups", "auto_create_user"]) {
      if (cfg[k] !== undefined && cfg[k] !== false) issues.push({ path: `config.${k}`, message: "needs db_user (GetClusterCredentialsWithIAM takes neither)" });
    }
  }
}

/**
 * `default_target_schema` is the Meltano Singer SDK's name for `schema` (peers such as
 * target-postgres and target-snowflake use it, and Meltano sets it for the `target-schema` capability):
 * it becomes `schema`. Both given and different is ambiguous, so it is refused rather than guessed.
 */
function resolveSchemaAlias(cfg: Record<string, unknown>, schemaGiven: boolean, issues: ConfigIssue[]): void {
  const alias = cfg["default_target_schema"];
  if (typeof alias !== "string") return;
  if (schemaGiven && cfg["schema"] !== alias) {
    issues.push({
      path: "config.default_target_schema",
      message: `is ${JSON.stringify(alias)} but schema is ${JSON.stringify(cfg["schema"])}; give one of them (default_target_schema is the Meltano SDK's name for schema)`,
    });
    return;
  }
  cfg["schema"] = alias;
}

/** Problems listed in the order of the settings in the spec (and docs), not in discovery order. */
function sortBySettingOrder(issues: ConfigIssue[], c: Compiled): void {
  const rank = new Map([...c.settings.keys()].map((name, i) => [name, i]));
  const key = (i: ConfigIssue): number => {
    const top = /^config\.([A-Za-z0-9_]+)/.exec(i.path)?.[1];
    return top === undefined ? -1 : (rank.get(top) ?? rank.size);
  };
  issues.sort((a, b) => key(a) - key(b));
}

/** Validates without side effects; warnings are returned, not printed. */
export function validateConfig(raw: unknown, options: Pick<ParseOptions, "source"> = {}): ParsedConfig {
  const c = compiledSpec();
  // Built from whatever the user gave, so even a secret pasted into the wrong field of a valid
  // secret setting never reaches a message verbatim.
  const redactor = Redactor.fromConfig(raw);
  if (!isPlainObject(raw)) {
    throw ConfigError.fromIssues([{ path: "config", message: `expected a JSON object, got ${describe(raw, false)}` }], options.source);
  }
  const cfg = structuredClone(raw);
  const warnings: string[] = [];
  for (const key of Object.keys(cfg)) {
    if (!c.settings.has(key)) {
      warnings.push(`config: unknown field ${JSON.stringify(key)} ignored`);
      delete cfg[key];
    }
  }
  dropBlanks(cfg, c);
  const mapping = cfg["type_mapping"];
  if (isPlainObject(mapping)) {
    for (const [k, v] of Object.entries(mapping)) if (typeof v === "string") mapping[k] = normaliseRedshiftType(v);
  }
  // Before validation fills in schema's default: only a schema the user gave can disagree with the alias.
  const schemaGiven = cfg["schema"] !== undefined;
  const issues: ConfigIssue[] = [];
  if (!c.validate(cfg)) {
    for (const e of c.validate.errors ?? []) {
      const issue = issueFor(e, c);
      if (issue) issues.push(issue);
    }
  }
  crossFieldChecks(cfg, c, issues, warnings);
  resolveSchemaAlias(cfg, schemaGiven, issues);
  if (issues.length > 0) {
    sortBySettingOrder(issues, c);
    const safe = issues.map((i) => ({ path: i.path, message: redactor.redact(i.message) }));
    throw ConfigError.fromIssues(safe, options.source);
  }
  return { config: cfg as unknown as ResolvedConfig, warnings: warnings.map((w) => redactor.redact(w)) };
}

/** Validates, applies defaults, reports warnings, and throws ConfigError naming every bad field. */
export function parseConfig(raw: unknown, options: ParseOptions = {}): ResolvedConfig {
  const { config, warnings } = validateConfig(raw, options);
  const warn = options.onWarning ?? ((m: string) => process.stderr.write(`target-redshift: warning: ${m}\n`));
  for (const w of warnings) warn(w);
  return config;
}

/** Reads and parses a config file. Messages name the path but never quote the file's content. */
export async function loadConfig(path: string, options: Omit<ParseOptions, "source"> = {}): Promise<ResolvedConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT" ? "file not found" : code === "EACCES" ? "permission denied" : code === "EISDIR" ? "it is a directory" : (code ?? "read failed");
    throw new ConfigError(`Cannot read config file ${path}: ${why}`);
  }
  if (text.trim() === "") throw new ConfigError(`Config file ${path} is empty; expected a JSON object`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // V8 quotes a snippet of the input in some JSON errors; the input may hold secrets, so only the location is kept.
    throw new ConfigError(`Config file ${path} is not valid JSON${jsonErrorLocation(text)}`);
  }
  return parseConfig(raw, { ...options, source: path });
}
