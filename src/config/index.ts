/** Public surface of the configuration module; other parts of the connector import from here. */
export { loadConfig, parseConfig, validateConfig, type ParseOptions, type ParsedConfig } from "./load.js";
export { ConfigError, type ConfigIssue } from "./errors.js";
export { Redactor, redactConfig, secretFieldNames, REDACTED, MIN_SECRET_LENGTH } from "./redact.js";
export {
  aboutInfo,
  aboutMarkdown,
  aboutText,
  airbyteSpec,
  CAPABILITIES,
  CONNECTOR_NAME,
  DOCUMENTATION_URL,
  type AboutInfo,
  type AirbyteConnectorSpecification,
  type Capability,
  type DestinationSyncMode,
} from "./about.js";
export { configMarkdownTable, configDocsMarkdown, embedConfigTable, CONFIG_TABLE_START, CONFIG_TABLE_END } from "./docs.js";
export { normaliseRedshiftType, redshiftTypeProblem } from "./redshift-types.js";
export { loadSpec, inlinedSpec, specPath, settingsInfo, type SettingInfo } from "./spec.js";
export type * from "./types.js";
