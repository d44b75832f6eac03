/**
 * `npm run test:package`: how the connector reaches users — the npm pack tarball with production
 * dependencies only, a git-URL install, and the Docker image's install steps. Slow (real npm installs
 * from the registry), so not part of `npm test`; CI runs it.
 */
import { defineConfig } from "vitest/config";
import { shared } from "./vitest.config.js";

export default defineConfig({
  test: {
    ...shared,
    include: ["integration_tests/package/**/*.test.ts"],
    testTimeout: 3_600_000,
  },
});
