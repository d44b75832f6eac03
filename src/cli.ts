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
  --stage-only           stage batches in S3 but load nothing (measure or check the staging path)
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
  switch (positionals[0]) {
    case "spec":
      return runAirbyteSpec(io);
    case "check":
      return runAirbyteCheck(values.config, io);
    case "write":
      return runAirbyteWrite(values.config, values.catalog, io);
  }
  if (positionals.length > 0) {
    io.stderr(`target-redshift: unknown command ${JSON.stringify(positionals[0])}\n\n${HELP}`);
    return 2;
  }
  if (!values.config) {
    io.stderr(`target-redshift: --config is required\n\n${HELP}`);
    return 2;
  }
  return runSinger(values.config, io, { stageOnly: values["stage-only"] });
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
  const code = await main(process.argv.slice(2), {
    stdin: stdinChunks(),
    stdout: (line) => process.stdout.write(`${line}\n`),
    stderr: (line) => process.stderr.write(`${line}\n`),
    env: process.env,
  });
  // Let stdout drain before exiting: STATE lines must not be lost.
  process.stdout.write("", () => process.exit(code));
}
