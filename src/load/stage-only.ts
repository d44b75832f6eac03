/**
 * A warehouse that loads nothing: batches are encoded, compressed and staged in S3 exactly as in a real
 * run, then reported as loaded. For measuring the staging path alone (`--stage-only`) and for checking a
 * tap's output and the S3 setup without touching a cluster. Its connection pool is never used (pg
 * connects lazily), so no cluster needs to be reachable.
 */
import type { ColumnDef, TableRef } from "../redshift/sql.js";
import { type LoadRequest, type LoadResult, type PreparedLoad, type TableState, Warehouse } from "./warehouse.js";

export class StageOnlyWarehouse extends Warehouse {
  /** No login: stage-only needs no cluster. */
  override async open(): Promise<void> {}
  override async prepareTable(_t: TableRef, wanted: readonly ColumnDef[]): Promise<TableState> {
    return { columns: new Map(wanted.map((c) => [c.name, c.type])) };
  }
  /** No cluster: no table exists yet. */
  override async describe(): Promise<TableState | undefined> {
    return undefined;
  }
  override async prepareLoad(req: LoadRequest): Promise<PreparedLoad> {
    // No session is taken: commitLoad and abandon below never touch one.
    return { req, client: undefined as unknown as PreparedLoad["client"], stage: "", loaded: req.staged.rows, statements: [] };
  }
  override async commitLoad(p: PreparedLoad): Promise<LoadResult> {
    // Nothing reaches a table: no row was inserted, updated or deleted.
    return { loaded: p.loaded, inserted: 0, updated: 0, deleted: 0 };
  }
  override async abandon(): Promise<void> {}
  override async release(): Promise<void> {}
  override async replaceTable(): Promise<void> {}
  override async dropTable(): Promise<void> {}
  override async query<R extends import("pg").QueryResultRow>(): Promise<import("pg").QueryResult<R>> {
    return { rows: [], rowCount: 0, command: "SELECT", oid: 0, fields: [] };
  }
  /** A typical small cluster, so parts are sized as they would be for one. */
  override async sliceCount(): Promise<number> {
    return 4;
  }
}
