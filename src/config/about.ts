/** Self-descriptions for Meltano (`--about`) and Airbyte (`spec`), both derived from spec/spec.json. */
import { configMarkdownTable } from "./docs.js";
import { inlinedSpec, loadSpec, settingsInfo } from "./spec.js";

export const CONNECTOR_NAME = "target-redshift";
export const DOCUMENTATION_URL = "https://github.com/target-redshift/target-redshift#readme";

/**
 * Meltano/Singer SDK capability names we actually honour. Claiming one makes Meltano change what it
 * sends, so the list is deliberately short:
 * - `about`: --about prints this (text, json or markdown).
 * - `activate-version`: ACTIVATE_VERSION retires rows of older table versions.
 * - `soft-delete` / `hard-delete`: _sdc_deleted_at marks rows; hard_delete removes them instead.
 * - `datatype-failsafe`: a property without a usable type becomes SUPER instead of failing.
 * - `target-schema`: `default_target_schema` (the SDK's name for our `schema`) sets the default schema.
 * Not claimed: `stream-maps` and `schema-flattening` (no inline mapper; nested data lands in SUPER),
 * `batch` (Meltano BATCH messages are not loaded), `validate-records` (our validate_records is off by
 * default, while the SDK's capability means validation on by default).
 */
export const CAPABILITIES = ["about", "activate-version", "soft-delete", "hard-delete", "datatype-failsafe", "target-schema"] as const;

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

/**
 * `--about` without --format: plain text in the layout the Singer SDK prints (Name, Description, Version,
 * Capabilities, Settings with each one's type, default and whether it is required or secret).
 */
export function aboutText(version: string): string {
  const spec = loadSpec();
  const lines = [`Name: ${CONNECTOR_NAME}`, `Description: ${spec.description}`, `Version: ${version}`, "Capabilities:", ...CAPABILITIES.map((c) => `  - ${c}`), "Settings:"];
  for (const s of settingsInfo(spec)) {
    const type = s.schema.enum ? s.schema.enum.map((v) => String(v)).join(" | ") : String(s.schema.type ?? "any");
    lines.push(`  - Name: ${s.name}`, `    Type: ${type}`);
    if (s.hasDefault) lines.push(`    Default: ${JSON.stringify(s.schema.default)}`);
    if (s.required) lines.push("    Required: yes");
    if (s.secret) lines.push("    Secret: yes");
    if (s.schema.description) lines.push(`    Description: ${s.schema.description}`);
  }
  lines.push("", `Also: ${CONNECTOR_NAME} --about --format json (Meltano's settings schema) or --format markdown.`);
  return lines.join("\n");
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
