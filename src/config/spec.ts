import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The subset of JSON Schema (plus Airbyte's UI keywords) that spec/spec.json uses for one setting. */
export interface SettingSchema {
  title?: string;
  description?: string;
  type?: "string" | "integer" | "number" | "boolean" | "object" | "array";
  default?: unknown;
  examples?: unknown[];
  enum?: readonly (string | number)[];
  pattern?: string;
  /** Airbyte's human wording of `pattern`; also used in our error messages. */
  pattern_descriptor?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  order?: number;
  airbyte_secret?: boolean;
  properties?: Record<string, SettingSchema>;
  additionalProperties?: boolean | SettingSchema;
  $ref?: string;
}

export interface ConnectorSpecSchema {
  $schema: string;
  title: string;
  description: string;
  type: "object";
  required: string[];
  properties: Record<string, SettingSchema>;
  definitions: Record<string, SettingSchema>;
}

/** One setting, flattened for docs, Meltano and --about. */
export interface SettingInfo {
  name: string;
  schema: SettingSchema;
  required: boolean;
  secret: boolean;
  hasDefault: boolean;
}

/**
 * spec.json sits outside src/, so its location relative to this module differs between tsx
 * (src/config) and the compiled package (dist/src/config). Walking up finds it in both without
 * importing JSON (which Node 20 still flags as experimental on stderr).
 */
function findSpecPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, "spec", "spec.json");
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error("target-redshift: spec/spec.json not found above " + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

let cached: ConnectorSpecSchema | undefined;

export const specPath = (): string => findSpecPath();

/** The parsed spec. Callers get a fresh deep copy so nobody can mutate the shared one. */
export function loadSpec(): ConnectorSpecSchema {
  cached ??= JSON.parse(readFileSync(findSpecPath(), "utf8")) as ConnectorSpecSchema;
  return structuredClone(cached);
}

/** Settings in UI order (`order`, then name), which is also the order of every generated listing. */
export function settingsInfo(spec: ConnectorSpecSchema = loadSpec()): SettingInfo[] {
  const required = new Set(spec.required);
  return Object.entries(spec.properties)
    .map(([name, schema]) => ({
      name,
      schema,
      required: required.has(name),
      secret: schema.airbyte_secret === true,
      hasDefault: schema.default !== undefined,
    }))
    .sort((a, b) => (a.schema.order ?? 1e9) - (b.schema.order ?? 1e9) || a.name.localeCompare(b.name));
}

/** Replaces local `#/definitions/…` refs by their target, for consumers (Airbyte UI) that do not resolve refs. */
export function inlineRefs<T>(node: T, definitions: Record<string, unknown>): T {
  if (Array.isArray(node)) return node.map((n) => inlineRefs(n, definitions)) as T;
  if (node === null || typeof node !== "object") return node;
  const obj = node as Record<string, unknown>;
  let out: Record<string, unknown> = {};
  const ref = obj["$ref"];
  if (typeof ref === "string" && ref.startsWith("#/definitions/")) {
    const target = definitions[ref.slice("#/definitions/".length)];
    if (target === undefined) throw new Error(`spec.json: unresolved $ref ${ref}`);
    // Local keywords (e.g. a per-use description) win over the shared definition's.
    out = { ...(inlineRefs(target, definitions) as Record<string, unknown>) };
  }
  for (const [k, v] of Object.entries(obj)) {
    if (k === "$ref") continue;
    out[k] = inlineRefs(v, definitions);
  }
  return out as T;
}

/** The spec with every `$ref` inlined and no `definitions` left: self-contained for Airbyte and --about. */
export function inlinedSpec(spec: ConnectorSpecSchema = loadSpec()): Omit<ConnectorSpecSchema, "definitions"> {
  const { definitions, ...rest } = spec;
  return inlineRefs(rest, definitions);
}
