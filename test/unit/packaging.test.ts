/** The Dockerfile's promises that need no Docker engine to check (the install steps: test:package). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "../..");
const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string; scripts: Record<string, string>; files: string[] };

describe("Dockerfile", () => {
  it("builds and runs on Node 22 LTS", () => {
    const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(froms.length).toBeGreaterThan(0);
    for (const f of froms) expect(f).toBe("node:22-bookworm-slim");
  });

  it("labels the image <org>/destination-<name> and with package.json's version", () => {
    expect(dockerfile).toMatch(/^LABEL io\.airbyte\.name=[a-z0-9]+\/destination-[a-z0-9-]+$/m);
    expect(/^LABEL io\.airbyte\.version=(.*)$/m.exec(dockerfile)?.[1]).toBe(pkg.version);
  });

  it("starts node itself (exec form), so signals reach the connector", () => {
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "\/app\/dist\/src\/cli\.js"\]$/m);
  });
});

describe("npm lifecycle", () => {
  it("builds dist when packing; prepare never needs a dev dependency to succeed", () => {
    expect(pkg.scripts.prepack).toBe("npm run build");
    expect(pkg.scripts.prepare).toBe("node scripts/prepare.mjs");
    expect(pkg.files).toContain("dist/src");
  });
});
