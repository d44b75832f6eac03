/**
 * The house plan of src/ (see .dependency-cruiser.cjs): rooms import only rooms below them, no cycles,
 * no source folder with a build-output name, and every room says what it owns and may import.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");

function folders(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => [join(dir, e.name), ...folders(join(dir, e.name))]);
}

describe("source layout", () => {
  it("has no import that breaks the room rules, and no cycle (dependency-cruiser)", () => {
    const bin = join(ROOT, "node_modules/.bin/depcruise");
    let out: string;
    try {
      out = execFileSync(bin, ["src", "--config", ".dependency-cruiser.cjs", "--output-type", "err"], { cwd: ROOT, encoding: "utf8" });
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string };
      throw new Error(`dependency-cruiser found violations:\n${err.stdout ?? ""}${err.stderr ?? ""}`);
    }
    expect(out).toMatch(/no dependency violations found/);
  }, 60_000);

  it("names no source folder target/, build/, dist/ or out/ (tools treat those as build output)", () => {
    const bad = folders("src").filter((f) => /(^|\/)(target|build|dist|out)$/.test(f));
    expect(bad).toEqual([]);
  });

  it("opens every room with a README saying what it owns and what it may import", () => {
    for (const room of folders("src")) {
      const readme = join(ROOT, room, "README.md");
      expect(existsSync(readme), `${room}/README.md`).toBe(true);
      expect(readFileSync(readme, "utf8"), `${room}/README.md`).toMatch(/\*\*May import:\*\*/);
    }
  });
});
