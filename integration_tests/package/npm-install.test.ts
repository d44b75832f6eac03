/**
 * What a registry install gets: the `npm pack` tarball installed with production dependencies only, and
 * a git-URL install (npm installs dev dependencies and runs `prepare` for those), each running `spec`
 * and a Singer load into the stand-in from the installed `target-redshift` executable. Slow (real npm
 * installs from the registry): `npm run test:package`, which CI runs.
 */
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { rows } from "../helpers/target.js";
import { ROOT, SINGER_INPUT, run, standInConfig, tempDir } from "./helpers.js";

const dirs: string[] = [];
// An npm killed by its time limit may still be writing: retry, and never fail the run over a temp dir.
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 })));

async function checkInstalled(prefix: string): Promise<void> {
  const bin = join(prefix, "node_modules/.bin/target-redshift");
  const spec = JSON.parse((await run(bin, ["spec"], { cwd: prefix })).stdout.trim()) as { type: string; spec: { connectionSpecification: { required: string[] } } };
  expect(spec.type).toBe("SPEC");
  expect(spec.spec.connectionSpecification.required).toContain("host");
  const { path, schema } = standInConfig(prefix);
  const loaded = await run(bin, ["--config", path], { cwd: prefix, input: SINGER_INPUT });
  expect(loaded.stdout.trim().split("\n").map((l) => JSON.parse(l) as unknown)).toEqual([{ parcels: 2 }]);
  expect((await rows(schema, "parcels", "id")).map((r) => [Number(r.id), r.city])).toEqual([
    [1, "Oslo"],
    [2, "Lund"],
  ]);
}

describe("npm install", () => {
  it("the npm pack tarball, installed with --omit=dev in an empty directory, runs spec and a load", async () => {
    const packDir = tempDir("pack");
    const prefix = tempDir("prod");
    dirs.push(packDir, prefix);
    await run("npm", ["pack", "--silent", "--pack-destination", packDir], { cwd: ROOT });
    const tarball = readdirSync(packDir).find((f) => f.endsWith(".tgz"));
    expect(tarball).toBeDefined();
    await run("npm", ["install", "--omit=dev", "--no-audit", "--no-fund", join(packDir, tarball!)], { cwd: prefix });
    // Production dependencies only: no TypeScript, no test tools.
    expect(readdirSync(join(prefix, "node_modules"))).not.toContain("typescript");
    expect(readdirSync(join(prefix, "node_modules"))).not.toContain("vitest");
    await checkInstalled(prefix);
  });

  it("a git-URL install (the committed HEAD) builds through prepare and runs spec and a load", async () => {
    const prefix = tempDir("git");
    dirs.push(prefix);
    await run("npm", ["install", "--omit=dev", "--no-audit", "--no-fund", `git+file://${ROOT}`], { cwd: prefix });
    await checkInstalled(prefix);
  });
});
