/**
 * Airbyte protocol messages and the configured catalog. Rare messages (STATE, TRACE, LOG, CONTROL) and
 * the catalog are validated with zod; RECORD is the hot path and is checked by hand (recordProblem) so
 * validation never dominates a record's cost. Every object is loose: newer protocol versions add fields
 * and a destination must not fail on them.
 */
import { z } from "zod";
import { JsonNumber, NUMBER_TEXT } from "../input/json.js";

export const StreamDescriptor = z.looseObject({
  name: z.string().min(1, "stream name must be a non-empty string"),
  namespace: z.string().nullish(),
});
export type StreamDescriptor = z.infer<typeof StreamDescriptor>;

const AirbyteChange = z.looseObject({
  field: z.string(),
  change: z.string(),
  reason: z.string(),
});

export const RecordMessage = z.looseObject({
  type: z.literal("RECORD"),
  record: z.looseObject({
    namespace: z.string().nullish(),
    stream: z.string().min(1),
    data: z.record(z.string(), z.unknown()),
    // A number, or its exact text where a double would change its digits (parseMessageLine's EXACT_PATHS).
    emitted_at: z.union([z.number(), z.instanceof(JsonNumber).refine((n) => Number.isFinite(Number(n.text)), "not a finite number")]),
    meta: z.looseObject({ changes: z.array(AirbyteChange).optional() }).nullish(),
  }),
});
export type RecordMessage = z.infer<typeof RecordMessage>;
export type AirbyteRecord = RecordMessage["record"];

const StreamState = z.looseObject({
  stream_descriptor: StreamDescriptor,
  stream_state: z.unknown().optional(),
});

export const StateMessage = z.looseObject({
  type: z.literal("STATE"),
  state: z
    .looseObject({
      // Absent on states from before the typed-state protocol: they are LEGACY.
      type: z.enum(["LEGACY", "STREAM", "GLOBAL"]).optional(),
      stream: StreamState.optional(),
      global: z.looseObject({ shared_state: z.unknown().optional(), stream_states: z.array(StreamState).optional() }).optional(),
      data: z.unknown().optional(),
    })
    .refine((s) => s.type !== "STREAM" || s.stream !== undefined, { message: "a STREAM state needs `stream`", path: ["stream"] })
    .refine((s) => s.type !== "GLOBAL" || s.global !== undefined, { message: "a GLOBAL state needs `global`", path: ["global"] }),
});
export type StateMessage = z.infer<typeof StateMessage>;

export const StreamStatus = z.enum(["STARTED", "RUNNING", "COMPLETE", "INCOMPLETE"]);
export type StreamStatus = z.infer<typeof StreamStatus>;

export const TraceMessage = z.looseObject({
  type: z.literal("TRACE"),
  trace: z
    .looseObject({
      // ERROR, ESTIMATE, STREAM_STATUS, ANALYTICS — and whatever later protocol versions add.
      type: z.string(),
      emitted_at: z.number().optional(),
      error: z
        .looseObject({
          message: z.string(),
          internal_message: z.string().nullish(),
          stack_trace: z.string().nullish(),
          failure_type: z.string().nullish(),
        })
        .optional(),
      stream_status: z
        .looseObject({
          stream_descriptor: StreamDescriptor,
          status: StreamStatus,
        })
        .optional(),
    })
    .refine((t) => t.type !== "STREAM_STATUS" || t.stream_status !== undefined, {
      message: "a STREAM_STATUS trace needs `stream_status`",
      path: ["stream_status"],
    }),
});
export type TraceMessage = z.infer<typeof TraceMessage>;

export const LogLevel = z.enum(["FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"]);
export type LogLevel = z.infer<typeof LogLevel>;

export const LogMessage = z.looseObject({
  type: z.literal("LOG"),
  log: z.looseObject({ level: LogLevel, message: z.string(), stack_trace: z.string().nullish() }),
});
export type LogMessage = z.infer<typeof LogMessage>;

export const ControlMessage = z.looseObject({
  type: z.literal("CONTROL"),
  control: z.looseObject({
    type: z.string(),
    emitted_at: z.number().optional(),
    connectorConfig: z.looseObject({ config: z.record(z.string(), z.unknown()) }).optional(),
  }),
});
export type ControlMessage = z.infer<typeof ControlMessage>;

export const ConnectionStatusMessage = z.looseObject({
  type: z.literal("CONNECTION_STATUS"),
  connectionStatus: z.looseObject({ status: z.enum(["SUCCEEDED", "FAILED"]), message: z.string().optional() }),
});

export const SpecMessage = z.looseObject({
  type: z.literal("SPEC"),
  spec: z.looseObject({
    documentationUrl: z.string().optional(),
    connectionSpecification: z.record(z.string(), z.unknown()),
    supportsIncremental: z.boolean().optional(),
    supported_destination_sync_modes: z.array(z.string()).optional(),
  }),
});

/** Every message a destination reads or writes (RECORD included for completeness; the reader hand-checks it). */
export const AirbyteMessage = z.discriminatedUnion("type", [
  RecordMessage,
  StateMessage,
  TraceMessage,
  LogMessage,
  ControlMessage,
  ConnectionStatusMessage,
  SpecMessage,
]);
export type AirbyteMessage = z.infer<typeof AirbyteMessage>;

export const DestinationSyncMode = z.enum(["append", "overwrite", "append_dedup"]);
export type DestinationSyncMode = z.infer<typeof DestinationSyncMode>;

/** A field path: ["a"] is the top-level field a, ["a", "b"] the field b inside a. */
const FieldPath = z.array(z.string().min(1)).min(1, "a field path needs at least one element");

export const ConfiguredAirbyteStream = z.looseObject({
  stream: z.looseObject({
    name: z.string().min(1, "stream name must be a non-empty string"),
    namespace: z.string().nullish(),
    json_schema: z.record(z.string(), z.unknown()),
  }),
  sync_mode: z.enum(["full_refresh", "incremental"]).optional(),
  destination_sync_mode: DestinationSyncMode,
  cursor_field: z.array(z.string()).nullish(),
  primary_key: z.array(FieldPath).nullish(),
  generation_id: z.number().int().nonnegative().nullish(),
  minimum_generation_id: z.number().int().nonnegative().nullish(),
  sync_id: z.number().int().nullish(),
});
export type ConfiguredAirbyteStream = z.infer<typeof ConfiguredAirbyteStream>;

export const ConfiguredAirbyteCatalog = z.looseObject({
  streams: z.array(ConfiguredAirbyteStream),
});
export type ConfiguredAirbyteCatalog = z.infer<typeof ConfiguredAirbyteCatalog>;

// The RECORD envelope check and upstream changes are shared with the encode workers, which read
// Airbyte records off the main thread.
export { airbyteRecordProblem as recordProblem } from "../encode/envelopes.js";
export { upstreamChanges } from "../encode/metadata-values.js";

/** Identity of a stream: namespace and name; a missing namespace is distinct from every named one. */
export function descriptorKey(name: string, namespace: string | null | undefined): string {
  return JSON.stringify([namespace ?? null, name]);
}

export type FailureType = "config_error" | "system_error" | "transient_error";

export function logMessage(level: LogLevel, message: string): string {
  return JSON.stringify({ type: "LOG", log: { level, message } });
}

export function traceError(error: { message: string; internal_message?: string; stack_trace?: string; failure_type: FailureType }, now = Date.now()): string {
  return JSON.stringify({ type: "TRACE", trace: { type: "ERROR", emitted_at: now, error } });
}

export function connectionStatus(status: "SUCCEEDED" | "FAILED", message?: string): string {
  return JSON.stringify({ type: "CONNECTION_STATUS", connectionStatus: message === undefined ? { status } : { status, message } });
}

export function specMessage(spec: unknown): string {
  return JSON.stringify({ type: "SPEC", spec });
}

/** Airbyte protocol v1's well-known types, as the plain JSON Schema the type mapper understands. */
const WELL_KNOWN_TYPES: Record<string, Record<string, unknown>> = {
  String: { type: "string" },
  BinaryData: { type: "string" },
  Boolean: { type: "boolean" },
  Integer: { type: "integer" },
  Number: { type: "number" },
  Date: { type: "string", format: "date" },
  TimestampWithTimezone: { type: "string", format: "date-time", airbyte_type: "timestamp_with_timezone" },
  TimestampWithoutTimezone: { type: "string", format: "date-time", airbyte_type: "timestamp_without_timezone" },
  TimeWithTimezone: { type: "string", format: "time", airbyte_type: "time_with_timezone" },
  TimeWithoutTimezone: { type: "string", format: "time", airbyte_type: "time_without_timezone" },
};

/** Replaces `{"$ref": "WellKnownTypes.json#/definitions/X"}` anywhere in a stream schema. */
export function resolveWellKnownTypes(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(resolveWellKnownTypes);
  if (node === null || typeof node !== "object") return node;
  const obj = node as Record<string, unknown>;
  const ref = obj.$ref;
  if (typeof ref === "string") {
    const m = /WellKnownTypes\.json#\/definitions\/(\w+)$/.exec(ref);
    const known = m ? WELL_KNOWN_TYPES[m[1]!] : undefined;
    if (known) {
      const { $ref: _ignored, ...rest } = obj;
      const texts = Object.getOwnPropertyDescriptor(obj, NUMBER_TEXT);
      if (texts) Object.defineProperty(rest, NUMBER_TEXT, texts);
      const resolved = resolveWellKnownTypes(rest) as Record<string, unknown>;
      Object.assign(resolved, known);
      return resolved;
    }
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = resolveWellKnownTypes(v);
  // The exact text of the schema's numbers (parseJsonExact) goes along with them.
  const texts = Object.getOwnPropertyDescriptor(obj, NUMBER_TEXT);
  if (texts) Object.defineProperty(out, NUMBER_TEXT, texts);
  // Protocol v0 spells integers as numbers with an airbyte_type.
  if ((obj.airbyte_type === "integer" || obj.airbyte_type === "big_integer") && out.type !== undefined) {
    out.type = Array.isArray(out.type) ? out.type.map((t) => (t === "number" ? "integer" : t)) : out.type === "number" ? "integer" : out.type;
  }
  return out;
}
