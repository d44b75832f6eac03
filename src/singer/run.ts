/**
 * Wiring for a Singer run: config → warehouse, stager, engine, target; exit code and summary.
 */
import type { CliIo } from "../io.js";
import { type LogOptions, type Logger, stderrLogger } from "../log.js";
import { Warehouse } from "../load/warehouse.js";
import { StageOnlyWarehouse } from "../load/stage-only.js";
import { S3Stager } from "../stage/s3-stager.js";
import { LoadEngine, logStreamSummary } from "../engine/engine.js";
import { loadConfig, Redactor } from "../config/index.js";
import { connectorSettings } from "../engine/settings.js";
import { SingerTarget } from "./target.js";
import { StoppedError } from "../errors.js";

export interface RunOptions {
  /** stage batches in S3 but load nothing (see StageOnlyWarehouse) */
  stageOnly?: boolean;
  log?: LogOptions;
}

export async function runSinger(configPath: string, io: CliIo, options: RunOptions = {}): Promise<number> {
  let scrub = (s: string) => s;
  let log: Logger = stderrLogger(io.stderr, scrub, options.log);
  let warehouse: Warehouse | undefined;
  let stager: S3Stager | undefined;
  try {
    const config = await loadConfig(configPath, { onWarning: (m) => log("warn", m) });
    const redactor = Redactor.fromConfig(config);
    scrub = (s) => redactor.redact(s);
    log = stderrLogger(io.stderr, scrub, options.log);
    const settings = connectorSettings(config);
    warehouse = options.stageOnly
      ? new StageOnlyWarehouse(settings.connection, settings.load, log)
      : new Warehouse(settings.connection, settings.load, log);
    settings.engine.partsPerBatch = await warehouse.sliceCount();
    settings.engine.stageOnly = options.stageOnly ?? false;
    stager = new S3Stager(settings.s3, log);
    const w = warehouse;
    const s = stager;
    const target = new SingerTarget(
      (emit) => new LoadEngine(settings.engine, w, s, log, emit),
      settings,
      io.stdout,
      log,
    );
    await target.engine.begin();
    io.onStop?.((reason) => {
      log("warn", `${reason.message}: reading no more input; loads under way finish and their STATEs are printed`);
      target.engine.stop(reason);
    });
    await target.run(io.stdin);
    const summary = target.engine.summary();
    for (const line of summary) logStreamSummary(log, line, target.finalTable(line.table));
    const usage = process.resourceUsage();
    log("info", `done: ${summary.reduce((n, l) => n + l.records, 0)} records, ${target.statesEmitted} states emitted, ${((Date.now() - target.engine.startedAt) / 1000).toFixed(1)} s`, {
      cpuSeconds: Number(((usage.userCPUTime + usage.systemCPUTime) / 1e6).toFixed(2)),
      peakRssMiB: Math.round(usage.maxRSS / 1024),
    });
    return 0;
  } catch (e) {
    const err = e as Error;
    if (e instanceof StoppedError) {
      log("error", `${err.message}; exiting with ${e.exitCode} (rerun from the last STATE printed)`);
      return e.exitCode;
    }
    log("error", err.message);
    if (process.env.TARGET_REDSHIFT_DEBUG && err.stack) io.stderr(scrub(err.stack));
    return 1;
  } finally {
    stager?.destroy();
    await warehouse?.end().catch(() => undefined);
  }
}
