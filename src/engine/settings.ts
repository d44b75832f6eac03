/**
 * Config (as spec/spec.json describes it, defaults applied) → the settings of each layer. The engine's
 * layers never read config keys themselves.
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import type { CopyAuthSource } from "../load/copy-credentials.js";
import { regionFromHost } from "../load/iam-auth.js";
import type { ResolvedConfig } from "../config/index.js";
import type { S3Settings } from "../stage/s3-stager.js";
import type { ConnectionSettings, LoadSettings } from "../load/warehouse.js";
import type { EngineSettings } from "./engine.js";

/** The config with spec defaults applied (src/config, generated from spec/spec.json). */
export type TargetConfig = ResolvedConfig;

export interface ConnectorSettings {
  connection: ConnectionSettings;
  load: LoadSettings;
  s3: S3Settings;
  engine: EngineSettings;
  defaultSchema: string;
  streamMapping: Record<string, { schema?: string; table?: string }>;
  addMetadataColumns: boolean;
  hardDelete: boolean;
  validateRecords: boolean;
  /** threads that parse and encode Singer records (0: on the main thread) */
  encodeWorkers: number;
  /** Singer: what a run does to each table (Airbyte streams follow their sync mode) */
  loadMethod: "upsert" | "append-only" | "overwrite";
}

/**
 * CPUs a cgroup v2 quota allows (`cpu.max`: "<quota> <period>" or "max <period>"), rounded up; undefined
 * when unlimited or unreadable. Containers (Airbyte's pods, Docker --cpus) see the host's cores in
 * availableParallelism() but may run on a fraction of them.
 */
export function cpuQuota(cpuMax: string | undefined): number | undefined {
  const [quota, period] = (cpuMax ?? "").trim().split(/\s+/);
  const q = Number(quota);
  const p = Number(period);
  if (!quota || quota === "max" || !(q > 0) || !(p > 0)) return undefined;
  return Math.max(1, Math.ceil(q / p));
}

/**
 * One encode worker per CPU this process may use: on the 2-core bench machine 2 workers beat 1 and 3.
 * At most 4, because the one main thread reads, stages and loads for all of them (not measured on
 * bigger machines).
 */
export function defaultEncodeWorkers(): number {
  let cpuMax: string | undefined;
  try {
    cpuMax = readFileSync("/sys/fs/cgroup/cpu.max", "utf8");
  } catch {
    // no cgroup v2 (macOS, cgroup v1): the cores are the limit
  }
  return Math.min(4, availableParallelism(), cpuQuota(cpuMax) ?? Number.POSITIVE_INFINITY);
}

/**
 * COPY's authorization: the role, else the configured keys, else the AWS default credential chain resolved
 * at run time (its temporary keys and session token go into COPY).
 */
export function copyAuthorization(c: TargetConfig): CopyAuthSource {
  if (c.copy_iam_role_arn) return { iamRoleArn: c.copy_iam_role_arn };
  if (c.aws_access_key_id && c.aws_secret_access_key) {
    return {
      accessKeyId: c.aws_access_key_id,
      secretAccessKey: c.aws_secret_access_key,
      ...(c.aws_session_token ? { sessionToken: c.aws_session_token } : {}),
    };
  }
  return { defaultChain: true };
}

/** The IAM authentication settings, or undefined when iam_auth is off. */
export function iamSettings(c: TargetConfig): ConnectionSettings["iam"] {
  if (!c.iam_auth) return undefined;
  return {
    clusterIdentifier: c.cluster_identifier,
    workgroupName: c.workgroup_name,
    dbUser: c.db_user,
    dbGroups: c.db_groups,
    autoCreate: c.auto_create_user,
    durationSeconds: c.iam_duration_seconds,
    region: c.redshift_region ?? regionFromHost(c.host),
    endpointUrl: c.redshift_api_endpoint_url,
    credentials:
      c.aws_access_key_id && c.aws_secret_access_key
        ? { accessKeyId: c.aws_access_key_id, secretAccessKey: c.aws_secret_access_key, ...(c.aws_session_token ? { sessionToken: c.aws_session_token } : {}) }
        : undefined,
  };
}

/** `engine.partsPerBatch` starts at 1; a run sets it from the cluster's slice count once connected. */
export function connectorSettings(c: TargetConfig): ConnectorSettings {
  const concurrentLoads = 2;
  return {
    connection: {
      host: c.host,
      port: c.port ?? 5439,
      database: c.database,
      user: c.user ?? c.db_user ?? "",
      password: c.password,
      iam: iamSettings(c),
      ssl: c.ssl ?? true,
      sslCa: c.ssl_ca,
      sslVerify: c.ssl_verify ?? true,
      // A stream holds up to two sessions (one batch committing, the next COPYing), plus one for DDL.
      maxConnections: concurrentLoads * 2 + 1,
      statementTimeoutSeconds: c.statement_timeout_seconds ?? 10_800,
    },
    load: {
      upsertStrategy: c.upsert_strategy ?? "merge",
      copyAuth: copyAuthorization(c),
      fileFormat: c.file_format ?? "csv_gzip",
      // The bucket's region, so COPY reads it wherever the cluster is (dropped for Parquet: rule 18).
      region: c.s3_region ?? "us-east-1",
      skipSchemaCreation: c.skip_schema_creation ?? false,
      retry: { attempts: c.retry_attempts ?? 5, baseDelayMs: c.retry_base_delay_ms ?? 250 },
    },
    s3: {
      bucket: c.s3_bucket,
      keyPrefix: c.s3_key_prefix ?? "target-redshift/",
      region: c.s3_region ?? "us-east-1",
      endpointUrl: c.s3_endpoint_url,
      forcePathStyle: c.s3_force_path_style ?? false,
      accessKeyId: c.aws_access_key_id,
      secretAccessKey: c.aws_secret_access_key,
      sessionToken: c.aws_session_token,
      requestTimeoutSeconds: c.s3_request_timeout_seconds ?? 60,
      retry: { attempts: c.retry_attempts ?? 5, baseDelayMs: c.retry_base_delay_ms ?? 250 },
    },
    engine: {
      limits: {
        rows: c.batch_size_rows ?? 100_000,
        bytes: c.batch_size_bytes ?? 64 * 1024 * 1024,
        ageSeconds: c.max_batch_age_seconds ?? 300,
      },
      typeMapping: c.type_mapping ?? {},
      names: { lowerCase: c.lower_case ?? true },
      policy: { stringOverflow: c.string_overflow ?? "truncate", invalidValue: c.invalid_value ?? "null" },
      purgeStagingFiles: c.purge_staging_files ?? true,
      maxInFlight: 4,
      partsPerBatch: 1,
      fileFormat: c.file_format ?? "csv_gzip",
      stagingSweepAgeMinutes: c.staging_sweep_age_minutes ?? 1440,
      progressIntervalSeconds: c.progress_interval_seconds ?? 30,
    },
    defaultSchema: c.schema ?? "public",
    streamMapping: c.stream_mapping ?? {},
    addMetadataColumns: c.add_metadata_columns ?? false,
    hardDelete: c.hard_delete ?? false,
    validateRecords: c.validate_records ?? false,
    encodeWorkers: c.encode_workers ?? defaultEncodeWorkers(),
    loadMethod: c.load_method ?? "upsert",
  };
}
