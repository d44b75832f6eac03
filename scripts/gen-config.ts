/**
 * `npm run gen:config` rewrites every file generated from spec/spec.json;
 * `npm run check:config` (--check) only compares and exits 1 naming the stale ones.
 */
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderGeneratedFiles } from "./config-codegen.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

export async function staleGeneratedFiles(): Promise<string[]> {
  const stale: string[] = [];
  for (const [path, expected] of Object.entries(await renderGeneratedFiles())) {
    const actual = await readFile(join(root, path), "utf8").catch(() => undefined);
    if (actual !== expected) stale.push(path);
  }
  return stale;
}

async function main(): Promise<void> {
  if (process.argv.includes("--check")) {
    const stale = await staleGeneratedFiles();
    if (stale.length > 0) {
      process.stderr.write(
        `check:config: ${stale.join(", ")} ${stale.length === 1 ? "is" : "are"} out of date with spec/spec.json.\n` +
          "Run `npm run gen:config` and commit the result.\n",
      );
      process.exit(1);
    }
    process.stdout.write("check:config: generated config files are up to date.\n");
    return;
  }
  for (const [path, content] of Object.entries(await renderGeneratedFiles())) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
    process.stdout.write(`gen:config: wrote ${path}\n`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
