/**
 * Wiring for the Airbyte commands: spec, check, write. stdout carries only AirbyteMessages (logs as LOG
 * messages); failures end as a TRACE ERROR and a non-zero exit (check reports through CONNECTION_STATUS).
 */
import { StoppedError, whileStopping } from "../errors.js";
import { readFile } from "node:fs/promises";
import type { CliIo } from "../io.js";
import type { LogOptions, Logger } from "../log.js";
import { ConfigError, Redactor, airbyteSpec, loadConfig } from "../config/index.js";
import { connectionStatus, specMessage } from "./messages.js";
import { Warehouse } from "../load/warehouse.js";
import { DryRunWarehouse } from "../load/dry-run.js";
import { StageOnlyWarehouse } from "../load/stage-only.js";
import { DryRunStager } from "../stage/dry-run-stager.js";
import { S3Stager } from "../stage/s3-stager.js";
import { LoadEngine, logStreamSummary } from "../engine/engine.js";
import { type ConnectorSettings, type TargetConfig, connectorSettings } from "../engine/settings.js";
import { AirbyteDestination, CatalogError, parseCatalog } from "./destination.js";
import { CheckFailure, checkConnection } from "./check.js";
import { airbyteLogger, traceErrorLine } from "./errors.js";

export function runAirbyteSpec(io: CliIo): number {
  io.stdout(specMessage(airbyteSpec()));
  return 0;
}

/** Settings errors (e.g. no COPY authorization) are configuration problems, not crashes. */
function settingsOf(config: TargetConfig): ConnectorSettings {
  try {
    return connectorSettings(config);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
}

interface Session {
  log: Logger;
  redactor: () => Redactor | undefined;
  loadConfig(path: string): Promise<TargetConfig>;
}

function session(io: CliIo, options: LogOptions = {}): Session {
  let redactor: Redactor | undefined;
  const log = airbyteLogger(io.stdout, () => (s) => (redactor ? redactor.redact(s) : s), options.level);
  return {
    log,
    redactor: () => redactor,
    async loadConfig(path) {
      // Secrets are masked even when the config then fails validation.
      try {
        redactor = Redactor.fromConfig(JSON.parse(await readFile(path, "utf8")));
      } catch {
        // unreadable or not JSON: loadConfig says so, without quoting the content
      }
      const config = await loadConfig(path, { onWarning: (m) => log("warn", m) });
      redactor = Redactor.fromConfig(config);
      return config;
    },
  };
}

export async function runAirbyteCheck(configPath: string | undefined, io: CliIo, logOptions: LogOptions = {}): Promise<number> {
  const s = session(io, logOptions);
  try {
    if (!configPath) throw new ConfigError("check needs --config");
    const settings = settingsOf(await s.loadConfig(configPath));
    await checkConnection(settings, s.log, { onSecret: (x) => s.redactor()?.add(x) });
    io.stdout(connectionStatus("SUCCEEDED"));
    return 0;
  } catch (e) {
    const err = e as Error;
    const r = s.redactor();
    const message = e instanceof CheckFailure || e instanceof ConfigError ? err.message : `check failed: ${err.message}`;
    // A failed check is a successful run of the check command: Airbyte reads the status, not the exit code.
    io.stdout(connectionStatus("FAILED", r ? r.redact(message) : message));
    return 0;
  }
}

export async function runAirbyteWrite(
  configPath: string | undefined,
  catalogPath: string | undefined,
  io: CliIo,
  logOptions: LogOptions = {},
  options: { dryRun?: boolean; stageOnly?: boolean } = {},
): Promise<number> {
  const s = session(io, logOptions);
  let warehouse: Warehouse | undefined;
  let stager: S3Stager | undefined;
  try {
    if (!configPath) throw new ConfigError("write needs --config");
    if (!catalogPath) throw new CatalogError("write needs --catalog");
    const config = await s.loadConfig(configPath);
    let catalogText: string;
    try {
      catalogText = await readFile(catalogPath, "utf8");
    } catch (e) {
      throw new CatalogError(`cannot read the catalog ${catalogPath}: ${(e as Error).message}`);
    }
    const catalog = parseCatalog(catalogText, catalogPath);
    const settings = settingsOf(config);
    const hooks = { onSecret: (x: string) => s.redactor()?.add(x) };
    warehouse = options.dryRun
      ? new DryRunWarehouse(settings.connection, settings.load, s.log, hooks)
      : options.stageOnly
        ? new StageOnlyWarehouse(settings.connection, settings.load, s.log, hooks)
        : new Warehouse(settings.connection, settings.load, s.log, hooks);
    await warehouse.open();
    settings.engine.partsPerBatch = await warehouse.sliceCount();
    settings.engine.dryRun = options.dryRun ?? false;
    settings.engine.stageOnly = options.stageOnly ?? false;
    stager = options.dryRun ? new DryRunStager(settings.s3, s.log) : new S3Stager(settings.s3, s.log);
    const w = warehouse;
    const st = stager;
    // A dry run loads nothing: its STATE messages are withheld (the platform would record them as progress).
    let withheld = 0;
    const stdout = options.dryRun ? () => void withheld++ : io.stdout;
    const engineSettings = settings.engine;
    const destination = new AirbyteDestination(
      (emit) => new LoadEngine<string>(engineSettings, w, st, s.log, emit),
      catalog,
      settings,
      stdout,
      s.log,
    );
    await destination.engine.begin();
    io.onStop?.((reason) => {
      s.log("warn", `${reason.message}: reading no more input; ${whileStopping(options)}`);
      destination.engine.stop(reason);
    });
    await destination.run(io.stdin);
    if (options.dryRun) s.log("info", `dry run: nothing was written to S3 or the database; ${withheld} STATE messages withheld`);
    // The engine knows the load table; the user wants the table the rows ended up in.
    const finalTable = new Map(destination.plans.map((p) => [p.id, `${p.final.schema}.${p.final.table}`]));
    for (const line of destination.engine.summary()) {
      const table = finalTable.get(line.stream) ?? line.table;
      logStreamSummary(s.log, line, table, options.dryRun);
    }
    const seconds = ((Date.now() - destination.engine.startedAt) / 1000).toFixed(1);
    // A dry run's STATEs never left the process: the last line must not say they did.
    const states = options.dryRun
      ? `dry run, nothing loaded, ${withheld} STATE messages withheld`
      : options.stageOnly
        ? "--stage-only: nothing loaded, no STATE emitted"
        : `${destination.statesEmitted} states emitted`;
    s.log("info", `done: ${destination.recordsRead} records, ${states}, ${seconds} s`);
    return 0;
  } catch (e) {
    io.stdout(traceErrorLine(e, s.redactor()));
    return e instanceof StoppedError ? e.exitCode : 1;
  } finally {
    stager?.destroy();
    await warehouse?.end().catch(() => undefined);
  }
}
