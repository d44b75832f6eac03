/** Self-descriptions for Meltano (`--about`) and Airbyte (`spec`), both derived from spec/spec.json. */
import { configMarkdownTable } from "./docs.js";
import { inlinedSpec, loadSpec } from "./spec.js";

export const CONNECTOR_NAME = "target-redshift";
export const DOCUMENTATION_URL = "https://github.com/target-redshift/target-redshift#readme";

/**
 * Meltano/Singer SDK capability names we actually honour. Claiming one makes Meltano change what it
 * sends, so the list is deliberately short:
 * - `about`: --about prints this.
 * - `activate-version`: ACTIVATE_VERSION retires rows of older table versions.
 * - `soft-delete` / `hard-delete`: _sdc_deleted_at marks rows; hard_delete removes them instead.
 * - `datatype-failsafe`: a property without a usable type becomes SUPER instead of failing.
 * Not claimed: `stream-maps` and `schema-flattening` (no inline mapper; nested data lands in SUPER),
 * `batch` (Meltano BATCH messages are not loaded), `target-schema` (our setting is `schema`, not the
 * SDK's `default_target_schema`, so Meltano's injection would not reach it).
 */
export const CAPABILITIES = ["about", "activate-version", "soft-delete", "hard-delete", "datatype-failsafe"] as const;

export type Capability = (typeof CAPABILITIES)[number];

export interface AboutInfo {
  name: string;
  description: string;
  version: string;
  capabilities: Capability[];
  /** The config JSON Schema, as the Singer SDK prints it under `settings`. */
  settings: Record<string, unknown>;
}

export function aboutInfo(version: string): AboutInfo {
  const spec = inlinedSpec();
  return {
    name: CONNECTOR_NAME,
    description: spec.description,
    version,
    capabilities: [...CAPABILITIES],
    settings: spec as unknown as Record<string, unknown>,
  };
}

/** Same shape as the Singer SDK's `--about --format markdown`, so Meltano Hub tooling can read it. */
export function aboutMarkdown(version: string): string {
  const spec = loadSpec();
  return [
    `# \`${CONNECTOR_NAME}\``,
    "",
    spec.description,
    "",
    `Version: ${version}`,
    "",
    "## Capabilities",
    "",
    ...CAPABILITIES.map((c) => `* \`${c}\``),
    "",
    "## Settings",
    "",
    configMarkdownTable(spec).trimEnd(),
    "",
    `A full list of supported settings and capabilities is available by running: \`${CONNECTOR_NAME} --about\``,
    "",
  ].join("\n");
}

export type DestinationSyncMode = "overwrite" | "append" | "append_dedup";

export interface AirbyteConnectorSpecification {
  documentationUrl: string;
  connectionSpecification: Record<string, unknown>;
  supportsIncremental: boolean;
  supportsNormalization: boolean;
  supportsDBT: boolean;
  supported_destination_sync_modes: DestinationSyncMode[];
}

export function airbyteSpec(): AirbyteConnectorSpecification {
  return {
    documentationUrl: DOCUMENTATION_URL,
    // Inlined because the Airbyte UI does not follow $ref.
    connectionSpecification: inlinedSpec() as unknown as Record<string, unknown>,
    supportsIncremental: true,
    supportsNormalization: false,
    supportsDBT: false,
    supported_destination_sync_modes: ["overwrite", "append", "append_dedup"],
  };
}
