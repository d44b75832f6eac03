import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { renderGeneratedFiles } from "../../../scripts/config-codegen.js";
import { staleGeneratedFiles } from "../../../scripts/gen-config.js";
import { meltanoSettings } from "../../../src/config/meltano.js";
import { loadSpec } from "../../../src/config/spec.js";

describe("files generated from spec/spec.json", () => {
  it("are up to date (run `npm run gen:config` if this fails)", async () => {
    expect(await staleGeneratedFiles(), "stale generated files; run `npm run gen:config`").toEqual([]);
  }, 30_000);

  it("cover the types, the docs and the Meltano definition", async () => {
    const files = await renderGeneratedFiles();
    expect(Object.keys(files).sort()).toEqual(["README.md", "docs/config.md", "meltano.yml", "src/config/generated-types.ts"]);
    expect(files["src/config/generated-types.ts"]).toContain("export interface TargetRedshiftConfig {");
    expect(files["src/config/generated-types.ts"]).not.toContain("[k: string]: unknown");
  }, 30_000);

  it("detects a stale file", async () => {
    const files = await renderGeneratedFiles();
    const onDisk = await readFile(new URL("../../../docs/config.md", import.meta.url), "utf8");
    expect(onDisk).toBe(files["docs/config.md"]);
    expect(onDisk + "x").not.toBe(files["docs/config.md"]);
  }, 30_000);
});

describe("meltano settings", () => {
  it("map kinds, defaults, options and secrets from the spec", () => {
    const byName = new Map(meltanoSettings().map((s) => [s.name, s]));
    expect(byName.size).toBe(Object.keys(loadSpec().properties).length);
    expect(byName.get("port")).toMatchObject({ kind: "integer", value: 5439, label: "Port" });
    expect(byName.get("password")).toMatchObject({ kind: "string", sensitive: true });
    expect(byName.get("password")).not.toHaveProperty("value");
    expect(byName.get("file_format")).toMatchObject({ kind: "options", value: "csv_gzip", options: [{ value: "csv_gzip" }, { value: "parquet" }] });
    expect(byName.get("type_mapping")).toMatchObject({ kind: "object", value: {} });
    expect(byName.get("ssl")).toMatchObject({ kind: "boolean", value: true });
  });
});
