// Runs s3rver in its own Node process: s3rver encrypts ListObjectsV2 continuation tokens with DES,
// which Node 20's OpenSSL 3 only offers with --openssl-legacy-provider (a process-wide flag).
import S3rver from "s3rver";

const [directory, bucket] = process.argv.slice(2);
const server = new S3rver({
  address: "127.0.0.1",
  port: 0,
  silent: true,
  directory,
  configureBuckets: [{ name: bucket }],
});
const { port } = await server.run();
process.send?.({ port });

let closing = false;
const shutdown = async () => {
  if (closing) return;
  closing = true;
  try {
    await server.close();
  } finally {
    process.exit(0);
  }
};
// The parent going away (even by SIGKILL) closes the IPC channel: never outlive it.
process.on("disconnect", shutdown);
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
