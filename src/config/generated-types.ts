/* eslint-disable */
// GENERATED from spec/spec.json by `npm run gen:config` (json-schema-to-typescript). Do not edit:
// change the spec and regenerate; `npm run check:config` and the unit tests fail while this is stale.

/**
 * Configuration of target-redshift: loads Singer or Airbyte records into Amazon Redshift by staging files in S3 and running one COPY per batch, then MERGE or DELETE+INSERT.
 */
export interface TargetRedshiftConfig {
  /**
   * Host name of the Redshift cluster or Serverless workgroup endpoint, without port or database.
   */
  host: string;
  /**
   * TCP port of the Redshift endpoint.
   */
  port?: number;
  /**
   * Name of the database to load into.
   */
  database: string;
  /**
   * Database user. It needs CREATE on the database (unless skip_schema_creation is true) and CREATE, USAGE on the target schemas. Required unless iam_auth is true (the Redshift API then names the user).
   */
  user?: string;
  /**
   * Password of the database user. Required unless iam_auth is true; a run without one stops before connecting.
   */
  password?: string;
  /**
   * Target schema for streams whose name or Airbyte namespace does not name one (and that stream_mapping does not map). Created unless skip_schema_creation is true.
   */
  schema?: string;
  /**
   * The Meltano Singer SDK's name for schema, used by other Singer targets and set by Meltano for targets with the target-schema capability. When given it is the default schema; giving schema as well with a different value is a configuration error.
   */
  default_target_schema?: string;
  /**
   * Connect with TLS. Redshift accepts TLS on every cluster; turn this off only for local stand-ins.
   */
  ssl?: boolean;
  /**
   * PEM text of the CA certificate bundle that signs the server certificate. When absent, Node's bundled public CAs are used, which include the Amazon roots Redshift uses.
   */
  ssl_ca?: string;
  /**
   * Verify the server certificate chain and that it names the host. Only applies when ssl is true; turning it off exposes the connection to interception.
   */
  ssl_verify?: boolean;
  /**
   * Bucket where batches are staged before COPY. It must be readable by Redshift (through copy_iam_role_arn or the access keys) and in the cluster's region unless s3_region says otherwise.
   */
  s3_bucket: string;
  /**
   * Prefix of every staged object key; staged files go under <prefix><stream>/<run id>/.
   */
  s3_key_prefix?: string;
  /**
   * AWS region of the staging bucket; also passed to COPY as REGION for CSV loads.
   */
  s3_region?: string;
  /**
   * Endpoint of an S3-compatible server (MinIO, LocalStack, a VPC endpoint). Leave empty for AWS S3.
   */
  s3_endpoint_url?: string;
  /**
   * Address objects as <endpoint>/<bucket>/<key> instead of <bucket>.<endpoint>/<key>; most S3-compatible servers need this.
   */
  s3_force_path_style?: boolean;
  /**
   * Access key for S3 staging (and for COPY when copy_iam_role_arn is absent). When no keys are given, the AWS default credential chain is used (environment, shared config, SSO, instance or task role).
   */
  aws_access_key_id?: string;
  /**
   * Secret key paired with aws_access_key_id.
   */
  aws_secret_access_key?: string;
  /**
   * Session token for temporary credentials; requires aws_access_key_id and aws_secret_access_key.
   */
  aws_session_token?: string;
  /**
   * IAM role attached to the cluster that COPY assumes to read the staged files (recommended). When absent, COPY authorizes with the access keys, which must then be available (given here or found in the default credential chain).
   */
  copy_iam_role_arn?: string;
  /**
   * Format of staged files: gzip-compressed CSV (the default, fastest), or Parquet (typed columns; on the encode workers about 1.15x the CPU of CSV, README: Performance). With Parquet, SUPER values are staged as JSON-typed byte columns: verify on your cluster that they load as JSON documents before relying on it.
   */
  file_format?: "csv_gzip" | "parquet";
  /**
   * A stream's buffer is loaded once it holds this many records.
   */
  batch_size_rows?: number;
  /**
   * A stream's buffer is loaded once its records take this many uncompressed bytes.
   */
  batch_size_bytes?: number;
  /**
   * A stream's buffer is loaded once its oldest record has waited this long, so that STATE keeps moving on slow streams. 0 disables the age trigger (only size and end of input flush).
   */
  max_batch_age_seconds?: number;
  /**
   * How batches of streams with key properties are applied: MERGE, or DELETE of matching keys followed by INSERT, in one transaction.
   */
  upsert_strategy?: "merge" | "delete_insert";
  /**
   * Redshift column type per JSON Schema type, overriding the built-in mapping. Case-insensitive. TEXT, length-less VARCHAR/CHAR and precision-less NUMERIC/DECIMAL are rejected: Redshift silently turns them into VARCHAR(256), CHAR(1) or NUMERIC(18,0).
   */
  type_mapping?: {
    /**
     * Type of string columns (without a date/time format).
     */
    string?: string;
    /**
     * Type of integer columns.
     */
    integer?: string;
    /**
     * Type of number columns.
     */
    number?: string;
    /**
     * Type of boolean columns.
     */
    boolean?: string;
    /**
     * Type of object columns.
     */
    object?: string;
    /**
     * Type of array columns.
     */
    array?: string;
    /**
     * Type of string columns with format date-time.
     */
    datetime?: string;
    /**
     * Type of string columns with format date.
     */
    date?: string;
    /**
     * Type of string columns with format time.
     */
    time?: string;
  };
  /**
   * Lower-case schema, table and column names (Redshift folds identifiers to lower case unless enable_case_sensitive_identifier is on; keep true unless it is).
   */
  lower_case?: boolean;
  /**
   * Do not run CREATE SCHEMA IF NOT EXISTS; the schemas must already exist. Use when the user lacks CREATE on the database.
   */
  skip_schema_creation?: boolean;
  /**
   * Per-stream target schema and/or table, keyed by the stream name as the source sends it. Unmapped streams use the namespace (or the schema setting) and the normalised stream name.
   */
  stream_mapping?: {
    [k: string]: {
      /**
       * Target schema of the stream.
       */
      schema?: string;
      /**
       * Target table of the stream.
       */
      table?: string;
    };
  };
  /**
   * Add the Singer _sdc_* columns (_sdc_extracted_at, _sdc_received_at, _sdc_batched_at, _sdc_deleted_at, _sdc_sequence, _sdc_table_version). Airbyte streams always get the _airbyte_* columns.
   */
  add_metadata_columns?: boolean;
  /**
   * Delete rows whose _sdc_deleted_at is set, and rows of superseded versions on ACTIVATE_VERSION, instead of keeping them marked as deleted. Deletions are recognised by the _sdc_deleted_at metadata column, on streams with key properties (without keys a record cannot name the row it deletes: it is appended with its marker).
   */
  hard_delete?: boolean;
  /**
   * Delete staged S3 objects once their batch is committed. Turn off to keep them for debugging.
   */
  purge_staging_files?: boolean;
  /**
   * How many times a failing network step is tried in all before the run fails: an S3 request (throttling, 5xx, timeout, dropped connection), a batch's load after a lost warehouse connection (re-run whole on a fresh session from the staged files; a load-journal table in the target schema, _target_redshift_load_journal, keeps a COMMIT whose answer was lost from being applied twice), and a transaction that hit a serialization conflict. Each retry is logged with its attempt number and cause.
   */
  retry_attempts?: number;
  /**
   * Wait before the first retry; each further retry waits twice as long, with ±25% random jitter so that parallel clients do not retry in step.
   */
  retry_base_delay_ms?: number;
  /**
   * Deadline of every S3 request (uploads and deletes included): a request not answered in time is aborted and retried (retry_attempts), so a hung request can never stall the run or keep the process alive.
   */
  s3_request_timeout_seconds?: number;
  /**
   * Redshift's statement_timeout for the loader's sessions: a COPY, MERGE or DDL statement running longer is cancelled by the cluster and the run fails naming it. The client gives up 30 s after it too, in case the answer never arrives. 0 disables both.
   */
  statement_timeout_seconds?: number;
  /**
   * At start, staged S3 objects under s3_key_prefix that runs no longer alive left behind (killed, crashed) are deleted once they are older than this; local spill directories of processes that no longer exist are removed too. 0 sweeps them at any age. A live run's objects are never touched (each run writes a marker object naming its host and process).
   */
  staging_sweep_age_minutes?: number;
  /**
   * Validate every record against its stream's JSON Schema and fail the sync on the first violation. Off by default because it costs time on every record; type problems Redshift cannot hold are handled by string_overflow and invalid_value either way.
   */
  validate_records?: boolean;
  /**
   * What to do with a string longer than 65535 UTF-8 bytes, the most Redshift can hold: truncate it at a character boundary to 65535 bytes, or write NULL. Either way the change is recorded per row and counted.
   */
  string_overflow?: "truncate" | "null";
  /**
   * What to do with a value Redshift cannot hold (NaN, ±Infinity, numbers outside the column type's range, dates outside years 1-294276 (Redshift's 4713 BC-294276 AD, without BC years), unparseable date-times; staged as Parquet, also date-times past 294247-01-10 04:00:54.775807 UTC, the last a Parquet TIMESTAMP holds): write NULL and record the change per row, or fail the sync.
   */
  invalid_value?: "null" | "fail";
  /**
   * Worker threads that parse RECORD lines (Singer and Airbyte) and encode them, metadata columns included, as CSV or (file_format parquet) as Parquet row groups, while the main thread stages and loads (README, Performance: what they buy). Not used with validate_records or 0, nor for Parquet when batch_size_rows is under 32768, batch_size_bytes under 4194304 (a unit's rows must fit in one batch): records are then parsed and encoded on the main thread, line by line. Each worker adds 40-50 MiB of memory. When absent: one per CPU the process may use (cores, or a container's cgroup CPU quota), at most 4.
   */
  encode_workers?: number;
  /**
   * The Meltano SDK's standard setting for what a run does to each table. upsert: streams with key properties keep one row per key (MERGE or DELETE+INSERT, see upsert_strategy), streams without keys append. append-only: every record becomes a row even when the stream has key properties (history tables: no dedup, no MERGE). overwrite: each table's content is replaced by this run's records in one swap (DROP and RENAME in one transaction) at the end of a successful run; records are loaded into a side table first, so a failed run leaves the table as it was. Airbyte uses each stream's destination_sync_mode instead.
   */
  load_method?: "upsert" | "append-only" | "overwrite";
  /**
   * Every this many seconds, one log line per active stream: records received and committed, rows inserted/updated/deleted, records per second, staged bytes, batches in flight (stderr for Singer, LOG messages for Airbyte). 0 turns progress lines off.
   */
  progress_interval_seconds?: number;
  /**
   * Log in with temporary database credentials from the Redshift API instead of a password: redshift:GetClusterCredentials (cluster_identifier with db_user), redshift:GetClusterCredentialsWithIAM (cluster_identifier without db_user: the database user is the caller's IAM identity), or redshift-serverless:GetCredentials (workgroup_name). The AWS call is signed with aws_access_key_id / aws_secret_access_key / aws_session_token, or the AWS default credential chain when they are absent. Credentials are fetched again before they expire. password must then be absent.
   */
  iam_auth?: boolean;
  /**
   * Provisioned cluster for IAM authentication (the first label of the cluster's host name).
   */
  cluster_identifier?: string;
  /**
   * Database user to get credentials for with redshift:GetClusterCredentials; the session logs in as the returned name (IAM:<db_user>, or IAMA:<db_user> when auto-created). Absent: GetClusterCredentialsWithIAM, the user named after the caller's IAM identity.
   */
  db_user?: string;
  /**
   * Database groups the IAM user joins for this session (GetClusterCredentials DbGroups).
   */
  db_groups?: string[];
  /**
   * Create db_user if it does not exist (GetClusterCredentials AutoCreate).
   */
  auto_create_user?: boolean;
  /**
   * How long issued database credentials stay valid for new logins (900-3600); they are fetched again 5 minutes before expiry.
   */
  iam_duration_seconds?: number;
  /**
   * Redshift Serverless workgroup for IAM authentication (redshift-serverless:GetCredentials).
   */
  workgroup_name?: string;
  /**
   * AWS region of the cluster or workgroup for the IAM authentication call. Absent: taken from host (e.g. examplecluster.abc123.us-west-2.redshift.amazonaws.com), else from the AWS environment (AWS_REGION).
   */
  redshift_region?: string;
  /**
   * Endpoint of the Redshift (or Redshift Serverless) API for IAM authentication, for a VPC endpoint or a local stand-in. Absent: the region's public endpoint.
   */
  redshift_api_endpoint_url?: string;
}

/** Settings with a default in the spec: always present after parseConfig. */
export type SettingWithDefault =
  | "port"
  | "schema"
  | "ssl"
  | "ssl_verify"
  | "s3_key_prefix"
  | "s3_region"
  | "s3_force_path_style"
  | "file_format"
  | "batch_size_rows"
  | "batch_size_bytes"
  | "max_batch_age_seconds"
  | "upsert_strategy"
  | "type_mapping"
  | "lower_case"
  | "skip_schema_creation"
  | "stream_mapping"
  | "add_metadata_columns"
  | "hard_delete"
  | "purge_staging_files"
  | "validate_records"
  | "string_overflow"
  | "invalid_value"
  | "load_method"
  | "progress_interval_seconds"
  | "retry_attempts"
  | "retry_base_delay_ms"
  | "s3_request_timeout_seconds"
  | "statement_timeout_seconds"
  | "staging_sweep_age_minutes"
  | "iam_auth"
  | "auto_create_user"
  | "iam_duration_seconds";
