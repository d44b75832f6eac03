/**
 * The warehouse of `--dry-run`: it logs in and reads the catalog (existing tables and columns, slice
 * count) but runs no DDL and loads nothing. Every statement a real run would send — schema and table DDL,
 * the staging table, COPY, dedup, the upsert transaction — is logged as `dry run: <SQL>` instead, per
 * stream and batch. COPY's credentials are shown as placeholders: none are resolved or printed.
 */
import * as sql from "../redshift/sql.js";
import type { ColumnDef, CopyAuthorization, TableRef } from "../redshift/sql.js";
import { columnTypeSql } from "../redshift/types.js";
import { evolveColumn, migrateColumnSql } from "../redshift/type-evolution.js";
import { type LoadRequest, type LoadResult, type PreparedLoad, type TableState, Warehouse, nextVarcharWidth } from "./warehouse.js";

let dryStageCounter = 0;

export class DryRunWarehouse extends Warehouse {
  private readonly planned = new Map<string, TableState>();
  private readonly schemasSeen = new Set<string>();
  private readonly journalsSeen = new Set<string>();
  /** every statement planned, in order (also logged) */
  readonly statements: string[] = [];

  private plan(what: string, statements: readonly string[]): void {
    for (const s of statements) {
      this.statements.push(s);
      this.log("info", `dry run: ${what}: ${s}`);
    }
  }

  private copyAuthShown(): CopyAuthorization {
    const source = this.settings.copyAuth;
    if ("iamRoleArn" in source) return source;
    // Placeholders, never the keys: a dry run's output is meant to be read and shared.
    return "defaultChain" in source
      ? { accessKeyId: "<from the AWS default credential chain>", secretAccessKey: "<secret>", sessionToken: "<session token>" }
      : { accessKeyId: "<aws_access_key_id>", secretAccessKey: "<aws_secret_access_key>", ...(source.sessionToken ? { sessionToken: "<aws_session_token>" } : {}) };
  }

  override async prepareTable(t: TableRef, wanted: readonly ColumnDef[]): Promise<TableState> {
    const name = `${t.schema}.${t.table}`;
    const key = `${t.schema}\u0000${t.table}`;
    if (!this.settings.skipSchemaCreation && !this.schemasSeen.has(t.schema)) {
      this.schemasSeen.add(t.schema);
      this.plan(`schema ${t.schema}`, [sql.createSchema(t.schema)]);
    }
    if (!this.journalsSeen.has(t.schema)) {
      this.journalsSeen.add(t.schema);
      // A real run creates the schema's load journal before its first batch; shown only when it is missing.
      if ((await this.describe({ schema: t.schema, table: sql.LOAD_JOURNAL_TABLE })) === undefined) {
        this.plan(`load journal ${t.schema}.${sql.LOAD_JOURNAL_TABLE}`, [sql.createLoadJournal(t.schema)]);
      }
    }
    let state = this.planned.get(key) ?? (await this.describe(t));
    if (!state) {
      this.plan(`table ${name}`, [sql.createTable(t, wanted)]);
      state = { columns: new Map(wanted.map((c) => [c.name, c.type])) };
    } else {
      for (const c of wanted) {
        const existing = state.columns.get(c.name);
        if (!existing) {
          this.plan(`table ${name}`, [sql.addColumn(t, c)]);
          state.columns.set(c.name, c.type);
          continue;
        }
        const evolution = evolveColumn(existing, c.type);
        if (evolution.action === "migrate") {
          this.plan(`table ${name}, column ${c.name} ${columnTypeSql(existing)} → ${columnTypeSql(evolution.to)}`, [
            "BEGIN",
            ...migrateColumnSql(sql.tableSql(t), c.name, existing, evolution.to),
            "COMMIT",
          ]);
          state.columns.set(c.name, evolution.to);
        }
      }
    }
    this.planned.set(key, state);
    return state;
  }

  override async prepareLoad(req: LoadRequest): Promise<PreparedLoad> {
    const name = `${req.table.schema}.${req.table.table}`;
    const what = `load of ${req.staged.rows} rows into ${name}`;
    const state = this.planned.get(`${req.table.schema}\u0000${req.table.table}`);
    const widen: string[] = [];
    for (const [column, bytes] of req.widths) {
      const type = state?.columns.get(column);
      if (!type || type.kind !== "varchar" || (type.length ?? 0) >= bytes) continue;
      const width = nextVarcharWidth(bytes);
      widen.push(sql.widenVarchar(req.table, column, width));
      state!.columns.set(column, { kind: "varchar", length: width });
    }
    const stage = `stage_${req.table.table.slice(0, 80)}_${process.pid}_dry${++dryStageCounter}`;
    const stageColumns = this.stageColumns(req, state);
    const copyColumns = stageColumns.map((c) => c.name);
    const statements = [...widen, sql.createStageTable(stage, stageColumns)];
    statements.push(
      sql.copyFromManifest({
        table: stage,
        columns: copyColumns,
        manifestUrl: req.staged.manifestUrl,
        auth: this.copyAuthShown(),
        format: this.settings.fileFormat,
        region: this.settings.region,
      }),
    );
    if (req.dedup && req.keys.length > 0 && req.ordinalColumn) {
      statements.push(sql.dedupStage(stage, req.keys, req.dedupOrder ?? [], req.ordinalColumn));
    }
    this.plan(what, statements);
    return { req, client: undefined as unknown as PreparedLoad["client"], stage, loaded: req.staged.rows, statements: this.upsertStatements(req, stage) };
  }

  override async commitLoad(p: PreparedLoad): Promise<LoadResult> {
    const name = `${p.req.table.schema}.${p.req.table.table}`;
    const journal = p.req.journal ? [sql.journalInsert({ ...p.req.journal, table: p.req.table, rows: p.req.staged.rows })] : [];
    this.plan(`load of ${p.req.staged.rows} rows into ${name}`, [
      "BEGIN",
      sql.lockTable(p.req.table),
      ...p.statements.map((s) => s.sql),
      ...(p.req.afterUpsert ?? []),
      ...journal,
      "COMMIT",
      sql.dropTable(p.stage),
    ]);
    // Nothing reached a table: no row was inserted, updated or deleted.
    return { loaded: p.loaded, inserted: 0, updated: 0, deleted: 0 };
  }

  /** No batch was ever committed: the load journal (which a dry run never creates) is not read. */
  override async journaled(): Promise<boolean> {
    return false;
  }

  override async abandon(): Promise<void> {}
  /** No session was taken and no staging table created (prepareLoad only planned them). */
  override async release(): Promise<void> {}

  override async replaceTable(loaded: TableRef, final: TableRef): Promise<void> {
    this.plan(`swap of ${final.schema}.${final.table}`, ["BEGIN", ...sql.replaceTable(loaded, final), "COMMIT"]);
    const state = this.planned.get(`${loaded.schema}\u0000${loaded.table}`);
    this.planned.delete(`${loaded.schema}\u0000${loaded.table}`);
    if (state) this.planned.set(`${final.schema}\u0000${final.table}`, state);
  }

  override async dropTable(t: TableRef): Promise<void> {
    this.plan(`table ${t.schema}.${t.table}`, [sql.dropTable(t)]);
    this.planned.delete(`${t.schema}\u0000${t.table}`);
  }

  /** Reads (SELECT, WITH) run; anything else is logged, not sent, and answers as if it touched no row. */
  override async query<R extends import("pg").QueryResultRow = import("pg").QueryResultRow>(text: string): Promise<import("pg").QueryResult<R>> {
    if (/^\s*(SELECT|WITH)\b/i.test(text)) return super.query<R>(text);
    this.plan("statement", [text]);
    return { rows: [], rowCount: 0, command: "", oid: 0, fields: [] };
  }

  override async transaction(statements: readonly string[], o: { what: string }): Promise<import("pg").QueryResult[]> {
    this.plan(o.what, ["BEGIN", ...statements, "COMMIT"]);
    return [];
  }
}
