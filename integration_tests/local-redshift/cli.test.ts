import { spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, inject, it } from "vitest";
import { gatewayClient } from "./test-helpers.js";

const here = path.dirname(fileURLToPath(import.meta.url));

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });

describe("npm run redshift-local", () => {
  it("prints one JSON line with a usable config, and stops cleanly on SIGTERM", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(here, "cli.ts"), "--quiet", "--slices=2"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("\n")) resolve(out.split("\n")[0]!);
      });
      child.once("exit", (code) => reject(new Error(`cli exited ${code}: ${err}`)));
    });
    const parsed = JSON.parse(line) as { config: Record<string, unknown>; pg: { port: number }; faults_url: string; iam_config: Record<string, unknown> };
    expect(Object.keys(parsed).sort()).toEqual(["config", "faults_url", "iam_config", "iam_serverless_config", "pg"]);
    for (const k of ["host", "port", "database", "user", "password", "schema", "ssl", "ssl_ca", "ssl_verify", "s3_bucket", "s3_key_prefix", "s3_region", "s3_endpoint_url", "s3_force_path_style", "aws_access_key_id", "aws_secret_access_key", "copy_iam_role_arn"]) {
      expect(parsed.config).toHaveProperty(k);
    }
    const c = gatewayClient({ config: parsed.config });
    await c.connect();
    expect((await c.query("SELECT count(*)::int AS n FROM stv_slices")).rows[0].n).toBe(2);
    await c.end();
    // The fault controls answer from outside the process: arm a COMMIT failure over HTTP, see it happen.
    const armed = await fetch(parsed.faults_url, { method: "POST", body: JSON.stringify({ fault: "failNextCommit", args: [1] }) });
    expect(await armed.json()).toEqual({ ok: true });
    const c2 = gatewayClient({ config: parsed.config });
    await c2.connect();
    await expect(c2.query("BEGIN; CREATE TABLE cli_fault (i INTEGER); COMMIT;")).rejects.toThrow(/1023/);
    await c2.end();
    const s3Port = Number(new URL(parsed.config.s3_endpoint_url as string).port);
    child.kill("SIGTERM");
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code).toBe(0);
    expect(out.trim().split("\n")).toHaveLength(1);
    expect(await portOpen(parsed.config.port as number)).toBe(false);
    expect(await portOpen(parsed.pg.port)).toBe(false);
    expect(await portOpen(s3Port)).toBe(false);
  });
});

describe("vitest global setup", () => {
  it("provides the shared stand-in as localRedshift", async () => {
    const rs = inject("localRedshift");
    expect(rs.config.copy_iam_role_arn).toBe("arn:aws:iam::000000000000:role/local-redshift");
    const c = gatewayClient(rs);
    await c.connect();
    expect((await c.query("SELECT JSON_SERIALIZE(JSON_PARSE('[1]')) AS j")).rows[0].j).toBe("[1]");
    await c.end();
  });
});
