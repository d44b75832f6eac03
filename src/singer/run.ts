/**
 * Wiring for a Singer run: config → warehouse, stager, engine, target; exit code and summary.
 */
import type { CliIo } from "../io.js";
import { type Logger, stderrLogger } from "../log.js";
import { Warehouse } from "../load/warehouse.js";
import { StageOnlyWarehouse } from "../load/stage-only.js";
import { DryRunWarehouse } from "../load/dry-run.js";
import { DryRunStager } from "../stage/dry-run-stager.js";
import { S3Stager } from "../stage/s3-stager.js";
import { LoadEngine } from "../engine/engine.js";
import { loadConfig, Redactor } from "../config/index.js";
import { connectorSettings } from "../engine/settings.js";
import { SingerTarget } from "./target.js";

export interface RunOptions {
  /** stage batches in S3 but load nothing (see StageOnlyWarehouse) */
  stageOnly?: boolean;
  /** log the SQL a run would send; write nothing, release no STATE (see DryRunWarehouse) */
  dryRun?: boolean;
}

export async function runSinger(configPath: string, io: CliIo, options: RunOptions = {}): Promise<number> {
  let scrub = (s: string) => s;
  let log: Logger = stderrLogger(io.stderr, scrub);
  let warehouse: Warehouse | undefined;
  let stager: S3Stager | undefined;
  try {
    const config = await loadConfig(configPath, { onWarning: (m) => log("warn", m) });
    const redactor = Redactor.fromConfig(config);
    scrub = (s) => redactor.redact(s);
    log = stderrLogger(io.stderr, scrub);
    const settings = connectorSettings(config);
    const hooks = { onSecret: (x: string) => redactor.add(x) };
    warehouse = options.dryRun
      ? new DryRunWarehouse(settings.connection, settings.load, log, hooks)
      : options.stageOnly
        ? new StageOnlyWarehouse(settings.connection, settings.load, log, hooks)
        : new Warehouse(settings.connection, settings.load, log, hooks);
    await warehouse.open();
    settings.engine.partsPerBatch = await warehouse.sliceCount();
    stager = options.dryRun ? new DryRunStager(settings.s3) : new S3Stager(settings.s3);
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
    await target.run(io.stdin);
    if (options.dryRun) log("info", `dry run: nothing was written to S3 or the database; ${withheld} STATE messages withheld`);
    const summary = target.engine.summary();
    for (const line of summary) log("info", `stream ${line.stream} → ${line.table}: ${line.rows} rows in ${line.batches} batches`, Object.keys(line.changes).length > 0 ? { changes: line.changes } : undefined);
    const usage = process.resourceUsage();
    log("info", `done: ${summary.reduce((n, l) => n + l.rows, 0)} rows, ${target.statesEmitted} states emitted, ${((Date.now() - target.engine.startedAt) / 1000).toFixed(1)} s`, {
      cpuSeconds: Number(((usage.userCPUTime + usage.systemCPUTime) / 1e6).toFixed(2)),
      peakRssMiB: Math.round(usage.maxRSS / 1024),
    });
    return 0;
  } catch (e) {
    const err = e as Error;
    log("error", err.message);
    if (process.env.TARGET_REDSHIFT_DEBUG && err.stack) io.stderr(scrub(err.stack));
    return 1;
  } finally {
    stager?.destroy();
    await warehouse?.end().catch(() => undefined);
  }
}
