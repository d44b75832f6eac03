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
  override readonly outcome = "dry run, nothing loaded:";
  private readonly planned = new Map<string, TableState>();
  private readonly schemasSeen = new Set<string>();
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
    const copyColumns = [...req.columns];
    const statements = [...widen, sql.createStageTable(stage, req.table)];
    if (req.ordinalColumn) {
      statements.push(sql.addStageColumn(stage, { name: req.ordinalColumn, type: { kind: "bigint" } }));
      copyColumns.push(req.ordinalColumn);
    }
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
    this.plan(`load of ${p.req.staged.rows} rows into ${name}`, [
      "BEGIN",
      sql.lockTable(p.req.table),
      ...p.statements,
      ...(p.req.afterUpsert ?? []),
      "COMMIT",
      sql.dropTable(p.stage),
    ]);
    return { loaded: p.loaded };
  }

  override async abandon(): Promise<void> {}

  /** Reads (SELECT, WITH) run; anything else is logged, not sent, and answers as if it touched no row. */
  override async query<R extends import("pg").QueryResultRow = import("pg").QueryResultRow>(text: string): Promise<import("pg").QueryResult<R>> {
    if (/^\s*(SELECT|WITH)\b/i.test(text)) return super.query<R>(text);
    this.plan("statement", [text]);
    return { rows: [], rowCount: 0, command: "", oid: 0, fields: [] };
  }

  override async transaction(statements: readonly string[], o: { what: string }): Promise<void> {
    this.plan(o.what, ["BEGIN", ...statements, "COMMIT"]);
  }
}
