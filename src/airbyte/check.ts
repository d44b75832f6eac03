/**
 * Airbyte `check`: exercises, in order, everything a sync needs — connect (TLS, authentication), create
 * the schema and a table in it, a temp table, S3 put/get, COPY from S3 (the COPY authorization) and S3
 * delete — and names the first step that fails.
 */
import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import type pg from "pg";
import * as sql from "../redshift/sql.js";
import { normalizeIdentifier } from "../redshift/identifiers.js";
import type { Logger } from "../log.js";
import { Warehouse, type WarehouseHooks } from "../load/warehouse.js";
import { ConnectionError, explainConnectError } from "../load/connect-errors.js";
import { IamAuthError } from "../load/iam-auth.js";
import { S3Stager } from "../stage/s3-stager.js";
import type { ConnectorSettings } from "../engine/settings.js";

export type CheckStep =
  | "IAM credentials"
  | "password"
  | "connect"
  | "TLS"
  | "authentication"
  | "create schema"
  | "create table"
  | "create temp table"
  | "S3 put"
  | "S3 get"
  | "COPY from S3"
  | "S3 delete";

export class CheckFailure extends Error {
  constructor(
    readonly step: CheckStep,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function describe(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    const text = e.message || e.name;
    return typeof code === "string" && !text.includes(code) ? `${text} (${code})` : text;
  }
  return String(e);
}

/** Which step a failed connection attempt belongs to (the translation runs share, src/load/connect-errors.ts). */
export function connectFailureStep(e: unknown, ssl: boolean): CheckStep {
  if (e instanceof ConnectionError) return e.stage;
  return explainConnectError(e, { host: "", port: 0, database: "", user: "", ssl, sslVerify: true }).stage;
}

async function step<T>(name: CheckStep, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw new CheckFailure(name, `${name} failed (${what}): ${describe(e)}`, { cause: e });
  }
}

export async function checkConnection(settings: ConnectorSettings, log: Logger, hooks: WarehouseHooks = {}): Promise<void> {
  const c = settings.connection;
  const warehouse = new Warehouse({ ...c, maxConnections: 1 }, settings.load, log, hooks);
  const stager = new S3Stager(settings.s3, log);
  const tag = randomBytes(6).toString("hex");
  let client: pg.PoolClient | undefined;
  try {
    // The AWS call and the login are separate steps: a refused IAM call is not a refused login.
    try {
      await warehouse.resolveLogin();
    } catch (e) {
      if (e instanceof IamAuthError) throw new CheckFailure("IAM credentials", e.message, { cause: e });
      if (e instanceof ConnectionError) throw new CheckFailure(e.stage, e.message, { cause: e });
      throw e;
    }
    try {
      client = await warehouse.acquire();
      await client.query("SELECT 1");
    } catch (e) {
      const s = connectFailureStep(e, c.ssl);
      const explained = e instanceof ConnectionError ? e : explainConnectError(e, warehouse.target());
      throw new CheckFailure(s, `${s} failed: ${explained.message}`, { cause: e });
    }
    const db = client;
    const schema = normalizeIdentifier(settings.defaultSchema, settings.engine.names);
    if (!settings.load.skipSchemaCreation) {
      await step("create schema", `schema ${schema}`, () => db.query(sql.createSchema(schema)));
    }
    const table = { schema, table: `_airbyte_connection_test_${tag}` };
    await step("create table", `table ${schema}.${table.table}`, async () => {
      await db.query(sql.createTable(table, [{ name: "id", type: { kind: "bigint" } }]));
      await db.query(sql.dropTable(table));
    });
    const temp = `_airbyte_check_${tag}`;
    await step("create temp table", temp, () =>
      db.query(
        sql.createTempTable(temp, [
          { name: "id", type: { kind: "bigint" } },
          { name: "note", type: { kind: "varchar", length: 16 } },
        ]),
      ),
    );
    const prefix = stager.batchPrefix("_airbyte_check", tag, 1);
    const partKey = `${prefix}part-0000.csv.gz`;
    const manifestKey = `${prefix}manifest.json`;
    const body = gzipSync(Buffer.from('1,"one"\n2,"two"\n'));
    const bucket = `s3://${settings.s3.bucket}/${prefix}`;
    await step("S3 put", bucket, async () => {
      await stager.put(partKey, body);
      await stager.put(
        manifestKey,
        JSON.stringify({ entries: [{ url: stager.url(partKey), mandatory: true, meta: { content_length: body.length } }] }),
      );
    });
    // The objects are removed whatever happens after the put; the first failure is the one reported.
    let failure: unknown;
    try {
      await step("S3 get", bucket, async () => {
        const r = await stager.client.send(new GetObjectCommand({ Bucket: settings.s3.bucket, Key: partKey }));
        const got = Buffer.from((await r.Body?.transformToByteArray()) ?? []);
        if (!got.equals(body)) throw new Error(`read back ${got.length} bytes that differ from the ${body.length} written`);
      });
      await step("COPY from S3", `COPY into a temp table from ${stager.url(manifestKey)}`, async () => {
        await db.query(
          sql.copyFromManifest({
            table: temp,
            columns: ["id", "note"],
            manifestUrl: stager.url(manifestKey),
            auth: await warehouse.copyCredentials.get(),
            format: "csv_gzip",
            region: settings.load.region,
          }),
        );
        const n = await db.query<{ n: string | number }>(sql.countRows(temp));
        const loaded = Number(n.rows[0]?.n);
        if (loaded !== 2) throw new Error(`COPY loaded ${loaded} rows, expected 2`);
      });
    } catch (e) {
      failure = e;
    }
    try {
      await step("S3 delete", bucket, () => stager.remove([partKey, manifestKey]));
    } catch (e) {
      failure ??= e;
    }
    if (failure !== undefined) throw failure;
    await db.query(sql.dropTable(temp)).catch(() => undefined);
  } finally {
    client?.release();
    stager.destroy();
    await warehouse.end().catch(() => undefined);
  }
}
