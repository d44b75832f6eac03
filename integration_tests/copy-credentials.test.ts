/**
 * COPY authorization from the AWS default credential chain: with neither keys nor copy_iam_role_arn in
 * the config, the real process finds the stand-in's S3 keys in its environment (AWS_ACCESS_KEY_ID, …), stages
 * with them and hands them, session token included, to COPY. A child process, so the variables reach
 * nothing else.
 */
import { describe, expect, it } from "vitest";
import { configFor, rows, runProcess, uniqueSchema, writeConfig, standIn } from "./helpers/target.js";


describe("COPY with the default credential chain", () => {
  it("loads with temporary keys from the environment, session token passed, no secret printed", async () => {
    const schema = uniqueSchema("chain");
    const { aws_access_key_id: _k, aws_secret_access_key: _s, copy_iam_role_arn: _r, ...config } = configFor(schema);
    const { path, cleanup } = writeConfig(config);
    const { s3 } = standIn();
    const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AWS_")));
    Object.assign(env, {
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_SESSION_TOKEN: "session-token-from-the-chain",
      AWS_CONFIG_FILE: "/nonexistent",
      AWS_SHARED_CREDENTIALS_FILE: "/nonexistent",
    });
    const input =
      [
        { type: "SCHEMA", stream: "t", key_properties: ["id"], schema: { properties: { id: { type: "integer" } } } },
        { type: "RECORD", stream: "t", record: { id: 7 } },
        { type: "STATE", value: { s: 1 } },
      ]
        .map((m) => JSON.stringify(m))
        .join("\n") + "\n";
    try {
      const r = await runProcess(["--config", path], input, env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe(JSON.stringify({ s: 1 }));
      expect(await rows(schema, "t")).toEqual([{ id: "7" }]);
      expect(r.stderr).toContain("COPY authorization: temporary credentials from the AWS default credential chain");
      expect(r.stderr).not.toContain(s3.secretAccessKey);
      expect(r.stderr).not.toContain("session-token-from-the-chain");
    } finally {
      cleanup();
    }
  });
});
