// npm run redshift-local: one JSON line {config, pg, faults_url, iam_config, iam_serverless_config} on
// stdout, human text on stderr, runs until a signal.
import { startLocalRedshift } from "./index.js";

const slicesArg = process.argv.find((a) => a.startsWith("--slices="));
const rs = await startLocalRedshift({
  slices: slicesArg ? Number(slicesArg.split("=")[1]) : undefined,
  tls: !process.argv.includes("--no-tls"),
  quiet: process.argv.includes("--quiet"),
});
process.stdout.write(
  JSON.stringify({ config: rs.config, pg: rs.pg, faults_url: rs.faultsUrl, iam_config: rs.iamConfig, iam_serverless_config: rs.iamServerlessConfig }) + "\n",
);
process.stderr.write(
  `local Redshift stand-in is up.\n` +
    `  gateway (Redshift dialect, TLS): ${rs.gateway.host}:${rs.gateway.port}\n` +
    `  PostgreSQL (direct, no TLS):     ${rs.pg.host}:${rs.pg.port}  user ${rs.pg.user} db ${rs.pg.database}\n` +
    `  S3:                              ${rs.s3.endpoint}  bucket ${rs.s3.bucket}\n` +
    `  AWS API (IAM auth):              ${rs.aws.endpoint}  cluster ${rs.aws.clusterIdentifier}, workgroup ${rs.aws.workgroupName}\n` +
    `  faults:                          POST ${rs.faultsUrl}  {"fault": "<name>", "args": [...]}\n` +
    `Save the stdout line's "config" as a target-redshift config. Ctrl-C stops and removes everything.\n`,
);
let stopping = false;
const stop = (sig: string) => {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`${sig}: stopping...\n`);
  rs.stop().then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`stop failed: ${String(e)}\n`);
      process.exit(1);
    },
  );
};
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGHUP", () => stop("SIGHUP"));
