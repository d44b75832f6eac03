#!/usr/bin/env node
/**
 * target-redshift: Singer target (`--config`) and Airbyte destination (`spec` / `check` / `write`).
 * stdout carries protocol output only (STATE lines, Airbyte messages); logs go to stderr (Singer).
 */
import { readFileSync, realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { aboutInfo, aboutMarkdown, aboutText, DOCUMENTATION_URL } from "./config/index.js";
import { runSinger } from "./singer/run.js";
import { stdinChunks } from "./input/read.js";
import type { CliIo } from "./io.js";
import { StoppedError } from "./errors.js";
import { LOG_FORMATS, type LogFormat, type LogOptions, parseLogLevel } from "./log.js";
import { runAirbyteCheck, runAirbyteSpec, runAirbyteWrite } from "./airbyte/run.js";


/** From package.json: one level up from src/ (tsx), two from dist/src/ (built). */
function readVersion(): string {
  for (const rel of ["../package.json", "../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "target-redshift" && pkg.version) return pkg.version;
    } catch {
      // not at this level
    }
  }
  return "0.0.0";
}

export const VERSION = readVersion();

const HELP = `target-redshift ${VERSION} — Amazon Redshift destination for Singer and Airbyte

Singer:   tap-x | target-redshift --config config.json > state.json
Airbyte:  target-redshift spec
          target-redshift check --config config.json
          target-redshift write --config config.json --catalog catalog.json < messages

Options:
  --config FILE          connector configuration (JSON; see docs/config.md)
  --catalog FILE         Airbyte configured catalog (write)
  --stage-only           stage batches in S3 but load nothing, release no STATE (Singer and Airbyte
                         write: measure or check the staging path)
  --dry-run              log the DDL and load SQL a run would send, per stream and batch (stderr for
                         Singer, LOG messages for Airbyte write); reads the catalog, writes nothing to
                         S3 or the database, releases no STATE
  --log-level LEVEL      debug, info (default), warn or error; also the LOG_LEVEL environment variable
  --log-format FORMAT    text (default) or json: one JSON object a line (time, level, message,
                         fields) on stderr; Airbyte commands always log as Airbyte LOG messages
  --about                describe the connector for Meltano: text (default), --format json or markdown
  -v, --version          print the version (also: target-redshift version)
  -h, --help             this text (also: target-redshift help)

Docs: README.md and docs/config.md in the package, or ${DOCUMENTATION_URL}
`;

export async function main(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: "string" },
        catalog: { type: "string" },
        state: { type: "string" },
        about: { type: "boolean" },
        format: { type: "string" },
        version: { type: "boolean", short: "v" },
        help: { type: "boolean", short: "h" },
        "stage-only": { type: "boolean" },
        "dry-run": { type: "boolean" },
        "log-level": { type: "string" },
        "log-format": { type: "string" },
      },
    });
  } catch (e) {
    io.stderr(`target-redshift: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  // `help` and `version` as words too: what people type before they read any help.
  if (values.help || positionals[0] === "help") {
    io.stdout(HELP);
    return 0;
  }
  if (values.version || positionals[0] === "version") {
    io.stdout(`target-redshift ${VERSION}`);
    return 0;
  }
  if (values.about) {
    // Text by default, as Singer SDK targets print it; Meltano asks for --format json itself.
    const format = values.format ?? "text";
    if (format === "text") io.stdout(aboutText(VERSION));
    else if (format === "json") io.stdout(JSON.stringify(aboutInfo(VERSION), null, 2));
    else if (format === "markdown") io.stdout(aboutMarkdown(VERSION));
    else {
      io.stderr(`target-redshift: --format must be text, json or markdown, got ${JSON.stringify(format)}`);
      return 2;
    }
    return 0;
  }
  const levelText = values["log-level"] ?? io.env?.LOG_LEVEL;
  const level = levelText === undefined || levelText === "" ? "info" : parseLogLevel(levelText);
  if (!level) {
    const from = values["log-level"] !== undefined ? "--log-level" : "LOG_LEVEL";
    io.stderr(`target-redshift: ${from} must be debug, info, warn or error, got ${JSON.stringify(levelText)}`);
    return 2;
  }
  const format = values["log-format"] ?? "text";
  if (!(LOG_FORMATS as readonly string[]).includes(format)) {
    io.stderr(`target-redshift: --log-format must be text or json, got ${JSON.stringify(format)}`);
    return 2;
  }
  const logOptions: LogOptions = { level, format: format as LogFormat };
  switch (positionals[0]) {
    case "spec":
      return runAirbyteSpec(io);
    case "check":
      return runAirbyteCheck(values.config, io, logOptions);
    case "write":
      if (values["stage-only"] && values["dry-run"]) {
        io.stderr("target-redshift: --stage-only and --dry-run exclude each other");
        return 2;
      }
      return runAirbyteWrite(values.config, values.catalog, io, logOptions, { dryRun: values["dry-run"], stageOnly: values["stage-only"] });
  }
  if (positionals.length > 0) {
    io.stderr(`target-redshift: unknown command ${JSON.stringify(positionals[0])}\n\n${HELP}`);
    return 2;
  }
  if (!values.config) {
    io.stderr(`target-redshift: --config is required\n\n${HELP}`);
    return 2;
  }
  if (values["stage-only"] && values["dry-run"]) {
    io.stderr("target-redshift: --stage-only and --dry-run exclude each other");
    return 2;
  }
  return runSinger(values.config, io, { stageOnly: values["stage-only"], dryRun: values["dry-run"], log: logOptions });
}

function isEntryPoint(): boolean {
  try {
    return realpathSync(process.argv[1] ?? "") === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  // The AWS SDK warns on every start that its releases after January 2027 will need Node 22; users of
  // this release can do nothing about it, so it is noise in their logs. Other warnings still print.
  process.removeAllListeners("warning");
  process.on("warning", (w) => {
    if (!w.message.startsWith("NodeVersionSupportWarning")) process.stderr.write(`${w.name}: ${w.message}\n`);
  });
  let stdoutGone = false;
  const code = await main(process.argv.slice(2), {
    stdin: stdinChunks(),
    stdout: (line) => {
      if (!stdoutGone) process.stdout.write(`${line}\n`);
    },
    stderr: (line) => process.stderr.write(`${line}\n`),
    env: process.env,
    onStop: (stop) => {
      const graceMs = Number(process.env.TARGET_REDSHIFT_STOP_GRACE_SECONDS ?? 30) * 1000;
      let stopping: StoppedError | undefined;
      const begin = (reason: StoppedError) => {
        if (stopping) {
          // A second signal: no more waiting. The cluster rolls back a transaction whose session ends.
          process.stderr.write(`target-redshift: ${reason.message} again; exiting now\n`);
          process.exit(stopping.exitCode);
        }
        stopping = reason;
        // A commit under way gets the grace period to finish; past it the process exits anyway (the
        // open transaction is rolled back as its connection closes), so a stop is never a hang.
        setTimeout(() => {
          process.stderr.write(`target-redshift: still busy ${graceMs / 1000} s after being stopped; exiting\n`);
          process.exit(reason.exitCode);
        }, graceMs).unref();
        stop(reason);
      };
      process.on("SIGTERM", () => begin(new StoppedError("SIGTERM received", 143)));
      process.on("SIGINT", () => begin(new StoppedError("SIGINT received", 130)));
      // The reader of stdout went away: STATE lines can no longer be delivered, so stop as for a signal.
      process.stdout.on("error", (e: NodeJS.ErrnoException) => {
        stdoutGone = true;
        if (e.code === "EPIPE" || e.code === "ERR_STREAM_DESTROYED") begin(new StoppedError("stdout closed by its reader (EPIPE)", 141));
        else begin(new StoppedError(`stdout failed: ${e.message}`, 1));
      });
    },
  });
  // Let stdout drain before exiting: STATE lines must not be lost.
  if (stdoutGone) process.exit(code);
  else process.stdout.write("", () => process.exit(code));
}
