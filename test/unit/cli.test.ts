import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main, VERSION } from "../../src/cli.js";
import { CAPABILITIES } from "../../src/config/index.js";

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { stdin: (async function* () {})(), stdout: (l) => out.push(l), stderr: (l) => err.push(l) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

const root = join(import.meta.dirname, "../..");

describe("help and version, as CLI users type them", () => {
  it.each([["--help"], ["-h"], ["help"]])("%s prints the help on stdout and exits 0", async (arg) => {
    const r = await cli(arg);
    expect(r.code).toBe(0);
    expect(r.out).toContain("Singer:   tap-x | target-redshift --config config.json");
    expect(r.out).toContain("-v, --version");
    expect(r.err).toBe("");
  });

  it.each([["--version"], ["-v"], ["version"]])("%s prints the package.json version", async (arg) => {
    const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
    expect(VERSION).toBe(version);
    expect(await cli(arg)).toEqual({ code: 0, out: `target-redshift ${version}`, err: "" });
  });

  it("an unknown option prints the help on stderr and exits 2", async () => {
    const r = await cli("--bogus");
    expect(r.code).toBe(2);
    expect(r.err).toContain("Unknown option '--bogus'");
  });
});

describe("--about", () => {
  it("defaults to the Singer SDK's text layout", async () => {
    const r = await cli("--about");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Name: target-redshift\nDescription: .+\nVersion: \d+\.\d+\.\d+\nCapabilities:\n {2}- about\n/);
    for (const c of CAPABILITIES) expect(r.out).toContain(`  - ${c}\n`);
    expect(r.out).toContain("  - Name: host\n    Type: string\n    Required: yes\n");
    expect(r.out).toContain("  - Name: password\n    Type: string\n    Secret: yes\n");
    expect(r.out).toContain('  - Name: file_format\n    Type: csv_gzip | parquet\n    Default: "csv_gzip"\n');
    expect(r.out).toContain("  - Name: default_target_schema\n");
  });

  it("--format json is Meltano's JSON (name, version, capabilities, settings schema)", async () => {
    const r = await cli("--about", "--format=json");
    const about = JSON.parse(r.out) as { name: string; capabilities: string[]; settings: { properties: object } };
    expect(about.name).toBe("target-redshift");
    expect(about.capabilities).toEqual([...CAPABILITIES]);
    expect(Object.keys(about.settings.properties)).toContain("default_target_schema");
  });

  it("--format markdown is the SDK's markdown", async () => {
    expect((await cli("--about", "--format", "markdown")).out).toMatch(/^# `target-redshift`\n/);
  });

  it("an unknown format is refused", async () => {
    const r = await cli("--about", "--format", "yaml");
    expect(r.code).toBe(2);
    expect(r.err).toBe('target-redshift: --format must be text, json or markdown, got "yaml"');
  });

  it("claims target-schema because default_target_schema is honoured, and nothing it does not do", () => {
    expect(CAPABILITIES).toContain("target-schema");
    for (const c of ["stream-maps", "schema-flattening", "batch"]) expect(CAPABILITIES).not.toContain(c);
  });
});

describe("meltano.yml", () => {
  it("lists the same capabilities and has default_target_schema", () => {
    const yml = readFileSync(join(root, "meltano.yml"), "utf8");
    expect(yml).toContain(`    capabilities:\n${CAPABILITIES.map((c) => `    - ${c}\n`).join("")}`);
    expect(yml).toContain("    - name: default_target_schema\n");
  });
});
