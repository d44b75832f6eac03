/**
 * The Meltano plugin definition (meltano.yml), rendered from the spec. Hand-rolled YAML because the
 * shapes are tiny and fixed; every string is emitted JSON-quoted, which YAML 1.2 reads verbatim.
 */
import { CAPABILITIES, CONNECTOR_NAME } from "./about.js";
import { loadSpec, settingsInfo, type ConnectorSpecSchema, type SettingInfo } from "./spec.js";

export type MeltanoKind = "string" | "integer" | "boolean" | "object" | "options" | "array";

export interface MeltanoSetting {
  name: string;
  label: string;
  kind: MeltanoKind;
  description: string;
  sensitive?: true;
  value?: unknown;
  options?: { label: string; value: string }[];
}

export function meltanoKind(s: SettingInfo): MeltanoKind {
  if (s.schema.enum) return "options";
  switch (s.schema.type) {
    case "integer":
    case "number":
      return "integer";
    case "boolean":
    case "object":
    case "array":
      return s.schema.type;
    default:
      return "string";
  }
}

export function meltanoSettings(spec: ConnectorSpecSchema = loadSpec()): MeltanoSetting[] {
  return settingsInfo(spec).map((s) => {
    const setting: MeltanoSetting = {
      name: s.name,
      label: s.schema.title ?? s.name,
      kind: meltanoKind(s),
      description: s.schema.description ?? "",
    };
    // `kind: password` is deprecated in Meltano; `sensitive` is what hides the value in `meltano config`.
    if (s.secret) setting.sensitive = true;
    if (s.hasDefault) setting.value = s.schema.default;
    if (s.schema.enum) setting.options = s.schema.enum.map((v) => ({ label: String(v), value: String(v) }));
    return setting;
  });
}

const q = (v: unknown): string => JSON.stringify(v);

export function meltanoYaml(spec: ConnectorSpecSchema = loadSpec()): string {
  const out: string[] = [
    "# GENERATED from spec/spec.json by `npm run gen:config`. Edit the spec, not this file.",
    "# No pip_url: the plugin is the npm package's `target-redshift` executable, expected on PATH",
    "# (npm i -g target-redshift, or npm ci in this repository and use node_modules/.bin).",
    "version: 1",
    "default_environment: dev",
    "environments:",
    "- name: dev",
    "plugins:",
    "  loaders:",
    `  - name: ${CONNECTOR_NAME}`,
    "    namespace: target_redshift",
    `    executable: ${CONNECTOR_NAME}`,
    `    label: ${q("Amazon Redshift")}`,
    `    description: ${q(spec.description)}`,
    "    capabilities:",
    ...CAPABILITIES.map((c) => `    - ${c}`),
    "    settings_group_validation:",
    `    - [${spec.required.join(", ")}]`,
    "    settings:",
  ];
  for (const s of meltanoSettings(spec)) {
    out.push(`    - name: ${s.name}`, `      label: ${q(s.label)}`, `      kind: ${s.kind}`, `      description: ${q(s.description)}`);
    if (s.sensitive) out.push("      sensitive: true");
    if (s.value !== undefined) out.push(`      value: ${q(s.value)}`);
    if (s.options) {
      out.push("      options:");
      for (const o of s.options) out.push(`      - label: ${q(o.label)}`, `        value: ${q(o.value)}`);
    }
  }
  return out.join("\n") + "\n";
}
