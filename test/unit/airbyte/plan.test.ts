import { describe, expect, it } from "vitest";
import { ConfigError, Redactor } from "../../../src/config/index.js";
import type { ConfiguredAirbyteStream } from "../../../src/airbyte/messages.js";
import { RowChanges } from "../../../src/encode/encode.js";
import { filledAtLoad } from "../../../src/encode/table-shape.js";
import { AIRBYTE_COLUMNS, CatalogError, isTruncateRefresh, parseCatalog, planStreams } from "../../../src/airbyte/destination.js";
import { classifyFailure, traceErrorLine } from "../../../src/airbyte/errors.js";
import { connectFailureStep } from "../../../src/airbyte/check.js";
import { type TargetConfig, connectorSettings } from "../../../src/engine/settings.js";
import { TargetError } from "../../../src/errors.js";
import { InputError } from "../../../src/input/read.js";
import { explainConnectError, missingPasswordError } from "../../../src/load/connect-errors.js";
import { IamAuthError } from "../../../src/load/iam-auth.js";
import { CopyCredentialsError } from "../../../src/load/copy-credentials.js";

const settings = connectorSettings({
  host: "h",
  database: "d",
  user: "u",
  s3_bucket: "b",
  schema: "Default_Schema",
  aws_access_key_id: "AKIAEXAMPLE",
  aws_secret_access_key: "secret-value-123",
} as TargetConfig);

const schema = {
  type: "object",
  properties: {
    id1: { type: "integer" },
    "Updated At": { type: "string", format: "date-time" },
    _ab_cdc_deleted_at: { type: "string", format: "date-time" },
    name: { type: "string" },
  },
};

function stream(over: Partial<ConfiguredAirbyteStream> = {}): ConfiguredAirbyteStream {
  return { stream: { name: "Users", json_schema: schema }, destination_sync_mode: "append", ...over } as ConfiguredAirbyteStream;
}

describe("Airbyte catalog → stream plans", () => {
  it("append: final table in the default schema, no keys, metadata columns", () => {
    const [p] = planStreams({ streams: [stream({ generation_id: 5, sync_id: 9 })] }, settings);
    expect(p!.final).toEqual({ schema: "default_schema", table: "users" });
    expect(p!.loadTable).toBe(p!.final);
    expect(p!.truncate).toBe(false);
    expect(p!.definition.keyProperties).toEqual([]);
    expect(p!.definition.deletedColumn).toBeUndefined();
    const meta = p!.definition.metadata;
    expect(meta.map((m) => m.name)).toEqual([AIRBYTE_COLUMNS.rawId, AIRBYTE_COLUMNS.extractedAt, AIRBYTE_COLUMNS.generationId, AIRBYTE_COLUMNS.meta]);
    const changes = new RowChanges();
    changes.add("name", "NULLED", "DESTINATION_SERIALIZATION_ERROR");
    const ctx = {
      message: { emitted_at: 1000, meta: { changes: [{ field: "x", change: "TRUNCATED", reason: "SOURCE_FIELD_SIZE_LIMITATION" }] } },
      record: {},
      position: 1,
      receivedAt: "",
      batchedAt: "",
      changes,
    };
    // The raw id is made by the load statement from the row's ordinal (row-id.ts): no encoder computes it.
    const rawId = meta.find((m) => m.name === AIRBYTE_COLUMNS.rawId)!;
    expect(filledAtLoad(rawId)).toBe(true);
    expect(meta.filter(filledAtLoad)).toEqual([rawId]);
    expect(() => rawId.value(ctx)).toThrow(/row-id column is filled in by the load statement/);
    const values = Object.fromEntries(meta.filter((m) => !filledAtLoad(m)).map((m) => [m.name, m.value(ctx)]));
    expect(values[AIRBYTE_COLUMNS.extractedAt]).toBe("1970-01-01T00:00:01.000Z");
    expect(values[AIRBYTE_COLUMNS.generationId]).toBe(5);
    expect(values[AIRBYTE_COLUMNS.meta]).toEqual({
      sync_id: 9,
      changes: [
        { field: "x", change: "TRUNCATED", reason: "SOURCE_FIELD_SIZE_LIMITATION" },
        { field: "name", change: "NULLED", reason: "DESTINATION_SERIALIZATION_ERROR" },
      ],
    });
    expect(meta.find((m) => m.name === AIRBYTE_COLUMNS.meta)?.late).toBe(true);
  });

  it("a stream without declared properties keeps each record whole in _airbyte_data", () => {
    const [p] = planStreams({ streams: [stream({ stream: { name: "free", json_schema: { type: "object" } } })] }, settings);
    const data = p!.definition.metadata.find((m) => m.name === AIRBYTE_COLUMNS.data);
    expect(data?.type).toEqual({ kind: "super" });
    expect(data?.value({ message: {}, record: { a: 1 }, position: 1, receivedAt: "", batchedAt: "", changes: new RowChanges() })).toEqual({ a: 1 });
    const [q] = planStreams({ streams: [stream()] }, settings);
    expect(q!.definition.metadata.some((m) => m.name === AIRBYTE_COLUMNS.data)).toBe(false);
  });

  it("namespace is the schema; overwrite loads into a separate table", () => {
    const [p] = planStreams({ streams: [stream({ destination_sync_mode: "overwrite", stream: { name: "Users", namespace: "Sales", json_schema: schema } })] }, settings);
    expect(p!.final).toEqual({ schema: "sales", table: "users" });
    expect(p!.truncate).toBe(true);
    expect(p!.loadTable).toEqual({ schema: "sales", table: "users_airbyte_tmp" });
    expect(p!.definition.table).toEqual(p!.loadTable);
  });

  it("an empty namespace is no namespace", () => {
    const [p] = planStreams({ streams: [stream({ stream: { name: "Users", namespace: "", json_schema: schema } })] }, settings);
    expect(p!.final).toEqual({ schema: "default_schema", table: "users" });
    expect(p!.namespace).toBeUndefined();
  });

  it("stream_mapping (by stream name) wins over namespace and default schema", () => {
    const mapped = { ...settings, streamMapping: { Users: { schema: "CRM", table: "People" }, other: { table: "x" } } };
    const [p] = planStreams({ streams: [stream({ stream: { name: "Users", namespace: "sales", json_schema: schema } })] }, mapped);
    expect(p!.final).toEqual({ schema: "crm", table: "people" });
    const [q] = planStreams({ streams: [stream({ stream: { name: "other", json_schema: schema } })] }, mapped);
    expect(q!.final).toEqual({ schema: "default_schema", table: "x" });
    const [r] = planStreams({ streams: [stream({ stream: { name: "constructor", json_schema: schema } })] }, mapped);
    expect(r!.final).toEqual({ schema: "default_schema", table: "constructor" });
  });

  it("append_dedup: keys, cursor then extraction time, CDC deletes", () => {
    const [p] = planStreams(
      { streams: [stream({ destination_sync_mode: "append_dedup", primary_key: [["id1"]], cursor_field: ["Updated At"] })] },
      settings,
    );
    expect(p!.definition.keyProperties).toEqual(["id1"]);
    expect(p!.definition.dedupOrder).toEqual([{ column: "updated_at" }, { column: "_airbyte_extracted_at" }]);
    expect(p!.definition.newerBy).toEqual(p!.definition.dedupOrder);
    expect(p!.definition.deletedColumn).toBe("_ab_cdc_deleted_at");
  });

  it("generations: equal minimum truncates, a lower positive one retires old rows", () => {
    expect(isTruncateRefresh(stream({ generation_id: 3, minimum_generation_id: 3 }))).toBe(true);
    expect(isTruncateRefresh(stream({ generation_id: 0, minimum_generation_id: 0 }))).toBe(false);
    expect(isTruncateRefresh(stream({ generation_id: 3, minimum_generation_id: 0 }))).toBe(false);
    const [p] = planStreams({ streams: [stream({ generation_id: 3, minimum_generation_id: 2 })] }, settings);
    expect(p!.truncate).toBe(false);
    expect(p!.minimumGeneration).toBe(2);
    const [q] = planStreams({ streams: [stream({ destination_sync_mode: "append_dedup", primary_key: [["id1"]], generation_id: 3, minimum_generation_id: 3 })] }, settings);
    expect(q!.truncate).toBe(true);
    expect(q!.minimumGeneration).toBeUndefined();
  });

  it("catalog problems are config errors that say what is wrong", () => {
    const plan = (s: Partial<ConfiguredAirbyteStream>) => () => planStreams({ streams: [stream(s)] }, settings);
    expect(plan({ destination_sync_mode: "append_dedup" })).toThrow(/append_dedup needs a primary_key/);
    expect(plan({ destination_sync_mode: "append_dedup", primary_key: [["nope"]] })).toThrow(/primary key field "nope" is not a property/);
    expect(plan({ destination_sync_mode: "append_dedup", primary_key: [["id1"]], cursor_field: ["a", "b"] })).toThrow(/nested cursor_field/);
    expect(() => planStreams({ streams: [stream(), stream({ stream: { name: "USERS", json_schema: schema } })] }, settings)).toThrow(/both use table/);
    expect(() =>
      planStreams({ streams: [stream({ destination_sync_mode: "overwrite" }), stream({ stream: { name: "users_airbyte_tmp", json_schema: schema } })] }, settings),
    ).toThrow(/both use table default_schema.users_airbyte_tmp/);
    expect(plan({ destination_sync_mode: "append_dedup" })).toThrow(CatalogError);
    expect(() => parseCatalog("{", "c.json")).toThrow(/c.json: not valid JSON/);
    expect(() => parseCatalog('{"streams":[{"stream":{"name":"x","json_schema":{}},"destination_sync_mode":"upsert"}]}')).toThrow(/destination_sync_mode/);
    expect(classifyFailure(new CatalogError("x"))).toBe("config_error");
  });
});

describe("Airbyte failures", () => {
  const coded = (code: string, message = "boom") => Object.assign(new Error(message), { code });

  it("maps login, IAM and COPY-credential errors by the kind they were given where caught", () => {
    const t = { host: "db.example.com", port: 5439, database: "dev", user: "u", ssl: true, sslVerify: true };
    expect(classifyFailure(explainConnectError(coded("ENOTFOUND", "getaddrinfo ENOTFOUND db.example.com"), t))).toBe("config_error");
    expect(classifyFailure(explainConnectError(new Error("self-signed certificate"), t))).toBe("config_error");
    expect(classifyFailure(explainConnectError(coded("28P01", "password authentication failed"), t))).toBe("config_error");
    expect(classifyFailure(missingPasswordError(t))).toBe("config_error");
    expect(classifyFailure(explainConnectError(coded("ECONNREFUSED", "connect ECONNREFUSED 10.0.0.1:5439"), t))).toBe("transient_error");
    expect(classifyFailure(explainConnectError(new Error("timeout expired"), t))).toBe("transient_error");
    expect(classifyFailure(new IamAuthError("redshift:GetClusterCredentials", "denied", { cause: Object.assign(new Error("not authorized"), { name: "AccessDenied", $fault: "client" }) }))).toBe("config_error");
    expect(classifyFailure(new IamAuthError("redshift:GetClusterCredentials", "no answer", { cause: coded("ECONNRESET") }))).toBe("transient_error");
    expect(classifyFailure(new IamAuthError("redshift:GetClusterCredentials", "throttled", { cause: Object.assign(new Error("Rate exceeded"), { $fault: "client", $retryable: { throttling: true } }) }))).toBe("transient_error");
    expect(classifyFailure(new CopyCredentialsError("COPY needs AWS credentials"))).toBe("config_error");
  });

  it("classifies config, transient and system errors", () => {
    expect(classifyFailure(new ConfigError("bad"))).toBe("config_error");
    expect(classifyFailure(coded("28P01", "password authentication failed"))).toBe("config_error");
    expect(classifyFailure(coded("42501", "permission denied"))).toBe("config_error");
    expect(classifyFailure(coded("ENOTFOUND"))).toBe("config_error");
    // S3 errors are typed by the stager where they are caught (kindOfS3Error), then carried as TargetError.
    expect(classifyFailure(new TargetError("config", "S3 PUT of s3://b/k failed: AccessDenied: denied"))).toBe("config_error");
    expect(classifyFailure(new TargetError("transient", "S3 PUT of s3://b/k failed after 5 attempts: InternalError (HTTP 500)"))).toBe("transient_error");
    expect(classifyFailure(new InputError("line 3: invalid JSON"))).toBe("system_error");
    expect(classifyFailure(coded("ECONNREFUSED"))).toBe("transient_error");
    expect(classifyFailure(coded("40P01"))).toBe("transient_error");
    expect(classifyFailure(coded("XX000", "1023 Serializable isolation violation on table"))).toBe("transient_error");
    expect(classifyFailure(new Error("wrapped", { cause: coded("ECONNRESET") }))).toBe("transient_error");
    expect(classifyFailure(coded("XX000", "User arn:aws:redshift:us-east-1:1:dbuser:c/u is not authorized to assume IAM Role arn:aws:iam::1:role/r"))).toBe("config_error");
    expect(classifyFailure(coded("XX000", "S3ServiceException:Access Denied,Status 403"))).toBe("config_error");
    expect(classifyFailure(new Error("something else"))).toBe("system_error");
  });

  it("TRACE ERROR carries message, internal message, stack and type, with secrets masked", () => {
    const r = new Redactor(["secret-value-123"]);
    const line = traceErrorLine(new Error("COPY failed with secret-value-123 in it"), r);
    const msg = JSON.parse(line) as { type: string; trace: { type: string; emitted_at: number; error: Record<string, string> } };
    expect(msg.type).toBe("TRACE");
    expect(msg.trace.type).toBe("ERROR");
    expect(typeof msg.trace.emitted_at).toBe("number");
    expect(msg.trace.error.failure_type).toBe("system_error");
    expect(msg.trace.error.message).toContain("COPY failed");
    expect(msg.trace.error.internal_message).toContain("COPY failed");
    expect(msg.trace.error.stack_trace).toContain("at ");
    expect(line).not.toContain("secret-value-123");
  });

  it("check names TLS and authentication failures", () => {
    expect(connectFailureStep(new Error("The server does not support SSL connections"), true)).toBe("TLS");
    expect(connectFailureStep(coded("DEPTH_ZERO_SELF_SIGNED_CERT", "self-signed certificate"), true)).toBe("TLS");
    expect(connectFailureStep(coded("28P01", "password authentication failed for user x"), true)).toBe("authentication");
    expect(connectFailureStep(coded("28000", 'no pg_hba.conf entry for host "1.2.3.4", user "x", database "d", no encryption'), false)).toBe("TLS");
    expect(connectFailureStep(coded("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:1"), false)).toBe("connect");
  });
});
