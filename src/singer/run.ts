/**
 * Wiring for a Singer run: config → warehouse, stager, engine, target; exit code and summary.
 */
import type { CliIo } from "../io.js";
import { type LogOptions, type Logger, stderrLogger } from "../log.js";
import { Warehouse } from "../load/warehouse.js";
import { StageOnlyWarehouse } from "../load/stage-only.js";
import { DryRunWarehouse } from "../load/dry-run.js";
import { DryRunStager } from "../stage/dry-run-stager.js";
import { S3Stager } from "../stage/s3-stager.js";
import { LoadEngine, logStreamSummary } from "../engine/engine.js";
import { loadConfig, Redactor } from "../config/index.js";
import { connectorSettings } from "../engine/settings.js";
import { SingerTarget } from "./target.js";
import { StoppedError, afterStopping, whileStopping } from "../errors.js";

export interface RunOptions {
  /** stage batches in S3 but load nothing (see StageOnlyWarehouse) */
  stageOnly?: boolean;
  /** log the SQL a run would send; write nothing, release no STATE (see DryRunWarehouse) */
  dryRun?: boolean;
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
    const hooks = { onSecret: (x: string) => redactor.add(x) };
    warehouse = options.dryRun
      ? new DryRunWarehouse(settings.connection, settings.load, log, hooks)
      : options.stageOnly
        ? new StageOnlyWarehouse(settings.connection, settings.load, log, hooks)
        : new Warehouse(settings.connection, settings.load, log, hooks);
    await warehouse.open();
    settings.engine.partsPerBatch = await warehouse.sliceCount();
    settings.engine.stageOnly = options.stageOnly ?? false;
    settings.engine.dryRun = options.dryRun ?? false;
    stager = options.dryRun ? new DryRunStager(settings.s3, log) : new S3Stager(settings.s3, log);
    // A dry run loads nothing, so no STATE may go out: a caller would take it as committed progress.
    let withheld = 0;
    const stdout = options.dryRun ? () => void withheld++ : io.stdout;
    const w = warehouse;
    const s = stager;
    const target = new SingerTarget(
      (emit) => new LoadEngine(settings.engine, w, s, log, emit),
      settings,
      stdout,
      log,
    );
    await target.engine.begin();
    io.onStop?.((reason) => {
      log("warn", `${reason.message}: reading no more input; ${whileStopping(options)}`);
      target.engine.stop(reason);
    });
    await target.run(io.stdin);
    if (options.dryRun) log("info", `dry run: nothing was written to S3 or the database; ${withheld} STATE messages withheld`);
    const summary = target.engine.summary();
    for (const line of summary) logStreamSummary(log, line, target.finalTable(line.table), options.dryRun);
    const usage = process.resourceUsage();
    // A dry run's STATEs never left the process: the last line must not say they did.
    const states = options.dryRun ? `dry run, nothing loaded, ${withheld} STATE messages withheld` : `${target.statesEmitted} states emitted`;
    log("info", `done: ${summary.reduce((n, l) => n + l.records, 0)} records, ${states}, ${((Date.now() - target.engine.startedAt) / 1000).toFixed(1)} s`, {
      cpuSeconds: Number(((usage.userCPUTime + usage.systemCPUTime) / 1e6).toFixed(2)),
      peakRssMiB: Math.round(usage.maxRSS / 1024),
    });
    return 0;
  } catch (e) {
    const err = e as Error;
    if (e instanceof StoppedError) {
      log("error", `${err.message}; exiting with ${e.exitCode} (${afterStopping(options)})`);
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
