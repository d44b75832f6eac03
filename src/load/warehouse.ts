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
import { backoffMs, sleep } from "../retry.js";
import { type ConnectTarget, explainConnectError, missingPasswordError } from "./connect-errors.js";
import { type CopyAuthSource, CopyCredentials } from "./copy-credentials.js";
import { type IamAuthSettings, type IamCredentialSource, IamAuthError, RefreshingCredentials, awsCredentialFetcher, iamOperation } from "./iam-auth.js";

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
}

/** Redshift's COPY error, enriched with the rows of the load-error tables. */
export class LoadError extends Error {
  constructor(
    message: string,
    readonly details: Record<string, unknown>[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface TableState {
  columns: Map<string, ColumnType>;
}

export interface LoadRequest {
  table: TableRef;
  /** target columns, in the order of the staged file's fields */
  columns: readonly string[];
  /** extra staged column (last field) with the arrival ordinal; dropped before the upsert */
  ordinalColumn?: string;
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
}

export interface LoadResult {
  loaded: number;
}

/** A batch COPied into its staging table, waiting for its turn to commit (on the session it holds). */
export interface PreparedLoad {
  req: LoadRequest;
  client: pg.PoolClient;
  stage: string;
  loaded: number;
  statements: string[];
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
  /** the verb a batch's log line uses once its load returned */
  readonly outcome: string = "committed";

  constructor(
    readonly conn: ConnectionSettings,
    readonly settings: LoadSettings,
    protected readonly log: Logger,
    hooks: WarehouseHooks = {},
  ) {
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
      application_name: "target-redshift",
    } as pg.PoolConfig);
    // An idle client that loses its connection must not crash the process.
    this.pool.on("error", (err) => this.log("warn", `idle connection closed: ${err.message}`));
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
    } catch {
      return 1;
    }
  }

  private key(t: TableRef): string {
    return `${t.schema}\u0000${t.table}`;
  }

  async describe(t: TableRef): Promise<TableState | undefined> {
    const r = await this.pool.query<{ column_name: string; column_type: string }>(sql.describeTable(t));
    if (r.rows.length === 0) return undefined;
    const columns = new Map<string, ColumnType>();
    for (const row of r.rows) {
      const type = parseRedshiftType(row.column_type) ?? { kind: "super" as const };
      columns.set(row.column_name, type);
    }
    return { columns };
  }

  /**
   * Makes the table hold `wanted`: creates it, or adds missing columns one statement each. An existing
   * column keeps its type (data is never rewritten here); the caller encodes values for the type returned.
   */
  async prepareTable(t: TableRef, wanted: readonly ColumnDef[]): Promise<TableState> {
    if (!this.settings.skipSchemaCreation && !this.schemasCreated.has(t.schema)) {
      await this.pool.query(sql.createSchema(t.schema));
      this.schemasCreated.add(t.schema);
    }
    let state = this.tables.get(this.key(t)) ?? (await this.describe(t));
    if (!state) {
      await this.pool.query(sql.createTable(t, wanted));
      state = (await this.describe(t)) ?? { columns: new Map(wanted.map((c) => [c.name, c.type])) };
      this.log("info", `created table ${t.schema}.${t.table} with ${wanted.length} columns`);
    } else {
      for (const c of wanted) {
        const existing = state.columns.get(c.name);
        if (existing) {
          const evolution = evolveColumn(existing, c.type);
          if (evolution.action === "migrate") await this.migrateColumn(t, c.name, existing, evolution.to, state);
          continue;
        }
        await this.pool.query(sql.addColumn(t, c));
        state.columns.set(c.name, c.type);
        this.log("info", `added column ${t.schema}.${t.table}.${c.name} ${columnTypeSql(c.type)}`);
      }
    }
    this.tables.set(this.key(t), state);
    return state;
  }

  /**
   * Runs `statements` in ONE transaction (BEGIN … COMMIT), retrying the whole transaction with backoff
   * on a serialization conflict or deadlock (rule 29), and — on a fresh connection — after a lost one.
   */
  async transaction(statements: readonly string[], o: TransactionOptions): Promise<void> {
    const attempts = o.attempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      const client = o.client ?? (await this.acquire());
      let failure: unknown;
      let broken = false;
      try {
        await client.query("BEGIN");
        for (const s of statements) await client.query(s);
        await client.query("COMMIT");
      } catch (e) {
        failure = e;
        await client.query("ROLLBACK").catch(() => {
          broken = true;
        });
      } finally {
        if (!o.client) client.release(broken);
      }
      if (failure === undefined) return;
      const retryable = isConflict(failure) || (!o.client && (broken || isConnectionError(failure)));
      if (attempt >= attempts || !retryable || (o.client && broken)) throw failure;
      const delay = backoffMs(250, attempt);
      this.log("warn", `${o.what} failed (${(failure as Error).message}); retrying in ${delay} ms (attempt ${attempt + 1} of ${attempts})`);
      await sleep(delay);
      if (o.alreadyDone && (await o.alreadyDone().catch(() => false))) return;
    }
  }

  /** Changes a column's type in place, in one transaction, keeping every value (rule 28). */
  private async migrateColumn(t: TableRef, column: string, from: ColumnType, to: ColumnType, state: TableState): Promise<void> {
    await this.transaction(migrateColumnSql(sql.tableSql(t), column, from, to), {
      what: `change of ${t.schema}.${t.table}.${column}`,
      alreadyDone: async () => (await this.describe(t))?.columns.get(column)?.kind === to.kind,
    });
    state.columns.set(column, to);
    this.log("info", `changed ${t.schema}.${t.table}.${column} from ${columnTypeSql(from)} to ${columnTypeSql(to)}, values kept`);
  }

  /** Grows VARCHAR columns the batch would overflow; runs outside any transaction (rule 27). */
  private async widen(client: pg.PoolClient, t: TableRef, widths: ReadonlyMap<string, number>): Promise<void> {
    const state = this.tables.get(this.key(t));
    if (!state) return;
    for (const [column, bytes] of widths) {
      const type = state.columns.get(column);
      if (!type || type.kind !== "varchar" || (type.length ?? 0) >= bytes) continue;
      const width = nextVarcharWidth(bytes);
      await client.query(sql.widenVarchar(t, column, width));
      state.columns.set(column, { kind: "varchar", length: width });
      this.log("info", `widened ${t.schema}.${t.table}.${column} to VARCHAR(${width})`, { needed: bytes });
    }
  }

  private async explainCopyFailure(client: pg.PoolClient, staged: StagedBatch, error: Error): Promise<LoadError> {
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

  /**
   * The first half of a load, outside any transaction: widen VARCHARs, CREATE TEMP TABLE … (LIKE target),
   * COPY, check the count, dedup. It holds its session (the temp table lives there) until commitLoad or
   * abandon. Splitting lets the next batch's COPY run while the previous batch's transaction commits;
   * prepares of one table must not overlap each other (widening decides from the table's last width).
   */
  async prepareLoad(req: LoadRequest): Promise<PreparedLoad> {
    const client = await this.acquire();
    const stage = `stage_${req.table.table.slice(0, 80)}_${process.pid}_${++stageCounter}`;
    const prepared: PreparedLoad = { req, client, stage, loaded: 0, statements: [] };
    try {
      await this.widen(client, req.table, req.widths);
      await client.query(sql.createStageTable(stage, req.table));
      const copyColumns = [...req.columns];
      if (req.ordinalColumn) {
        await client.query(sql.addStageColumn(stage, { name: req.ordinalColumn, type: { kind: "bigint" } }));
        copyColumns.push(req.ordinalColumn);
      }
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

  /** What moves the staged rows into the target: INSERT (no keys), MERGE, or DELETE + INSERT. */
  protected upsertStatements(req: LoadRequest, stage: string): string[] {
    const plan = {
      target: req.table,
      stage,
      columns: req.columns,
      keys: req.keys,
      deletedColumn: req.deletedColumn,
      newerBy: req.newerBy,
      nullKeys: req.nullKeys,
    };
    if (req.keys.length === 0) return [sql.insertFromStage(plan)];
    if (this.settings.upsertStrategy === "merge" && !(req.newerBy && req.newerBy.length > 0)) return sql.mergeUpsert(plan);
    return sql.deleteInsertUpsert(plan);
  }

  /** The second half: BEGIN; LOCK; upsert/append; COMMIT (retried on conflicts), then the session goes back. */
  async commitLoad(p: PreparedLoad): Promise<LoadResult> {
    const { req, client } = p;
    try {
      await this.transaction([sql.lockTable(req.table), ...p.statements, ...(req.afterUpsert ?? [])], {
        what: `load of ${req.staged.rows} rows into ${req.table.schema}.${req.table.table}`,
        client,
      });
    } catch (e) {
      await this.abandon(p, e);
      throw e;
    }
    await client.query(sql.dropTable(p.stage)).catch(() => undefined);
    client.release();
    return { loaded: p.loaded };
  }

  /** Drops the staging table (if the session still works) and returns the session. */
  async abandon(p: PreparedLoad, cause?: unknown): Promise<void> {
    const broken = cause !== undefined && isConnectionError(cause);
    if (!broken) await p.client.query(sql.dropTable(p.stage)).catch(() => undefined);
    p.client.release(broken);
  }

  /** COPY → dedup → upsert/append → COMMIT, on one session. Throws LoadError; nothing is committed then. */
  async load(req: LoadRequest): Promise<LoadResult> {
    return this.commitLoad(await this.prepareLoad(req));
  }

  async end(): Promise<void> {
    await this.pool.end();
  }
}

function isExpiredLogin(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  return (err?.code === "28000" || err?.code === "28P01") && /expired/i.test(err.message ?? "");
}

function isConnectionError(e: unknown): boolean {
  const msg = e instanceof Error ? e.message : String(e);
  return /Connection terminated|ECONNRESET|EPIPE|not queryable|socket/i.test(msg);
}

