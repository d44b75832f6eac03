/**
 * `npm run test:conformance`: the external conformance suites (Meltano SDK and Airbyte cases), read from
 * ../shared/conformance beside the clone. Where that folder is absent (a plain clone), the run says so
 * and passes with no test: the project's own fixtures (test/fixtures, run by `npm test`) cover the same
 * ground.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { defineConfig } from "vitest/config";
import { shared } from "./vitest.config.js";

export const CONFORMANCE = join(import.meta.dirname, "../shared/conformance");
const present = existsSync(CONFORMANCE);
if (!present) {
  console.warn(`test:conformance: ${CONFORMANCE} not found; skipping the external conformance suites (npm test runs the project's own fixtures)`);
}

export default defineConfig({
  test: {
    ...shared,
    include: present ? ["integration_tests/conformance/**/*.test.ts"] : [],
    passWithNoTests: true,
  },
});
