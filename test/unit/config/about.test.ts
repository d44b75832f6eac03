import { describe, expect, it } from "vitest";
import { Ajv } from "ajv";
import { aboutInfo, aboutMarkdown, airbyteSpec, CAPABILITIES, configMarkdownTable, embedConfigTable, loadSpec } from "../../../src/config/index.js";

const spec = loadSpec();
const settingNames = Object.keys(spec.properties);

describe("airbyteSpec", () => {
  it("has the ConnectorSpecification shape", () => {
    const s = airbyteSpec();
    expect(s).toMatchObject({
      documentationUrl: "https://github.com/target-redshift/target-redshift#readme",
      supportsIncremental: true,
      supportsNormalization: false,
      supportsDBT: false,
      supported_destination_sync_modes: ["overwrite", "append", "append_dedup"],
    });
    const cs = s.connectionSpecification as unknown as typeof spec;
    expect(cs.required).toEqual(["host", "database", "s3_bucket"]);
    expect(Object.keys(cs.properties)).toEqual(settingNames);
  });

  it("is self-contained (no $ref) and still a valid schema that accepts a minimal config", () => {
    const cs = airbyteSpec().connectionSpecification;
    expect(JSON.stringify(cs)).not.toContain("$ref");
    expect(cs).not.toHaveProperty("definitions");
    const ajv = new Ajv({ strict: false });
    const validate = ajv.compile(cs);
    expect(validate({ host: "h", database: "d", user: "u", s3_bucket: "bucket" })).toBe(true);
    expect(validate({ host: "h", database: "d", user: "u", s3_bucket: "bucket", type_mapping: { string: "TEXT" } })).toBe(false);
  });

  it("marks secrets and gives every setting a title, description and order", () => {
    const props = airbyteSpec().connectionSpecification["properties"] as Record<string, Record<string, unknown>>;
    for (const [name, p] of Object.entries(props)) {
      expect(typeof p["title"], name).toBe("string");
      expect(typeof p["description"], name).toBe("string");
      expect(typeof p["order"], name).toBe("number");
    }
    const orders = Object.values(props).map((p) => p["order"]);
    expect(new Set(orders).size).toBe(orders.length);
    const secret = Object.entries(props).filter(([, p]) => p["airbyte_secret"] === true).map(([n]) => n);
    expect(secret.sort()).toEqual(["aws_access_key_id", "aws_secret_access_key", "aws_session_token", "password"]);
  });
});

describe("aboutInfo", () => {
  it("follows Meltano's --about JSON convention", () => {
    const a = aboutInfo("1.2.3");
    expect(a.name).toBe("target-redshift");
    expect(a.version).toBe("1.2.3");
    expect(a.description).toBe(spec.description);
    expect(a.capabilities).toEqual([...CAPABILITIES]);
    expect(a.capabilities).toContain("about");
    expect(a.capabilities).not.toContain("stream-maps");
    expect(Object.keys(a.settings["properties"] as object)).toEqual(settingNames);
    expect(JSON.parse(JSON.stringify(a))).toEqual(a);
  });

  it("renders markdown with capabilities and the settings table", () => {
    const md = aboutMarkdown("1.2.3");
    expect(md).toMatch(/^# `target-redshift`\n/);
    expect(md).toContain("## Capabilities\n\n* `about`\n");
    expect(md).toContain("## Settings\n\n| Setting | Type | Default | Required | Secret | Description |");
    expect(md).toContain(configMarkdownTable().trimEnd());
  });
});

describe("configMarkdownTable", () => {
  it("has one row per setting with name, type, default, required and secret", () => {
    const rows = configMarkdownTable().trimEnd().split("\n").slice(2);
    expect(rows).toHaveLength(settingNames.length);
    expect(rows.find((r) => r.startsWith("| `port` "))).toMatch(/^\| `port` \| integer \(≥ 1, ≤ 65535\) \| `5439` \| no \|  \| /);
    expect(rows.find((r) => r.startsWith("| `host` "))).toMatch(/^\| `host` \| string \|  \| yes \|  \| /);
    expect(rows.find((r) => r.startsWith("| `password` "))).toMatch(/\| no \| yes \| /);
    expect(rows.find((r) => r.startsWith("| `file_format` "))).toContain("`csv_gzip` \\| `parquet` | `csv_gzip` |");
    // Cells must not break the table or hide text as HTML.
    for (const r of rows) expect(r.split(/(?<!\\)\|/).length).toBe(8);
    expect(configMarkdownTable()).not.toMatch(/<[a-z]/);
  });
});

describe("embedConfigTable", () => {
  it("replaces whatever is between the README markers, idempotently", () => {
    const readme = "# x\n\n<!-- config:start -->\nold table\n<!-- config:end -->\n\nmore\n";
    const once = embedConfigTable(readme);
    expect(once).toBe(`# x\n\n<!-- config:start -->\n${configMarkdownTable()}<!-- config:end -->\n\nmore\n`);
    expect(embedConfigTable(once)).toBe(once);
    expect(() => embedConfigTable("# no markers")).toThrow(/config:start/);
  });
});
