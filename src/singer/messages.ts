/**
 * Singer messages. SCHEMA, STATE, ACTIVATE_VERSION and BATCH are rare and validated with zod; RECORD is
 * the hot path and is checked by hand (two field tests) so validation never dominates a record's cost.
 */
import { z } from "zod";

// The RECORD check lives with the encode workers, which read RECORD lines themselves; it is re-exported
// here so the Singer door has one place for its message shapes.
export { singerRecordProblem as recordProblem } from "../encode/envelopes.js";
export { describeZodError } from "../input/zod-error.js";

const streamName = z.string().min(1, "stream must be a non-empty string");

export const SchemaMessage = z.looseObject({
  type: z.literal("SCHEMA"),
  stream: streamName,
  // A stream becomes a table: its schema must list the properties that become columns.
  schema: z.looseObject({}).refine((s) => s.properties !== null && typeof s.properties === "object" && !Array.isArray(s.properties), {
    message: 'expected an object schema with "properties" (the columns of the stream\'s table)',
  }),
  key_properties: z.array(z.string()).optional(),
  bookmark_properties: z.array(z.string()).optional().nullable(),
});
export type SchemaMessage = z.infer<typeof SchemaMessage>;

export const StateMessage = z.looseObject({
  type: z.literal("STATE"),
  value: z.unknown(),
});
export type StateMessage = z.infer<typeof StateMessage>;

export const ActivateVersionMessage = z.looseObject({
  type: z.literal("ACTIVATE_VERSION"),
  stream: streamName,
  version: z.number().int(),
});
export type ActivateVersionMessage = z.infer<typeof ActivateVersionMessage>;

/** Meltano's BATCH message: records in files instead of on stdin. */
export const BatchMessage = z.looseObject({
  type: z.literal("BATCH"),
  stream: streamName,
  encoding: z.looseObject({ format: z.string(), compression: z.string().optional().nullable() }),
  manifest: z.array(z.string()),
});
export type BatchMessage = z.infer<typeof BatchMessage>;

/** A RECORD after the hand check. */
export interface RecordMessage {
  type: "RECORD";
  stream: string;
  record: Record<string, unknown>;
  time_extracted?: string;
  version?: number;
}
