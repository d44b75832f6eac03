/**
 * IAM database authentication end to end: the connector's SDK v3 clients call the stand-in's local AWS
 * endpoint (GetClusterCredentials / Serverless GetCredentials, SigV4 checked), then log in through the
 * gateway as exactly the returned user. Its own stand-in: expireIamCredentials() must not reach other files.
 */
import { afterEach, describe, expect, it } from "vitest";
import { useLocalRedshift } from "./local-redshift/shared.js";
import { directClient } from "./local-redshift/test-helpers.js";
import { runSinger, startSinger, writeLines } from "./helpers/target.js";
import { runAirbyte } from "./helpers/airbyte.js";

const h = useLocalRedshift({ slices: 2 });
afterEach(() => h.rs.faults.reset());

let n = 0;
const schemaName = (p: string) => `${p}_${process.pid}_${++n}`;

const schemaMsg = { type: "SCHEMA", stream: "t", key_properties: ["id"], schema: { properties: { id: { type: "integer" }, v: { type: "string" } } } };
const rec = (id: number) => ({ type: "RECORD", stream: "t", record: { id, v: `v${id}` } });

async function ids(schema: string): Promise<number[]> {
  const c = directClient(h.rs);
  await c.connect();
  try {
    const r = await c.query<{ id: string }>(`SELECT id FROM "${schema}"."t" ORDER BY id`);
    return r.rows.map((x) => Number(x.id));
  } finally {
    await c.end();
  }
}

const IAM_USER_LINE = /IAM authentication: redshift:GetClusterCredentials issued database user IAM:\S+, valid until \d{4}-/;

describe("IAM authentication against the stand-in's AWS endpoint", () => {
  it("a Singer load via iam_config logs in as the returned IAM: user and prints no password", async () => {
    const schema = schemaName("iam_singer");
    const r = await runSinger({ ...h.rs.iamConfig, schema }, [schemaMsg, rec(1), rec(2), { type: "STATE", value: { s: 1 } }].map((m) => JSON.stringify(m)).join("\n") + "\n");
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(r.states).toEqual([{ s: 1 }]);
    expect(await ids(schema)).toEqual([1, 2]);
    const log = r.stderr.join("\n");
    expect(log).toMatch(IAM_USER_LINE);
    // The issued password is random; whatever was printed as a password-like value is masked.
    expect(log).not.toMatch(/DbPassword|dbPassword/);
    // The session ran as the IAM user: the table's owner is the returned name.
    const c = directClient(h.rs);
    await c.connect();
    try {
      const owner = await c.query<{ o: string }>(`SELECT tableowner AS o FROM pg_tables WHERE schemaname = $1 AND tablename = 't'`, [schema]);
      expect(owner.rows[0]?.o).toMatch(/^IAM:/);
    } finally {
      await c.end();
    }
  });

  it("an Airbyte check via iam_serverless_config succeeds (Serverless GetCredentials)", async () => {
    const r = await runAirbyte("check", { config: { ...h.rs.iamServerlessConfig, schema: schemaName("iam_check") } });
    const status = r.messages.find((m) => m.type === "CONNECTION_STATUS")?.connectionStatus as { status: string; message?: string };
    expect(status, JSON.stringify(r.messages)).toEqual({ status: "SUCCEEDED" });
    expect(JSON.stringify(r.logs)).toContain("redshift-serverless:GetCredentials issued database user IAM:local-redshift");
  });

  it("a long run whose credentials expired logs in again with fresh ones", async () => {
    const schema = schemaName("iam_expiry");
    const live = startSinger({ ...h.rs.iamConfig, schema, batch_size_rows: 1 });
    await writeLines(live.stdin, [schemaMsg, rec(1), { type: "STATE", value: { s: 1 } }]);
    expect(await live.nextLine(60_000)).toBe(JSON.stringify({ s: 1 }));
    // Every credential issued so far expires now, and the run's open sessions go away: the next batch
    // needs a new login, which the gateway refuses with the old password.
    await h.rs.faults.expireIamCredentials();
    const admin = directClient(h.rs);
    await admin.connect();
    try {
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename LIKE 'IAM%' AND pid <> pg_backend_pid() AND backend_type = 'client backend'`);
    } finally {
      await admin.end();
    }
    await writeLines(live.stdin, [rec(2), { type: "STATE", value: { s: 2 } }]);
    live.stdin.end();
    const r = await live.done;
    expect(r.code, r.stderr.join("\n")).toBe(0);
    expect(r.states).toEqual([{ s: 1 }, { s: 2 }]);
    expect(await ids(schema)).toEqual([1, 2]);
    expect(r.stderr.filter((l) => IAM_USER_LINE.test(l))).toHaveLength(2);
  });

  it("wrong AWS keys: a clear config error naming the AWS call, in a run and in check; the secret is not printed", async () => {
    const wrong = { ...h.rs.iamConfig, schema: schemaName("iam_wrong"), aws_secret_access_key: "wrong-secret-value-123" };
    const r = await runSinger(wrong, [schemaMsg, rec(1)].map((m) => JSON.stringify(m)).join("\n") + "\n");
    expect(r.code).toBe(1);
    const log = r.stderr.join("\n");
    expect(log).toMatch(/IAM authentication failed at redshift:GetClusterCredentials \(cluster \S+, database \S+, db user \S+, region \S+\): .*SignatureDoesNotMatch/);
    expect(log).not.toContain("wrong-secret-value-123");
    expect(r.states).toEqual([]);

    const check = await runAirbyte("check", { config: wrong });
    const status = check.messages.find((m) => m.type === "CONNECTION_STATUS")?.connectionStatus as { status: string; message: string };
    expect(status.status).toBe("FAILED");
    expect(status.message).toMatch(/^IAM authentication failed at redshift:GetClusterCredentials/);
    expect(JSON.stringify(check.messages)).not.toContain("wrong-secret-value-123");
  });
});
