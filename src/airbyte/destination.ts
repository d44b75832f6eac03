/**
 * The Airbyte front end: maps the configured catalog to stream definitions of the shared load engine,
 * reads AirbyteMessages, echoes each STATE (with destinationStats) once the ledger releases it, and at the
 * end of a successful sync swaps overwritten tables in and retires old generations.
 */
import { ConfigError } from "../config/index.js";
import {
  ConfiguredAirbyteCatalog,
  type ConfiguredAirbyteStream,
  type DestinationSyncMode,
  StateMessage,
  TraceMessage,
  recordProblem,
  resolveWellKnownTypes,
} from "./messages.js";
import { snippet } from "../input/lines.js";
import { describeZodError } from "../input/zod-error.js";
import { normalizeIdentifier, systemSchemaProblem } from "../redshift/identifiers.js";
import * as sql from "../redshift/sql.js";
import type { OrderColumn, TableRef } from "../redshift/sql.js";
import type { Logger } from "../log.js";
import { InvalidValueError, exactJson } from "../encode/encode.js";
import { type MetadataColumn, desiredColumns, metadataColumn, propertiesOf } from "../encode/table-shape.js";
import { type LoadEngine, RecordError, type StreamDefinition } from "../engine/engine.js";
import { TOO_DEEP, isStackOverflow, loadsNothing } from "../errors.js";
import type { ConnectorSettings } from "../engine/settings.js";
import { InputError, pumpLines, reportInvalidUtf8 } from "../input/read.js";
import type { LineSplitter } from "../input/lines.js";
import { EncodePool } from "../encode/encode-pool.js";
import { type AirbyteRoute, AirbyteRoutes, EXACT_PATHS } from "../encode/envelopes.js";
import { type InputTally, UnitPipeline } from "../engine/unit-pipeline.js";
import { exactState, parseJsonExact, parseMessageLine } from "../input/json.js";

export const AIRBYTE_COLUMNS = {
  rawId: "_airbyte_raw_id",
  extractedAt: "_airbyte_extracted_at",
  meta: "_airbyte_meta",
  generationId: "_airbyte_generation_id",
  /** the whole record, only for streams whose schema declares no properties */
  data: "_airbyte_data",
} as const;

/** Airbyte's CDC convention: a non-NULL value marks the row deleted at the source. */
export const CDC_DELETED_AT = "_ab_cdc_deleted_at";

/** The catalog asks for something this destination cannot do: a config_error for Airbyte. */
export class CatalogError extends ConfigError {}

/** What the front end needs to know about one configured stream. */
export interface AirbyteStreamPlan {
  /** the stream's identity in the engine and ledger */
  id: string;
  name: string;
  namespace: string | undefined;
  mode: DestinationSyncMode;
  final: TableRef;
  /** overwrite semantics (overwrite, or a truncate refresh): load into `loadTable`, swap at the end */
  truncate: boolean;
  /** where records are loaded: `final`, or a fresh table swapped in when truncating */
  loadTable: TableRef;
  /** the catalog's generation_id (0 when absent) */
  generation: number;
  /** the catalog gives generation ids: attempts of one generation can resume each other's load table */
  generationGiven: boolean;
  /** rows of older generations are removed at the end (a refresh that keeps data, not a truncate) */
  minimumGeneration: number | undefined;
  definition: StreamDefinition;
  /** a STREAM_STATUS COMPLETE arrived */
  complete: boolean;
  recordsSinceState: number;
}

/** Described as data (MetaSource), so the encode workers compute them as the main thread does. */
function airbyteMetadata(stream: ConfiguredAirbyteStream, schemaless: boolean): MetadataColumn[] {
  const generation = stream.generation_id ?? 0;
  const syncId = stream.sync_id ?? null;
  // No declared properties means no data columns: the record is kept whole instead of dropped.
  const data = schemaless ? [metadataColumn(AIRBYTE_COLUMNS.data, { kind: "super" }, { kind: "record" })] : [];
  return [
    ...data,
    metadataColumn(AIRBYTE_COLUMNS.rawId, { kind: "varchar", length: 36 }, { kind: "row-id" }),
    metadataColumn(AIRBYTE_COLUMNS.extractedAt, { kind: "timestamptz" }, { kind: "message-epoch-ms", field: "emitted_at" }),
    metadataColumn(AIRBYTE_COLUMNS.generationId, { kind: "bigint" }, { kind: "constant", value: generation }),
    // Late: it reports what the encoders of this row's data columns changed.
    metadataColumn(AIRBYTE_COLUMNS.meta, { kind: "super" }, { kind: "airbyte-meta", syncId }, { late: true }),
  ];
}

function topLevelField(path: readonly string[], what: string, stream: string): string {
  if (path.length !== 1) {
    throw new CatalogError(`stream ${JSON.stringify(stream)}: nested ${what} ${JSON.stringify(path)} is not supported (only top-level fields)`);
  }
  return path[0]!;
}

/** Truncate refresh: Airbyte's overwrite, or any mode whose minimum generation is the current one. */
export function isTruncateRefresh(s: ConfiguredAirbyteStream): boolean {
  if (s.destination_sync_mode === "overwrite") return true;
  const gen = s.generation_id ?? 0;
  const min = s.minimum_generation_id ?? 0;
  return min > 0 && min === gen;
}

/** Catalog → per-stream plans (pure: no I/O), with every problem reported as a CatalogError. */
export function planStreams(catalog: ConfiguredAirbyteCatalog, settings: ConnectorSettings): AirbyteStreamPlan[] {
  const rules = settings.engine.names;
  const seen = new Set<string>();
  const tables = new Map<string, string>();
  const plans: AirbyteStreamPlan[] = [];
  for (const s of catalog.streams) {
    const name = s.stream.name;
    // An empty namespace names no schema (it would normalise to "_"): same as none.
    const namespace = s.stream.namespace || undefined;
    const label = namespace === undefined ? name : `${namespace}.${name}`;
    let id = label;
    for (let n = 2; seen.has(id); n++) id = `${label}#${n}`;
    seen.add(id);
    const mapped = Object.hasOwn(settings.streamMapping, name) ? settings.streamMapping[name] : undefined;
    const final: TableRef = {
      schema: normalizeIdentifier(mapped?.schema ?? namespace ?? settings.defaultSchema, rules),
      table: normalizeIdentifier(mapped?.table ?? name, rules),
    };
    const system = systemSchemaProblem(final.schema);
    if (system) throw new CatalogError(`stream ${JSON.stringify(id)}: ${system}`);
    const truncate = isTruncateRefresh(s);
    const loadTable = truncate ? { schema: final.schema, table: normalizeIdentifier(`${final.table}_airbyte_tmp`, rules) } : final;
    // A stream literally named `x_airbyte_tmp` must not share a table with the load table of stream `x`.
    for (const t of truncate ? [final, loadTable] : [final]) {
      const tableKey = `${t.schema}.${t.table}`;
      const other = tables.get(tableKey);
      if (other !== undefined) {
        throw new CatalogError(`streams ${JSON.stringify(other)} and ${JSON.stringify(id)} would both use table ${tableKey}`);
      }
      tables.set(tableKey, id);
    }
    const schema = resolveWellKnownTypes(s.stream.json_schema) as Record<string, unknown>;
    const metadata = airbyteMetadata(s, Object.keys(propertiesOf(schema)).length === 0);
    const names = desiredColumns(schema, settings.engine.typeMapping, rules, metadata).names;
    const column = (field: string, what: string): string => {
      const c = names.get(field);
      if (c === undefined) throw new CatalogError(`stream ${JSON.stringify(id)}: ${what} ${JSON.stringify(field)} is not a property of its json_schema`);
      return c;
    };
    const definition: StreamDefinition = { id, table: loadTable, schema, keyProperties: [], metadata };
    if (s.destination_sync_mode === "append_dedup") {
      const keys = (s.primary_key ?? []).map((p) => topLevelField(p, "primary_key", id));
      if (keys.length === 0) throw new CatalogError(`stream ${JSON.stringify(id)}: append_dedup needs a primary_key`);
      for (const k of keys) column(k, "primary key field");
      const order: OrderColumn[] = [];
      if (s.cursor_field && s.cursor_field.length > 0) {
        order.push({ column: column(topLevelField(s.cursor_field, "cursor_field", id), "cursor field") });
      }
      order.push({ column: AIRBYTE_COLUMNS.extractedAt });
      definition.keyProperties = keys;
      definition.dedupOrder = order;
      definition.newerBy = order;
      const deleted = names.get(CDC_DELETED_AT);
      if (deleted !== undefined) definition.deletedColumn = deleted;
    }
    const gen = s.generation_id ?? 0;
    const min = s.minimum_generation_id ?? 0;
    plans.push({
      id,
      name,
      namespace,
      mode: s.destination_sync_mode,
      final,
      truncate,
      loadTable,
      generation: gen,
      generationGiven: s.generation_id !== undefined && s.generation_id !== null,
      minimumGeneration: !truncate && min > 0 && min <= gen ? min : undefined,
      definition,
      complete: false,
      recordsSinceState: 0,
    });
  }
  return plans;
}

export class AirbyteDestination {
  readonly engine: LoadEngine<string>;
  readonly plans: AirbyteStreamPlan[];
  /** descriptor → stream id: one rule here and in the encode workers */
  private readonly routes: AirbyteRoute[];
  private readonly router: AirbyteRoutes;
  private lineNumber = 0;
  /** the line's RECORD stream as "(stream …)" for an error about one of its values; "" for other lines */
  private lineStream = "";
  private recordsSinceGlobalState = 0;
  private skippedLines = 0;
  private readonly byId = new Map<string, AirbyteStreamPlan>();
  statesEmitted = 0;
  recordsRead = 0;

  constructor(
    engineFactory: (emit: (line: string) => void) => LoadEngine<string>,
    catalog: ConfiguredAirbyteCatalog,
    private readonly settings: ConnectorSettings,
    private readonly writeOut: (line: string) => void,
    private readonly log: Logger,
  ) {
    this.plans = planStreams(catalog, settings);
    for (const p of this.plans) this.byId.set(p.id, p);
    this.routes = this.plans.map((p) => ({ name: p.name, namespace: p.namespace ?? null, id: p.id }));
    this.router = new AirbyteRoutes(this.routes);
    this.engine = engineFactory((line) => {
      this.statesEmitted++;
      this.writeOut(line);
    });
  }

  /** The plan of a stream, by exact descriptor; a record without namespace may name a unique stream. */
  planFor(name: string, namespace: string | null | undefined): AirbyteStreamPlan | undefined {
    const id = this.router.find(name, namespace);
    return id === undefined ? undefined : this.byId.get(id);
  }

  /** Runs the whole sync; resolves when everything is committed, every STATE written and tables final. */
  async run(input: AsyncIterable<Buffer | string>): Promise<void> {
    try {
      await this.prepareTables();
      const tally = this.parallelInput ? await this.runUnits(input) : await this.runLines(input);
      await this.engine.finish();
      reportInvalidUtf8(tally, this.log);
      await this.finalizeStreams();
    } catch (e) {
      throw this.withContext(e);
    } finally {
      // Load tables of truncating streams stay after a failure: their acknowledged rows are resumed.
      await this.engine.close();
      if (this.skippedLines > 0) this.log("warn", `${this.skippedLines} non-protocol input lines were skipped`);
    }
  }

  /**
   * Records are parsed and encoded by worker threads (the same UnitPipeline as Singer's) unless there are
   * none (encode_workers: 0) or Parquet's batch limits are below a unit's worth (see
   * LoadEngine.parquetOnWorkers: then it is encoded on the main thread).
   */
  private get parallelInput(): boolean {
    return this.settings.encodeWorkers > 0 && (this.settings.engine.fileFormat !== "parquet" || this.engine.parquetOnWorkers);
  }

  private runLines(input: AsyncIterable<Buffer | string>): Promise<LineSplitter> {
    return pumpLines(input, {
      handleLine: (line) => this.handleLine(line),
      throwIfFailed: () => this.engine.throwIfFailed(),
    });
  }

  /**
   * The encode-worker path: RECORD lines of catalog streams are encoded off the main thread and arrive
   * as blocks of rows, counted here per stream as onRecord counts them; every other line (STATE, TRACE,
   * a record the workers left) comes to handleLine in input order, so destinationStats stay the same.
   */
  private async runUnits(input: AsyncIterable<Buffer | string>): Promise<InputTally> {
    const engine = this.engine;
    const routes = this.routes;
    const pipeline = new UnitPipeline(
      {
        epoch: () => engine.epoch,
        setup: () => ({ ...engine.encoderSetup(), envelope: "airbyte", routes }),
        writeRows: (rows) => {
          const plan = this.byId.get(rows.stream)!;
          plan.recordsSinceState += rows.rows;
          this.recordsSinceGlobalState += rows.rows;
          this.recordsRead += rows.rows;
          return engine.writeEncoded(rows);
        },
        handleLine: (line, lineNumber) => {
          this.lineNumber = lineNumber - 1;
          return this.handleLine(line);
        },
        lastPosition: () => engine.ledger.lastPosition,
        advanceTo: (p) => engine.ledger.advanceTo(p),
        throwIfFailed: () => engine.throwIfFailed(),
      },
      () => new EncodePool(this.settings.encodeWorkers),
      Math.max(2, this.settings.encodeWorkers * 2),
    );
    try {
      return await pipeline.run(input);
    } finally {
      await pipeline.close();
    }
  }

  /** Every stream's table exists from the start (empty streams included); truncating streams get their load table. */
  private async prepareTables(): Promise<void> {
    const warehouse = this.engine.warehouse;
    for (const p of this.plans) {
      if (p.truncate) {
        if (!warehouse.settings.skipSchemaCreation) await warehouse.query(sql.createSchema(p.loadTable.schema));
        await this.reuseOrDropLoadTable(p);
      }
      const how = p.truncate ? `${p.mode}, replacing it at the end through ${p.loadTable.table}` : p.mode;
      this.log("info", `stream ${p.id} → ${p.final.schema}.${p.final.table} (${how}; generation ${p.generation})`);
      try {
        await this.engine.defineStream(p.definition);
      } catch (e) {
        if (e instanceof RecordError) throw new CatalogError(e.message);
        throw e;
      }
    }
  }

  /**
   * A load table left by an earlier attempt of the SAME generation holds records whose STATE was already
   * acknowledged: a resumed (resumable full refresh) sync will not send them again, so they stay. Anything
   * else left over (another generation, or a table from before generations) is stale and goes.
   */
  private async reuseOrDropLoadTable(p: AirbyteStreamPlan): Promise<void> {
    const warehouse = this.engine.warehouse;
    const existing = await warehouse.describe(p.loadTable);
    if (!existing) return;
    const where = `${p.loadTable.schema}.${p.loadTable.table}`;
    // Without generation ids (older platforms) every sync starts over: nothing says two syncs are one attempt.
    if (p.generationGiven && existing.columns.has(AIRBYTE_COLUMNS.generationId)) {
      const r = await warehouse.query<{ n: string | number }>(sql.countOtherGenerations(p.loadTable, AIRBYTE_COLUMNS.generationId, p.generation));
      if (Number(r.rows[0]?.n) === 0) {
        this.log("info", `resuming generation ${p.generation} of stream ${p.id}: keeping the rows an earlier attempt loaded into ${where}`);
        return;
      }
    }
    this.log("info", `dropping ${where}, left over from an earlier sync of another generation`);
    await warehouse.dropTable(p.loadTable);
  }

  /**
   * After every load committed: truncating streams that reported COMPLETE replace their table in one
   * transaction; the others keep their old data. Older generations go only from complete streams.
   */
  private async finalizeStreams(): Promise<void> {
    const warehouse = this.engine.warehouse;
    // --stage-only and dry runs go through the same steps (a dry run logs their SQL) but loaded nothing.
    const mode = loadsNothing(this.engine.settings);
    for (const p of this.plans) {
      const where = `${p.final.schema}.${p.final.table}`;
      if (p.truncate) {
        if (!p.complete) {
          const waiting = mode ? "" : `; this attempt's rows wait in ${p.loadTable.table} for the next attempt of generation ${p.generation}`;
          this.log("warn", `stream ${p.id} ended without a COMPLETE status: ${where} keeps its previous data${waiting}`);
          continue;
        }
        await warehouse.replaceTable(p.loadTable, p.final);
        this.log("info", mode ? `${mode}: ${where} not replaced (nothing was loaded)` : `replaced ${where} with this sync's data`);
      } else if (p.minimumGeneration !== undefined) {
        if (!p.complete) {
          this.log("warn", `stream ${p.id} ended without a COMPLETE status: rows of generations below ${p.minimumGeneration} stay in ${where}`);
          continue;
        }
        const r = await warehouse.query(sql.deleteOlderGenerations(p.final, AIRBYTE_COLUMNS.generationId, p.minimumGeneration));
        this.log(
          "info",
          mode ? `${mode}: no rows of generations below ${p.minimumGeneration} removed from ${where} (nothing was loaded)` : `removed ${r.rowCount ?? 0} rows of generations below ${p.minimumGeneration} from ${where}`,
        );
      }
    }
  }



  private withContext(e: unknown): Error {
    if (e instanceof InputError || e instanceof ConfigError) return e;
    const err = e instanceof Error ? e : new Error(String(e));
    if (e instanceof RecordError || e instanceof InvalidValueError) return new InputError(`line ${this.lineNumber}${this.lineStream}: ${err.message}`);
    // Nested too deep to parse: the line's own stream is not known.
    if (isStackOverflow(e)) return new InputError(`line ${this.lineNumber}: ${TOO_DEEP}`);
    return err;
  }

  private skip(line: string, why: string): undefined {
    this.skippedLines++;
    this.log("warn", `line ${this.lineNumber}: not an Airbyte message (${why}), skipped: ${snippet(line, 80)}`);
    return undefined;
  }

  private handleLine(line: string): Promise<void> | undefined {
    this.lineNumber++;
    this.lineStream = "";
    if (line.length === 0 || line.trim().length === 0) return undefined;
    const parsed = parseMessageLine(line, EXACT_PATHS.airbyte);
    if (!parsed.ok) return this.skip(line, "invalid JSON");
    const msg = parsed.value as Record<string, unknown>;
    if (msg === null || typeof msg !== "object" || Array.isArray(msg)) return this.skip(line, "not a JSON object");
    switch (msg.type) {
      case "RECORD":
        return this.onRecord(msg);
      case "STATE":
        this.onState(msg, exactState(line, msg, parsed.nonFinite) as Record<string, unknown>);
        return undefined;
      case "TRACE":
        this.onTrace(msg);
        return undefined;
      case "LOG":
      case "CONTROL":
        return undefined;
      default:
        return this.skip(line, typeof msg.type === "string" ? `unknown type ${JSON.stringify(msg.type)}` : "no type");
    }
  }

  private onRecord(msg: Record<string, unknown>): Promise<void> | undefined {
    const problem = recordProblem(msg);
    if (problem) throw new InputError(`line ${this.lineNumber}: ${problem}`);
    const record = msg.record as Record<string, unknown>;
    const plan = this.planFor(record.stream as string, record.namespace as string | null | undefined);
    if (!plan) {
      const ns = record.namespace == null ? "" : ` (namespace ${JSON.stringify(record.namespace)})`;
      throw new InputError(`line ${this.lineNumber}: RECORD of stream ${JSON.stringify(record.stream)}${ns}, which is not in the configured catalog`);
    }
    const ns = record.namespace == null ? "" : `, namespace ${JSON.stringify(record.namespace)}`;
    this.lineStream = ` (stream ${JSON.stringify(record.stream)}${ns})`;
    plan.recordsSinceState++;
    this.recordsSinceGlobalState++;
    this.recordsRead++;
    return this.engine.write(plan.id, record.data as Record<string, unknown>, record, "");
  }

  private parse<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: import("zod").ZodError } }, msg: unknown, kind: string): T {
    const r = schema.safeParse(msg);
    if (!r.success) throw new InputError(`line ${this.lineNumber}: invalid ${kind} message: ${describeZodError(r.error)}`);
    return r.data;
  }

  /**
   * Echoed as received (unknown fields included) plus destinationStats, once every record before it in its
   * scope is committed: a STREAM state waits for its stream, GLOBAL and LEGACY states for all streams.
   */
  /** `exact`: the same message with its numbers as sent (see exactState); the STATE is echoed as that. */
  private onState(raw: Record<string, unknown>, exact: Record<string, unknown>): void {
    const msg = this.parse(StateMessage, raw, "STATE");
    let recordCount: number;
    let scope: { kind: "all" } | { kind: "streams"; streams: string[] };
    if (msg.state.type === "STREAM") {
      const d = msg.state.stream!.stream_descriptor;
      const plan = this.planFor(d.name, d.namespace);
      if (plan) {
        recordCount = plan.recordsSinceState;
        plan.recordsSinceState = 0;
        scope = { kind: "streams", streams: [plan.id] };
      } else {
        this.log("warn", `line ${this.lineNumber}: STATE for stream ${JSON.stringify(d.name)}, which is not in the configured catalog`);
        recordCount = 0;
        scope = { kind: "streams", streams: [] };
      }
    } else {
      recordCount = this.recordsSinceGlobalState;
      this.recordsSinceGlobalState = 0;
      scope = { kind: "all" };
    }
    const state = exact.state as Record<string, unknown>;
    const out = { ...exact, state: { ...state, destinationStats: { recordCount } } };
    this.engine.ledger.checkpoint(exactJson(out), scope);
  }

  private onTrace(raw: Record<string, unknown>): void {
    const msg = this.parse(TraceMessage, raw, "TRACE");
    const t = msg.trace;
    if (t.type === "STREAM_STATUS" && t.stream_status) {
      const d = t.stream_status.stream_descriptor;
      const plan = this.planFor(d.name, d.namespace);
      if (!plan) {
        this.log("warn", `line ${this.lineNumber}: stream status for ${JSON.stringify(d.name)}, which is not in the configured catalog`);
        return;
      }
      if (t.stream_status.status === "COMPLETE") plan.complete = true;
      else if (t.stream_status.status === "INCOMPLETE") plan.complete = false;
    } else if (t.type === "ERROR" && t.error) {
      this.log("warn", `source reported an error: ${t.error.message}`);
    }
  }
}

/** A configured catalog from its file's text; every problem is a CatalogError naming where it is. */
export function parseCatalog(text: string, source = "catalog"): ConfiguredAirbyteCatalog {
  let json: unknown;
  try {
    // Exact: json_schema bounds and multipleOf choose column types digit for digit.
    json = parseJsonExact(text);
  } catch (e) {
    throw new CatalogError(`${source}: not valid JSON (${(e as Error).message})`);
  }
  const r = ConfiguredAirbyteCatalog.safeParse(json);
  if (!r.success) throw new CatalogError(`${source}: not a valid configured catalog: ${describeZodError(r.error)}`);
  return r.data;
}
