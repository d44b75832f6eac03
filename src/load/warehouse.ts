/**
 * The warehouse side: connections, table preparation (create, add column, widen VARCHAR) and the load of
 * one staged batch — COPY into a temp table, dedup, upsert in one transaction, commit.
 */
import pg from "pg";

import * as sql from "../redshift/sql.js";
import type { ColumnDef, OrderColumn, TableRef } from "../redshift/sql.js";
import { type ColumnType, MAX_VARCHAR_BYTES, columnTypeSql, parseRedshiftType } from "../redshift/types.js";
import type { Logger } from "../log.js";
import { evolveColumn, migrateColumnSql } from "../redshift/type-evolution.js";
import { truncateUtf8 } from "../redshift/identifiers.js";
import { backoffMs, sleep } from "../retry.js";
import { type ConnectTarget, explainConnectError, missingPasswordError } from "./connect-errors.js";
import { type CopyAuthSource, CopyCredentials } from "./copy-credentials.js";
import { type IamAuthSettings, type IamCredentialSource, IamAuthError, RefreshingCredentials, awsCredentialFetcher, iamOperation } from "./iam-auth.js";
import { type ErrorKind, TargetError, isNetworkErrno, targetErrorOf } from "../errors.js";

export interface ConnectionSettings {
  host: string;
  port: number;
  database: string;
  /** with IAM authentication: replaced by the user the Redshift API returns */
  user: string;
  password?: string;
  /** log in with temporary credentials from the Redshift API instead of user and password */
  iam?: Omit<IamAuthSettings, "database">;
  ssl: boolean;
  sslCa?: string;
  sslVerify: boolean;
  /** connections in the pool: concurrent batch loads plus one for DDL */
  maxConnections: number;
  /** Redshift's statement_timeout for every session, seconds; 0: none */
  statementTimeoutSeconds?: number;
}

/** How often, and how patiently, a step that failed on the network is tried again. */
export interface RetrySettings {
  /** tries in all (1: no retry) */
  attempts: number;
  /** wait before the first retry, ms; doubled each time, ±25 % jitter */
  baseDelayMs: number;
}

/** A batch as staged in S3: what one COPY loads (written by the stager, read by the load). */
export interface StagedBatch {
  manifestUrl: string;
  /** every object written for the batch, manifest included */
  keys: string[];
  rows: number;
  bytes: number;
}

export interface LoadSettings {
  upsertStrategy: "merge" | "delete_insert";
  copyAuth: CopyAuthSource;
  fileFormat: "csv_gzip" | "parquet";
  region?: string;
  skipSchemaCreation: boolean;
  retry?: RetrySettings;
}

/** Redshift's COPY error, enriched with the rows of the load-error tables. */
export class LoadError extends TargetError {
  override name = "LoadError";
  constructor(
    message: string,
    readonly details: Record<string, unknown>[] = [],
    options?: { cause?: unknown; kind?: ErrorKind },
  ) {
    super(options?.kind ?? kindOfPgError(options?.cause), message, { cause: options?.cause, code: codeOf(options?.cause) });
  }
}

function codeOf(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | null | undefined)?.code;
  return typeof c === "string" ? c : undefined;
}

/** SQLSTATE classes and codes only the user can fix: auth (28), database/schema missing, no privilege. */
const CONFIG_SQLSTATES = /^(28|3D000|3F000|42501)/;
/** Worth running again: serialization (40001), deadlock (40P01), resources (53), shutdown (57P0), connection (08). */
const TRANSIENT_SQLSTATES = /^(40001|40P01|53|57P0|08)/;
/** COPY's authorization failures arrive as XX000 with S3/IAM wording (Redshift's COPY errors). */
const COPY_AUTHORIZATION = /not authorized to assume IAM Role|Invalid IAM role|S3ServiceException:\s*Access Denied|InvalidAccessKeyId|SignatureDoesNotMatch|The AWS Access Key Id you provided/i;

/**
 * What should happen after a pg error: by SQLSTATE, by Node errno for socket failures, by COPY's
 * authorization wording. Decided here, where pg errors are caught, and carried as TargetError.kind.
 */
export function kindOfPgError(e: unknown): ErrorKind {
  if (e === undefined) return "system";
  const known = targetErrorOf(e);
  if (known) return known.kind;
  // A wrapper (e.g. pg's "Connection terminated" around a socket error) may hide the telling code.
  for (let cur: unknown = e, depth = 0; cur && depth < 5; cur = (cur as { cause?: unknown }).cause, depth++) {
    const kind = kindOfOnePgError(cur);
    if (kind !== "system") return kind;
  }
  return "system";
}

function kindOfOnePgError(e: unknown): ErrorKind {
  const code = codeOf(e);
  const message = e instanceof Error ? e.message : String(e);
  if (code === "ENOTFOUND") return "config";
  if (code !== undefined && code.length === 5 && CONFIG_SQLSTATES.test(code)) return "config";
  if (COPY_AUTHORIZATION.test(message)) return "config";
  if (isConnectionLost(e) || isConflict(e)) return "transient";
  if (code !== undefined && code.length === 5 && TRANSIENT_SQLSTATES.test(code)) return "transient";
  return "system";
}

/** The session is gone (network, server restart, timeout): the step can run again on a fresh one. */
export function isConnectionLost(e: unknown): boolean {
  // A login refused for a reason the user must fix (DNS, TLS, credentials, IAM) is not a lost session,
  // whatever socket words its message quotes.
  if (targetErrorOf(e)?.kind === "config") return false;
  if (isNetworkErrno(codeOf(e))) return true;
  const msg = e instanceof Error ? e.message : String(e);
  return /Connection terminated|ECONNRESET|EPIPE|not queryable|socket|Query read timeout|timeout exceeded when trying to connect/i.test(msg);
}

/** A pg error as a TargetError saying what failed (`what`: "load of batch 3 of stream x into s.t"). */
export function translatePgError(e: unknown, what: string): TargetError {
  // Typed where it was caught (a LoadError with its load-error rows, an S3 error naming bucket and key):
  // translated once, never wrapped again, so callers keep its class and details.
  if (e instanceof TargetError) return e;
  const cause = e instanceof Error ? e.message : String(e);
  const pgDetail = (e as { detail?: unknown } | null)?.detail;
  return new TargetError(kindOfPgError(e), `${what} failed: ${cause}`, {
    cause: e,
    code: codeOf(e) ?? targetErrorOf(e)?.code,
    detail: typeof pgDetail === "string" ? pgDetail : undefined,
  });
}

export interface TableState {
  columns: Map<string, ColumnType>;
  /** column → the property it holds, where the loader recorded one (commentColumn) */
  properties?: Map<string, string>;
}

export interface LoadRequest {
  table: TableRef;
  /** target columns, in the order of the staged file's fields */
  columns: readonly string[];
  /** extra staged column (last field) with the arrival ordinal; never written to the target */
  ordinalColumn?: string;
  /** target columns the load statement fills (not in `columns`, not staged): row ids, the batch's time */
  filled?: readonly sql.FilledColumn[];
  keys: readonly string[];
  staged: StagedBatch;
  /** the batch's largest UTF-8 byte length per VARCHAR column */
  widths: ReadonlyMap<string, number>;
  /** several rows of one key in the batch: keep the newest */
  dedup: boolean;
  dedupOrder?: readonly OrderColumn[];
  newerBy?: readonly OrderColumn[];
  deletedColumn?: string;
  /** some key value in the batch is NULL */
  nullKeys?: boolean;
  /** SQL run inside the transaction after the upsert (e.g. overwrite swaps) */
  afterUpsert?: readonly string[];
  /** the batch's identity in the load journal: recorded in its transaction, looked up after a lost COMMIT */
  journal?: { runId: string; stream: string; batch: number };
}

/** A committed batch: rows COPied into its staging table, and what it changed in the target (after dedup). */
export interface LoadResult extends sql.RowCounts {
  loaded: number;
}

/** A batch COPied into its staging table, waiting for its turn to commit (on the session it holds). */
export interface PreparedLoad {
  req: LoadRequest;
  client: pg.PoolClient;
  stage: string;
  loaded: number;
  statements: sql.LoadStatement[];
  /** the staging table was dropped and the session returned */
  released?: boolean;
}

/** Serialization conflicts and deadlocks roll the transaction back whole: it can simply run again (rule 29). */
export function isConflict(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  return err?.code === "40P01" || err?.code === "40001" || (err?.code === "XX000" && /\b1023\b/.test(err.message ?? ""));
}

export interface TransactionOptions {
  /** for logs: what the transaction does */
  what: string;
  /** run on this session (it holds temp tables); only conflicts are retried then. Without it, each
   * attempt takes a fresh connection and a lost connection is retried too. */
  client?: pg.PoolClient;
  /** after a lost connection the COMMIT may have happened: true means it did, stop */
  alreadyDone?: () => Promise<boolean>;
  attempts?: number;
}

let stageCounter = 0;

export function nextVarcharWidth(needed: number): number {
  if (needed >= MAX_VARCHAR_BYTES) return MAX_VARCHAR_BYTES;
  let w = 256;
  while (w < needed) w *= 2;
  return Math.min(w, MAX_VARCHAR_BYTES);
}

/** What a warehouse tells its door beyond logs. */
export interface WarehouseHooks {
  /** a secret obtained at run time (IAM password, chain credentials): to be masked in every log and error */
  onSecret?: (secret: string) => void;
}

export class Warehouse {
  readonly pool: pg.Pool;
  private readonly tables = new Map<string, TableState>();
  private readonly schemasCreated = new Set<string>();
  /** temporary database credentials (IAM authentication), refreshed for each new login near expiry */
  readonly iam?: IamCredentialSource;
  readonly copyCredentials: CopyCredentials;
  private loginResolved = false;
  private readonly journals = new Map<string, Promise<void>>();
  readonly retry: RetrySettings;

  constructor(
    readonly conn: ConnectionSettings,
    readonly settings: LoadSettings,
    protected readonly log: Logger,
    hooks: WarehouseHooks = {},
  ) {
    this.retry = settings.retry ?? { attempts: 5, baseDelayMs: 250 };
    const timeoutMs = (conn.statementTimeoutSeconds ?? 0) * 1000;
    if (conn.iam) {
      this.iam = new RefreshingCredentials(awsCredentialFetcher({ ...conn.iam, database: conn.database }), {
        onIssued: (c) => {
          hooks.onSecret?.(c.password);
          this.log("info", `IAM authentication: ${iamOperation({ ...conn.iam!, database: conn.database })} issued database user ${c.user}, valid until ${c.expiresAt.toISOString()}`);
        },
      });
    }
    this.copyCredentials = new CopyCredentials(settings.copyAuth, {
      onIssued: (c) => {
        hooks.onSecret?.(c.secretAccessKey);
        if (c.sessionToken) hooks.onSecret?.(c.sessionToken);
        this.log("info", `COPY authorization: temporary credentials from the AWS default credential chain${c.expiresAt ? `, valid until ${c.expiresAt.toISOString()}` : ""}`);
      },
    });
    const iam = this.iam;
    this.pool = new pg.Pool({
      host: conn.host,
      port: conn.port,
      database: conn.database,
      user: conn.user,
      // pg asks for the password at each login: with IAM, fresh credentials once the cached ones near expiry.
      password: iam ? async () => (await iam.get()).password : conn.password,
      max: conn.maxConnections,
      ssl: conn.ssl ? { rejectUnauthorized: conn.sslVerify, ...(conn.sslCa ? { ca: conn.sslCa } : {}) } : false,
      connectionTimeoutMillis: 30_000,
      // A network path that silently dies (no RST) is noticed by TCP keepalive rather than never.
      keepAlive: true,
      // The cluster cancels a statement past statement_timeout; the client stops waiting 30 s after that,
      // for an answer that may never arrive.
      ...(timeoutMs > 0 ? { query_timeout: timeoutMs + 30_000 } : {}),
      application_name: "target-redshift",
    } as pg.PoolConfig);
    // An idle client that loses its connection must not crash the process.
    this.pool.on("error", (err) => this.log("warn", `idle connection closed: ${err.message}`));
    if (timeoutMs > 0) {
      // Queued before any query of the new session (pg runs a client's queries in order).
      this.pool.on("connect", (client) => {
        client.query(`SET statement_timeout TO ${timeoutMs}`).catch(() => undefined);
      });
    }
  }

  /**
   * A session from the pool. A checked-out client whose connection drops emits 'error' on itself (the
   * pool's listener covers only idle clients): without a listener that is an uncaught exception. The
   * failing query rejects anyway, so the event is only logged.
   */
  async acquire(): Promise<pg.PoolClient> {
    await this.resolveLogin();
    let client: pg.PoolClient;
    for (let attempt = 1; ; attempt++) {
      // Fresh credentials before the connection opens, not from inside its handshake: the server reads the
      // login's password when the handshake starts.
      if (this.iam) await this.iam.get();
      try {
        client = await this.pool.connect();
        break;
      } catch (e) {
        if (e instanceof IamAuthError) throw e;
        // Redshift refuses expired IAM credentials at login ("IAM Authentication token has expired",
        // 28000) — e.g. when this machine's clock runs behind: fetch new ones once and log in again.
        if (this.iam && attempt === 1 && isExpiredLogin(e)) {
          this.log("warn", "IAM credentials refused as expired at login; fetching new ones");
          this.iam.invalidate();
          continue;
        }
        throw explainConnectError(e, this.target());
      }
    }
    if (client.listenerCount("error") === 0) {
      client.on("error", (err: Error) => this.log("warn", `connection lost: ${err.message}`));
    }
    return client;
  }

  /** Where logins go, for messages (the IAM user once known). */
  target(): ConnectTarget {
    const c = this.conn;
    return { host: c.host, port: c.port, database: c.database, user: this.pool.options.user ?? c.user, ssl: c.ssl, sslVerify: c.sslVerify, iam: c.iam !== undefined };
  }

  /**
   * Before the first login: a missing password is said before connecting; with IAM authentication the
   * credentials are fetched and the pool logs in as exactly the user the API returned (`IAM:…`, `IAMA:…`,
   * `IAMR:…`). Throws ConnectionError or IamAuthError.
   */
  async resolveLogin(): Promise<void> {
    if (this.loginResolved) return;
    if (this.iam) {
      const c = await this.iam.get();
      this.pool.options.user = c.user;
    } else if (this.conn.password === undefined || this.conn.password === "") {
      throw missingPasswordError(this.target());
    }
    this.loginResolved = true;
  }

  /** Logs in once (SELECT 1), so a run fails at its start with the login's explained error, not mid-load. */
  async open(): Promise<void> {
    const client = await this.acquire();
    try {
      await client.query("SELECT 1");
    } catch (e) {
      client.release(true);
      throw explainConnectError(e, this.target());
    }
    client.release();
  }

  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>(text);
  }

  /** The number of slices, to size the parts of a batch (1 when the catalog does not say). */
  async sliceCount(): Promise<number> {
    try {
      const r = await this.pool.query<{ n: string }>("SELECT COUNT(*) AS n FROM stv_slices");
      const n = Number(r.rows[0]?.n ?? 1);
      return n > 0 ? n : 1;
    } catch (e) {
      // The cluster cannot be reached or refuses us: say so now, with what kind of problem it is.
      if (isConnectionLost(e) || kindOfPgError(e) === "config") throw translatePgError(e, "connecting to Redshift");
      return 1;
    }
  }

  private key(t: TableRef): string {
    return `${t.schema}\u0000${t.table}`;
  }

  async describe(t: TableRef): Promise<TableState | undefined> {
    const r = await this.pool.query<{ column_name: string; column_type: string; column_comment: string | null }>(sql.describeTable(t));
    if (r.rows.length === 0) return undefined;
    const columns = new Map<string, ColumnType>();
    const properties = new Map<string, string>();
    for (const row of r.rows) {
      const type = parseRedshiftType(row.column_type) ?? { kind: "super" as const };
      columns.set(row.column_name, type);
      const property = sql.propertyOfComment(row.column_comment);
      if (property !== undefined) properties.set(row.column_name, property);
    }
    return { columns, properties };
  }

  /**
   * Runs a DDL statement another run may be running at the same moment (two loads of the same tables):
   * "already exists" (42P06 schema, 42P07 table, 42701 column, 23505 on the catalog's unique index while
   * both create the same type) means the other run won, which is what we wanted. `settled` re-reads the
   * catalog and says whether the wanted state holds; if it does not, the error stands.
   */
  private async racingDdl(statement: string, settled: () => Promise<boolean>): Promise<"done" | "raced"> {
    try {
      await this.pool.query(statement);
      return "done";
    } catch (e) {
      const code = codeOf(e);
      const lost = code === "42P06" || code === "42P07" || code === "42701" || code === "23505" || /already exists/i.test((e as Error).message ?? "");
      if (lost && (await settled().catch(() => false))) return "raced";
      throw e;
    }
  }

  /** The schema's load journal (created once per run and schema; racing creators are tolerated). */
  private ensureJournal(schema: string): Promise<void> {
    let done = this.journals.get(schema);
    if (!done) {
      done = this.racingDdl(sql.createLoadJournal(schema), async () => (await this.describe({ schema, table: sql.LOAD_JOURNAL_TABLE })) !== undefined).then(() => undefined);
      done.catch(() => this.journals.delete(schema));
      this.journals.set(schema, done);
    }
    return done;
  }

  /**
   * Makes the table hold `wanted`: creates it, or adds missing columns one statement each. An existing
   * column keeps its type (data is never rewritten here); the caller encodes values for the type returned.
   * Another run creating the same schema, table or column at the same time is not an error (the catalog
   * is read again). Throws TargetError naming the table.
   */
  async prepareTable(t: TableRef, wanted: readonly ColumnDef[]): Promise<TableState> {
    try {
      return await this.prepareTableOnce(t, wanted);
    } catch (e) {
      throw translatePgError(e, `preparing table ${t.schema}.${t.table}`);
    }
  }

  private async prepareTableOnce(t: TableRef, wanted: readonly ColumnDef[]): Promise<TableState> {
    if (!this.settings.skipSchemaCreation && !this.schemasCreated.has(t.schema)) {
      await this.racingDdl(sql.createSchema(t.schema), async () => {
        const r = await this.pool.query(`SELECT 1 FROM pg_namespace WHERE nspname = ${sql.quoteLiteral(t.schema)}`);
        return r.rows.length > 0;
      });
      this.schemasCreated.add(t.schema);
    }
    await this.ensureJournal(t.schema);
    let state = this.tables.get(this.key(t)) ?? (await this.describe(t));
    if (!state) {
      const how = await this.racingDdl(sql.createTable(t, wanted), async () => (await this.describe(t)) !== undefined);
      if (how === "done") for (const c of wanted) await this.recordProperty(t, c);
      state = (await this.describe(t)) ?? { columns: new Map(wanted.map((c) => [c.name, c.type])) };
      if (how === "raced") {
        // The winner made the same names for the same properties; its comments may not be written yet
        // (or it stopped between CREATE and COMMENT): write ours where the column has none.
        for (const c of wanted) {
          if (c.property === undefined || c.property === c.name || !state.columns.has(c.name) || state.properties?.has(c.name)) continue;
          await this.recordProperty(t, c);
          (state.properties ??= new Map()).set(c.name, c.property);
        }
      }
      if (how === "done") this.log("info", `created table ${t.schema}.${t.table} with ${wanted.length} columns`);
      // A racing run may have created it with other columns: add what is missing below.
    }
    for (const c of wanted) {
      const existing = state.columns.get(c.name);
      if (existing) {
        const evolution = evolveColumn(existing, c.type);
        if (evolution.action === "migrate") await this.migrateColumn(t, c.name, existing, evolution.to, state);
        continue;
      }
      let raced: ColumnType | undefined;
      const how = await this.racingDdl(sql.addColumn(t, c), async () => {
        raced = (await this.describe(t))?.columns.get(c.name);
        return raced !== undefined;
      });
      await this.recordProperty(t, c);
      if (c.property !== undefined && c.property !== c.name) (state.properties ??= new Map()).set(c.name, c.property);
      if (how === "raced" && raced) {
        state.columns.set(c.name, raced);
        const evolution = evolveColumn(raced, c.type);
        if (evolution.action === "migrate") await this.migrateColumn(t, c.name, raced, evolution.to, state);
        continue;
      }
      state.columns.set(c.name, c.type);
      this.log("info", `added column ${t.schema}.${t.table}.${c.name} ${columnTypeSql(c.type)}`);
    }
    this.tables.set(this.key(t), state);
    return state;
  }

  /** The wait before retry `attempt + 1` (attempt ≥ 1). */
  private delay(attempt: number): number {
    return backoffMs(this.retry.baseDelayMs, attempt);
  }

  /**
   * Runs `statements` in ONE transaction (BEGIN … COMMIT), retrying the whole transaction with backoff
   * on a serialization conflict or deadlock (rule 29), and — on a fresh connection — after a lost one.
   * Returns each statement's result from the attempt that committed (none when `alreadyDone` said a
   * lost attempt had committed).
   */
  async transaction(statements: readonly string[], o: TransactionOptions): Promise<pg.QueryResult[]> {
    const attempts = o.attempts ?? this.retry.attempts;
    for (let attempt = 1; ; attempt++) {
      const client = o.client ?? (await this.acquire());
      let failure: unknown;
      let broken = false;
      const results: pg.QueryResult[] = [];
      try {
        await client.query("BEGIN");
        for (const s of statements) results.push(await client.query(s));
        await client.query("COMMIT");
      } catch (e) {
        failure = e;
        await client.query("ROLLBACK").catch(() => {
          broken = true;
        });
      } finally {
        if (!o.client) client.release(broken);
      }
      if (failure === undefined) return results;
      const retryable = isConflict(failure) || (!o.client && (broken || isConnectionLost(failure)));
      if (attempt >= attempts || !retryable || (o.client && broken)) throw failure;
      const delay = this.delay(attempt);
      this.log("warn", `${o.what} failed (${(failure as Error).message}); retrying in ${delay} ms (attempt ${attempt + 1} of ${attempts})`);
      await sleep(delay);
      // Done by the lost attempt: its results are lost with it.
      if (o.alreadyDone && (await o.alreadyDone().catch(() => false))) return [];
    }
  }

  /** Comments a column with the property it holds, when their names differ (see sql.commentColumn). */
  private async recordProperty(t: TableRef, c: ColumnDef): Promise<void> {
    if (c.property !== undefined && c.property !== c.name) await this.pool.query(sql.commentColumn(t, c.name, c.property));
  }

  /**
   * Replaces `final` with the fully loaded `loaded` (same schema) in ONE transaction: DROP + RENAME, never
   * TRUNCATE (which would commit on its own in Redshift), so readers see the old rows or the new ones, never
   * an empty table. A COMMIT whose answer was lost may have happened: `loaded` is gone then, and that
   * counts as done. Used by Airbyte overwrite and Singer `load_method: overwrite`.
   */
  async replaceTable(loaded: TableRef, final: TableRef): Promise<void> {
    const where = `${final.schema}.${final.table}`;
    await this.transaction(sql.replaceTable(loaded, final), {
      what: `swap of ${where}`,
      alreadyDone: async () => (await this.describe(loaded)) === undefined,
      attempts: 4,
    });
    // The cached shape was the old table's; `final` now has the loaded table's columns.
    this.tables.delete(this.key(final));
    const state = this.tables.get(this.key(loaded));
    this.tables.delete(this.key(loaded));
    if (state) this.tables.set(this.key(final), state);
  }

  /** Drops a table if it exists (a side table of an earlier or failed run) and forgets its shape. */
  async dropTable(t: TableRef): Promise<void> {
    await this.pool.query(sql.dropTable(t));
    this.tables.delete(this.key(t));
  }

  /** Changes a column's type in place, in one transaction, keeping every value (rule 28). */
  private async migrateColumn(t: TableRef, column: string, from: ColumnType, to: ColumnType, state: TableState): Promise<void> {
    await this.transaction(migrateColumnSql(sql.tableSql(t), column, from, to), {
      what: `change of ${t.schema}.${t.table}.${column}`,
      alreadyDone: async () => (await this.describe(t))?.columns.get(column)?.kind === to.kind,
    });
    state.columns.set(column, to);
    // The new column replaced the old one, and its comment with it.
    const property = state.properties?.get(column);
    if (property !== undefined) await this.recordProperty(t, { name: column, type: to, property });
    this.log("info", `changed ${t.schema}.${t.table}.${column} from ${columnTypeSql(from)} to ${columnTypeSql(to)}, values kept`);
  }

  /**
   * Grows VARCHAR columns the batch would overflow; runs outside any transaction (rule 27). When it fails
   * and the catalog shows the column already wide enough (another run widened it), the load goes on.
   */
  private async widen(client: pg.PoolClient, t: TableRef, widths: ReadonlyMap<string, number>): Promise<void> {
    const state = this.tables.get(this.key(t));
    if (!state) return;
    for (const [column, bytes] of widths) {
      const type = state.columns.get(column);
      if (!type || type.kind !== "varchar" || (type.length ?? 0) >= bytes) continue;
      const width = nextVarcharWidth(bytes);
      try {
        await client.query(sql.widenVarchar(t, column, width));
      } catch (e) {
        if (isConnectionLost(e)) throw e;
        const now = (await this.describe(t).catch(() => undefined))?.columns.get(column);
        if (now?.kind !== "varchar" || (now.length ?? 0) < bytes) throw e;
        state.columns.set(column, now);
        continue;
      }
      state.columns.set(column, { kind: "varchar", length: width });
      this.log("info", `widened ${t.schema}.${t.table}.${column} to VARCHAR(${width})`, { needed: bytes });
    }
  }

  private async explainCopyFailure(client: pg.PoolClient, staged: StagedBatch, error: Error): Promise<Error> {
    // A lost session cannot be asked about load errors: the step is retried whole instead.
    if (isConnectionLost(error)) return error;
    const prefix = staged.manifestUrl.replace(/manifest\.json$/, "");
    const like = sql.quoteLiteral(`${prefix}%`);
    const queries = [
      `SELECT TRIM(file_name) AS file, line_number AS line, TRIM(column_name) AS column, TRIM(error_message) AS reason FROM sys_load_error_detail WHERE file_name LIKE ${like} ORDER BY start_time DESC LIMIT 5`,
      `SELECT TRIM(filename) AS file, line_number AS line, TRIM(colname) AS column, TRIM(raw_field_value) AS value, TRIM(err_reason) AS reason FROM stl_load_errors WHERE filename LIKE ${like} ORDER BY starttime DESC LIMIT 5`,
    ];
    for (const q of queries) {
      try {
        const r = await client.query(q);
        if (r.rows.length > 0) {
          const first = r.rows[0] as Record<string, unknown>;
          const where = `file ${first.file}, line ${first.line}, column ${first.column}`;
          const value = first.value !== undefined ? `, value ${JSON.stringify(first.value)}` : "";
          return new LoadError(`${error.message} — ${where}${value}: ${first.reason}`, r.rows, { cause: error });
        }
      } catch {
        // the table may not exist on this kind of cluster: try the next
      }
    }
    return new LoadError(error.message, [], { cause: error });
  }

  /** "load of batch 3 of stream \"s\" into sch.t" — how errors and retries name a load. */
  protected what(req: LoadRequest): string {
    const target = `${req.table.schema}.${req.table.table}`;
    return req.journal ? `load of batch ${req.journal.batch} of stream ${JSON.stringify(req.journal.stream)} into ${target}` : `load into ${target}`;
  }

  /**
   * The first half of a load, outside any transaction: widen VARCHARs, CREATE TEMP TABLE with the staged columns,
   * COPY, check the count, dedup. It holds its session (the temp table lives there) until commitLoad or
   * abandon. Splitting lets the next batch's COPY run while the previous batch's transaction commits;
   * prepares of one table must not overlap each other (widening decides from the table's last width).
   * A lost connection re-runs it on a fresh session (nothing of it was committed); up to retry.attempts
   * tries. Throws TargetError naming the stream and table.
   */
  async prepareLoad(req: LoadRequest): Promise<PreparedLoad> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.prepareOnce(req);
      } catch (e) {
        if (!isConnectionLost(e) || attempt >= this.retry.attempts) throw translatePgError(e, this.what(req));
        const delay = this.delay(attempt);
        this.log("warn", `${this.what(req)}: connection lost before COMMIT (${(e as Error).message}); loading it again from the staged files on a fresh session in ${delay} ms (attempt ${attempt + 1} of ${this.retry.attempts})`);
        await sleep(delay);
      }
    }
  }

  private async prepareOnce(req: LoadRequest): Promise<PreparedLoad> {
    const client = await this.acquire();
    // ≤ 127 bytes whatever the table's characters: cut by bytes at a code point.
    const stage = `stage_${truncateUtf8(req.table.table, 80)}_${process.pid}_${++stageCounter}`;
    const prepared: PreparedLoad = { req, client, stage, loaded: 0, statements: [] };
    try {
      await this.widen(client, req.table, req.widths);
      const stageColumns = this.stageColumns(req, this.tables.get(this.key(req.table)));
      await client.query(sql.createStageTable(stage, stageColumns));
      const copyColumns = stageColumns.map((c) => c.name);
      try {
        await client.query(
          sql.copyFromManifest({
            table: stage,
            columns: copyColumns,
            manifestUrl: req.staged.manifestUrl,
            auth: await this.copyCredentials.get(),
            format: this.settings.fileFormat,
            region: this.settings.region,
          }),
        );
      } catch (e) {
        throw await this.explainCopyFailure(client, req.staged, e as Error);
      }
      const counted = await client.query<{ loaded: string | number }>(sql.lastCopyCount());
      prepared.loaded = Number(counted.rows[0]?.loaded ?? -1);
      if (prepared.loaded !== req.staged.rows) {
        throw new LoadError(
          `COPY loaded ${prepared.loaded} rows into ${req.table.schema}.${req.table.table}'s staging table but ${req.staged.rows} were staged; nothing was committed`,
          [],
          { kind: "system" },
        );
      }
      if (req.dedup && req.keys.length > 0 && req.ordinalColumn) {
        await client.query(sql.dedupStage(stage, req.keys, req.dedupOrder ?? [], req.ordinalColumn));
      }
      prepared.statements = this.upsertStatements(req, stage);
      return prepared;
    } catch (e) {
      await this.abandon(prepared, e);
      throw e;
    }
  }

  /**
   * The staging table's columns (see createStageTable): the staged ones typed as the target has them
   * now (`state`, after widening), then the ordinal. Throws when the state lacks one (not expected: the
   * engine plans columns from that state).
   */
  protected stageColumns(req: LoadRequest, state: TableState | undefined): sql.ColumnDef[] {
    const columns = req.columns.map((name) => {
      const type = state?.columns.get(name);
      if (!type) throw new Error(`${this.what(req)}: column ${JSON.stringify(name)} is not in the table's known columns`);
      return { name, type };
    });
    if (req.ordinalColumn) columns.push({ name: req.ordinalColumn, type: { kind: "bigint" } });
    return columns;
  }

  /** What moves the staged rows into the target: INSERT (no keys), MERGE, or DELETE + INSERT. */
  protected upsertStatements(req: LoadRequest, stage: string): sql.LoadStatement[] {
    const plan = {
      target: req.table,
      stage,
      columns: req.columns,
      filled: req.filled,
      keys: req.keys,
      deletedColumn: req.deletedColumn,
      newerBy: req.newerBy,
      nullKeys: req.nullKeys,
    };
    if (req.keys.length === 0) return [sql.insertFromStage(plan)];
    if (this.settings.upsertStrategy === "merge" && !(req.newerBy && req.newerBy.length > 0)) return sql.mergeUpsert(plan);
    return sql.deleteInsertUpsert(plan);
  }

  /** One try of the transaction; the rows inserted / updated / deleted come from its statements' results. */
  private async commitOnce(p: PreparedLoad): Promise<LoadResult> {
    const { req, client } = p;
    const journal = req.journal ? [sql.journalInsert({ ...req.journal, table: req.table, rows: req.staged.rows })] : [];
    const results = await this.transaction([sql.lockTable(req.table), ...p.statements.map((s) => s.sql), ...(req.afterUpsert ?? []), ...journal], {
      what: this.what(req),
      client,
    });
    // results[0] is the LOCK; the load statements follow in order.
    return { loaded: p.loaded, ...sql.rowCountsOf(p.statements, results.slice(1)) };
  }

  /** True when the journal shows this batch committed (by this run, maybe on a session since lost). */
  async journaled(req: LoadRequest): Promise<boolean> {
    if (!req.journal) return false;
    const r = await this.pool.query<{ n: string | number }>(sql.journalLookup({ ...req.journal, table: req.table }));
    return Number(r.rows[0]?.n ?? 0) > 0;
  }

  /**
   * The second half: BEGIN; LOCK; upsert/append; journal row; COMMIT (retried on conflicts). The session
   * stays held with its staging table until release(), so the caller can hand out STATE first.
   * A connection lost at any point re-runs the whole load on a fresh session from the staged files — but
   * first the journal is read: if the lost COMMIT was applied, the batch is not loaded again. Up to
   * retry.attempts tries in all. Throws TargetError naming the stream and table; nothing committed then.
   */
  async commitLoad(p: PreparedLoad): Promise<LoadResult> {
    const what = this.what(p.req);
    let lost: unknown;
    try {
      return await this.commitOnce(p);
    } catch (e) {
      await this.abandon(p, e);
      if (!isConnectionLost(e) || !p.req.journal) throw translatePgError(e, what);
      lost = e;
    }
    for (let attempt = 2; attempt <= this.retry.attempts; attempt++) {
      const delay = this.delay(attempt - 1);
      this.log("warn", `${what}: connection lost (${(lost as Error).message}); checking the load journal and loading again if needed in ${delay} ms (attempt ${attempt} of ${this.retry.attempts})`);
      await sleep(delay);
      try {
        if (await this.journaled(p.req)) {
          // The row counts were in the lost answer: the batch is reported as loaded, its counts as unknown (0).
          this.log("info", `${what}: the load journal shows the COMMIT was applied before the connection was lost; not loading it again (its row counts were lost with the answer)`);
          return { loaded: p.req.staged.rows, inserted: 0, updated: 0, deleted: 0 };
        }
        const again = await this.prepareOnce(p.req);
        Object.assign(p, { client: again.client, stage: again.stage, loaded: again.loaded, statements: again.statements, released: false });
        try {
          return await this.commitOnce(p);
        } catch (e) {
          await this.abandon(p, e);
          throw e;
        }
      } catch (e) {
        if (!isConnectionLost(e)) throw translatePgError(e, what);
        lost = e;
      }
    }
    throw translatePgError(lost, `${what} (after ${this.retry.attempts} attempts)`);
  }

  /** After a commit: drops the staging table and returns the session. A cleanup failure is only logged. */
  async release(p: PreparedLoad): Promise<void> {
    if (p.released) return;
    p.released = true;
    await p.client.query(sql.dropTable(p.stage)).catch(() => undefined);
    p.client.release();
  }

  /** Drops the staging table (if the session still works) and returns the session. */
  async abandon(p: PreparedLoad, cause?: unknown): Promise<void> {
    if (p.released) return;
    p.released = true;
    const broken = cause !== undefined && isConnectionLost(cause);
    if (!broken) await p.client.query(sql.dropTable(p.stage)).catch(() => undefined);
    p.client.release(broken);
  }

  /** COPY → dedup → upsert/append → COMMIT, on one session. Throws LoadError; nothing is committed then. */
  async load(req: LoadRequest): Promise<LoadResult> {
    const p = await this.prepareLoad(req);
    const r = await this.commitLoad(p);
    await this.release(p);
    return r;
  }

  async end(): Promise<void> {
    await this.pool.end();
  }
}

function isExpiredLogin(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  return (err?.code === "28000" || err?.code === "28P01") && /expired/i.test(err.message ?? "");
}
