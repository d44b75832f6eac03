// npm's `prepare`: runs after `npm ci` / `npm install` in a clone and for git-URL installs (npm installs
// dev dependencies for those first), so both get a built dist/. A production-only install
// (`npm ci --omit=dev`) has no TypeScript: building is impossible there, so say so and leave dist as it
// is instead of failing the install. Registry tarballs ship dist (built by `prepack`) and never run this.
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
let tsc;
try {
  tsc = require.resolve("typescript/bin/tsc");
} catch {
  console.error("target-redshift prepare: TypeScript is not installed (production-only install); not building dist/");
  process.exit(0);
}
execFileSync(process.execPath, [tsc, "-p", "tsconfig.json"], { stdio: "inherit" });
execFileSync(process.execPath, ["-e", "require('node:fs').chmodSync('dist/src/cli.js', 0o755)"], { stdio: "inherit" });
