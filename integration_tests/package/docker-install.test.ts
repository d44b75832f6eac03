/**
 * The image without a Docker engine: replays the Dockerfile's steps (WORKDIR, COPY — also --from a
 * previous stage —, RUN) with each stage's root in a temp dir, then runs the final stage's ENTRYPOINT
 * (paths mapped into that dir) with `spec` and a small Airbyte `write` into the stand-in. What this
 * cannot show: the base image itself (node:22-bookworm-slim); the test runs on this machine's Node.
 * Slow (a full `npm ci`): `npm run test:package`, which CI runs.
 */
import { cpSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tableJson } from "../helpers/airbyte.js";
import { AIRBYTE_CATALOG, AIRBYTE_INPUT, ROOT, run, standInConfig, tempDir } from "./helpers.js";

interface Stage {
  name: string;
  root: string;
  workdir: string;
  env: Record<string, string>;
  entrypoint?: string[];
}

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function instructions(text: string): [string, string][] {
  return text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const i = l.search(/\s/);
      return [l.slice(0, i).toUpperCase(), l.slice(i + 1).trim()];
    });
}

/** Performs the steps; returns the final stage. Throws on an instruction it cannot replay faithfully. */
async function replay(dockerfile: string, base: string): Promise<Stage> {
  const stages: Stage[] = [];
  const at = (s: Stage, p: string) => join(s.root, isAbsolute(p) ? p : join(s.workdir, p));
  for (const [op, arg] of instructions(dockerfile)) {
    const stage = stages.at(-1)!;
    switch (op) {
      case "FROM": {
        const name = arg.split(/\s+AS\s+/i)[1] ?? String(stages.length);
        stages.push({ name, root: join(base, `stage-${stages.length}`), workdir: "/", env: {} });
        mkdirSync(stages.at(-1)!.root, { recursive: true });
        break;
      }
      case "WORKDIR":
        stage.workdir = arg;
        mkdirSync(at(stage, "."), { recursive: true });
        break;
      case "COPY": {
        const parts = arg.split(/\s+/);
        const from = parts[0]!.startsWith("--from=") ? stages.find((s) => s.name === parts.shift()!.slice(7)) : undefined;
        const dest = parts.pop()!;
        for (const src of parts) {
          const source = from ? at(from, src) : join(ROOT, src);
          const target = dest.endsWith("/") || parts.length > 1 ? join(at(stage, dest), src.split("/").at(-1)!) : at(stage, dest);
          cpSync(source, target, { recursive: statSync(source).isDirectory() });
        }
        break;
      }
      case "RUN":
        await run("sh", ["-c", arg], { cwd: at(stage, "."), env: { ...process.env, ...stage.env } });
        break;
      case "ENV": {
        const m = /^(\w+)=(?:"(.*)"|(\S*))$/.exec(arg);
        if (!m) throw new Error(`ENV form not replayed: ${arg}`);
        stage.env[m[1]!] = m[2] ?? m[3]!;
        break;
      }
      case "ENTRYPOINT":
        stage.entrypoint = JSON.parse(arg) as string[];
        break;
      case "LABEL":
      case "USER":
      case "ARG":
        break;
      default:
        throw new Error(`Dockerfile instruction not replayed by this test: ${op}`);
    }
  }
  return stages.at(-1)!;
}

const dirs: string[] = [];
// An npm killed by its time limit may still be writing: retry, and never fail the run over a temp dir.
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 })));

describe("Docker image install steps", () => {
  it("replayed in a temp dir, the ENTRYPOINT runs spec and an Airbyte write", async () => {
    const base = tempDir("docker");
    dirs.push(base);
    const final = await replay(readFileSync(join(ROOT, "Dockerfile"), "utf8"), base);
    expect(final.entrypoint?.[0], "ENTRYPOINT runs node itself (exec form), so signals reach it").toBe("node");
    const [, ...args] = final.entrypoint!.map((a) => (isAbsolute(a) ? join(final.root, a) : a));
    const env = { PATH: process.env.PATH ?? "", ...final.env };
    const entry = (extra: string[], input?: string) => run(process.execPath, [...args, ...extra], { cwd: join(final.root, final.workdir), env, input });

    const spec = JSON.parse((await entry(["spec"])).stdout.trim()) as { type: string };
    expect(spec.type).toBe("SPEC");

    const { path, schema } = standInConfig(base);
    const catalog = join(base, "catalog.json");
    writeFileSync(catalog, JSON.stringify(AIRBYTE_CATALOG));
    const written = await entry(["write", "--config", path, "--catalog", catalog], AIRBYTE_INPUT);
    const states = written.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string })
      .filter((m) => m.type === "STATE");
    expect(states).toHaveLength(1);
    const loaded = (await tableJson(schema, "parcels")).map((r) => [r.id, r.city]).sort();
    expect(loaded).toEqual([
      [1, "Oslo"],
      [2, "Lund"],
    ]);
    // Only production dependencies reach the final image.
    expect(() => statSync(join(final.root, final.workdir, "node_modules/typescript"))).toThrow();
  });
});
