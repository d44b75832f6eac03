/**
 * The Singer front end: reads SCHEMA / RECORD / STATE / ACTIVATE_VERSION / BATCH lines, routes them to the
 * load engine, and writes each STATE to stdout once the ledger releases it.
 */
import { createReadStream } from "node:fs";
import { pipeline } from "node:stream";
import { fileURLToPath } from "node:url";
import { createGunzip } from "node:zlib";
import { Ajv, type ValidateFunction } from "ajv";
import {
  ActivateVersionMessage,
  BatchMessage,
  SchemaMessage,
  StateMessage,
  describeZodError,
  recordProblem,
} from "./messages.js";
import { LineSplitter, snippet } from "../input/lines.js";
import { InputError, pumpLines, reportInvalidUtf8 } from "../input/read.js";
import { exactState, parseJsonExact, parseMessageLine, parseRecordText, withPlainNumbers } from "../input/json.js";
import { normalizeIdentifier, quoteIdent, systemSchemaProblem } from "../redshift/identifiers.js";
import { tableSql, type TableRef } from "../redshift/sql.js";
import type { Logger } from "../log.js";
import { InvalidValueError, exactJson } from "../encode/encode.js";
import { type MetadataColumn, metadataColumn } from "../encode/table-shape.js";
import { sdcSequence } from "../encode/metadata-values.js";
import { EXACT_PATHS } from "../encode/envelopes.js";
import { LoadEngine, RecordError, type StreamDefinition } from "../engine/engine.js";
import { TOO_DEEP, isStackOverflow, loadsNothing, targetErrorOf } from "../errors.js";
import type { ConnectorSettings } from "../engine/settings.js";
import { EncodePool } from "../encode/encode-pool.js";
import { UnitPipeline } from "../engine/unit-pipeline.js";

const SDC = {
  extractedAt: "_sdc_extracted_at",
  receivedAt: "_sdc_received_at",
  batchedAt: "_sdc_batched_at",
  deletedAt: "_sdc_deleted_at",
  sequence: "_sdc_sequence",
  tableVersion: "_sdc_table_version",
  valueChanges: "_sdc_value_changes",
} as const;

export { sdcSequence };

/** Described as data (MetaSource), so the encode workers compute them as the main thread does. */
function singerMetadata(runStartMs: number): MetadataColumn[] {
  const ts = { kind: "timestamptz" } as const;
  const big = { kind: "bigint" } as const;
  return [
    metadataColumn(SDC.extractedAt, ts, { kind: "message", field: "time_extracted" }),
    metadataColumn(SDC.receivedAt, ts, { kind: "received-at" }),
    metadataColumn(SDC.batchedAt, ts, { kind: "batched-at" }),
    metadataColumn(SDC.deletedAt, ts, { kind: "record-field", field: SDC.deletedAt }, { fromRecord: true }),
    metadataColumn(SDC.sequence, big, { kind: "sequence", field: SDC.sequence, runStartMs }),
    metadataColumn(SDC.tableVersion, big, { kind: "message", field: "version" }),
    // What the loader had to change in this row to fit Redshift (truncated or nulled fields), or NULL.
    metadataColumn(SDC.valueChanges, { kind: "super" }, { kind: "value-changes" }, { late: true }),
  ];
}

/**
 * The two columns a stream that sends table versions needs, with or without add_metadata_columns:
 * ACTIVATE_VERSION retires the rows of older versions by them (Singer spec, "ACTIVATE_VERSION message").
 */
function versionMetadata(runStartMs: number): MetadataColumn[] {
  return singerMetadata(runStartMs).filter((m) => m.name === SDC.tableVersion || m.name === SDC.deletedAt);
}

export class SingerTarget {
  /** schema.table → the stream loading it: two streams never share a table. */
  private readonly tableOwners = new Map<string, string>();
  /** Streams loaded with version columns although add_metadata_columns is off (they send versions). */
  private readonly versioned = new Set<string>();
  readonly engine: LoadEngine<unknown>;
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly schemaFingerprints = new Map<string, string>();
  private ajv: Ajv | undefined;
  private lastEmitted: string | undefined;
  private lineNumber = 0;
  /** lines that carried bare NaN / Infinity tokens (Python's JSON) */
  private nonFiniteLines = 0;
  /** When the current input chunk arrived: the receive time of its records (one clock read per chunk). */
  private receivedAt = new Date().toISOString();
  private currentStream: string | undefined;
  /** load_method overwrite: final table → the side table this run loads, swapped in at the end */
  private readonly overwrites = new Map<string, { final: TableRef; side: TableRef }>();
  /** load_method overwrite: the newest STATE, held until every table is swapped in */
  private heldState: unknown;
  private holdingState = false;
  statesEmitted = 0;

  constructor(
    engineFactory: (emit: (state: unknown) => void) => LoadEngine<unknown>,
    private readonly settings: ConnectorSettings,
    private readonly writeOut: (line: string) => void,
    private readonly log: Logger,
  ) {
    this.engine = engineFactory((state) => this.emitState(state));
  }

  private emitState(value: unknown): void {
    // Overwrite: a STATE covers rows that are in side tables until the swap, which a failed run drops.
    if (this.settings.loadMethod === "overwrite") {
      this.heldState = value;
      this.holdingState = true;
      return;
    }
    this.writeState(value);
  }

  private writeState(value: unknown): void {
    const line = exactJson(value);
    // Identical consecutive states say nothing new.
    if (line === this.lastEmitted) return;
    this.lastEmitted = line;
    this.statesEmitted++;
    this.writeOut(line);
  }

  tableFor(stream: string): TableRef {
    const mapped = this.settings.streamMapping[stream];
    const rules = this.settings.engine.names;
    return {
      schema: normalizeIdentifier(mapped?.schema ?? this.settings.defaultSchema, rules),
      table: normalizeIdentifier(mapped?.table ?? stream, rules),
    };
  }

  /**
   * Records are parsed and encoded by worker threads unless there are none (encode_workers: 0: the line
   * path, measured faster on one thread than the unit path run inline) or a stream needs per-record work
   * only the main thread can do: schema validation. Metadata columns are computed in the workers (see
   * MetaSource). Parquet rows come from the workers as encoded row groups unless the batch limits are
   * below a unit's worth (see LoadEngine.parquetOnWorkers).
   */
  private get parallelInput(): boolean {
    const s = this.settings;
    const parquetServed = s.engine.fileFormat !== "parquet" || this.engine.parquetOnWorkers;
    return s.encodeWorkers > 0 && !s.validateRecords && parquetServed;
  }

  /** Runs the whole input; resolves when everything is committed and the last STATE written. */
  async run(input: AsyncIterable<Buffer | string>): Promise<void> {
    let failed = false;
    try {
      const tally = this.parallelInput ? await this.runUnits(input) : await this.runLines(input);
      this.currentStream = undefined;
      await this.engine.finish();
      await this.swapOverwrites();
      reportInvalidUtf8(tally, this.log);
      if (this.nonFiniteLines > 0) {
        this.log("warn", `${this.nonFiniteLines} input lines carried bare NaN/Infinity (not JSON); those values were treated as values Redshift cannot hold`);
      }
    } catch (e) {
      failed = true;
      throw this.withContext(e);
    } finally {
      await this.engine.close();
      // After close: no load still holds a side table.
      if (failed) await this.dropSideTables();
    }
  }

  /**
   * `load_method: overwrite`: the table a stream's records go to this run. The first SCHEMA of the stream
   * drops a side table left by an earlier failed run (its rows were never swapped in, and no STATE went
   * out for them); the side table is then created from this run's schema, so columns the new schema lacks
   * are gone after the swap.
   */
  private async loadTableFor(stream: string): Promise<TableRef> {
    const final = this.tableFor(stream);
    if (this.settings.loadMethod !== "overwrite") return final;
    const key = `${final.schema}.${final.table}`;
    const known = this.overwrites.get(key);
    if (known) return known.side;
    const side = { schema: final.schema, table: normalizeIdentifier(`${final.table}_tr_overwrite`, this.settings.engine.names) };
    await this.engine.warehouse.dropTable(side);
    this.overwrites.set(key, { final, side });
    this.log("info", `stream ${stream}: overwriting ${key} at the end of the run, loading into ${side.table} until then`);
    return side;
  }

  /** "schema.table" a stream's rows end up in, for a load table's name (overwrite loads into side tables). */
  finalTable(loadTable: string): string {
    for (const { final, side } of this.overwrites.values()) {
      if (`${side.schema}.${side.table}` === loadTable) return `${final.schema}.${final.table}`;
    }
    return loadTable;
  }

  /** After every batch committed: each side table replaces its table (one transaction each), then the held STATE goes out. */
  private async swapOverwrites(): Promise<void> {
    const mode = loadsNothing(this.engine.settings);
    for (const { final, side } of this.overwrites.values()) {
      await this.engine.warehouse.replaceTable(side, final);
      this.log("info", mode ? `${mode}: ${final.schema}.${final.table} not replaced (nothing was loaded)` : `replaced ${final.schema}.${final.table} with this run's records`);
    }
    if (this.holdingState) this.writeState(this.heldState);
  }

  /** A failed overwrite run leaves the tables as they were; its side tables go (best effort: the next run drops them too). */
  private async dropSideTables(): Promise<void> {
    for (const { side } of this.overwrites.values()) {
      await this.engine.warehouse.dropTable(side).catch((e: Error) => this.log("warn", `could not drop ${side.schema}.${side.table}: ${e.message}`));
    }
  }

  private runLines(input: AsyncIterable<Buffer | string>): Promise<LineSplitter> {
    return pumpLines(input, {
      handleLine: (line) => this.handleLine(line),
      onChunk: () => {
        this.receivedAt = new Date().toISOString();
      },
      throwIfFailed: () => this.engine.throwIfFailed(),
    });
  }

  private async runUnits(input: AsyncIterable<Buffer | string>): Promise<{ invalidUtf8Count: number; invalidUtf8Lines: number[] }> {
    const engine = this.engine;
    const workers = this.settings.encodeWorkers;
    const pipeline = new UnitPipeline(
      {
        epoch: () => engine.epoch,
        setup: () => engine.encoderSetup(),
        writeRows: (rows) => {
          this.currentStream = rows.stream;
          return engine.writeEncoded(rows);
        },
        handleLine: (line, lineNumber, receivedAt) => {
          this.lineNumber = lineNumber - 1;
          this.receivedAt = receivedAt;
          return this.handleLine(line);
        },
        lastPosition: () => engine.ledger.lastPosition,
        advanceTo: (p) => engine.ledger.advanceTo(p),
        throwIfFailed: () => engine.throwIfFailed(),
      },
      () => new EncodePool(workers),
      Math.max(2, workers * 2),
    );
    try {
      const tally = await pipeline.run(input);
      this.nonFiniteLines += tally.nonFiniteRecords;
      return tally;
    } finally {
      await pipeline.close();
    }
  }

  private withContext(e: unknown): Error {
    if (e instanceof InputError) return e;
    const err = e instanceof Error ? e : new Error(String(e));
    // Nested too deep to parse: the line's own stream is not known (currentStream is the last message's).
    if (isStackOverflow(e)) return new InputError(`line ${this.lineNumber}: ${TOO_DEEP}`);
    if (e instanceof RecordError || e instanceof InvalidValueError) {
      const where = this.currentStream ? `line ${this.lineNumber} (stream ${JSON.stringify(this.currentStream)})` : `line ${this.lineNumber}`;
      return new InputError(`${where}: ${err.message}`);
    }
    return err;
  }

  private handleLine(line: string): Promise<void> | undefined {
    this.lineNumber++;
    if (line.length === 0 || line.trim().length === 0) return undefined;
    const parsed = parseMessageLine(line, EXACT_PATHS.singer);
    if (!parsed.ok) throw new InputError(`line ${this.lineNumber}: invalid JSON (${parsed.error}): ${snippet(line)}`);
    if (parsed.nonFinite) this.nonFiniteLines++;
    let msg = parsed.value as Record<string, unknown>;
    // A schema's bounds and multipleOf choose column types digit for digit (a rare line: parsed twice).
    if (msg !== null && typeof msg === "object" && msg.type === "SCHEMA" && !parsed.nonFinite) msg = parseJsonExact(line) as Record<string, unknown>;
    if (msg === null || typeof msg !== "object" || Array.isArray(msg)) {
      throw new InputError(`line ${this.lineNumber}: expected a JSON object message, got: ${snippet(line)}`);
    }
    switch (msg.type) {
      case "RECORD":
        return this.onRecord(msg);
      case "SCHEMA":
        return this.onSchema(msg);
      case "STATE":
        return this.onState(msg, exactState(line, msg, parsed.nonFinite) as Record<string, unknown>);
      case "ACTIVATE_VERSION":
        return this.onActivateVersion(msg);
      case "BATCH":
        return this.onBatch(msg);
      case undefined:
        throw new InputError(`line ${this.lineNumber}: message has no "type": ${snippet(line)}`);
      default:
        throw new InputError(
          `line ${this.lineNumber}: unknown message type ${JSON.stringify(msg.type)} (expected SCHEMA, RECORD, STATE, ACTIVATE_VERSION or BATCH)`,
        );
    }
  }

  private parse<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: import("zod").ZodError } }, msg: unknown, kind: string): T {
    const r = schema.safeParse(msg);
    if (!r.success) {
      const stream = (msg as Record<string, unknown>).stream;
      const where = typeof stream === "string" ? ` (stream ${JSON.stringify(stream)})` : "";
      throw new InputError(`line ${this.lineNumber}${where}: invalid ${kind} message: ${describeZodError(r.error)}`);
    }
    return r.data;
  }

  private onRecord(msg: Record<string, unknown>): Promise<void> | undefined {
    const problem = recordProblem(msg);
    if (problem) throw new InputError(`line ${this.lineNumber}: ${problem}`);
    const stream = msg.stream as string;
    this.currentStream = stream;
    if (!this.engine.hasStream(stream)) {
      throw new InputError(`line ${this.lineNumber}: RECORD for stream ${JSON.stringify(stream)} before any SCHEMA for it`);
    }
    const record = msg.record as Record<string, unknown>;
    if (this.settings.validateRecords) this.validate(stream, record);
    if (msg.version !== undefined && !this.versioned.has(stream) && !this.settings.addMetadataColumns && !this.settings.hardDelete) {
      return this.startVersions(stream).then(() => this.engine.write(stream, record, msg, this.receivedAt));
    }
    return this.engine.write(stream, record, msg, this.receivedAt);
  }

  private validate(stream: string, record: Record<string, unknown>): void {
    const validate = this.validators.get(stream);
    if (!validate || validate(withPlainNumbers(record))) return;
    const first = validate.errors?.[0];
    const field = first?.instancePath ? first.instancePath.slice(1).replace(/\//g, ".") : "record";
    const detail = first?.keyword === "required" ? `missing required property ${JSON.stringify((first.params as { missingProperty: string }).missingProperty)}` : (first?.message ?? "invalid");
    throw new InputError(
      `line ${this.lineNumber} (stream ${JSON.stringify(stream)}): record does not match its schema: ${field}: ${detail}`,
    );
  }

  private async onSchema(raw: Record<string, unknown>): Promise<void> {
    const msg = this.parse(SchemaMessage, raw, "SCHEMA");
    this.currentStream = msg.stream;
    // append-only: every record is a row, keys or not (no dedup, no MERGE).
    const keys = this.settings.loadMethod === "append-only" ? [] : (msg.key_properties ?? []);
    const fingerprint = JSON.stringify([msg.schema, keys]);
    if (this.schemaFingerprints.get(msg.stream) === fingerprint) return;
    const withMeta = this.settings.addMetadataColumns || this.settings.hardDelete;
    // Refused before anything is created: a system schema, or a table another stream loads.
    this.claimTable(msg.stream);
    const def: StreamDefinition = {
      id: msg.stream,
      table: await this.loadTableFor(msg.stream),
      schema: msg.schema as Record<string, unknown>,
      keyProperties: keys,
      metadata: withMeta ? singerMetadata(this.engine.startedAt) : this.versioned.has(msg.stream) ? versionMetadata(this.engine.startedAt) : [],
      // A table that already has a version column was loaded from a stream that sends versions: its
      // records keep carrying them, even when this run's first ACTIVATE_VERSION comes only at the end.
      metadataIfTableHas:
        withMeta || this.versioned.has(msg.stream)
          ? undefined
          : { column: SDC.tableVersion, metadata: versionMetadata(this.engine.startedAt), used: () => this.versioned.add(msg.stream) },
      // A first record with a version starts the stream's versions (onRecord): the main thread's call.
      mainThreadFields: withMeta || this.versioned.has(msg.stream) ? undefined : ["version"],
      deletedColumn: this.settings.hardDelete && keys.length > 0 ? SDC.deletedAt : undefined,
    };
    try {
      await this.engine.defineStream(def);
    } catch (e) {
      if (e instanceof RecordError) throw new InputError(`line ${this.lineNumber}: ${e.message}`);
      throw e;
    }
    this.schemaFingerprints.set(msg.stream, fingerprint);
    if (this.settings.validateRecords) {
      this.ajv ??= new Ajv({ allErrors: false, strict: false, validateFormats: false });
      this.validators.set(msg.stream, this.ajv.compile(msg.schema));
    }
  }

  /**
   * The stream's table, refused when it is a system schema's or another stream's: streams whose names
   * normalise alike (`R3` and `r3`) would merge their rows into one table.
   */
  private claimTable(stream: string): TableRef {
    const table = this.tableFor(stream);
    const where = `line ${this.lineNumber} (stream ${JSON.stringify(stream)})`;
    const system = systemSchemaProblem(table.schema);
    if (system) throw new InputError(`${where}: ${system}`);
    const key = `${table.schema}.${table.table}`;
    const owner = this.tableOwners.get(key);
    if (owner !== undefined && owner !== stream) {
      throw new InputError(
        `${where}: streams ${JSON.stringify(owner)} and ${JSON.stringify(stream)} would both load into table ${key}; map one of them elsewhere with stream_mapping`,
      );
    }
    this.tableOwners.set(key, stream);
    return table;
  }

  /** `exact`: the same message with its numbers as sent (see exactState); the STATE goes out as that. */
  private onState(raw: Record<string, unknown>, exact: Record<string, unknown>): undefined {
    this.parse(StateMessage, raw, "STATE");
    this.engine.ledger.checkpoint(exact.value);
    return undefined;
  }

  /**
   * From here on the stream's rows carry their version (`_sdc_table_version`, and `_sdc_deleted_at` for
   * soft deletes): the stream is redefined with the two columns, which are added to its table.
   * Returns the rows this run loaded before, which carry no version.
   */
  private async startVersions(stream: string): Promise<number> {
    const def = this.engine.definition(stream)!;
    this.versioned.add(stream);
    await this.engine.defineStream({ ...def, metadata: versionMetadata(this.engine.startedAt), mainThreadFields: undefined });
    this.schemaFingerprints.delete(stream);
    return this.engine.rowsLoaded(stream);
  }

  /**
   * Rows of older table versions go: deleted (hard_delete) or marked with _sdc_deleted_at, with or
   * without add_metadata_columns (the version columns are added when a stream first sends versions).
   * Rows without a version are older. If this run already loaded rows of the stream before it sent its
   * first version, they cannot be told from older runs' rows: nothing is retired, and the log says so.
   */
  private async onActivateVersion(raw: Record<string, unknown>): Promise<void> {
    const msg = this.parse(ActivateVersionMessage, raw, "ACTIVATE_VERSION");
    const def = this.engine.definition(msg.stream);
    if (!def) throw new InputError(`line ${this.lineNumber}: ACTIVATE_VERSION for stream ${JSON.stringify(msg.stream)} before any SCHEMA for it`);
    const withMeta = this.settings.addMetadataColumns || this.settings.hardDelete;
    if (!withMeta && !this.versioned.has(msg.stream)) {
      const unversioned = await this.startVersions(msg.stream);
      if (unversioned > 0) {
        this.log(
          "warn",
          `ACTIVATE_VERSION ${msg.version} on ${def.table.schema}.${def.table.table}: ${unversioned} rows of this run were loaded before the stream's first version and cannot be told from older rows; no rows retired this time`,
        );
        return;
      }
    }
    await this.engine.drainStream(msg.stream);
    const t = tableSql(def.table);
    const version = quoteIdent(SDC.tableVersion);
    const older = `(${version} IS NULL OR ${version} < ${Math.trunc(msg.version)})`;
    const statement = this.settings.hardDelete
      ? `DELETE FROM ${t} WHERE ${older}`
      : `UPDATE ${t} SET ${quoteIdent(SDC.deletedAt)} = GETDATE() WHERE ${older} AND ${quoteIdent(SDC.deletedAt)} IS NULL`;
    const r = await this.engine.warehouse.query(statement);
    this.log("info", `ACTIVATE_VERSION ${msg.version} on ${def.table.schema}.${def.table.table}: ${r.rowCount ?? 0} older rows ${this.settings.hardDelete ? "deleted" : "marked deleted"}`);
  }

  /** Meltano BATCH: JSONL files (optionally gzip) on the local file system, loaded like RECORD lines. */
  private async onBatch(raw: Record<string, unknown>): Promise<void> {
    const msg = this.parse(BatchMessage, raw, "BATCH");
    this.currentStream = msg.stream;
    if (msg.encoding.format !== "jsonl") {
      throw new InputError(`line ${this.lineNumber} (stream ${JSON.stringify(msg.stream)}): BATCH encoding ${JSON.stringify(msg.encoding.format)} is not supported (only jsonl)`);
    }
    const batchLine = this.lineNumber;
    for (const url of msg.manifest) {
      if (!url.startsWith("file://")) {
        throw new InputError(`line ${batchLine} (stream ${JSON.stringify(msg.stream)}): BATCH file ${url} is not a file:// URL (only local files are supported)`);
      }
      // pipeline, not pipe: pipe() does not pass the file's errors on, so a missing file was an unhandled
      // 'error' (the process died) and the gunzip side waited for input forever.
      const file = createReadStream(fileURLToPath(url));
      const source: NodeJS.ReadableStream = msg.encoding.compression === "gzip" ? pipeline(file, createGunzip(), () => undefined) : file;
      const splitter = new LineSplitter();
      // Each record line with its own line number in the file (the splitter's count is past the chunk).
      const records: [string, number][] = [];
      const collect = (l: string, n: number) => records.push([l, n]);
      const drain = async () => {
        for (const [line, n] of records) {
          if (line.trim() === "") continue;
          const where = `line ${batchLine} (stream ${JSON.stringify(msg.stream)}): BATCH file ${url} line ${n}`;
          let record: unknown;
          try {
            record = parseRecordText(line);
          } catch (e) {
            throw new InputError(`${where}: ${isStackOverflow(e) ? TOO_DEEP : `invalid JSON (${(e as Error).message})`}`);
          }
          try {
            const wait = this.onRecord({ type: "RECORD", stream: msg.stream, record });
            if (wait) await wait;
          } catch (e) {
            if (e instanceof RecordError || e instanceof InvalidValueError || isStackOverflow(e)) {
              throw new InputError(`${where}: ${isStackOverflow(e) ? TOO_DEEP : (e as Error).message}`);
            }
            throw e;
          }
        }
        records.length = 0;
      };
      try {
        for await (const chunk of source) {
          splitter.push(chunk as Buffer, collect);
          await drain();
        }
      } catch (e) {
        // Only the file's own errors (missing, not gzip) are "cannot be read"; a record's or a load's are theirs.
        if (e instanceof InputError || targetErrorOf(e)) throw e;
        throw new InputError(`line ${batchLine} (stream ${JSON.stringify(msg.stream)}): BATCH file ${url} cannot be read: ${(e as Error).message}`);
      }
      splitter.end(collect);
      await drain();
    }
  }
}
