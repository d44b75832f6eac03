import type { SettingWithDefault, TargetRedshiftConfig } from "./generated-types.js";

export type { TargetRedshiftConfig, SettingWithDefault } from "./generated-types.js";

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The config after parseConfig: every setting with a spec default is present. */
export type ResolvedConfig = Simplify<
  Omit<TargetRedshiftConfig, SettingWithDefault> & Required<Pick<TargetRedshiftConfig, SettingWithDefault>>
>;

export type FileFormat = ResolvedConfig["file_format"];
export type UpsertStrategy = ResolvedConfig["upsert_strategy"];
export type StringOverflowPolicy = ResolvedConfig["string_overflow"];
export type InvalidValuePolicy = ResolvedConfig["invalid_value"];
export type TypeMapping = ResolvedConfig["type_mapping"];
/** The JSON Schema types a `type_mapping` key can override. */
export type TypeMappingKey = keyof TypeMapping;
export type StreamMappingEntry = ResolvedConfig["stream_mapping"][string];
