/**
 * Human-facing renderings of the settings. The README embeds configMarkdownTable() between its
 * `<!-- config:start -->` / `<!-- config:end -->` markers; docs/config.md is generated from here.
 */
import { loadSpec, settingsInfo, type ConnectorSpecSchema, type SettingInfo, type SettingSchema } from "./spec.js";

/** GitHub renders `<stream>` in a table cell as an unknown HTML tag and hides it; pipes end the cell. */
function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\|/g, "\\|");
}

function code(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return "`" + text.replace(/\|/g, "\\|") + "`";
}

export function typeLabel(schema: SettingSchema): string {
  if (schema.enum) return schema.enum.map((v) => code(v)).join(" \\| ");
  const type = schema.type ?? "any";
  const bounds: string[] = [];
  if (schema.minimum !== undefined) bounds.push(`≥ ${schema.minimum}`);
  if (schema.maximum !== undefined) bounds.push(`≤ ${schema.maximum}`);
  return bounds.length ? `${type} (${bounds.join(", ")})` : type;
}

function row(s: SettingInfo): string {
  const d = s.schema.default;
  const def = d === undefined ? "" : code(d);
  return `| ${code(s.name)} | ${typeLabel(s.schema)} | ${def} | ${s.required ? "yes" : "no"} | ${s.secret ? "yes" : ""} | ${cell(s.schema.description ?? "")} |`;
}

/** The settings table alone (no heading), for embedding in the README. */
export function configMarkdownTable(spec: ConnectorSpecSchema = loadSpec()): string {
  const lines = [
    "| Setting | Type | Default | Required | Secret | Description |",
    "|:--|:--|:--|:-:|:-:|:--|",
    ...settingsInfo(spec).map(row),
  ];
  return lines.join("\n") + "\n";
}

export function configDocsMarkdown(spec: ConnectorSpecSchema = loadSpec()): string {
  const mappingKeys = Object.keys(spec.properties["type_mapping"]?.properties ?? {})
    .map((k) => `\`${k}\``)
    .join(", ");
  return `<!-- GENERATED from spec/spec.json by \`npm run gen:config\`. Edit the spec, not this file. -->
# Configuration

target-redshift reads one JSON object (\`--config FILE\`); the same settings drive the Singer CLI, the
Airbyte connector (\`spec\` prints them as its \`connectionSpecification\`) and the Meltano plugin
definition in \`meltano.yml\`. [\`spec/spec.json\`](../spec/spec.json) is the source of truth.

Unknown keys are reported as warnings and ignored (Airbyte adds its own). \`null\` for an optional
setting means "not set", as does an empty string for an optional setting without a default. Secrets
are never printed: they are masked in logs, errors and TRACE messages.

${configMarkdownTable(spec)}
## Notes

- **Credentials.** When \`aws_access_key_id\`/\`aws_secret_access_key\` are absent, S3 staging uses the AWS
  default credential chain. COPY authorizes with \`copy_iam_role_arn\` when set, otherwise with the
  access keys (given here or resolved from that chain).
- **\`max_batch_age_seconds: 0\`** turns the age trigger off: buffers are then loaded only by size and at
  the end of input, so STATE may wait a long time on a slow stream.
- **\`type_mapping\`** keys: ${mappingKeys}. Values (case-insensitive):
  \`SMALLINT\`, \`INTEGER\`, \`BIGINT\`, \`REAL\`, \`DOUBLE PRECISION\`, \`BOOLEAN\`, \`DATE\`, \`TIME\`, \`TIMETZ\`,
  \`TIMESTAMP\`, \`TIMESTAMPTZ\`, \`SUPER\`, \`VARCHAR(n)\` (1–65535) or \`VARCHAR(MAX)\`, \`CHAR(n)\` (1–4096),
  \`NUMERIC(p,s)\`/\`DECIMAL(p,s)\` (p 1–38, s ≤ p). \`TEXT\`, \`VARCHAR\` without a length and \`NUMERIC\`
  without a precision are rejected because Redshift silently turns them into \`VARCHAR(256)\` or
  \`NUMERIC(18,0)\`. Case does not matter.
- **Value hygiene** (\`string_overflow\`, \`invalid_value\`): every value changed under these policies is
  recorded on its row and counted in the run summary; nothing is changed silently.
`;
}

export const CONFIG_TABLE_START = "<!-- config:start -->";
export const CONFIG_TABLE_END = "<!-- config:end -->";

/**
 * Returns `markdown` (the README) with the settings table placed between the config markers, so the
 * README's owner can regenerate it without knowing how the table is built. Throws if the markers are
 * missing rather than silently leaving an old table.
 */
export function embedConfigTable(markdown: string, spec: ConnectorSpecSchema = loadSpec()): string {
  const start = markdown.indexOf(CONFIG_TABLE_START);
  const end = markdown.indexOf(CONFIG_TABLE_END, start);
  if (start < 0 || end < 0) throw new Error(`markers ${CONFIG_TABLE_START} … ${CONFIG_TABLE_END} not found`);
  return markdown.slice(0, start + CONFIG_TABLE_START.length) + "\n" + configMarkdownTable(spec) + markdown.slice(end);
}
