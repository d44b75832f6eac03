/**
 * The load engine shared by the Singer and Airbyte front ends: per-stream batches of encoded rows,
 * sealed on size/age/schema change/end of input, staged to S3 and loaded in order per stream, with the
 * checkpoint ledger told about each commit. Front ends route messages; this owns batching and loading.
 */
import { mkdirSync } from "node:fs";
import { readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { type BatchTicket, CheckpointLedger } from "./ledger.js";
import { type NameRules, truncateUtf8 } from "../redshift/identifiers.js";
import type { FilledColumn, OrderColumn, TableRef } from "../redshift/sql.js";
import { type ColumnType, type TypeMapping, columnTypeSql, isTextual } from "../redshift/types.js";
import { PartWriter } from "../stage/part-writer.js";
import { ParquetPartWriter } from "../stage/parquet-part-writer.js";
import { parquetColumns } from "../encode/parquet-values.js";
import { type S3Stager, processAlive } from "../stage/s3-stager.js";
import type { Logger } from "../log.js";
import type { TableState, Warehouse } from "../load/warehouse.js";
import { TargetError, targetErrorOf } from "../errors.js";
import { RowChanges, changeKey, type ValueChange, type ValuePolicy } from "../encode/encode.js";
import { BatchKeys } from "../encode/batch-keys.js";
import { CsvRowEncoder } from "../encode/row-encoder.js";
import { type EncoderSetup, type RowsEvent, type StreamEncodePlan, part } from "../encode/unit-encoder.js";
import { UNIT_BYTES } from "./unit-pipeline.js";
import {
  type ColumnPlan,
  type DesiredColumns,
  type MetadataColumn,
  type RowContext,
  columnPlan,
  desiredColumns,
  filledAtLoad,
  planColumns,
  propertiesOf,
} from "../encode/table-shape.js";
import { ROW_ID_ORDINAL_LIMIT, rowIdPrefix } from "../encode/row-id.js";

export interface BatchLimits {
  rows: number;
  bytes: number;
  /** 0 disables the age trigger */
  ageSeconds: number;
}

export interface EngineSettings {
  limits: BatchLimits;
  typeMapping: TypeMapping;
  names: NameRules;
  policy: ValuePolicy;
  purgeStagingFiles: boolean;
  /** batches sealed but not yet committed, across streams, before input reading waits */
  maxInFlight: number;
  /** staged files per batch (a multiple of the slice count) */
  partsPerBatch: number;
  /** staged file format (default gzip CSV); must match the COPY's (LoadSettings.fileFormat) */
  fileFormat?: "csv_gzip" | "parquet";
  /** `--stage-only`: batches are staged, nothing is loaded, so no checkpoint is ever released */
  stageOnly?: boolean;
  /** `--dry-run`: nothing is staged or loaded; the door withholds every checkpoint, and no run marker or sweep touches S3 */
  dryRun?: boolean;
  /** leftovers of runs no longer alive are swept at start once this old (minutes; 0: any age) */
  stagingSweepAgeMinutes?: number;
  /** seconds between progress lines (one per active stream); 0 or absent: none */
  progressIntervalSeconds?: number;
}

/**
 * Property → column for the properties the table already holds: a column's recorded property (its
 * comment), else the property of the column's own name. So a rerun maps every property to the column
 * that held it, even when a new property normalises to the same name (`UserId` held `userid`, then
 * `userid` arrives: it gets `userid_<hash>`, UserId keeps its column).
 */
function existingNames(def: StreamDefinition, state: TableState | undefined): Map<string, string> {
  const names = new Map<string, string>();
  if (!state) return names;
  const props = propertiesOf(def.schema);
  for (const col of state.columns.keys()) {
    const raw = state.properties?.get(col) ?? col;
    if (Object.hasOwn(props, raw) && !names.has(raw)) names.set(raw, col);
  }
  return names;
}

/** What a front end tells the engine about a stream. */
export interface StreamDefinition {
  /** the stream's identity in the ledger (Singer stream name, Airbyte namespace+name) */
  id: string;
  table: TableRef;
  schema: Record<string, unknown>;
  /** raw property names */
  keyProperties: readonly string[];
  metadata: readonly MetadataColumn[];
  /** column whose non-NULL value marks a delete (hard delete / CDC) */
  deletedColumn?: string;
  /**
   * Message fields whose presence needs the door's decision before the record is written (Singer:
   * `version` on a stream not yet loaded with versions): the encode workers leave such records to the
   * main thread.
   */
  mainThreadFields?: readonly string[];
  /**
   * Metadata to use instead of `metadata` when the table already has `column` (Singer: a table with
   * `_sdc_table_version` keeps getting versions). Read from the same catalog query as the columns.
   */
  metadataIfTableHas?: { column: string; metadata: readonly MetadataColumn[]; mainThreadFields?: readonly string[]; used: () => void };
  /** in-batch dedup order (column names), newest first after the arrival ordinal */
  dedupOrder?: readonly OrderColumn[];
  /** cross-batch: replace an existing row only if the staged one is at least as new by these */
  newerBy?: readonly OrderColumn[];
  /** called once a batch of the stream is committed (e.g. to count records) */
  onCommit?: (rows: number) => void;
}

const SPILL_DIR_PREFIX = "target-redshift-";

/** The most rows and CSV bytes one unit's span of a stream can hold (see LoadEngine.parquetOnWorkers). */
const PARQUET_SPAN_MAX_ROWS = UNIT_BYTES / 32;
const PARQUET_SPAN_MAX_BYTES = 4 * UNIT_BYTES;

/** The column that carries the arrival ordinal (the record's ledger position) for in-batch dedup. */
import { ORDINAL_COLUMN } from "../encode/table-shape.js";
export { ORDINAL_COLUMN };

export class RecordError extends Error {}

interface OpenBatch {
  ticket: BatchTicket;
  writer: PartWriter | ParquetPartWriter;
  /** Parquet only: one row's values, reused for every row */
  values: (string | null)[] | undefined;
  number: number;
  createdAt: number;
  batchedAt: string;
  keys: BatchKeys;
}

/** One stream's tallies for progress lines and the summary. */
interface StreamStats {
  /** records written into batches (received from the input) */
  received: number;
  /** records of committed batches, before dedup */
  committed: number;
  /** target rows the committed batches inserted / updated / deleted, after dedup */
  inserted: number;
  updated: number;
  deleted: number;
  batches: number;
  /** batches sealed but not yet committed or abandoned */
  inFlight: number;
  /** staged data files (parts, manifests not counted) and their compressed bytes */
  files: number;
  stagedBytes: number;
  /** "field: CHANGE (REASON)" → values changed */
  changes: Map<string, number>;
  /** ms of the first record and of the last commit (the stream's time in the summary) */
  firstAt: number;
  lastAt: number;
}

/** A stream's line of the end-of-run summary. */
export interface StreamSummary {
  stream: string;
  table: string;
  /** records received */
  records: number;
  inserted: number;
  updated: number;
  deleted: number;
  batches: number;
  files: number;
  /** compressed bytes staged */
  bytes: number;
  /** from the stream's first record to its last commit */
  seconds: number;
  /** values changed, by "field: CHANGE (REASON)" */
  changes: Record<string, number>;
  /** values changed, by reason */
  changesByReason: Record<string, number>;
}

/**
 * The end-of-run line of one stream: records received; rows inserted, updated, deleted (after dedup);
 * batches, staged files and bytes, time; values changed by reason. `table` overrides the load table
 * (Airbyte overwrite loads into a side table that becomes the named one).
 */
export function logStreamSummary(log: Logger, s: StreamSummary, table = s.table, dryRun = false): void {
  const changed = Object.values(s.changes).reduce((a, b) => a + b, 0);
  // A dry run encoded its files locally and sent none: the line must not read as a load.
  const staged = dryRun ? "bytes encoded, nothing staged or loaded (dry run)" : "bytes staged";
  log(
    "info",
    `summary${dryRun ? " (dry run, nothing loaded)" : ""}: stream ${s.stream} → ${table}: ${s.records} records; ${s.inserted} rows inserted, ${s.updated} updated, ${s.deleted} deleted; ` +
      `${s.batches} batches, ${s.files} files, ${s.bytes} ${staged}; ${s.seconds.toFixed(1)} s; ${changed} values changed`,
    { ...s, table, ...(dryRun ? { dryRun: true } : {}) },
  );
}

/** One progress line's fields for a stream. */
export interface StreamProgress {
  stream: string;
  received: number;
  committed: number;
  inserted: number;
  updated: number;
  deleted: number;
  /** records received per second since the previous progress line */
  recordsPerSecond: number;
  stagedBytes: number;
  batchesInFlight: number;
}

class StreamSink {
  names = new Map<string, string>();
  plans: ColumnPlan[] = [];
  keyColumns: string[] = [];
  /** metadata columns the load statement fills (filledAtLoad), with the types their table has */
  filled: FilledMeta[] = [];
  rowEncoder: CsvRowEncoder | undefined;
  batch: OpenBatch | undefined;
  batchCount = 0;
  /** commits of this stream, in order */
  chain: Promise<void> = Promise.resolve();
  /** prepares (COPY into staging tables) of this stream, in order */
  prepareChain: Promise<void> = Promise.resolve();
  readonly stats: StreamStats = {
    received: 0,
    committed: 0,
    inserted: 0,
    updated: 0,
    deleted: 0,
    batches: 0,
    inFlight: 0,
    files: 0,
    stagedBytes: 0,
    changes: new Map(),
    firstAt: 0,
    lastAt: 0,
  };
  /** `received` at the previous progress line */
  reportedReceived = 0;
  /** Rows carry their ordinal as a last staged field: for in-batch dedup (keys) and row ids. */
  get stagesOrdinal(): boolean {
    return this.keyColumns.length > 0 || this.filled.some((f) => f.kind === "row-id");
  }
  readonly dir: string;

  constructor(
    public def: StreamDefinition,
    readonly index: number,
    runDir: string,
  ) {
    this.dir = join(runDir, `s${index}`);
  }
}

/** A metadata column the load statement fills (filledAtLoad), with the type its table has. */
interface FilledMeta {
  name: string;
  kind: "row-id" | "batched-at";
  type: ColumnType;
}

/**
 * The stream's columns the load statement fills, checked against the table's types. A row id (36
 * characters of text) needs a text or SUPER column (type evolution leaves no other); a batch's time must be a value its column holds as it is (the
 * types evolution leaves: TIMESTAMPTZ, TIMESTAMP, VARCHAR, SUPER). Throws TargetError (config) naming
 * stream, table, column and type otherwise.
 */
function filledColumns(def: StreamDefinition, table: TableState, policy: ValuePolicy): FilledMeta[] {
  const out: FilledMeta[] = [];
  for (const m of def.metadata.filter(filledAtLoad)) {
    const type = table.columns.get(m.name) ?? m.type;
    const kind = m.source!.kind as FilledMeta["kind"];
    const f = { name: m.name, kind, type };
    const where = `stream ${JSON.stringify(def.id)}: column ${JSON.stringify(m.name)} of ${def.table.schema}.${def.table.table} is ${columnTypeSql(type)}`;
    if (kind === "row-id" && !isTextual(type.kind) && type.kind !== "super") {
      throw new TargetError("config", `${where}, but it holds row ids (36-character text): make it VARCHAR(36) or drop it`);
    }
    if (kind === "batched-at" && batchValue(f, new Date().toISOString(), policy) === undefined) {
      throw new TargetError("config", `${where}, which cannot hold the batch's time (an ISO 8601 date-time): make it TIMESTAMPTZ or drop it`);
    }
    out.push(f);
  }
  return out;
}

/**
 * A batch's time (ISO 8601 UTC) as the text its column's type reads, as a staged value would be encoded:
 * undefined when the encoder would change it (NULL, a cut) or refuses it.
 */
function batchValue(f: FilledMeta, iso: string, policy: ValuePolicy): string | undefined {
  const changes = new RowChanges();
  try {
    const text = columnPlan(f.name, f.type, policy).value(iso, changes);
    return text === null || changes.list.length > 0 ? undefined : text;
  } catch {
    return undefined;
  }
}

/**
 * What the load statement fills for a batch: its row ids, its time. Throws when the time cannot be held
 * (checked with the plan's time already, see filledColumns: not expected).
 */
function filledFor(filled: readonly FilledMeta[], batchedAt: string, rowIdPrefix: string, policy: ValuePolicy): FilledColumn[] {
  return filled.map((f) => {
    if (f.kind === "row-id") return { kind: "row-id", column: f.name, prefix: rowIdPrefix, ordinal: ORDINAL_COLUMN, superColumn: f.type.kind === "super" };
    const text = batchValue(f, batchedAt, policy);
    if (text === undefined) throw new TargetError("system", `column ${JSON.stringify(f.name)} (${columnTypeSql(f.type)}) cannot hold the batch's time ${batchedAt}`);
    return { kind: "value", column: f.name, type: f.type, text };
  });
}

/** The columns whose value decides whether a row exists (the delete marker): encoded under keyPolicy. */
function existenceColumns(def: StreamDefinition): string[] {
  return def.deletedColumn === undefined ? [] : [def.deletedColumn];
}

export class LoadEngine<Checkpoint> {
  readonly runId = `${new Date().toISOString().replace(/[-:.]/g, "").slice(0, 15)}-${randomUUID().slice(0, 8)}`;
  readonly ledger: CheckpointLedger<Checkpoint>;
  /** this run's row id prefix (row-id.ts): a row's id is it and the row's ordinal */
  readonly rowIdPrefix = rowIdPrefix();
  /** the value policy every encoder of this run applies (main thread and encode workers) */
  private readonly policy: ValuePolicy;
  private readonly sinks = new Map<string, StreamSink>();
  /** the pid in the name lets a later run tell a dead process's spill directory from a live one's */
  private readonly runDir = join(tmpdir(), `${SPILL_DIR_PREFIX}${this.runId}-p${process.pid}`);
  private markerPut = false;
  private sweeping: Promise<void> = Promise.resolve();
  /** a staged-object delete failed: the run marker stays, so a later run's sweep finishes the job */
  private cleanupFailed = false;
  private inFlight = 0;
  private waiters: (() => void)[] = [];
  private readonly purges: Promise<void>[] = [];
  /** staged objects of batches not yet committed (or failed): removed on close unless purging is off */
  private readonly unpurged = new Map<string, readonly string[]>();
  private ageTimer: NodeJS.Timeout | undefined;
  private progressTimer: NodeJS.Timeout | undefined;
  private progressAt = Date.now();
  /** changes with every stream definition (encode workers must be set up again) */
  epoch = 0;
  private readonly changes = new RowChanges();
  private readonly ctx: RowContext = { message: {}, record: {}, position: 0, receivedAt: "", changes: this.changes };
  failure: Error | undefined;
  readonly startedAt = Date.now();

  constructor(
    readonly settings: EngineSettings,
    readonly warehouse: Warehouse,
    readonly stager: S3Stager,
    readonly log: Logger,
    emit: (checkpoint: Checkpoint) => void,
  ) {
    this.ledger = new CheckpointLedger<Checkpoint>(emit);
    // What the staged format holds is part of what a value must fit (ValuePolicy.parquetTimestamps).
    this.policy = settings.fileFormat === "parquet" ? { ...settings.policy, parquetTimestamps: true } : settings.policy;
    if (settings.limits.ageSeconds > 0) {
      const every = Math.min(1000, settings.limits.ageSeconds * 1000);
      this.ageTimer = setInterval(() => this.sealAged(), every);
      this.ageTimer.unref();
    }
    const progressSeconds = settings.progressIntervalSeconds ?? 0;
    if (progressSeconds > 0) {
      this.progressTimer = setInterval(() => this.logProgress(), progressSeconds * 1000);
      this.progressTimer.unref();
    }
  }

  /**
   * Per active stream (records since the last line, an open batch, or batches in flight): records
   * received, committed, rows changed, records/s since the last call, staged bytes, batches in flight.
   */
  progress(now = Date.now()): StreamProgress[] {
    const seconds = Math.max(0.001, (now - this.progressAt) / 1000);
    this.progressAt = now;
    const out: StreamProgress[] = [];
    for (const sink of this.sinks.values()) {
      const st = sink.stats;
      const fresh = st.received - sink.reportedReceived;
      sink.reportedReceived = st.received;
      if (fresh === 0 && st.inFlight === 0 && !sink.batch) continue;
      out.push({
        stream: sink.def.id,
        received: st.received,
        committed: st.committed,
        inserted: st.inserted,
        updated: st.updated,
        deleted: st.deleted,
        recordsPerSecond: Math.round(fresh / seconds),
        stagedBytes: st.stagedBytes,
        batchesInFlight: st.inFlight,
      });
    }
    return out;
  }

  private logProgress(): void {
    for (const p of this.progress()) {
      this.log(
        "info",
        `progress: stream ${p.stream}: ${p.received} records received, ${p.committed} committed (${p.inserted} inserted, ${p.updated} updated, ${p.deleted} deleted), ${p.recordsPerSecond} records/s, ${p.stagedBytes} bytes staged, ${p.batchesInFlight} batches in flight`,
        { ...p },
      );
    }
  }

  /**
   * Before the first batch: puts this run's marker in S3 (so no other run's sweep takes its objects),
   * then removes what runs no longer alive left behind — staged objects under the prefix older than
   * staging_sweep_age_minutes, and local spill directories of processes that no longer exist. A sweep
   * that fails is only logged: it must not stop a load.
   */
  async begin(): Promise<void> {
    // A dry run writes nothing: no marker object, and no other run's leftovers removed either.
    if (!this.settings.purgeStagingFiles || this.settings.dryRun) return;
    try {
      await this.stager.putRunMarker(this.runId);
      this.markerPut = true;
    } catch (e) {
      this.log("warn", `could not put this run's marker in S3: ${(e as Error).message}`);
    }
    // In the background: loading starts at once; close() waits for it.
    this.sweeping = this.sweep();
  }

  private async sweep(): Promise<void> {
    try {
      const swept = await this.stager.sweep(this.runId, this.settings.stagingSweepAgeMinutes ?? 1440);
      if (swept.length > 0) this.log("info", `removed ${swept.length} staged objects left by runs no longer alive`, { example: swept[0] });
    } catch (e) {
      this.log("warn", `could not sweep staged objects of earlier runs: ${(e as Error).message}`);
    }
    try {
      const dead = (await readdir(tmpdir())).filter((d) => {
        const m = /^target-redshift-.+-p(\d+)$/.exec(d);
        return m !== null && d.startsWith(SPILL_DIR_PREFIX) && !processAlive(Number(m[1]));
      });
      for (const d of dead) await rm(join(tmpdir(), d), { recursive: true, force: true });
      if (dead.length > 0) this.log("info", `removed ${dead.length} spill directories of processes that no longer exist`);
    } catch (e) {
      this.log("warn", `could not sweep spill directories: ${(e as Error).message}`);
    }
  }

  hasStream(id: string): boolean {
    return this.sinks.has(id);
  }

  definition(id: string): StreamDefinition | undefined {
    return this.sinks.get(id)?.def;
  }

  /** Records of the stream committed in this run so far, before dedup (after defineStream or drainStream: all written). */
  rowsLoaded(id: string): number {
    return this.sinks.get(id)?.stats.committed ?? 0;
  }

  /**
   * Declares or redeclares a stream. A schema or key change seals the open batch first (it was encoded for
   * the old columns) and waits for the stream's loads before altering the table.
   */
  async defineStream(def: StreamDefinition): Promise<void> {
    let sink = this.sinks.get(def.id);
    if (sink) {
      this.seal(sink);
      await sink.chain;
      this.throwIfFailed();
      sink.def = def;
    } else {
      sink = new StreamSink(def, this.sinks.size, this.runDir);
      this.sinks.set(def.id, sink);
    }
    // A stream's first definition in a run resolves its properties against the columns its table has.
    let previous = sink.names;
    if (previous.size === 0) {
      const existing = await this.warehouse.describe(def.table);
      const alt = def.metadataIfTableHas;
      if (alt && existing?.columns.has(alt.column)) {
        def = { ...def, metadata: alt.metadata, mainThreadFields: alt.mainThreadFields };
        sink.def = def;
        alt.used();
      }
      previous = existingNames(def, existing);
    }
    const desired: DesiredColumns = desiredColumns(def.schema, this.settings.typeMapping, this.settings.names, def.metadata, previous);
    const missingKeys = def.keyProperties.filter((k) => !desired.names.has(k));
    if (missingKeys.length > 0) {
      throw new RecordError(
        `stream ${JSON.stringify(def.id)}: key properties ${missingKeys.map((k) => JSON.stringify(k)).join(", ")} are not in the schema's properties`,
      );
    }
    const state = await this.warehouse.prepareTable(def.table, desired.columns);
    sink.names = desired.names;
    sink.keyColumns = def.keyProperties.map((k) => desired.names.get(k)!);
    sink.plans = planColumns(desired, state.columns, def.metadata, this.policy, [...sink.keyColumns, ...existenceColumns(def)]);
    sink.filled = filledColumns(def, state, this.policy);
    sink.rowEncoder = new CsvRowEncoder(sink.plans, sink.keyColumns);
    this.epoch++;
  }

  /**
   * What encode workers need to encode records of the streams they can take: CSV staging, and metadata
   * columns described as data (MetadataColumn.source). Other streams' records stay here.
   */
  encoderSetup(): EncoderSetup {
    const streams: StreamEncodePlan[] = [];
    const parquet = this.settings.fileFormat === "parquet";
    if (!parquet || this.parquetOnWorkers) {
      for (const sink of this.sinks.values()) {
        if (sink.def.metadata.some((m) => m.source === undefined)) continue;
        streams.push({
          id: sink.def.id,
          columns: sink.plans.map((p) => (p.meta ? { name: p.name, type: p.type, meta: p.meta.source! } : { name: p.name, type: p.type, property: p.property! })),
          keyProperties: [...sink.def.keyProperties],
          keyColumns: sink.keyColumns,
          ordinal: sink.stagesOrdinal,
          mainThreadFields: sink.def.mainThreadFields && [...sink.def.mainThreadFields],
          existenceColumns: existenceColumns(sink.def),
        });
      }
    }
    return { epoch: this.epoch, policy: this.policy, streams, parquet: parquet || undefined };
  }

  /**
   * Parquet rows can come from the encode workers: each span arrives as one encoded row group that cannot
   * be split, so a batch is sealed before a span that would cross a limit. That keeps every batch within
   * batch_size_rows / batch_size_bytes only when a span always fits in one. A span holds at most a unit:
   * about UNIT_BYTES of input, so fewer than UNIT_BYTES / 32 rows (a RECORD line is over 40 bytes) and
   * CSV text well under 4 × UNIT_BYTES, metadata columns included. Below those limits, Parquet stays on
   * the main thread.
   */
  get parquetOnWorkers(): boolean {
    const { rows, bytes } = this.settings.limits;
    return rows >= PARQUET_SPAN_MAX_ROWS && bytes >= PARQUET_SPAN_MAX_BYTES;
  }

  private openBatch(sink: StreamSink): OpenBatch {
    const number = ++sink.batchCount;
    const dir = join(sink.dir, `b${number}`);
    mkdirSync(dir, { recursive: true });
    for (const p of sink.plans) p.width.maxBytes = 0;
    let writer: PartWriter | ParquetPartWriter;
    let values: (string | null)[] | undefined;
    if (this.settings.fileFormat === "parquet") {
      const columns = parquetColumns(sink.plans, sink.stagesOrdinal ? ORDINAL_COLUMN : undefined);
      writer = new ParquetPartWriter(dir, Math.max(1, this.settings.partsPerBatch), columns);
      values = new Array<string | null>(columns.length).fill(null);
    } else {
      writer = new PartWriter(dir, this.settings.partsPerBatch);
    }
    const batch: OpenBatch = {
      ticket: this.ledger.openBatch(sink.def.id),
      writer,
      values,
      number,
      createdAt: Date.now(),
      batchedAt: new Date().toISOString(),
      keys: new BatchKeys(),
    };
    sink.batch = batch;
    return batch;
  }

  /**
   * Encodes one record into its stream's open batch. Synchronous on the hot path; returns a promise only
   * when the caller must wait (disk backpressure, or too many batches in flight).
   */
  write(streamId: string, record: Record<string, unknown>, message: Record<string, unknown>, receivedAt: string): Promise<void> | undefined {
    const sink = this.sinks.get(streamId);
    if (!sink) throw new RecordError(`stream ${JSON.stringify(streamId)} has no schema`);
    const def = sink.def;
    let nullKey = false;
    for (const k of def.keyProperties) {
      const v = record[k];
      if (v === undefined) {
        throw new RecordError(`record of stream ${JSON.stringify(streamId)} lacks key property ${JSON.stringify(k)}`);
      }
      if (v === null) nullKey = true;
    }
    const batch = sink.batch ?? this.openBatch(sink);
    if (nullKey) batch.keys.nullKeys = true;
    const stats = sink.stats;
    if (stats.received++ === 0) stats.firstAt = Date.now();
    const position = this.ledger.nextPosition();
    const changes = this.changes;
    changes.reset();
    // One context object for every row: metadata columns read it synchronously, nothing keeps it.
    const ctx = this.ctx;
    ctx.message = message;
    ctx.record = record;
    ctx.position = position;
    ctx.receivedAt = receivedAt;
    const plans = sink.plans;
    const keyed = sink.keyColumns.length > 0;
    const ordinal = sink.stagesOrdinal;
    const values = batch.values;
    let row = "";
    if (values) {
      // Parquet: the same decisions (p.value), kept as values instead of joined into a CSV line.
      for (let i = 0; i < plans.length; i++) {
        const p = plans[i]!;
        values[i] = p.value(p.property !== undefined ? record[p.property] : p.meta!.value(ctx), changes);
      }
      if (ordinal) values[plans.length] = String(position);
    } else {
      row = sink.rowEncoder!.encode(record, changes, ctx);
      if (ordinal) row = `${row},${position}`;
    }
    if (keyed) {
      const encoder = sink.rowEncoder!;
      if (values) encoder.keyOfValues(values);
      // A key value the encoder had to NULL (invalid for its type) is a NULL key too.
      if (encoder.nullKey) batch.keys.nullKeys = true;
      batch.keys.add(encoder.key);
    }
    if (changes.list.length > 0) this.count(sink, changes.list);
    batch.ticket.add(position);
    const wait = values ? (batch.writer as ParquetPartWriter).write(values) : (batch.writer as PartWriter).write(row);
    const limits = this.settings.limits;
    if (batch.writer.rows >= limits.rows || batch.writer.chars >= limits.bytes) {
      this.seal(sink);
      return this.backpressure(wait);
    }
    return wait;
  }

  private count(sink: StreamSink, list: readonly ValueChange[]): void {
    for (const c of list) this.countChange(sink, changeKey(c), 1);
  }

  private countChange(sink: StreamSink, key: string, n: number): void {
    sink.stats.changes.set(key, (sink.stats.changes.get(key) ?? 0) + n);
  }

  /**
   * Rows an encode worker already turned into CSV (see UnitEncoder), appended in order. The batch limits
   * apply per row: a block that crosses one is split at a row end and the rest opens the next batch.
   */
  writeEncoded(ev: RowsEvent): Promise<void> | undefined {
    const sink = this.sinks.get(ev.stream);
    if (!sink) throw new RecordError(`stream ${JSON.stringify(ev.stream)} has no schema`);
    for (const [key, n] of ev.changes) this.countChange(sink, key, n);
    if (sink.stats.received === 0) sink.stats.firstAt = Date.now();
    sink.stats.received += ev.rows;
    if (ev.rowGroupChunks) return this.writeRowGroup(sink, ev, ev.rowGroupChunks, ev.textBytes!);
    const limits = this.settings.limits;
    let wait: Promise<void> | undefined;
    let from = 0;
    while (from < ev.rows) {
      const batch = sink.batch ?? this.openBatch(sink);
      const writer = batch.writer as PartWriter;
      const startByte = from === 0 ? 0 : ev.rowEnds[from - 1]!;
      let to = Math.min(ev.rows, from + Math.max(1, limits.rows - writer.rows));
      // Byte limit: stop after the first row that reaches it (as write() seals after such a row).
      const byteRoom = limits.bytes - writer.chars;
      if (ev.rowEnds[to - 1]! - startByte > byteRoom) {
        let lo = from;
        let hi = to - 1;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (ev.rowEnds[mid]! - startByte >= byteRoom) hi = mid;
          else lo = mid + 1;
        }
        to = lo + 1;
      }
      this.admitRows(sink, batch, ev, from, to);
      const written = writer.writeBlock(part(ev.bytes, startByte, ev.rowEnds[to - 1]!), to - from);
      if (written) wait = wait ? wait.then(() => written) : written;
      from = to;
      if (writer.rows >= limits.rows || writer.chars >= limits.bytes) {
        this.seal(sink);
        wait = this.backpressure(wait);
      }
    }
    return wait;
  }

  /**
   * What the batch must know of rows [from, to) of an encoded span before they are written into it: the
   * widths its columns need, the rows' keys, and their ledger positions (in arrival order).
   */
  private admitRows(sink: StreamSink, batch: OpenBatch, ev: RowsEvent, from: number, to: number): void {
    const plans = sink.plans;
    for (let i = 0; i < plans.length; i++) {
      const w = ev.widths[i]!;
      if (w > plans[i]!.width.maxBytes) plans[i]!.width.maxBytes = w;
    }
    if (ev.keys) batch.keys.addAll(ev.keys, from, to);
    if (ev.nullKeys) batch.keys.nullKeys = true;
    batch.ticket.addRange(ev.positions[from]!, ev.positions[to - 1]!, to - from);
    this.ledger.advanceTo(ev.positions[to - 1]!);
  }

  /** A span encoded as one Parquet row group (see parquetOnWorkers): whole into one batch. */
  private writeRowGroup(sink: StreamSink, ev: RowsEvent, chunks: Float64Array, textBytes: number): Promise<void> | undefined {
    const limits = this.settings.limits;
    let wait: Promise<void> | undefined;
    let batch = sink.batch ?? this.openBatch(sink);
    let writer = batch.writer as ParquetPartWriter;
    if (writer.rows > 0 && (writer.rows + ev.rows > limits.rows || writer.chars + textBytes > limits.bytes)) {
      this.seal(sink);
      wait = this.backpressure(undefined);
      batch = this.openBatch(sink);
      writer = batch.writer as ParquetPartWriter;
    }
    this.admitRows(sink, batch, ev, 0, ev.rows);
    writer.writeRowGroup({ bytes: ev.bytes, rows: ev.rows, chunks }, textBytes);
    if (writer.rows >= limits.rows || writer.chars >= limits.bytes) {
      this.seal(sink);
      wait = this.backpressure(wait);
    }
    return wait;
  }

  private async backpressure(wait: Promise<void> | undefined): Promise<void> {
    if (wait) await wait;
    while (this.inFlight >= this.settings.maxInFlight && !this.failure) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    this.throwIfFailed();
  }

  throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  /** Stops the run from outside (a signal, a vanished reader): reading stops, no new batch loads. */
  stop(reason: Error): void {
    this.failure ??= reason;
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }

  /** The error with the stream named (a TargetError keeps its kind). */
  private named(def: StreamDefinition, e: unknown): Error {
    const err = e instanceof Error ? e : new Error(String(e));
    const label = `stream ${JSON.stringify(def.id)}`;
    if (err.message.includes(label)) return err;
    const known = targetErrorOf(err);
    return new TargetError(known?.kind ?? "system", `${label}: ${err.message}`, { cause: err, code: known?.code });
  }

  private sealAged(): void {
    const age = this.settings.limits.ageSeconds * 1000;
    const now = Date.now();
    for (const sink of this.sinks.values()) {
      if (sink.batch && now - sink.batch.createdAt >= age) this.seal(sink);
    }
  }

  /** Closes the stream's open batch and queues its staging and load. */
  seal(sink: StreamSink): void {
    const batch = sink.batch;
    if (!batch) return;
    sink.batch = undefined;
    if (batch.writer.rows === 0) {
      this.ledger.discard(batch.ticket);
      void batch.writer.discard();
      return;
    }
    const def = sink.def;
    const plans = sink.plans;
    const widths = new Map<string, number>();
    for (const p of plans) if (p.width.maxBytes > 0) widths.set(p.name, p.width.maxBytes);
    const columns = plans.map((p) => p.name);
    const keyColumns = sink.keyColumns;
    const filled = filledFor(sink.filled, batch.batchedAt, this.rowIdPrefix, this.policy);
    // A narrower VARCHAR is widened as for a staged value.
    for (const f of filled) {
      if (f.kind === "row-id" && !f.superColumn) widths.set(f.column, 36);
      else if (f.kind === "value" && isTextual(f.type.kind)) widths.set(f.column, Buffer.byteLength(f.text));
    }
    this.inFlight++;
    sink.stats.inFlight++;
    // Staging may run ahead of the previous load; loads of one stream run in order.
    const staged = (async () => {
      const parts = await batch.writer.finish();
      const prefix = this.stager.batchPrefix(`s${sink.index}-${truncateUtf8(def.table.table, 100)}`, this.runId, batch.number);
      try {
        const s = await this.stager.upload(prefix, parts);
        this.unpurged.set(s.manifestUrl, s.keys);
        sink.stats.stagedBytes += s.bytes;
        sink.stats.files += s.keys.length - 1;
        return s;
      } catch (e) {
        throw this.named(def, e);
      } finally {
        await batch.writer.discard();
      }
    })();
    staged.catch(() => undefined); // observed by the chains below
    // Prepare (widen, COPY into a temp table, check, dedup) runs once staged and after this stream's
    // previous prepare, so it overlaps the previous batch's commit; commits run strictly in order.
    const prepared = sink.prepareChain.then(async () => {
      if (this.failure) return undefined;
      const s = await staged;
      if (filled.some((f) => f.kind === "row-id") && batch.ticket.last >= ROW_ID_ORDINAL_LIMIT) {
        // LPAD would cut the ordinal's hex digits and repeat ids: unreachable below 2^48 input lines.
        throw new TargetError("system", `stream ${JSON.stringify(def.id)}: record position ${batch.ticket.last} is past the 2^48 a row id can hold; split the input into several runs`);
      }
      return this.warehouse.prepareLoad({
        table: def.table,
        columns,
        ordinalColumn: sink.stagesOrdinal ? ORDINAL_COLUMN : undefined,
        filled,
        keys: keyColumns,
        staged: s,
        widths,
        dedup: batch.keys.mayRepeat(),
        dedupOrder: def.dedupOrder,
        newerBy: def.newerBy,
        deletedColumn: def.deletedColumn,
        nullKeys: batch.keys.nullKeys,
        journal: { runId: this.runId, stream: def.id, batch: batch.number },
      });
    });
    sink.prepareChain = prepared.then(
      () => undefined,
      () => undefined, // the commit chain reports it
    );
    sink.chain = sink.chain.then(async () => {
      const p = await prepared;
      if (!p) return;
      if (this.failure) {
        await this.warehouse.abandon(p);
        return;
      }
      const s = p.req.staged;
      const started = Date.now();
      const r = await this.warehouse.commitLoad(p);
      // STATE first: every statement after the COMMIT widens the window in which a kill repeats the
      // batch on the next run (append streams would get duplicates).
      if (!this.settings.stageOnly) this.ledger.commit(batch.ticket);
      const st = sink.stats;
      st.committed += s.rows;
      st.inserted += r.inserted;
      st.updated += r.updated;
      st.deleted += r.deleted;
      st.batches++;
      st.lastAt = Date.now();
      def.onCommit?.(s.rows);
      const extra = {
        stream: def.id,
        batch: batch.number,
        records: s.rows,
        inserted: r.inserted,
        updated: r.updated,
        deleted: r.deleted,
        compressedBytes: s.bytes,
        ms: st.lastAt - started,
      };
      const where = `${def.table.schema}.${def.table.table}`;
      // Only a real load says "committed": the other modes name what they did instead.
      if (this.settings.stageOnly) this.log("info", `staged ${s.rows} rows for ${where} (--stage-only: not loaded), batch ${batch.number} of stream ${def.id}`, extra);
      else if (this.settings.dryRun) this.log("info", `dry run, nothing loaded: ${s.rows} rows for ${where}, batch ${batch.number} of stream ${def.id}`, extra);
      else
        this.log(
          "info",
          `committed batch ${batch.number} of stream ${def.id} into ${where}: ${s.rows} records → ${r.inserted} rows inserted, ${r.updated} updated, ${r.deleted} deleted`,
          extra,
        );
      await this.warehouse.release(p);
      if (this.settings.purgeStagingFiles) {
        this.unpurged.delete(s.manifestUrl);
        this.purges.push(
          this.stager.remove(s.keys).catch((e: Error) => {
            this.cleanupFailed = true;
            this.log("warn", `could not remove staged files: ${e.message}`);
          }),
        );
      }
    });
    sink.chain = sink.chain
      .catch((e: Error) => {
        // The failed batch's ticket stays uncommitted, so no checkpoint past it is released; those
        // before it, covered by batches other streams committed, still go out.
        this.failure ??= this.named(def, e);
      })
      .finally(() => {
        this.inFlight--;
        sink.stats.inFlight--;
        const w = this.waiters;
        this.waiters = [];
        for (const resolve of w) resolve();
      });
  }

  /** Seals one stream and waits for all its loads (e.g. before ACTIVATE_VERSION or an overwrite swap). */
  async drainStream(id: string): Promise<void> {
    const sink = this.sinks.get(id);
    if (!sink) return;
    this.seal(sink);
    await sink.chain;
    this.throwIfFailed();
  }

  /** End of input: everything sealed, loaded and committed (or the first failure thrown). */
  async finish(): Promise<void> {
    for (const sink of this.sinks.values()) this.seal(sink);
    await Promise.all([...this.sinks.values()].map((s) => s.chain));
    await Promise.all(this.purges);
    this.throwIfFailed();
  }

  /**
   * Stops timers and removes local files; safe after a failure. Buffered rows that were never committed
   * are dropped, so the ledger is closed first: no checkpoint after them may go out.
   */
  async close(): Promise<void> {
    if (this.ageTimer) clearInterval(this.ageTimer);
    if (this.progressTimer) clearInterval(this.progressTimer);
    for (const sink of this.sinks.values()) {
      if (sink.batch) {
        // Its ticket stays open: no checkpoint after these records may go out.
        await sink.batch.writer.discard();
        sink.batch = undefined;
      }
    }
    // Loads already under way finish (and release the checkpoints they cover); none starts after a failure.
    await Promise.allSettled([...this.sinks.values()].map((s) => s.chain));
    await Promise.allSettled(this.purges);
    if (this.settings.purgeStagingFiles && this.unpurged.size > 0) {
      const keys = [...this.unpurged.values()].flat();
      this.unpurged.clear();
      await this.stager.remove(keys).then(
        () => this.log("info", `removed ${keys.length} staged objects of batches that were not loaded`),
        (e: Error) => {
          this.cleanupFailed = true;
          this.log("warn", `could not remove staged files of batches that were not loaded: ${e.message}`);
        },
      );
    }
    await rm(this.runDir, { recursive: true, force: true });
    await this.sweeping;
    if (this.markerPut && !this.cleanupFailed) await this.stager.removeRunMarker(this.runId).catch(() => undefined);
  }

  summary(): StreamSummary[] {
    return [...this.sinks.values()].map((s) => {
      const st = s.stats;
      const byReason: Record<string, number> = {};
      for (const [key, n] of st.changes) {
        const reason = /\(([^()]*)\)$/.exec(key)?.[1] ?? key;
        byReason[reason] = (byReason[reason] ?? 0) + n;
      }
      return {
        stream: s.def.id,
        table: `${s.def.table.schema}.${s.def.table.table}`,
        records: st.received,
        inserted: st.inserted,
        updated: st.updated,
        deleted: st.deleted,
        batches: st.batches,
        files: st.files,
        bytes: st.stagedBytes,
        seconds: st.received === 0 ? 0 : Math.max(0, (Math.max(st.lastAt, st.firstAt) - st.firstAt) / 1000),
        changes: Object.fromEntries(st.changes),
        changesByReason: byReason,
      };
    });
  }
}
