/**
 * Everything generated from spec/spec.json, as path → expected content. gen-config writes it,
 * check mode and the unit test compare it, so all three agree on what "stale" means.
 */
import { compile, type JSONSchema } from "json-schema-to-typescript";
import { loadSpec, settingsInfo, type ConnectorSpecSchema } from "../src/config/spec.js";
import { readFile } from "node:fs/promises";
import { configDocsMarkdown, embedConfigTable } from "../src/config/docs.js";
import { meltanoYaml } from "../src/config/meltano.js";

export const GENERATED_TYPES_PATH = "src/config/generated-types.ts";
export const DOCS_PATH = "docs/config.md";
export const MELTANO_PATH = "meltano.yml";

const BANNER = `/* eslint-disable */
// GENERATED from spec/spec.json by \`npm run gen:config\` (json-schema-to-typescript). Do not edit:
// change the spec and regenerate; \`npm run check:config\` and the unit tests fail while this is stale.
`;

async function generatedTypes(spec: ConnectorSpecSchema): Promise<string> {
  const schema = structuredClone(spec) as unknown as Record<string, unknown> & { properties: Record<string, Record<string, unknown>> };
  // Titles would make json-schema-to-typescript export one alias per setting (Host, Port, …); the
  // descriptions already become JSDoc, which is what editors show.
  for (const prop of Object.values(schema.properties)) delete prop["title"];
  schema["title"] = "TargetRedshiftConfig";
  // The runtime tolerates unknown keys (Airbyte adds its own) but drops them, so the type is closed:
  // an index signature would let typos in engine code compile.
  schema["additionalProperties"] = false;
  delete schema["$schema"];
  const body = await compile(schema as JSONSchema, "TargetRedshiftConfig", {
    bannerComment: "",
    additionalProperties: false,
    unreachableDefinitions: false,
    style: { printWidth: 110 },
  });
  const withDefaults = settingsInfo(spec)
    .filter((s) => s.hasDefault)
    .map((s) => JSON.stringify(s.name));
  const defaultsUnion = `
/** Settings with a default in the spec: always present after parseConfig. */
export type SettingWithDefault =
${withDefaults.map((n) => `  | ${n}`).join("\n")};
`;
  return BANNER + "\n" + body.trimEnd() + "\n" + defaultsUnion;
}

const README_PATH = "README.md";

export async function renderGeneratedFiles(): Promise<Record<string, string>> {
  const spec = loadSpec();
  return {
    [GENERATED_TYPES_PATH]: await generatedTypes(spec),
    [DOCS_PATH]: configDocsMarkdown(spec),
    [MELTANO_PATH]: meltanoYaml(spec),
    // The README keeps its prose; only the table between its config markers is generated.
    [README_PATH]: embedConfigTable(await readFile(new URL("../README.md", import.meta.url), "utf8")),
  };
}
